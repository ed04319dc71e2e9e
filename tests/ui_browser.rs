//! The `/ui` dashboard in a real headless Chromium (python selenium + chromedriver) against a
//! real `deploy agent -dev -acl-enabled`: an anonymous visitor sees no job; a read-only
//! token sees the jobs, a job's allocation turning running without a reload, the constraint
//! that kept another job off the node, a task's log line, the nodes and the servers.
//!
//! Set `DEPLOY_UI_SCREENSHOTS=DIR` to save PNGs of the pages there (docs/ui/ holds a set).

mod client_harness;

use std::process::Command;
use std::time::Duration;

use client_harness::{Agent, kill_marked, pids_with, skip, wait_for};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");
const MARKER: &str = "deploy-ui-browser-test";

/// Chromium, chromedriver and python selenium, or why not.
fn browser_missing() -> Option<String> {
    let has = |cmd: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {cmd}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has("chromedriver") {
        return Some("chromedriver is not installed (apt-get install chromium-driver)".into());
    }
    if !["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .any(|b| has(b))
    {
        return Some("chromium is not installed (apt-get install chromium)".into());
    }
    let selenium = Command::new("python3")
        .args(["-c", "import selenium"])
        .status()
        .is_ok_and(|s| s.success());
    (!selenium).then(|| "python3 cannot import selenium (pip install selenium)".into())
}

async fn send(
    http: &reqwest::Client,
    agent: &Agent,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Value {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http.request(m, agent.url(path)).header("X-Nomad-Token", token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A service that prints a line to stdout and stays up; registered with no instance, so the
/// page is open before the allocation exists.
fn web_job(count: u32) -> Value {
    json!({"Job": {
        "ID": "web", "Name": "web", "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "frontend", "Count": count,
            "Tasks": [{"Name": "server", "Driver": "raw_exec",
                "Config": {"command": "/bin/sh", "args": ["-c",
                    format!("echo hello from the web task; exec sleep 600 # {MARKER}")]}}]}],
    }})
}

/// A job no node can run: its constraint filters the one dev node.
fn nowhere_job() -> Value {
    json!({"Job": {
        "ID": "nowhere", "Name": "nowhere", "Type": "service", "Datacenters": ["dc1"],
        "Constraints": [{"LTarget": "${attr.kernel.name}", "RTarget": "plan9", "Operand": "="}],
        "TaskGroups": [{"Name": "g", "Count": 1,
            "Tasks": [{"Name": "t", "Driver": "raw_exec",
                "Config": {"command": "/bin/true"}}]}],
    }})
}

const VIEWER_RULES: &str = r#"namespace "default" {
  policy       = "read"
  capabilities = ["read-logs"]
}
node { policy = "read" }
agent { policy = "read" }
operator { policy = "read" }"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_jobs_allocations_failures_and_logs_in_a_browser() {
    if let Some(reason) = browser_missing() {
        skip(&reason);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(BIN, dir.path().join("a"), &["-dev", "-acl-enabled"]);
    let http = client_harness::http();
    let leader = wait_for(Duration::from_secs(60), || async {
        let r = http.get(agent.url("/v1/status/leader")).send().await.ok()?;
        let l: String = r.json().await.ok()?;
        (!l.is_empty()).then_some(l)
    })
    .await;
    assert!(leader.is_some(), "no leader; log:\n{}", agent.log());
    let boot: Value = http
        .post(agent.url("/v1/acl/bootstrap"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mgmt = boot["SecretID"].as_str().expect("bootstrap token").to_owned();
    send(
        &http,
        &agent,
        "POST",
        "/v1/acl/policy/viewer",
        &mgmt,
        Some(json!({"Name": "viewer", "Rules": VIEWER_RULES})),
    )
    .await;
    let viewer = send(
        &http,
        &agent,
        "POST",
        "/v1/acl/token",
        &mgmt,
        Some(json!({"Name": "viewer", "Type": "client", "Policies": ["viewer"]})),
    )
    .await;
    let viewer = viewer["SecretID"].as_str().unwrap().to_owned();
    send(&http, &agent, "PUT", "/v1/jobs", &mgmt, Some(web_job(0))).await;
    send(&http, &agent, "PUT", "/v1/jobs", &mgmt, Some(nowhere_job())).await;

    let script = format!("{}/tests/python/ui_browser.py", env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .arg(format!("http://{}", agent.addr))
        .env("UI_VIEWER_TOKEN", &viewer)
        .env("UI_MANAGEMENT_TOKEN", &mgmt)
        .env("UI_WEB_JOB", web_job(1).to_string());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = http
        .delete(agent.url("/v1/job/web"))
        .header("X-Nomad-Token", &mgmt)
        .send()
        .await;
    // The stopped job's task exits; whatever is left of it is ended here.
    let _ = wait_for(Duration::from_secs(20), || async {
        pids_with(MARKER).is_empty().then_some(())
    })
    .await;
    kill_marked(MARKER);
    assert!(
        out.status.success() && stdout.contains("ui: every page checked"),
        "the browser check failed:\n{stdout}\n{stderr}\nagent log:\n{}",
        agent.log()
    );
}
