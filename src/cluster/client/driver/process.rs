//! Shared process handling of `raw_exec` and `exec`: spawning in a new session (so the task
//! outlives a client restart and signals reach its whole group) inside the sandbox the driver
//! prepared (see [`super::child`]), stdout/stderr into log FIFOs,
//! re-attaching by PID + start time, stopping with a signal then SIGKILL, and /proc statistics.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use super::child::ChildSetup;
use super::chroot::ChrootPlan;
use super::{DriverError, ExitResult, TaskHandle, TaskLaunch, signal_number, string_list};
use crate::cluster::client::logs::{self, RotatingWriter};

/// The sandbox a process driver prepared for a task (empty for `raw_exec`).
#[derive(Debug, Clone, Default)]
pub struct Isolation {
    /// `cgroup.procs` files to join.
    pub cgroup_procs: Vec<PathBuf>,
    /// Unshare mount, UTS, IPC and PID namespaces.
    pub namespaces: bool,
    /// Enter this chroot (the command is then looked up inside it).
    pub chroot: Option<ChrootPlan>,
    /// Switch to this uid/gid, with no supplementary groups.
    pub user: Option<(u32, u32)>,
}

/// Processes started by this client, so their exit status can be collected.
#[derive(Default)]
pub struct Children {
    children: Mutex<HashMap<u32, tokio::process::Child>>,
}

/// The start time of `pid` in clock ticks since boot, if it runs (zombies count as gone).
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether the process behind `handle` still runs.
pub fn alive(handle: &TaskHandle) -> bool {
    match (handle.pid, handle.start_ticks) {
        (Some(pid), Some(t)) => start_ticks(pid) == Some(t),
        (Some(pid), None) => start_ticks(pid).is_some(),
        _ => false,
    }
}

fn cstring(p: &Path) -> Result<CString, DriverError> {
    CString::new(p.as_os_str().as_bytes()).map_err(|e| DriverError::Config(e.to_string()))
}

/// The task's stdout and stderr: FIFOs whose read ends the client pumps into rotating logs.
struct LogPipes {
    fifo_readers: Vec<CString>,
    stdout: Stdio,
    stderr: Stdio,
}

fn open_log_pipes(task: &TaskLaunch) -> Result<LogPipes, DriverError> {
    let mut fifo_readers = Vec::new();
    let mut writers = Vec::new();
    for stream in ["stdout", "stderr"] {
        let fifo = logs::fifo_path(&task.log_dir, &task.task_name, stream);
        logs::make_fifo(&fifo)?;
        let reader = logs::open_fifo_reader(&fifo)?;
        let writer = logs::open_fifo_writer(&fifo)?;
        let out = RotatingWriter::open(
            &task.log_dir,
            &format!("{}.{stream}", task.task_name),
            task.log_limits,
        )?;
        fifo_readers.push(cstring(&fifo)?);
        writers.push(writer);
        tokio::spawn(logs::pump(reader, out));
    }
    let stderr = writers.pop().map_or_else(Stdio::null, Stdio::from);
    let stdout = writers.pop().map_or_else(Stdio::null, Stdio::from);
    Ok(LogPipes {
        fifo_readers,
        stdout,
        stderr,
    })
}

