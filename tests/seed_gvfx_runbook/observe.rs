//! What the test reads from the cluster, the containers and the services: allocations,
//! PostgreSQL rows, HTTP answers, the event stream. The cluster answers over TLS and wants an
//! ACL token: every request is a `curl -K` with the CA, the CLI certificate and the token.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::cluster_harness::tls::Certs;

/// The curl configuration file every request to the cluster reads.
static CURL_CONFIG: OnceLock<PathBuf> = OnceLock::new();

/// Writes the curl configuration for the cluster (once per process): trust `certs`' CA,
/// present its CLI certificate, send `token`.
pub fn use_cluster(dir: &Path, certs: &Certs, token: &str) {
    let (cert, key) = certs.pair("cli");
    let path = dir.join("curl.conf");
    let text = format!(
        "cacert = {:?}\ncert = {:?}\nkey = {:?}\nheader = \"X-Nomad-Token: {token}\"\n",
        certs.ca(),
        cert,
        key
    );
    std::fs::write(&path, text).expect("curl config");
    assert!(CURL_CONFIG.set(path).is_ok(), "the cluster is set once");
}

/// `curl -K CONFIG ARGS…`.
fn curl(args: &[&str]) -> Command {
    let mut cmd = Command::new("curl");
    if let Some(c) = CURL_CONFIG.get() {
        cmd.arg("-K").arg(c);
    }
    cmd.args(args);
    cmd
}

/// GET `{address}{path}` as JSON, `None` on any failure or a non-2xx answer.
pub fn get_json(address: &str, path: &str) -> Option<Value> {
    let out = curl(&["-sf", "--max-time", "20", &format!("{address}{path}")])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// The job's allocations.
pub fn allocs(address: &str, job: &str) -> Vec<Value> {
    get_json(address, &format!("/v1/job/{job}/allocations"))
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

/// The job's running allocations that are meant to run.
pub fn running(address: &str, job: &str) -> Vec<Value> {
    allocs(address, job)
        .into_iter()
        .filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .collect()
}

/// The one running, healthy allocation of a service job, when there is exactly one.
pub fn one_healthy(address: &str, job: &str) -> Option<Value> {
    let r = running(address, job);
    (r.len() == 1 && r[0]["DeploymentStatus"]["Healthy"] == true).then(|| r[0].clone())
}

/// The job's version.
pub fn version(address: &str, job: &str) -> u64 {
    get_json(address, &format!("/v1/job/{job}")).expect("job")["Version"]
        .as_u64()
        .expect("version")
}

/// `query` through psql in the running PostgreSQL task's container (local socket).
pub fn sql(address: &str, db: &str, query: &str) -> Option<String> {
    let pg = running(address, "gvfx-postgres").into_iter().next()?;
    let name = format!("postgres-{}", pg["ID"].as_str()?);
    let out = Command::new("docker")
        .args(["exec", &name, "psql", "-U", "convex", "-d", db, "-qtAc", query])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `GET path` on ip:port: the status code and body.
pub fn http_get(ip: &str, port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect((ip, port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").trim().to_owned();
    Some((code, body))
}

/// `POST path` with an empty body, as JSON.
pub fn post(address: &str, path: &str) -> Value {
    let out = curl(&["-sf", "--max-time", "20", "-X", "POST"])
        .arg(format!("{address}{path}"))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "POST {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// Follows `/v1/event/stream?topic=Job` into a file until dropped.
pub struct EventLog {
    child: Child,
    path: std::path::PathBuf,
}

impl EventLog {
    pub fn start(address: &str, dir: &Path, name: &str) -> Self {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).expect("event log");
        let child = curl(&["-sN", &format!("{address}/v1/event/stream?topic=Job")])
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("curl the event stream");
        // The stream answers once subscribed; a moment for the subscription to exist.
        std::thread::sleep(Duration::from_secs(1));
        EventLog { child, path }
    }

    /// Stops following; the jobs in the order the stream first says each was stopped
    /// (a `JobDeregistered` event, or a `JobRegistered` one whose job has `Stop`).
    pub fn stopped_order(self) -> Vec<String> {
        stopped(&self.events())
    }

    /// Stops following; every event received.
    pub fn events(mut self) -> Vec<Value> {
        std::thread::sleep(Duration::from_secs(1));
        let _ = self.child.kill();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .flat_map(|batch| batch["Events"].as_array().cloned().unwrap_or_default())
            .collect()
    }
}

/// The jobs in the order the events first say each was stopped.
pub fn stopped(events: &[Value]) -> Vec<String> {
    first_each(events, |e, job| {
        e["Type"] == "JobDeregistered" || job["Stop"] == true
    })
}

/// The jobs in the order the events first say each was registered to run at a version newer
/// than `since` gives it (an update or a revert, not a change of its stability).
pub fn registered(events: &[Value], since: &std::collections::BTreeMap<String, u64>) -> Vec<String> {
    first_each(events, |e, job| {
        let id = job["ID"].as_str().unwrap_or_default();
        let newer = job["Version"].as_u64() > since.get(id).copied();
        e["Type"] == "JobRegistered" && job["Stop"] != true && newer
    })
}

/// The jobs in the order of the first event about each that `pick` (event, job) takes.
fn first_each(events: &[Value], pick: impl Fn(&Value, &Value) -> bool) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for e in events {
        let job = &e["Payload"]["Job"];
        let id = job["ID"].as_str().or(e["Key"].as_str()).unwrap_or_default();
        if pick(e, job) && !order.iter().any(|o| o == id) {
            order.push(id.to_owned());
        }
    }
    order
}

impl Drop for EventLog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
