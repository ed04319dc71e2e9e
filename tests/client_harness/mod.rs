//! Starts real `deploy agent` processes with clients for tests and measurements: a dev agent
//! (server + client), client-only agents, jobs registered through `/v1/jobs` (the servers'
//! scheduler places them), and a tiny static HTTP server built with gcc for tasks and
//! `FROM scratch` images.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A tiny HTTP server: answers `ok` on the port given as argv[1] (or $PORT).
pub const SERVER_C: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  const char *p = argc > 1 ? argv[1] : getenv("PORT");
  int port = p ? atoi(p) : 8080, one = 1;
  signal(SIGPIPE, SIG_IGN);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a; memset(&a, 0, sizeof a);
  a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
  listen(s, 64);
  printf("listening on %d\n", port); fflush(stdout);
  for (;;) {
    int c = accept(s, 0, 0); char buf[2048];
    if (c < 0) continue;
    if (read(c, buf, sizeof buf) < 0) {}
    const char *r = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
    if (write(c, r, strlen(r)) < 0) {}
    close(c);
  }
}
"#;

/// Compiles [`SERVER_C`] statically into `dir/server`; the reason when gcc cannot.
pub fn build_server(dir: &Path) -> Result<PathBuf, String> {
    build_static(dir, "server", SERVER_C)
}

/// Compiles C `source` statically into `dir/name`; the reason when gcc cannot.
pub fn build_static(dir: &Path, name: &str, source: &str) -> Result<PathBuf, String> {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).map_err(|e| e.to_string())?;
    let out = dir.join(name);
    let status = Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .map_err(|e| format!("gcc: {e}"))?;
    if !status.success() {
        return Err(format!("gcc -static {name}.c failed"));
    }
    Ok(out)
}

/// A test that cannot run here (no gcc, no Docker engine): prints why and returns where `CI`
/// is unset, and fails with the reason where `CI=true`, so CI never passes a test it skipped.
pub fn skip(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("cannot run in CI: {reason}");
    }
    eprintln!("skipping (CI is not set): {reason}");
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind port 0")
        .local_addr()
        .expect("addr")
        .port()
}

/// One agent process.
pub struct Agent {
    /// `127.0.0.1:port` of the HTTP API.
    pub addr: String,
    /// `127.0.0.1:port` of the RPC listener (a server's; clients' `--servers` name it).
    pub rpc_addr: String,
    /// Data directory.
    pub data_dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    bin: PathBuf,
}

impl Agent {
    /// An agent with `args` (besides bind, port and data dir), started at once.
    pub fn start(bin: &str, data_dir: PathBuf, args: &[&str]) -> Self {
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let port = free_port();
        let mut a = Agent {
            addr: format!("127.0.0.1:{port}"),
            rpc_addr: format!("127.0.0.1:{}", free_port()),
            data_dir,
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
            bin: bin.into(),
        };
        a.spawn();
        a
    }

    /// Starts the process (again, with the same port and data).
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join("agent.log"))
            .expect("agent log");
        let port = self
            .addr
            .rsplit_once(':')
            .map(|(_, p)| p.to_owned())
            .unwrap_or_default();
        let rpc_port = self
            .rpc_addr
            .rsplit_once(':')
            .map(|(_, p)| p.to_owned())
            .unwrap_or_default();
        let mut cmd = Command::new(&self.bin);
        cmd.args(["agent", "--bind", "127.0.0.1", "--http-port", &port])
            .args(["--rpc-port", &rpc_port])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.args)
            .env("DEPLOY_LOG", "info,openraft=error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(cmd.spawn().expect("spawn deploy agent"));
    }

    /// `kill -9` of the agent (its tasks keep running).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait.
    pub fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on our own child's PID.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let _ = c.wait();
        }
    }

    /// The agent's PID.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `http://addr{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The agent's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("agent.log")).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTP client for tests.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// GET JSON, `None` on any failure.
