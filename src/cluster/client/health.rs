//! Service checks (`http`, `tcp`, `script`) run on their interval with a timeout, and the
//! shared record of their latest results that allocation health and `check_restart` read.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::spec::{CheckRestart, ServiceCheck};

/// Result of one check run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// Passed.
    Passing,
    /// Script exit 1.
    Warning,
    /// Failed.
    Critical,
}

/// A check ready to run: its spec resolved against the allocation's ports and tasks.
#[derive(Debug, Clone)]
pub struct CheckPlan {
    /// Unique name (`<service>.<check>`).
    pub name: String,
    /// The task it belongs to ("" for group services), the one `check_restart` restarts.
    pub task: String,
    /// The check.
    pub check: ServiceCheck,
    /// `host:port` for http/tcp.
    pub address: String,
    /// `check_restart` (the check's own, else its service's).
    pub restart: Option<CheckRestart>,
    /// Environment and working directory for script checks.
    pub script_env: Vec<(String, String)>,
    /// Where a script check runs.
    pub script_place: ScriptPlace,
}

/// Where a script check runs: inside its task's sandbox, never outside it.
#[derive(Debug, Clone)]
pub enum ScriptPlace {
    /// On the host in this directory: `raw_exec` tasks run there already.
    Host(std::path::PathBuf),
    /// In the task's container (`docker exec`), by container name.
    Container(String),
    /// In a sandbox like the `exec` task's own (chroot, namespaces, user).
    Sandbox(super::driver::process::Isolation),
    /// Nowhere: the script would run on the host as the client's user, outside any sandbox
    /// (group services naming no task, a sandbox that could not be prepared): critical.
    Refused,
}

/// Latest results by check name.
#[derive(Debug, Default, Clone)]
pub struct CheckResults {
    inner: Arc<Mutex<BTreeMap<String, (CheckStatus, Instant)>>>,
}

impl CheckResults {
    fn set(&self, name: &str, status: CheckStatus) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), (status, Instant::now()));
    }

    /// Whether every one of `names` has a passing latest result.
    pub fn all_passing(&self, names: &[String]) -> bool {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        names
            .iter()
            .all(|n| m.get(n).is_some_and(|(s, _)| *s == CheckStatus::Passing))
    }

    /// The latest status of each check.
    pub fn snapshot(&self) -> BTreeMap<String, CheckStatus> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, (s, _))| (k.clone(), *s))
            .collect()
    }
}

fn nanos(d: crate::spec::Duration, default: Duration) -> Duration {
    u64::try_from(d.0)
        .ok()
        .filter(|n| *n > 0)
        .map_or(default, Duration::from_nanos)
}

async fn run_script(plan: &CheckPlan, timeout: Duration) -> CheckStatus {
    let c = &plan.check;
    let code = match &plan.script_place {
        ScriptPlace::Refused => {
            tracing::warn!(
                "script check {} not run: it would run on the host, outside its task's sandbox",
                plan.name
            );
            return CheckStatus::Critical;
        }
        ScriptPlace::Sandbox(iso) => {
            let mut argv = vec![c.command.clone()];
            argv.extend(c.args.iter().flatten().cloned());
            super::driver::process::run_isolated(&argv, &plan.script_env, iso, timeout).await
        }
        ScriptPlace::Container(name) => {
            let mut argv = vec![c.command.clone()];
            argv.extend(c.args.iter().flatten().cloned());
            super::driver::docker::exec_check(name, argv, &plan.script_env, timeout).await
        }
        ScriptPlace::Host(dir) => {
            let mut cmd = tokio::process::Command::new(&c.command);
            cmd.args(c.args.iter().flatten())
                .envs(plan.script_env.iter().map(|(k, v)| (k, v)))
                .current_dir(dir)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true);
            match tokio::time::timeout(timeout, cmd.status()).await {
                Ok(Ok(s)) => s.code().map(i64::from),
                _ => None,
            }
        }
    };
    match code {
        Some(0) => CheckStatus::Passing,
        Some(1) => CheckStatus::Warning,
        _ => CheckStatus::Critical,
    }
}

/// Runs a check once.
pub async fn run_once(http: &reqwest::Client, plan: &CheckPlan) -> CheckStatus {
    let timeout = nanos(plan.check.timeout, Duration::from_secs(2));
    let c = &plan.check;
    match c.r#type.as_str() {
        "http" => {
            let scheme = if c.protocol == "https" { "https" } else { "http" };
            let path = if c.path.starts_with('/') {
                c.path.clone()
            } else {
                format!("/{}", c.path)
            };
            let method = reqwest::Method::from_bytes(if c.method.is_empty() {
                b"GET"
            } else {
                c.method.as_bytes()
            })
            .unwrap_or(reqwest::Method::GET);
            let mut req = http
                .request(method, format!("{scheme}://{}{path}", plan.address))
                .timeout(timeout);
            for (k, vs) in c.header.iter().flatten() {
                for v in vs {
                    req = req.header(k, v);
                }
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => CheckStatus::Passing,
                Ok(r) if r.status().as_u16() == 429 => CheckStatus::Warning,
                _ => CheckStatus::Critical,
            }
        }
        "tcp" => match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&plan.address)).await {
            Ok(Ok(_)) => CheckStatus::Passing,
            _ => CheckStatus::Critical,
        },
        "script" => run_script(plan, timeout).await,
        _ => CheckStatus::Passing,
    }
}

/// Runs `plan` every interval until the task is dropped, recording results and asking for a
/// restart of its task (through `restart`) after `check_restart.limit` failures in a row once
/// the grace period has passed.
pub async fn watch(
    http: reqwest::Client,
    plan: CheckPlan,
    results: CheckResults,
    restart: mpsc::Sender<String>,
) {
    let interval = nanos(plan.check.interval, Duration::from_secs(10));
    let (limit, grace, ignore_warnings) = match &plan.restart {
        Some(r) => (
            r.limit,
            r.grace
                .map_or(Duration::from_secs(1), |g| nanos(g, Duration::ZERO)),
            r.ignore_warnings,
        ),
        None => (0, Duration::ZERO, false),
    };
    let mut since = Instant::now();
    let mut failures = 0i64;
    loop {
        let status = run_once(&http, &plan).await;
        results.set(&plan.name, status);
        let failing = match status {
            CheckStatus::Passing => false,
            CheckStatus::Warning => !ignore_warnings,
            CheckStatus::Critical => true,
        };
        if failing && since.elapsed() >= grace {
            failures += 1;
        } else if !failing {
            failures = 0;
        }
        if limit > 0 && failures >= limit {
            failures = 0;
            since = Instant::now() + interval;
            let reason = format!("check {:?} unhealthy", plan.name);
            if restart.send(reason).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(interval).await;
    }
}
