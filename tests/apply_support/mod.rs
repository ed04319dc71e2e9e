//! Shared by the apply tests: running the `deploy` binary against an address, reading its
//! NDJSON events, a dev agent, a real cluster of server and client agents, copies of the
//! webapp example with test settings (a free store port, short health times, a backend
//! block), live job reads, and cleanup of the task processes the agents started.
//!
//! A test file that uses it declares `mod cluster_harness; mod client_harness; mod
//! apply_support;` (the real cluster is built from those two harnesses).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use age::secrecy::ExposeSecret;
use serde_json::Value;

use crate::client_harness;
use crate::cluster_harness::Cluster;

/// The `deploy` binary cargo built for the tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// The `deploy` binary to run: `DEPLOY_TEST_BIN` when set (the measurements use a release
/// build that way), else [`BIN`].
pub fn bin() -> String {
    std::env::var("DEPLOY_TEST_BIN").unwrap_or_else(|_| BIN.to_owned())
}

/// The repository root.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    client_harness::free_port()
}

/// How `deploy` is run: its environment (the ambient `NOMAD_*` and `DEPLOY_AGE_*` variables
/// are removed, so only what a test sets counts).
#[derive(Clone, Debug, Default)]
pub struct Deploy {
    env: Vec<(String, String)>,
}

impl Deploy {
    /// `deploy` with `NOMAD_ADDR=address`.
    pub fn at(address: &str) -> Self {
        Deploy::default().with("NOMAD_ADDR", address)
    }

    /// `deploy` with no address in its environment (the stack must name one).
    pub fn without_address() -> Self {
        Deploy::default()
    }

    /// Adds an environment variable.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Adds a fresh age key pair (`DEPLOY_AGE_RECIPIENTS`, `DEPLOY_AGE_IDENTITY`), for stacks
    /// with sensitive values.
    pub fn with_age_key(self) -> Self {
        let key = age::x25519::Identity::generate();
        self.with("DEPLOY_AGE_RECIPIENTS", &key.to_public().to_string())
            .with("DEPLOY_AGE_IDENTITY", key.to_string().expose_secret())
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("NOMAD_") || k.starts_with("DEPLOY_AGE_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `deploy ARGS` to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running deploy")
    }

    /// Starts `deploy ARGS` with stdout piped (stderr to `stderr_to`).
    pub fn spawn(&self, args: &[&str], stderr_to: &Path) -> Child {
        let err = std::fs::File::create(stderr_to).expect("stderr file");
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .expect("starting deploy")
    }

    /// Addresses a JSON plan of `stack` (with `extra` flags) changes, and the exit code with
    /// `-detailed-exitcode` (0 nothing to do, 2 changes).
    pub fn planned_changes(&self, stack: &Path, extra: &[&str]) -> (i32, BTreeSet<String>) {
        let mut args = vec!["plan", stack.to_str().unwrap(), "-json", "-detailed-exitcode"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        let code = out.status.code().unwrap_or(-1);
        let plan: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("plan JSON: {}", text(&out)));
        (code, changed_addresses(&plan))
    }
}

/// The addresses a JSON plan does not leave as they are.
pub fn changed_addresses(plan: &Value) -> BTreeSet<String> {
    plan["jobs"]
        .as_array()
        .expect("a plan's jobs")
        .iter()
        .filter(|j| j["action"] != "noop")
        .map(|j| j["address"].as_str().unwrap().to_string())
        .collect()
}

/// The addresses a JSON plan lists as work for apply: a change of spec, drift between the
/// record and the backend, or a recorded gate that did not pass.
pub fn listed_addresses(plan: &Value) -> BTreeSet<String> {
    plan["jobs"]
        .as_array()
        .expect("a plan's jobs")
        .iter()
        .filter(|j| j["action"] != "noop" || !j["drift"].is_null() || !j["gate_not_passed"].is_null())
        .map(|j| j["address"].as_str().unwrap().to_string())
        .collect()
}

/// stdout then stderr of a finished command.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The NDJSON events of `deploy ... -json`.
pub fn events(o: &Output) -> Vec<Value> {
    parse_events(&String::from_utf8_lossy(&o.stdout))
}

