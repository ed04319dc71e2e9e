//! The embedded default: when a stack names no cluster and nothing answers at Nomad's default
//! address, `deploy` starts a local built-in cluster (`deploy agent -dev`) in the background,
//! with its data beside the stack's state, and leaves it running for the next command.
//! `deploy agent stop` ends it.
//!
//! Any web page the user opens can send requests to 127.0.0.1, so this agent is locked down:
//! it binds loopback only, runs with ACLs, and bootstraps itself before it serves, keeping the
//! management token in `<state>/.agent/token` (0600). `deploy` sends that token to the local
//! agent's address when no other token is configured.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::api::{ClientConfig, NomadClient, QueryOptions};

/// A local agent that `deploy` started or found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalCluster {
    /// Its API address.
    pub address: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its process ID, when this state root started it.
    pub pid: Option<u32>,
    /// True when this call started it.
    pub started: bool,
    /// Its management token, when it keeps one (agents started by this version do).
    pub token: Option<String>,
}

/// Why the local cluster could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum LocalClusterError {
    /// Spawning the agent failed.
    #[error("starting the local cluster: {0}")]
    Spawn(String),
    /// It started but did not elect a leader in time.
    #[error("the local cluster did not become ready within {secs}s; its log is {log}")]
    NotReady {
        /// How long we waited.
        secs: u64,
        /// Where the agent's output went.
        log: String,
    },
    /// Filesystem trouble with the data directory.
    #[error("local cluster data directory {path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        message: String,
    },
}

const PID_FILE: &str = "agent.pid";
const LOG_FILE: &str = "agent.log";
const TOKEN_FILE: &str = "token";
/// The only address the local agent binds: never reachable from another host.
const LOOPBACK: &str = "127.0.0.1";

/// The data directory of the local agent for a state root (`state/`).
pub fn agent_dir(state_root: &Path) -> PathBuf {
    state_root.join(".agent")
}

async fn answers(address: &str) -> bool {
    let Ok(client) = NomadClient::new(ClientConfig::at(address)) else {
        return false;
    };
    let client = client.with_retries(0);
    matches!(
        client.get::<String>("/v1/status/leader", &[], QueryOptions::default()).await,
        Ok((leader, _)) if !leader.is_empty()
    )
}

fn read_pid(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join(PID_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

/// The management token the local agent of `state_root` keeps, if any.
pub fn local_agent_token(state_root: &Path) -> Option<String> {
    let token = std::fs::read_to_string(agent_dir(state_root).join(TOKEN_FILE)).ok()?;
    Some(token.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Whether `address` is the one the local agent serves (`127.0.0.1` or `localhost`, same port),
/// so that its token may be sent there.
pub fn is_local_agent_address(address: &str, local: &str) -> bool {
    let (host, port) = split_address(address);
    let (_, local_port) = split_address(local);
    let scheme_ok = !address.contains("://") || address.starts_with("http://");
    scheme_ok && port == local_port && (host == LOOPBACK || host == "localhost")
}

/// Returns a running local cluster at `address`, starting `deploy agent -dev` in the
/// background when nothing answers there.
pub async fn ensure_local_agent(state_root: &Path, address: &str) -> Result<LocalCluster, LocalClusterError> {
    let dir = agent_dir(state_root);
    if answers(address).await {
        return Ok(LocalCluster {
            address: address.to_string(),
            pid: read_pid(&dir),
            data_dir: dir,
            started: false,
            token: local_agent_token(state_root),
        });
    }
    let io = |e: std::io::Error| LocalClusterError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let (_, port) = split_address(address);
    let exe = std::env::current_exe().map_err(|e| LocalClusterError::Spawn(e.to_string()))?;
    let log_path = dir.join(LOG_FILE);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io)?;
    let log_err = log.try_clone().map_err(io)?;
    let mut cmd = Command::new(exe);
    cmd.args(["agent", "-dev", "-acl-enabled", "-acl-bootstrap-token-file"])
        .arg(dir.join(TOKEN_FILE))
        .arg("-data-dir")
        .arg(dir.join("data"))
        .args(["-bind", LOOPBACK, "-http-port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    {
        use std::os::unix::process::CommandExt;
        // Its own process group: ^C in the terminal that ran `deploy apply` does not stop it.
        cmd.process_group(0);
    }
    let child = cmd.spawn().map_err(|e| LocalClusterError::Spawn(e.to_string()))?;
    let pid = child.id();
    std::fs::write(dir.join(PID_FILE), pid.to_string()).map_err(io)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if answers(address).await {
            return Ok(LocalCluster {
                address: address.to_string(),
                data_dir: dir,
                pid: Some(pid),
                started: true,
                token: local_agent_token(state_root),
            });
        }
        if !alive(pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(LocalClusterError::NotReady {
        secs: 30,
        log: log_path.display().to_string(),
    })
}

/// Whether the local agent of `state_root` runs, and its PID.
pub fn agent_status(state_root: &Path) -> Option<u32> {
    read_pid(&agent_dir(state_root)).filter(|pid| alive(*pid))
}

/// Stops the local agent of `state_root` (SIGTERM, then SIGKILL after 10 s). Returns the PID
/// that was stopped, or `None` when none ran.
pub fn stop_local_agent(state_root: &Path) -> Result<Option<u32>, LocalClusterError> {
    let dir = agent_dir(state_root);
    let Some(pid) = read_pid(&dir).filter(|pid| alive(*pid)) else {
        let _ = std::fs::remove_file(dir.join(PID_FILE));
        return Ok(None);
    };
    let signal = |sig: &str| {
        Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .map_err(|e| LocalClusterError::Spawn(format!("kill {sig} {pid}: {e}")))
    };
    signal("-TERM")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive(pid) {
        signal("-KILL")?;
    }
    let _ = std::fs::remove_file(dir.join(PID_FILE));
    Ok(Some(pid))
}

fn split_address(address: &str) -> (String, u16) {
    let rest = address
        .split("://")
        .nth(1)
        .unwrap_or(address)
        .trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.parse().unwrap_or(4646)),
        None => (rest.to_string(), 4646),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_addresses() {
        assert_eq!(split_address("http://127.0.0.1:4646"), ("127.0.0.1".into(), 4646));
        assert_eq!(
            split_address("http://localhost:5000/"),
            ("localhost".into(), 5000)
        );
        assert_eq!(split_address("127.0.0.2"), ("127.0.0.2".into(), 4646));
    }

    #[test]
    fn the_token_goes_to_the_local_address_only() {
        let local = "http://127.0.0.1:4646";
        assert!(is_local_agent_address("http://127.0.0.1:4646", local));
        assert!(is_local_agent_address("http://localhost:4646/", local));
        assert!(!is_local_agent_address("http://127.0.0.1:4647", local));
        assert!(!is_local_agent_address("http://nomad.example:4646", local));
        assert!(!is_local_agent_address("https://127.0.0.1:4646", local));
    }
}