fn command(
    task: &TaskLaunch,
    iso: &Isolation,
    pipes: LogPipes,
) -> Result<tokio::process::Command, DriverError> {
    let program = task.config.get("command").and_then(Value::as_str).unwrap_or("");
    if program.is_empty() {
        return Err(DriverError::Config("missing command".into()));
    }
    let cwd = task.task_dir.clone();
    let program = if iso.chroot.is_some() {
        PathBuf::from(program)
    } else {
        resolve_command(program, &cwd)
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(string_list(task.config.get("args")))
        .current_dir(&cwd)
        .env_clear()
        .envs(task.env.iter().map(|(k, v)| (k, v)));
    if let Ok(path) = std::env::var("PATH")
        && !task.env.iter().any(|(k, _)| k == "PATH")
    {
        cmd.env("PATH", path);
    }
    cmd.stdin(Stdio::null())
        .stdout(pipes.stdout)
        .stderr(pipes.stderr)
        .kill_on_drop(false);
    Ok(cmd)
}

impl Children {
    /// Starts the task's `command` with `args` in a new session, inside `iso`.
    pub fn spawn(&self, task: &TaskLaunch, driver: &str, iso: &Isolation) -> Result<TaskHandle, DriverError> {
        let pipes = open_log_pipes(task)?;
        let setup = ChildSetup {
            fifo_readers: pipes.fifo_readers.clone(),
            cgroup_procs: iso
                .cgroup_procs
                .iter()
                .map(|p| cstring(p))
                .collect::<Result<_, _>>()?,
            namespaces: iso.namespaces,
            chroot: iso.chroot.clone(),
            user: iso.user,
        };
        let mut cmd = command(task, iso, pipes)?;
        // SAFETY: `ChildSetup::run` makes only async-signal-safe calls on memory prepared
        // before the fork (see its module).
        unsafe {
            cmd.pre_exec(move || setup.run());
        }
        let child = cmd
            .spawn()
            .map_err(|e| DriverError::Start(format!("{}: {e}", task.task_name)))?;
        drop(cmd);
        let pid = child
            .id()
            .ok_or_else(|| DriverError::Start("process exited at once".into()))?;
        self.lock().insert(pid, child);
        Ok(TaskHandle {
            driver: driver.into(),
            pid: Some(pid),
            start_ticks: start_ticks(pid),
            container_id: None,
            cgroups: iso
                .cgroup_procs
                .iter()
                .filter_map(|p| p.parent().map(Path::to_path_buf))
                .collect(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, tokio::process::Child>> {
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-opens the log FIFOs of a re-attached task.
    pub fn reattach_logs(&self, task: &TaskLaunch) -> Result<(), DriverError> {
        for stream in ["stdout", "stderr"] {
            let fifo = logs::fifo_path(&task.log_dir, &task.task_name, stream);
            if !fifo.exists() {
                continue;
            }
            let reader = logs::open_fifo_reader(&fifo)?;
            let out = RotatingWriter::open(
                &task.log_dir,
                &format!("{}.{stream}", task.task_name),
                task.log_limits,
            )?;
            tokio::spawn(logs::pump(reader, out));
        }
        Ok(())
    }

    /// Waits for the task: its exit status if this client started it, else until it is gone.
    pub async fn wait(&self, handle: &TaskHandle) -> Result<ExitResult, DriverError> {
        let Some(pid) = handle.pid else {
            return Ok(ExitResult {
                exit_code: -1,
                signal: 0,
                known: false,
            });
        };
        let child = self.lock().remove(&pid);
        if let Some(mut child) = child {
            let status = child.wait().await?;
            use std::os::unix::process::ExitStatusExt;
            return Ok(ExitResult {
                exit_code: i64::from(status.code().unwrap_or(-1)),
                signal: i64::from(status.signal().unwrap_or(0)),
                known: true,
            });
        }
        while alive(handle) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(ExitResult {
            exit_code: -1,
            signal: 0,
            known: false,
        })
    }
}

fn resolve_command(command: &str, cwd: &Path) -> PathBuf {
    // Nomad resolves a relative command against the task directory first (artifacts land in
    // local/), then PATH.
    if command.contains('/') && !command.starts_with('/') {
        let p = cwd.join(command);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(command)
}

/// Runs `argv` with `env` inside `iso` (a script check of a sandboxed task) and waits up to
/// `timeout`: its exit code, or `None` when it could not start or was killed at the timeout.
pub async fn run_isolated(
    argv: &[String],
    env: &[(String, String)],
    iso: &Isolation,
    timeout: Duration,
) -> Option<i64> {
    let (program, args) = argv.split_first()?;
    let setup = ChildSetup {
        fifo_readers: Vec::new(),
        cgroup_procs: Vec::new(),
        namespaces: iso.namespaces,
        chroot: iso.chroot.clone(),
        user: iso.user,
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir("/")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Ok(path) = std::env::var("PATH")
        && !env.iter().any(|(k, _)| k == "PATH")
    {
        cmd.env("PATH", path);
    }
    // SAFETY: as in `Children::spawn`: only async-signal-safe calls on memory prepared before
    // the fork.
    unsafe {
        cmd.pre_exec(move || setup.run());
    }
    let mut child = cmd.spawn().ok()?;
    let pgid = child.id().and_then(|p| i32::try_from(p).ok())?;
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status.code().map(i64::from),
        _ => {
            // SAFETY: kill(2) of the process group this check started (setsid in the child).
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            let _ = child.wait().await;
            None
        }
    }
}

/// Sends `signal` to the task's process group.
pub fn signal(handle: &TaskHandle, signal: &str) -> Result<(), DriverError> {
    let sig =
        signal_number(signal).ok_or_else(|| DriverError::Config(format!("unknown signal {signal:?}")))?;
    let Some(pid) = handle.pid else { return Ok(()) };
    if !alive(handle) {
        return Ok(());
    }
    let pgid = i32::try_from(pid).map_err(|_| DriverError::Config("bad pid".into()))?;
    // SAFETY: kill(2) with a negative PID signals that process group; no memory is shared.
    unsafe { libc::kill(-pgid, sig) };
    Ok(())
}

/// Sends `sig`, waits up to `timeout`, then SIGKILLs the group.
pub async fn stop(handle: &TaskHandle, sig: &str, timeout: Duration) -> Result<(), DriverError> {
    signal(handle, sig)?;
    let deadline = tokio::time::Instant::now() + timeout;
    while alive(handle) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if alive(handle) {
        signal(handle, "SIGKILL")?;
    }
    Ok(())
}

/// Memory (RSS) and CPU ticks of the task's main process, in Nomad's `ResourceUsage` shape.
pub fn stats(handle: &TaskHandle) -> Value {
    let pid = handle.pid.unwrap_or(0);
    let rss_kb: u64 = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    let (user, system) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let f: Vec<String> = s
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            Some((f.get(11)?.parse::<u64>().ok()?, f.get(12)?.parse::<u64>().ok()?))
        })
        .unwrap_or((0, 0));
    json!({
        "MemoryStats": {"RSS": rss_kb * 1024, "Measured": ["RSS"]},
        "CpuStats": {"UserMode": user, "SystemMode": system, "TotalTicks": user + system, "Measured": ["User Mode", "System Mode"]},
    })
}
