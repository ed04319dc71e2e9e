//! Starts real `deploy agent` server processes on 127.0.0.1 for tests and benchmarks:
//! ephemeral ports, temporary data directories, every child killed on drop.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One agent process (restartable with the same port and data).
pub struct Agent {
    /// `127.0.0.1:port`.
    pub addr: String,
    port: u16,
    data_dir: PathBuf,
    peers: Vec<String>,
    bootstrap_expect: usize,
    raft_multiplier: u32,
    child: Option<Child>,
    bin: PathBuf,
}

impl Agent {
    /// Starts the process.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "agent {} already running", self.addr);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join("agent.log"))
            .expect("agent log");
        let mut cmd = Command::new(&self.bin);
        cmd.args([
            "agent",
            "--server",
            "--bind",
            "127.0.0.1",
            "--http-port",
            &self.port.to_string(),
        ])
        .arg("--data-dir")
        .arg(&self.data_dir)
        .args(["--bootstrap-expect", &self.bootstrap_expect.to_string()])
        // Small thresholds so that snapshots, log purging and snapshot installs happen.
        .args(["--raft-snapshot-threshold", "150", "--raft-trailing-logs", "20"])
        .args(["--raft-multiplier", &self.raft_multiplier.to_string()]);
        for p in &self.peers {
            cmd.args(["--join", p]);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        self.child = Some(cmd.spawn().expect("spawn deploy agent"));
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits up to `limit` for the process to exit; its status, or `None`
    /// if it still runs (it is then left to `kill`).
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let pid = libc::pid_t::try_from(child.id()).expect("pid");
        // SAFETY: sending a signal to our own child process has no memory effects.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Gives a stopped agent a new free port, keeping its data (a server that moved).
    pub fn change_port(&mut self) {
        assert!(self.child.is_none(), "stop agent {} first", self.addr);
        self.port = free_port();
        self.addr = format!("127.0.0.1:{}", self.port);
    }

    /// Whether the process runs.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Process ID.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `http://addr`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A cluster of server agents.
pub struct Cluster {
    /// The agents (index = position in the peer list).
    pub agents: Vec<Agent>,
    /// HTTP client.
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind port 0")
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// Starts `n` servers that bootstrap together, using the binary at `bin`, with Raft timing
    /// scaled by 3 (`DEPLOY_TEST_RAFT_MULTIPLIER` overrides it): slower timing keeps elections
    /// stable when fsync stalls on a busy host.
    pub async fn start(bin: &str, n: usize) -> Self {
        Self::start_with_multiplier(bin, n, 3).await
    }

    /// Like [`Self::start`] with Raft timing scaled by `multiplier` unless
    /// `DEPLOY_TEST_RAFT_MULTIPLIER` is set.
    pub async fn start_with_multiplier(bin: &str, n: usize, multiplier: u32) -> Self {
        let raft_multiplier = match std::env::var("DEPLOY_TEST_RAFT_MULTIPLIER") {
            Ok(v) => v
                .parse()
                .unwrap_or_else(|_| panic!("DEPLOY_TEST_RAFT_MULTIPLIER={v:?} is not a whole number")),
            Err(_) => multiplier,
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut dir = tempfile::tempdir().expect("tempdir");
        if std::env::var_os("DEPLOY_TEST_KEEP").is_some() {
            dir.disable_cleanup(true);
            eprintln!("agent data and logs kept in {}", dir.path().display());
        }
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let agents = (0..n)
            .map(|i| {
                let data_dir = dir.path().join(format!("server{i}"));
                std::fs::create_dir_all(&data_dir).unwrap();
                let mut a = Agent {
                    addr: addrs[i].clone(),
                    port: ports[i],
                    data_dir,
                    peers: addrs.iter().filter(|a| **a != addrs[i]).cloned().collect(),
                    bootstrap_expect: n,
                    raft_multiplier,
                    child: None,
                    bin: bin.into(),
                };
                a.spawn();
                a
            })
            .collect();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let cluster = Self {
            agents,
            http,
            _dir: dir,
        };
        cluster.wait_for_leader(Duration::from_secs(30)).await;
        cluster
    }

    /// `/v1/agent/self` of agent `i`, if it answers.
    pub async fn agent_self(&self, i: usize) -> Option<Value> {
        let resp = self
            .http
            .get(self.agents[i].url("/v1/agent/self"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        resp.json().await.ok()
    }

    /// Agent `i`'s local applied index.
    pub async fn applied_index(&self, i: usize) -> Option<u64> {
        self.agent_self(i).await?["stats"]["raft"]["applied_index"]
            .as_str()?
            .parse()
            .ok()
    }

    /// The running agent that believes it is the leader, if any.
    pub async fn leader(&self) -> Option<usize> {
        for i in 0..self.agents.len() {
            if !self.agents[i].running() {
                continue;
            }
            if let Some(s) = self.agent_self(i).await
                && s["stats"]["nomad"]["leader"] == "true"
            {
                return Some(i);
            }
        }
        None
    }

    /// Waits for a leader; panics after `timeout`.
    pub async fn wait_for_leader(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.leader().await {
                return l;
            }
            assert!(Instant::now() < deadline, "no leader within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until agent `i` answers HTTP; panics after `timeout`.
    pub async fn wait_for_http(&self, i: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.agent_self(i).await.is_none() {
            assert!(
                Instant::now() < deadline,
                "agent {i} not answering within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A running agent other than `not`.
    pub fn other_than(&self, not: usize) -> usize {
        (0..self.agents.len())
            .find(|i| *i != not && self.agents[*i].running())
            .expect("another running agent")
    }

    /// Registers job `id` (image tag `tag`) through agent `i`; the JobModifyIndex on success.
    pub async fn register(&self, i: usize, id: &str, tag: &str) -> Result<u64, String> {
        let body = json!({"Job": job(id, tag), "Submission": {"Source": format!("job \"{id}\" {{}}"), "Format": "hcl2"}});
        let resp = self
            .http
            .put(self.agents[i].url("/v1/jobs"))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {text}"));
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        v["JobModifyIndex"]
            .as_u64()
            .ok_or_else(|| format!("no JobModifyIndex in {text}"))
    }

    /// GET `path` on agent `i` as JSON with its status.
    pub async fn get(&self, i: usize, path: &str) -> (u16, Value) {
        let resp = self.http.get(self.agents[i].url(path)).send().await.expect("GET");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

/// A minimal Nomad JSON job.
pub fn job(id: &str, tag: &str) -> Value {
    json!({
        "ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "web", "Count": 1, "Tasks": [{"Name": "app", "Driver": "docker", "Config": {"image": format!("nginx:{tag}")}}]}],
    })
}