pub async fn get_json(http: &reqwest::Client, url: &str) -> Option<Value> {
    let r = http.get(url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

/// Polls `f` every 50 ms until it returns `Some` or `timeout` passes.
pub async fn wait_for<T, F, Fut>(timeout: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `agent` (a server) lists `n` ready nodes; returns their IDs, sorted by name.
pub async fn wait_nodes(http: &reqwest::Client, server: &Agent, n: usize) -> Vec<(String, String)> {
    let url = server.url("/v1/nodes");
    wait_for(Duration::from_secs(60), || async {
        let nodes = get_json(http, &url).await?;
        let mut ready: Vec<(String, String)> = nodes
            .as_array()?
            .iter()
            .filter(|n| n["Status"] == "ready")
            .map(|n| {
                (
                    n["Name"].as_str().unwrap_or("").to_owned(),
                    n["ID"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        ready.sort();
        (ready.len() >= n).then_some(ready)
    })
    .await
    .unwrap_or_else(|| panic!("{n} nodes did not become ready; log:\n{}", server.log()))
}

/// Registers `job` (Nomad JSON, without the `{"Job": ...}` wrapper); returns the eval ID.
pub async fn register_job(http: &reqwest::Client, server: &Agent, job: &Value) -> String {
    let r = http
        .put(server.url("/v1/jobs"))
        .json(&json!({ "Job": job }))
        .send()
        .await
        .expect("register");
    let status = r.status();
    let body: Value = r.json().await.unwrap_or_default();
    assert!(status.is_success(), "register: {status} {body}");
    body["EvalID"].as_str().unwrap_or_default().to_owned()
}

/// Stops a job (`DELETE /v1/job/:id`); the scheduler then stops its allocations.
pub async fn stop_job(http: &reqwest::Client, server: &Agent, id: &str) {
    let r = http
        .delete(server.url(&format!("/v1/job/{id}")))
        .send()
        .await
        .expect("stop job");
    assert!(r.status().is_success(), "stop job {id}: {}", r.status());
}

/// The job's allocations (list stubs).
pub async fn job_allocs(http: &reqwest::Client, server: &Agent, job: &str) -> Vec<Value> {
    get_json(http, &server.url(&format!("/v1/job/{job}/allocations")))
        .await
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

/// Waits until the job has an allocation (read in full) satisfying `pred`; returns it.
pub async fn wait_job_alloc(
    http: &reqwest::Client,
    server: &Agent,
    job: &str,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let stubs = job_allocs(http, server, job).await;
        for stub in &stubs {
            let id = stub["ID"].as_str().unwrap_or_default();
            if let Some(a) = get_json(http, &server.url(&format!("/v1/allocation/{id}"))).await
                && pred(&a)
            {
                return a;
            }
        }
        if Instant::now() >= deadline {
            let evals = get_json(http, &server.url(&format!("/v1/job/{job}/evaluations"))).await;
            panic!(
                "no allocation of {job} reached the expected state; allocations:\n{:#}\nevaluations:\n{:#}\nlog:\n{}",
                Value::Array(stubs),
                evals.unwrap_or_default(),
                server.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The host port the scheduler gave `label` in allocation `a`.
pub fn alloc_port(a: &Value, label: &str) -> u16 {
    a["AllocatedResources"]["Shared"]["Ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["Label"] == label)
        .and_then(|p| p["Value"].as_u64())
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or_else(|| panic!("no port {label:?} in {a:#}"))
}

/// Waits until the allocation satisfies `pred`; returns it.
pub async fn wait_alloc(
    http: &reqwest::Client,
    server: &Agent,
    id: &str,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let url = server.url(&format!("/v1/allocation/{id}"));
    let deadline = Instant::now() + timeout;
    let mut last = Value::Null;
    loop {
        if let Some(a) = get_json(http, &url).await {
            if pred(&a) {
                return a;
            }
            last = a;
        }
        if Instant::now() >= deadline {
            panic!(
                "allocation {id} did not reach the expected state; last:\n{last:#}\nlog:\n{}",
                server.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Nanoseconds of a duration in seconds, for Nomad JSON.
pub fn secs(s: f64) -> i64 {
    (s * 1e9) as i64
}

/// PIDs whose command line contains `marker`.
pub fn pids_with(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z"));
        if cmd.contains(marker) && !zombie {
            out.push(pid);
        }
    }
    out
}

/// Kills every process whose command line contains `marker` (test cleanup).
pub fn kill_marked(marker: &str) {
    for pid in pids_with(marker) {
        // SAFETY: kill(2) of test-started task processes found by their unique marker.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
}
