//! Starts real `deploy agent` server processes on 127.0.0.1 for tests and benchmarks:
//! ephemeral ports, temporary data directories, every child killed on drop.
#![allow(dead_code)]

pub mod python;
pub mod tls;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The cluster key every test server is given (`-encrypt`).
pub const CLUSTER_KEY: &str = "test-cluster-key-0123456789";

/// One agent process (restartable with the same ports and data).
pub struct Agent {
    /// `127.0.0.1:port` of the HTTP API.
    pub addr: String,
    /// `127.0.0.1:port` of the RPC listener.
    pub rpc_addr: String,
    port: u16,
    rpc_port: u16,
    /// More `deploy agent` arguments.
    extra_args: Vec<String>,
    /// Environment variables set for the process.
    pub extra_env: Vec<(String, String)>,
    data_dir: PathBuf,
    peers: Vec<String>,
    bootstrap_expect: usize,
    raft_multiplier: u32,
    /// The keyring's key-encryption key, the same on every server of the cluster.
    keyring_kek: String,
    child: Option<Child>,
    bin: PathBuf,
    /// `http`, or `https` for agents under `tls { http = true, rpc = true }`.
    pub scheme: &'static str,
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
            "--rpc-port",
            &self.rpc_port.to_string(),
            "--encrypt",
            CLUSTER_KEY,
        ])
        .arg("--data-dir")
        .arg(&self.data_dir)
        .args(["--bootstrap-expect", &self.bootstrap_expect.to_string()])
        .args(["--raft-multiplier", &self.raft_multiplier.to_string()])
        .args(["--keyring-kek", &self.keyring_kek])
        .args(&self.extra_args)
        // Small thresholds so that snapshots, log purging and snapshot installs happen, unless
        // the test sets its own.
        .args(self.compaction_args())
        .envs(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        for p in &self.peers {
            cmd.args(["--join", p]);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        self.child = Some(cmd.spawn().expect("spawn deploy agent"));
    }

    /// The small snapshot thresholds tests run with, when the extra arguments set none.
    fn compaction_args(&self) -> Vec<&'static str> {
        let set = |flag: &str| self.extra_args.iter().any(|a| a == flag);
        let mut args = Vec::new();
        if !set("--raft-snapshot-threshold") {
            args.extend(["--raft-snapshot-threshold", "150"]);
        }
        if !set("--raft-trailing-logs") {
            args.extend(["--raft-trailing-logs", "20"]);
        }
        args
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
        // The server's address in Raft is its RPC address: move that too.
        self.rpc_port = free_port();
        self.rpc_addr = format!("127.0.0.1:{}", self.rpc_port);
    }

    /// Whether the process runs.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Process ID.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// This agent's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// `http://addr` (`https` under TLS).
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// `http://rpc_addr` (the RPC listener; `https` under TLS).
    pub fn rpc_url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.rpc_addr)
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
    /// ACL token sent with the harness's own requests, once one exists.
    pub token: Option<String>,
    _dir: tempfile::TempDir,
}

/// A port no other agent of this test process was given, below Linux's ephemeral range
/// (32768-60999) so that no outgoing connection takes it between this check and the agent's
/// bind (a port from `bind(0)` comes from that range, and an agent that lost its port left its
/// cluster without a leader).
fn free_port() -> u16 {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    let seed = uuid::Uuid::new_v4().as_u128();
    for i in 0..4096u128 {
        let port = 20_000 + ((seed + i * 7919) % 12_000) as u16;
        if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.insert(port);
            return port;
        }
    }
    panic!("no free port in 20000-31999")
}

