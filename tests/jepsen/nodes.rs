//! Real `deploy agent -server` processes, one per network namespace of a [`Net`], with the
//! faults a test injects: kill -9 and restart on the same data dir, SIGSTOP/SIGCONT, and the
//! net's partitions. Every process is killed on drop, before the namespaces go.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::netns::Net;

/// The cluster key every server is given (`-encrypt`).
pub const CLUSTER_KEY: &str = "jepsen-cluster-key-0123456789";

/// HTTP port of every server (each has its own address).
pub const HTTP_PORT: u16 = 4646;

/// RPC port of every server.
pub const RPC_PORT: u16 = 4647;

/// Servers in namespaces (field order: processes die before the net and the data go).
pub struct NetCluster {
    children: Vec<Option<Child>>,
    paused: Vec<bool>,
    bin: PathBuf,
    multiplier: u32,
    kek: String,
    /// The namespaces and partitions.
    pub net: Net,
    dir: tempfile::TempDir,
}

impl NetCluster {
    /// Builds the namespaces and starts `n` servers with Raft timing scaled by `multiplier`.
    pub fn start(bin: &str, n: usize, multiplier: u32) -> Result<Self, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let net = Net::new(n)?;
        let mut dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        if std::env::var_os("DEPLOY_TEST_KEEP").is_some() {
            dir.disable_cleanup(true);
            eprintln!("agent data and logs kept in {}", dir.path().display());
        }
        Self::with(bin, net, dir, multiplier)
    }

    fn with(bin: &str, net: Net, dir: tempfile::TempDir, multiplier: u32) -> Result<Self, String> {
        use base64::Engine;
        let mut key = uuid::Uuid::new_v4().as_bytes().to_vec();
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        let n = net.len();
        let mut c = NetCluster {
            children: (0..n).map(|_| None).collect(),
            paused: vec![false; n],
            bin: bin.into(),
            multiplier,
            kek: base64::engine::general_purpose::STANDARD.encode(key),
            net,
            dir,
        };
        for i in 0..n {
            std::fs::create_dir_all(c.data_dir(i)).map_err(|e| e.to_string())?;
            c.spawn(i);
        }
        Ok(c)
    }

    /// Number of servers.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("server{i}"))
    }

    /// `10.x.y.z:4646` of server `i`'s HTTP API.
    pub fn addr(&self, i: usize) -> String {
        format!("{}:{HTTP_PORT}", self.net.ip(i))
    }

    /// Server `i`'s RPC address, as Raft and `/v1/status/leader` name it.
    pub fn rpc_addr(&self, i: usize) -> String {
        format!("{}:{RPC_PORT}", self.net.ip(i))
    }

    /// `http://addr/path` on server `i`.
    pub fn url(&self, i: usize, path: &str) -> String {
        format!("http://{}{path}", self.addr(i))
    }

    /// Starts server `i` (again, on the same data dir).
    pub fn spawn(&mut self, i: usize) {
        assert!(self.children[i].is_none(), "server {i} already runs");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir(i).join("agent.log"))
            .expect("agent log");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.net.ns(i)])
            .arg(&self.bin)
            .args(["agent", "--server", "--bind", &self.net.ip(i)])
            .args([
                "--http-port",
                &HTTP_PORT.to_string(),
                "--rpc-port",
                &RPC_PORT.to_string(),
            ])
            .args(["--encrypt", CLUSTER_KEY, "--keyring-kek", &self.kek])
            .arg("--data-dir")
            .arg(self.data_dir(i))
            .args(["--bootstrap-expect", &self.len().to_string()])
            .args(["--raft-snapshot-threshold", "150", "--raft-trailing-logs", "20"])
            .args(["--raft-multiplier", &self.multiplier.to_string()]);
        for j in (0..self.len()).filter(|j| *j != i) {
            cmd.args(["--join", &self.rpc_addr(j)]);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        // `ip netns exec` execs the agent in place: the child's pid is the agent's.
        self.children[i] = Some(cmd.spawn().expect("spawn deploy agent"));
        self.paused[i] = false;
    }

    /// Whether server `i` runs (paused counts as running).
    pub fn running(&self, i: usize) -> bool {
        self.children[i].is_some()
    }

    /// `kill -9` of server `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.paused[i] = false;
    }

    fn signal(&mut self, i: usize, sig: libc::c_int) {
        if let Some(c) = &self.children[i] {
            let pid = libc::pid_t::try_from(c.id()).expect("pid");
            // SAFETY: a signal to our own child process has no memory effects.
            unsafe { libc::kill(pid, sig) };
        }
    }

    /// SIGSTOP of server `i`.
    pub fn pause(&mut self, i: usize) {
        self.signal(i, libc::SIGSTOP);
        self.paused[i] = self.running(i);
    }

    /// SIGCONT of server `i`.
    pub fn resume(&mut self, i: usize) {
        self.signal(i, libc::SIGCONT);
        self.paused[i] = false;
    }

    /// Ends every fault: heals the network, resumes paused servers, restarts killed ones.
    pub fn heal_all(&mut self) {
        self.net.heal().expect("heal the network");
        for i in 0..self.len() {
            if self.paused[i] {
                self.resume(i);
            }
            if !self.running(i) {
                self.spawn(i);
            }
        }
    }

    /// The server that server `i` names as leader (`/v1/status/leader`), if it answers.
    pub async fn leader_seen_by(&self, http: &reqwest::Client, i: usize) -> Option<usize> {
        let resp = http
            .get(self.url(i, "/v1/status/leader"))
            .timeout(Duration::from_millis(500))
            .send()
            .await
            .ok()?;
        let addr = resp.json::<Value>().await.ok()?;
        (0..self.len()).find(|j| Some(self.rpc_addr(*j).as_str()) == addr.as_str())
    }

    /// A server that says it is the leader itself, if any.
    pub async fn leader(&self, http: &reqwest::Client) -> Option<usize> {
        for i in (0..self.len()).filter(|i| self.running(*i) && !self.paused[*i]) {
            if self.leader_seen_by(http, i).await == Some(i) {
                return Some(i);
            }
        }
        None
    }

    /// Waits for a leader; an error after `timeout`.
    pub async fn wait_for_leader(&self, http: &reqwest::Client, timeout: Duration) -> Result<usize, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.leader(http).await {
                return Ok(l);
            }
            if Instant::now() >= deadline {
                return Err(format!("no leader within {timeout:?}"));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The tail of server `i`'s log, for failure messages.
    pub fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(self.data_dir(i).join("agent.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for NetCluster {
    fn drop(&mut self) {
        for i in 0..self.len() {
            self.resume(i);
            self.kill(i);
        }
    }
}
