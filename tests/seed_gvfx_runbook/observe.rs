//! What the test reads from the cluster, the containers and the services: allocations,
//! PostgreSQL rows, HTTP answers, the event stream.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::apply_support::get_json;

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
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "20", "-X", "POST"])
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
        let child = Command::new("curl")
            .args(["-sN", &format!("{address}/v1/event/stream?topic=Job")])
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
    pub fn stopped_order(mut self) -> Vec<String> {
        std::thread::sleep(Duration::from_secs(1));
        let _ = self.child.kill();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let mut order: Vec<String> = Vec::new();
        for line in text.lines() {
            let Ok(batch) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            for e in batch["Events"].as_array().into_iter().flatten() {
                let job = &e["Payload"]["Job"];
                let stopped = e["Type"] == "JobDeregistered" || job["Stop"] == true;
                let id = job["ID"].as_str().or(e["Key"].as_str()).unwrap_or_default();
                if stopped && !order.iter().any(|o| o == id) {
                    order.push(id.to_owned());
                }
            }
        }
        order
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