/// NDJSON lines as values (other lines skipped).
pub fn parse_events(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Position of the first `kind` event about `address`.
pub fn index_of(events: &[Value], kind: &str, address: &str) -> usize {
    events
        .iter()
        .position(|e| e["event"] == kind && e["address"] == address)
        .unwrap_or_else(|| panic!("no {kind} event for {address} in {events:#?}"))
}

/// `elapsed_ms` of the first `kind` event about `address`.
pub fn elapsed_of(events: &[Value], kind: &str, address: &str) -> u64 {
    events[index_of(events, kind, address)]["elapsed_ms"]
        .as_u64()
        .expect("elapsed_ms")
}

/// GET `http://…{path}` as JSON, `None` on any failure or a non-2xx answer.
pub fn get_json(address: &str, path: &str) -> Option<Value> {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "20", &format!("{address}{path}")])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// Polls `f` every 100 ms until it returns `Some`; panics with `what` after `timeout`.
pub fn wait_until<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A job as the server has it, less what changes with every registration (version, indexes,
/// submit time, status): two registrations of the same spec compare equal.
pub fn spec_of(live: &Value) -> Value {
    let mut v = live.clone();
    if let Some(o) = v.as_object_mut() {
        for k in [
            "Version",
            "JobModifyIndex",
            "ModifyIndex",
            "CreateIndex",
            "SubmitTime",
            "Status",
            "StatusDescription",
            "Stable",
        ] {
            o.remove(k);
        }
    }
    v
}

/// Kills, when dropped, every process whose environment mentions `marker` (a test's temporary
/// directory: raw_exec tasks carry their allocation directory in `NOMAD_ALLOC_DIR`), so tasks
/// do not outlive a failed test. Declare it before the agents: it must drop after them.
pub struct TaskReaper {
    marker: String,
}

impl TaskReaper {
    /// A reaper for processes whose environment contains `marker`.
    pub fn new(marker: &Path) -> Self {
        TaskReaper {
            marker: marker.display().to_string(),
        }
    }

    /// PIDs of live processes whose environment contains the marker.
    pub fn pids(&self) -> Vec<u32> {
        let me = std::process::id();
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if pid == me {
                continue;
            }
            let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
                continue;
            };
            let zombie =
                std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z"));
            if !zombie && String::from_utf8_lossy(&env).contains(&self.marker) {
                out.push(pid);
            }
        }
        out
    }
}

impl Drop for TaskReaper {
    fn drop(&mut self) {
        for pid in self.pids() {
            // SAFETY: kill(2) of a task process this test's agents started, found by the
            // test's unique temporary directory in its environment.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

/// `deploy agent -dev` (one server and one client with raw_exec) on a free port.
pub struct DevAgent {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub address: String,
}

impl Drop for DevAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DevAgent {
    /// Starts a dev agent with its data and log under `dir`; waits for its leader.
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[])
    }

    /// [`DevAgent::start`] with `extra` flags (`-config FILE`, ...).
    pub fn start_with(dir: &Path, extra: &[&str]) -> Self {
        let port = free_port();
        let log = std::fs::File::create(dir.join("agent.log")).expect("agent log");
        let child = Command::new(bin())
            .args([
                "agent",
                "-dev",
                "-bind",
                "127.0.0.1",
                "-http-port",
                &port.to_string(),
                "-data-dir",
            ])
            .arg(dir.join("agent"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting deploy agent -dev");
        let agent = DevAgent {
            child,
            address: format!("http://127.0.0.1:{port}"),
        };
        wait_until(Duration::from_secs(30), "the dev agent electing a leader", || {
            get_json(&agent.address, "/v1/status/leader")
                .filter(|l| l.as_str().is_some_and(|s| !s.is_empty()))
        });
        agent
    }

    /// The agent's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `deploy` pointed at this agent.
    pub fn deploy(&self) -> Deploy {
        Deploy::at(&self.address)
    }
}

/// Three (or more) server agents and client agents with raw_exec, each its own process on
/// 127.0.0.1, the clients knowing every server.
pub struct RealCluster {
    /// The servers.
    pub servers: Cluster,
    /// The clients (`c1`, `c2`, ...).
    pub clients: Vec<client_harness::Agent>,
    /// Runs the harness's async calls.
    pub rt: tokio::runtime::Runtime,
}

impl RealCluster {
    /// Starts `servers` servers and `clients` clients under `dir`; returns once every client
    /// is a ready node.
    pub fn start(dir: &Path, servers: usize, clients: usize) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let bin = bin();
        let cluster = rt.block_on(Cluster::start(&bin, servers));
        let mut args: Vec<String> = vec!["--client".into(), "--raw-exec".into()];
        for a in &cluster.agents {
            args.push("--servers".into());
            args.push(a.rpc_addr.clone());
        }
        let clients: Vec<client_harness::Agent> = (1..=clients)
            .map(|i| {
                let name = format!("c{i}");
                let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
                a.extend(["--node", &name]);
                client_harness::Agent::start(&bin, dir.join(&name), &a)
            })
            .collect();
        let this = RealCluster {
            servers: cluster,
            clients,
            rt,
        };
        let address = this.address(0);
        wait_until(
            Duration::from_secs(60),
            "every client registering as ready",
            || {
                let nodes = get_json(&address, "/v1/nodes")?;
                let ready = nodes
                    .as_array()?
                    .iter()
                    .filter(|n| n["Status"] == "ready")
                    .count();
                (ready >= this.clients.len()).then_some(())
            },
        );
        this
    }

    /// `http://addr` of server `i`.
    pub fn address(&self, i: usize) -> String {
        format!("http://{}", self.servers.agents[i].addr)
    }

    /// The server that leads now (waiting for one).
    pub fn leader(&self) -> usize {
        self.rt
            .block_on(self.servers.wait_for_leader(Duration::from_secs(30)))
    }

    /// A running server that is not the leader.
    pub fn follower(&self) -> usize {
        self.servers.other_than(self.leader())
    }

    /// `kill -9` of server `i`.
    pub fn kill_server(&mut self, i: usize) {
        self.servers.agents[i].kill();
    }
}

/// How a copy of the webapp example is set up for a test.
#[derive(Clone, Debug)]
pub struct WebappOptions {
    /// The store's static port (the example's 7070 would clash between tests).
    pub store_port: u16,
    /// `min_healthy_time` of every service group (`None`: Nomad's default 10s).
    pub min_healthy_time: Option<&'static str>,
    /// `address` of a `backend "nomad"` block in the stack block (`None`: no block).
    pub nomad_backend: Option<String>,
}

/// The webapp example's service job files (relative to the copy's root) and their group line.
pub const SERVICE_GROUPS: &[(&str, &str)] = &[
    ("examples/webapp/api.nomad.hcl", "group \"api\" {"),
    ("examples/webapp/frontend.nomad.hcl", "group \"web\" {"),
    ("examples/webapp/worker.nomad.hcl", "group \"worker\" {"),
    ("modules/kv-store/store.nomad.hcl", "group \"store\" {"),
];

/// Replaces `from` by `to` in `path`; panics when `from` is not there (the example changed).
pub fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        text.contains(from),
        "{} no longer contains {from:?}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let path = e.path();
        if path.is_file() && path.extension().is_some_and(|x| x == "hcl") {
            std::fs::copy(&path, to.join(e.file_name())).unwrap();
        }
    }
}

