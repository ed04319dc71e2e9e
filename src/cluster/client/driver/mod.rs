//! Task drivers behind one small trait: start a task, wait for it, signal and stop it, and
//! re-attach to it after a client restart from a persisted [`TaskHandle`].
//!
//! ```text
//!  TaskRunner ─► Driver::start(TaskLaunch) ─► TaskHandle (persisted) ─► wait / signal / stop
//!          raw_exec │ exec (chroot, namespaces, cgroups, nobody) │ docker (bollard, policy)
//!          └── ProcessDriver + ProcessSandbox ──┘
//! ```

pub mod cgroup;
pub mod child;
pub mod chroot;
pub mod docker;
pub mod docker_policy;
pub mod exec;
pub mod process;
pub mod process_driver;
pub mod raw_exec;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use super::config::ClientConfig;
use super::env::PortMapping;
use super::logs::LogLimits;

/// A boxed future of a driver call.
pub type DriverFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DriverError>> + Send + 'a>>;

/// A driver could not do what was asked.
#[derive(Debug, Error)]
pub enum DriverError {
    /// The driver is not enabled on this client.
    #[error("driver {0} is not enabled on this client")]
    Disabled(&'static str),
    /// The task's driver configuration is wrong.
    #[error("invalid driver config: {0}")]
    Config(String),
    /// The client's policy does not allow what the task asks for (the message names the
    /// client setting that would).
    #[error("refused by the client: {0}")]
    Refused(String),
    /// Starting the task failed.
    #[error("starting the task: {0}")]
    Start(String),
    /// Talking to the process or engine failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The container engine answered with an error.
    #[error("docker: {0}")]
    Docker(String),
}

/// What the client knows about a driver on this node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriverInfo {
    /// Whether the driver can run tasks here.
    pub detected: bool,
    /// Whether it is healthy.
    pub healthy: bool,
    /// Attributes (`driver.<name>.version`, ...).
    pub attributes: BTreeMap<String, String>,
}

/// Everything a driver needs to start one task.
#[derive(Debug, Clone)]
pub struct TaskLaunch {
    /// Allocation ID.
    pub alloc_id: String,
    /// Task name.
    pub task_name: String,
    /// The driver `config` block, interpolated.
    pub config: Map<String, Value>,
    /// Environment.
    pub env: Vec<(String, String)>,
    /// The task's directory on the host (`<alloc>/<task>`).
    pub task_dir: PathBuf,
    /// The shared `alloc/` directory on the host.
    pub shared_alloc_dir: PathBuf,
    /// `alloc/logs/`.
    pub log_dir: PathBuf,
    /// Log rotation.
    pub log_limits: LogLimits,
    /// User to run as ("" = the driver's default).
    pub user: String,
    /// CPU in MHz (0 = unlimited).
    pub cpu_mhz: u64,
    /// Memory in MB (0 = unlimited).
    pub memory_mb: u64,
    /// Allocated ports.
    pub ports: Vec<PortMapping>,
    /// Job ID, group and namespace for container labels.
    pub labels: BTreeMap<String, String>,
}

/// How to find a running task again: persisted in the client's data dir.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TaskHandle {
    /// Driver name.
    pub driver: String,
    /// Process (group) ID for process drivers.
    pub pid: Option<u32>,
    /// The process's start time in clock ticks since boot, so a reused PID is not mistaken
    /// for the task.
    pub start_ticks: Option<u64>,
    /// Container ID for docker.
    pub container_id: Option<String>,
    /// Cgroup directories the task was placed in.
    pub cgroups: Vec<PathBuf>,
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExitResult {
    /// Exit code (-1 when unknown).
    pub exit_code: i64,
    /// Signal that killed it (0 = none).
    pub signal: i64,
    /// Whether the exit status could be observed (false for a re-attached process).
    pub known: bool,
}

impl ExitResult {
    /// Whether the task succeeded.
    pub fn successful(&self) -> bool {
        self.known && self.exit_code == 0 && self.signal == 0
    }
}

/// A task driver.
pub trait Driver: Send + Sync {
    /// The driver's name (`raw_exec`, `exec`, `docker`).
    fn name(&self) -> &'static str;
    /// Detects the driver on this node.
    fn fingerprint(&self) -> DriverFuture<'_, DriverInfo>;
    /// Starts a task.
    fn start<'a>(&'a self, task: &'a TaskLaunch) -> DriverFuture<'a, TaskHandle>;
    /// Whether the task behind a persisted handle still runs (and may be waited on).
    fn recover<'a>(&'a self, handle: &'a TaskHandle, task: &'a TaskLaunch) -> DriverFuture<'a, bool>;
    /// Waits until the task exits.
    fn wait<'a>(&'a self, handle: &'a TaskHandle) -> DriverFuture<'a, ExitResult>;
    /// Sends a signal (`SIGHUP`, ...).
    fn signal<'a>(&'a self, handle: &'a TaskHandle, signal: &'a str) -> DriverFuture<'a, ()>;
    /// Sends `signal`, then kills the task after `timeout` if it still runs.
    fn stop<'a>(&'a self, handle: &'a TaskHandle, signal: &'a str, timeout: Duration)
    -> DriverFuture<'a, ()>;
    /// Releases what the task left behind (container, cgroups).
    fn destroy<'a>(&'a self, handle: &'a TaskHandle) -> DriverFuture<'a, ()>;
    /// Resource usage in Nomad's `ResourceUsage` shape.
    fn stats<'a>(&'a self, handle: &'a TaskHandle) -> DriverFuture<'a, Value>;
}

/// The drivers of a client, by name.
#[derive(Clone, Default)]
pub struct Drivers {
    by_name: BTreeMap<&'static str, Arc<dyn Driver>>,
}

impl Drivers {
    /// The standard drivers with the client's switches and sandbox settings.
    pub fn standard(config: &ClientConfig) -> Self {
        let mut d = Self::default();
        let sandbox = &config.sandbox;
        d.add(Arc::new(raw_exec::raw_exec(config.raw_exec_enabled)));
        d.add(Arc::new(exec::exec(sandbox)));
        let mut docker = sandbox.docker.clone();
        docker.allow_privileged |= config.docker_allow_privileged;
        d.add(Arc::new(docker::DockerDriver::new(docker)));
        d
    }

    /// Adds a driver.
    pub fn add(&mut self, driver: Arc<dyn Driver>) {
        self.by_name.insert(driver.name(), driver);
    }

    /// The driver called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Driver>> {
        self.by_name.get(name).cloned()
    }

    /// All drivers.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Driver>> {
        self.by_name.values()
    }
}

/// Parses a signal name (`SIGTERM`, `TERM`, `sigint`) to its number.
pub fn signal_number(name: &str) -> Option<i32> {
    let n = name.trim().to_uppercase();
    let n = n.strip_prefix("SIG").unwrap_or(&n);
    Some(match n {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "TERM" => libc::SIGTERM,
        "STOP" => libc::SIGSTOP,
        "CONT" => libc::SIGCONT,
        "ABRT" => libc::SIGABRT,
        "ALRM" => libc::SIGALRM,
        "CHLD" => libc::SIGCHLD,
        "PIPE" => libc::SIGPIPE,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "WINCH" => libc::SIGWINCH,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        "IO" => libc::SIGIO,
        "SYS" => libc::SIGSYS,
        "TRAP" => libc::SIGTRAP,
        "" => libc::SIGTERM,
        _ => return None,
    })
}

/// A string list from a driver config value (`args = ["a", "b"]`).
pub fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}
