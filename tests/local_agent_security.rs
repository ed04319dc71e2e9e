//! The local agent is safe by default, checked on real agent processes.
//!
//! ```text
//!  deploy apply STACK          starts the local agent at 127.0.0.1:4646 (ACLs on, token 0600)
//!  POST text/plain job          415, nothing runs
//!  POST Host: evil.example      403, nothing runs
//!  POST without the token       403
//!  deploy agent -dev (by hand)  ACLs off, yet text/plain writes and foreign Hosts refused
//! ```
//!
//! The auto-started agent uses Nomad's default address, shared by the whole machine: when
//! something already answers there the first test skips with the reason (fails when `CI=true`).

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");
const LOCAL: &str = "http://127.0.0.1:4646";

/// A stack directory whose local agent is stopped when the test ends, however it ends.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let stack = dir.path().join("probe");
        std::fs::create_dir_all(&stack).unwrap();
        std::fs::write(stack.join("stack.hcl"), "stack {\n  name = \"probe\"\n}\n").unwrap();
        std::fs::write(
            stack.join("probe.nomad.hcl"),
            r#"job "probe" {
  type = "batch"
  group "probe" {
    task "probe" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
"#,
        )
        .unwrap();
        Workspace { dir }
    }

    fn deploy(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(self.dir.path()).stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("NOMAD_") || k.starts_with("DEPLOY_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("NO_COLOR", "1").output().expect("running deploy")
    }

    fn state_root(&self) -> PathBuf {
        self.dir.path().join("state")
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = self.deploy(&["agent", "stop", "-state", "state"]);
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn default_address_taken() -> bool {
    TcpStream::connect_timeout(&"127.0.0.1:4646".parse().unwrap(), Duration::from_millis(300)).is_ok()
}

/// A raw_exec job that would leave `marker` behind if it ever ran.
fn marker_job(id: &str, marker: &Path) -> Value {
    json!({"Job": {
        "ID": id, "Name": id, "Type": "batch", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [{
            "Name": "t", "Driver": "raw_exec",
            "Config": {"command": "/bin/sh", "args": ["-c", format!("touch {}", marker.display())]},
            "Resources": {"CPU": 20, "MemoryMB": 16}
        }]}]
    }})
}

async fn status_of(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.expect("request").status().as_u16()
}

/// The refused requests that a web page could send: a `text/plain` job (CSRF with a simple
/// request) and a JSON job under a foreign `Host` (DNS rebinding).
async fn assert_browser_writes_refused(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    marker: &Path,
) {
    let body = marker_job("evil", marker).to_string();
    let with_token = |r: reqwest::RequestBuilder| match token {
        Some(t) => r.header("X-Nomad-Token", t),
        None => r,
    };
    let plain = with_token(http.post(format!("{base}/v1/jobs")))
        .header("Content-Type", "text/plain")
        .body(body.clone());
    assert_eq!(status_of(plain).await, 415, "a text/plain write is refused");
    let rebound = with_token(http.post(format!("{base}/v1/jobs")))
        .header("Host", "evil.example")
        .header("Content-Type", "application/json")
        .body(body);
    assert_eq!(status_of(rebound).await, 403, "a foreign Host is refused");
    let read = with_token(http.get(format!("{base}/v1/job/evil")));
    assert_eq!(status_of(read).await, 404, "no job was registered");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!marker.exists(), "nothing ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auto_started_agent_is_locked_down() {
    if default_address_taken() {
        let why = "something already listens on 127.0.0.1:4646, where deploy starts its local agent";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why} (CI=true)");
        eprintln!("skipping: {why}");
        return;
    }
    deploy::api::install_crypto_provider();
    let ws = Workspace::new();
    let out = ws.deploy(&["apply", "probe", "-auto-approve"]);
    assert!(
        out.status.success(),
        "deploy apply through the local agent:\n{}",
        text(&out)
    );
    assert!(text(&out).contains("Starting a local cluster"), "{}", text(&out));

    let token_file = ws.state_root().join(".agent/token");
    let mode = std::fs::metadata(&token_file)
        .expect("token file")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the token is its owner's alone");
    let token = std::fs::read_to_string(&token_file).unwrap().trim().to_owned();
    assert!(!token.is_empty());

    let http = reqwest::Client::new();
    let marker = ws.dir.path().join("ran");
    let job = marker_job("evil", &marker);
    assert_eq!(
        status_of(http.post(format!("{LOCAL}/v1/jobs")).json(&job)).await,
        403,
        "a write without the token"
    );
    assert_eq!(
        status_of(http.get(format!("{LOCAL}/v1/jobs"))).await,
        403,
        "a read without the token"
    );
    let listed = http
        .get(format!("{LOCAL}/v1/jobs"))
        .header("X-Nomad-Token", &token);
    assert_eq!(status_of(listed).await, 200, "the kept token works");
    assert_browser_writes_refused(&http, LOCAL, Some(&token), &marker).await;

    // deploy reads the token itself: a second plan through the running agent works.
    let plan = ws.deploy(&["plan", "probe"]);
    assert!(plan.status.success(), "{}", text(&plan));
    assert!(
        !text(&plan).contains("Starting a local cluster"),
        "{}",
        text(&plan)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `deploy agent -dev` started by hand, killed when dropped.
struct DevAgent(Child);

impl Drop for DevAgent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_for_leader(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{base}/v1/status/leader")).send().await
            && r.status().is_success()
            && r.text().await.is_ok_and(|t| t.len() > 2)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the dev agent at {base} elected no leader");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_started_dev_agent_has_no_acls_but_refuses_browser_writes() {
    deploy::api::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(BIN)
        .args([
            "agent",
            "-dev",
            "-bind",
            "127.0.0.1",
            "-http-port",
            &port.to_string(),
            "-data-dir",
        ])
        .arg(dir.path().join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("deploy agent -dev");
    let _agent = DevAgent(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_for_leader(&http, &base).await;

    assert_eq!(
        status_of(http.get(format!("{base}/v1/jobs"))).await,
        200,
        "ACLs are off, as in Nomad's dev agent"
    );
    let localhost = http.get(format!("http://localhost:{port}/v1/jobs"));
    assert_eq!(status_of(localhost).await, 200, "localhost is a loopback name");
    let marker = dir.path().join("ran");
    assert_browser_writes_refused(&http, &base, None, &marker).await;
    let ok = marker_job("fine", &dir.path().join("fine"));
    assert_eq!(
        status_of(http.post(format!("{base}/v1/jobs")).json(&ok)).await,
        200,
        "a JSON write passes"
    );
    let bodiless = http.put(format!("{base}/v1/job/fine/evaluate"));
    assert_eq!(
        status_of(bodiless).await,
        200,
        "a write with no body and no type passes"
    );
}