/// Copies examples/webapp and modules/kv-store under `root` (keeping the module's relative
/// path) with `opts` applied; returns the stack directory.
pub fn copy_webapp(root: &Path, opts: &WebappOptions) -> PathBuf {
    copy_dir(
        &repo_root().join("examples/webapp"),
        &root.join("examples/webapp"),
    );
    copy_dir(
        &repo_root().join("modules/kv-store"),
        &root.join("modules/kv-store"),
    );
    let stack = root.join("examples/webapp");
    replace_in(
        &stack.join("stack.hcl"),
        "port   = 7070",
        &format!("port   = {}", opts.store_port),
    );
    if let Some(address) = &opts.nomad_backend {
        replace_in(
            &stack.join("stack.hcl"),
            "name = \"webapp\"\n",
            &format!("name = \"webapp\"\n\n  backend \"nomad\" {{\n    address = \"{address}\"\n  }}\n"),
        );
    }
    if let Some(t) = opts.min_healthy_time {
        for (file, group) in SERVICE_GROUPS {
            replace_in(
                &root.join(file),
                group,
                &format!("{group}\n    update {{\n      min_healthy_time = \"{t}\"\n    }}\n"),
            );
        }
    }
    stack
}

/// The webapp's jobs: (address, job ID).
pub const WEBAPP_JOBS: &[(&str, &str)] = &[
    ("module.store.job.store", "store"),
    ("job.api", "api"),
    ("job.frontend", "frontend"),
    ("job.preflight", "preflight"),
    ("job.worker", "worker"),
    ("job.report", "report"),
];

/// The webapp's edges: (dependent, what it waits for).
pub const WEBAPP_EDGES: &[(&str, &str)] = &[
    ("job.api", "module.store.job.store"),
    ("job.frontend", "module.store.job.store"),
    ("job.preflight", "job.api"),
    ("job.worker", "job.preflight"),
    ("job.worker", "job.frontend"),
];

/// Checks from the NDJSON events that every dependent started after what it waits for
/// passed its gate.
pub fn assert_gate_order(ev: &[Value]) {
    for (from, to) in WEBAPP_EDGES {
        assert!(
            index_of(ev, "gate_passed", to) < index_of(ev, "job_started", from),
            "{from} started before {to} passed its gate"
        );
    }
}