/// A fresh key-encryption key, base64 of 32 random bytes (two random UUIDs).
fn random_kek() -> String {
    use base64::Engine;
    let mut bytes = uuid::Uuid::new_v4().as_bytes().to_vec();
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(bytes)
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
        Self::start_with_args(bin, n, multiplier, &[]).await
    }

    /// Like [`Self::start_with_multiplier`], each agent also given `extra` flags
    /// (`--acl-enabled`, ...).
    pub async fn start_with_args(bin: &str, n: usize, multiplier: u32, extra: &[&str]) -> Self {
        let cluster = Self::spawn(bin, n, multiplier, extra);
        cluster.wait_for_leader(Duration::from_secs(30)).await;
        cluster
    }

    /// Starts `n` servers with `extra` agent arguments and returns at once, without waiting
    /// for a leader (with `--acl-enabled`, the harness's own reads need a token first).
    pub fn spawn(bin: &str, n: usize, multiplier: u32, extra: &[&str]) -> Self {
        Self::spawn_with(bin, n, multiplier, extra, None, &[])
    }

    /// Like [`Self::spawn`], each process also given the environment variables `env`.
    pub fn spawn_with_env(
        bin: &str,
        n: usize,
        multiplier: u32,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        Self::spawn_with(bin, n, multiplier, extra, None, env)
    }

    /// Starts `n` servers under TLS (`tls { http = true, rpc = true, verify_server_hostname =
    /// true, verify_https_client = true }` with the server certificate of `certs`) and waits
    /// for a leader; the harness's own client presents the CLI certificate.
    pub async fn start_tls(bin: &str, n: usize, certs: &tls::Certs) -> Self {
        Self::start_tls_with_multiplier(bin, n, 3, certs).await
    }

    /// Like [`Self::start_tls`] with Raft timing scaled by `multiplier` unless
    /// `DEPLOY_TEST_RAFT_MULTIPLIER` is set.
    pub async fn start_tls_with_multiplier(bin: &str, n: usize, multiplier: u32, certs: &tls::Certs) -> Self {
        let config = certs.agent_config(tls::Role::Server);
        let extra = ["--config", config.to_str().expect("UTF-8 path")];
        let cluster = Self::spawn_with(bin, n, multiplier, &extra, Some(certs), &[]);
        cluster.wait_for_leader(Duration::from_secs(30)).await;
        cluster
    }

    /// Like [`Self::start_tls_with_multiplier`], each agent also given `extra` flags
    /// (`--acl-enabled`, ...); returns at once, without waiting for a leader.
    pub fn spawn_tls_with_args(
        bin: &str,
        n: usize,
        multiplier: u32,
        certs: &tls::Certs,
        extra: &[&str],
    ) -> Self {
        let config = certs.agent_config(tls::Role::Server);
        let mut args = vec!["--config", config.to_str().expect("UTF-8 path")];
        args.extend_from_slice(extra);
        Self::spawn_with(bin, n, multiplier, &args, Some(certs), &[])
    }

    fn spawn_with(
        bin: &str,
        n: usize,
        multiplier: u32,
        extra: &[&str],
        certs: Option<&tls::Certs>,
        env: &[(&str, &str)],
    ) -> Self {
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
        let rpc_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let rpc_addrs: Vec<String> = rpc_ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let keyring_kek = random_kek();
        let agents = (0..n)
            .map(|i| {
                let data_dir = dir.path().join(format!("server{i}"));
                std::fs::create_dir_all(&data_dir).unwrap();
                let mut a = Agent {
                    addr: addrs[i].clone(),
                    rpc_addr: rpc_addrs[i].clone(),
                    port: ports[i],
                    rpc_port: rpc_ports[i],
                    extra_args: extra.iter().map(|s| (*s).to_owned()).collect(),
                    extra_env: env
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    data_dir,
                    peers: rpc_addrs
                        .iter()
                        .filter(|a| **a != rpc_addrs[i])
                        .cloned()
                        .collect(),
                    bootstrap_expect: n,
                    raft_multiplier,
                    keyring_kek: keyring_kek.clone(),
                    child: None,
                    bin: bin.into(),
                    scheme: if certs.is_some() { "https" } else { "http" },
                };
                a.spawn();
                a
            })
            .collect();
        let builder = match certs {
            Some(c) => c.client_builder(),
            None => reqwest::Client::builder(),
        };
        let http = builder
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        Self {
            agents,
            http,
            token: None,
            _dir: dir,
        }
    }

    /// A GET request to agent `i` carrying the token, if any.
    fn get_request(&self, i: usize, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.get(self.agents[i].url(path));
        match &self.token {
            Some(t) => req.header("X-Nomad-Token", t),
            None => req,
        }
    }

    /// `/v1/agent/self` of agent `i`, if it answers.
    pub async fn agent_self(&self, i: usize) -> Option<Value> {
        let resp = self
            .get_request(i, "/v1/agent/self")
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

    /// The running agent that believes it is the leader, if any: the one whose
    /// `/v1/status/leader` (answered without a token, also with ACLs on) is its own RPC address.
    pub async fn leader(&self) -> Option<usize> {
        for i in 0..self.agents.len() {
            if !self.agents[i].running() {
                continue;
            }
            let resp = self
                .http
                .get(self.agents[i].url("/v1/status/leader"))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            let Ok(resp) = resp else { continue };
            if resp.json::<Value>().await.ok().as_ref().and_then(Value::as_str)
                == Some(self.agents[i].rpc_addr.as_str())
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
            .map_err(|e| error_chain(&e))?;
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

    /// A server-to-server call: `method path` on agent `i`'s RPC listener with the cluster
    /// key, as JSON with its status.
    pub async fn rpc(
        &self,
        i: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.agents[i].rpc_url(path))
            .header("X-Deploy-Cluster-Key", CLUSTER_KEY);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("RPC");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// GET `path` on agent `i` as JSON with its status.
    pub async fn get(&self, i: usize, path: &str) -> (u16, Value) {
        let resp = self.get_request(i, path).send().await.expect("GET");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

/// `e` with its sources (reqwest's own text hides the cause: a reset, a timeout, TLS).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// A minimal Nomad JSON job.
pub fn job(id: &str, tag: &str) -> Value {
    json!({
        "ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "web", "Count": 1, "Tasks": [{"Name": "app", "Driver": "docker", "Config": {"image": format!("nginx:{tag}")}}]}],
    })
}