/// Unix nanoseconds of an RFC 3339 time.
pub fn nanos(t: &Value) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(t.as_str()?)
        .ok()?
        .timestamp_nanos_opt()
}

/// What the cluster says about one job's allocations of one version: when its first task
/// started, and when its gate could pass (every allocation healthy for a service, every task
/// finished for a batch job).
#[derive(Clone, Debug)]
pub struct AllocTimes {
    /// Earliest task start.
    pub first_start: i64,
    /// Latest health report (services) or task finish (batch).
    pub ready: i64,
    /// Per allocation: health report minus its task's start (services).
    pub healthy_after: Vec<i64>,
    /// Nodes the allocations ran on.
    pub nodes: BTreeSet<String>,
}

/// Reads the times of `job`'s allocations at `version` from the server at `address`.
pub fn alloc_times(address: &str, job: &str, version: u64, batch: bool) -> AllocTimes {
    let allocs = get_json(address, &format!("/v1/job/{job}/allocations")).expect("allocations");
    alloc_times_in(&allocs, job, version, batch)
}

/// The times of `job`'s allocations at `version`, from its `/allocations` answer.
pub fn alloc_times_in(allocs: &Value, job: &str, version: u64, batch: bool) -> AllocTimes {
    let mut t = AllocTimes {
        first_start: i64::MAX,
        ready: 0,
        healthy_after: Vec::new(),
        nodes: BTreeSet::new(),
    };
    for a in allocs.as_array().unwrap() {
        if a["JobVersion"] != version {
            continue;
        }
        t.nodes
            .insert(a["NodeName"].as_str().unwrap_or_default().to_owned());
        let mut started = i64::MAX;
        let mut finished = 0;
        for s in a["TaskStates"].as_object().into_iter().flat_map(|m| m.values()) {
            started = started.min(nanos(&s["StartedAt"]).unwrap_or(i64::MAX));
            finished = finished.max(nanos(&s["FinishedAt"]).unwrap_or(0));
        }
        assert!(
            started < i64::MAX,
            "{job}: allocation {} never started: {a:#}",
            a["ID"]
        );
        t.first_start = t.first_start.min(started);
        if batch {
            assert!(
                finished > 0,
                "{job}: allocation {} never finished: {a:#}",
                a["ID"]
            );
            t.ready = t.ready.max(finished);
        } else {
            let healthy = nanos(&a["DeploymentStatus"]["Timestamp"])
                .filter(|_| a["DeploymentStatus"]["Healthy"] == true)
                .unwrap_or_else(|| panic!("{job}: allocation {} not healthy: {a:#}", a["ID"]));
            t.ready = t.ready.max(healthy);
            t.healthy_after.push(healthy - started);
        }
    }
    assert!(
        t.first_start < i64::MAX,
        "{job}: no allocation at version {version}"
    );
    t
}

/// CPU seconds (user + system) used so far by process `pid`, from /proc.
pub fn process_cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz
}

/// CPU seconds (user + system) of every child process waited for so far.
pub fn children_cpu_secs() -> f64 {
    // SAFETY: getrusage writes into the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// A stack of periodic jobs `j00..jNN`: each depends on the one before it (a chain), plus `solo`.
pub fn write_chain_stack(root: &Path, n: usize) -> PathBuf {
    let dir = root.join("chain");
    std::fs::create_dir_all(&dir).unwrap();
    let mut jobs = String::from("variable \"gen\" {\n  type    = string\n  default = \"1\"\n}\n");
    let mut stack = String::from("stack {\n  name = \"chain\"\n}\n");
    let names: Vec<String> = (0..n)
        .map(|i| format!("j{i:02}"))
        .chain(["solo".to_string()])
        .collect();
    for name in &names {
        jobs.push_str(&format!(
            "job \"{name}\" {{\n  type = \"batch\"\n  periodic {{\n    crons = [\"0 0 1 1 *\"]\n  }}\n  meta {{\n    gen = var.gen\n  }}\n  \
             group \"g\" {{\n    task \"t\" {{\n      driver = \"raw_exec\"\n      config {{\n        command = \"/bin/true\"\n      }}\n    }}\n  }}\n}}\n"
        ));
    }
    for i in 1..n {
        stack.push_str(&format!(
            "dependency \"j{i:02}\" {{\n  depends_on = [job.j{:02}]\n}}\n",
            i - 1
        ));
    }
    std::fs::write(dir.join("jobs.hcl"), jobs).unwrap();
    std::fs::write(dir.join("stack.hcl"), stack).unwrap();
    dir
}
