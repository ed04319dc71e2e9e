//! The state lock on Nomad: Nomad's variable lock (`?lock-acquire`, `?lock-renew`,
//! `?lock-release`, Nomad >= 1.7) on `<prefix>/lock`, its items naming the holder. The lock
//! is renewed at TTL/3 while the command runs and released when it ends. A holder killed
//! outright stops renewing: Nomad frees the lock once the holder's time (at least the TTL)
//! and then the lock delay have passed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::oneshot;

use crate::api::{ApiError, Method, NomadClient, go_duration};
use crate::state::error::StateError;
use crate::state::lock::{LockHolder, holder_text};
use crate::state::remote::{Remote, remote};
use crate::state::storage::{HeldLock, LockFence};

/// How often a waiter asks again.
const RETRY: Duration = Duration::from_millis(500);

/// A held lock on Nomad; released on drop.
#[derive(Debug)]
pub struct NomadLock {
    remote: Arc<Remote>,
    path: String,
    id: String,
    stop: Option<oneshot::Sender<()>>,
}

impl HeldLock for NomadLock {}

/// The lock's timing.
#[derive(Clone, Copy, Debug)]
pub struct LockTimes {
    /// Time to live (renewed at a third of it).
    pub ttl: Duration,
    /// How long Nomad keeps a lock whose holder stopped renewing, past its time.
    pub delay: Duration,
}

fn lock_body(path: &str, id: &str) -> serde_json::Value {
    json!({ "Path": path, "Lock": { "ID": id } })
}

impl NomadLock {
    /// Takes the lock at `path`, waiting up to `timeout`; `lost` is set if it is lost.
    pub fn acquire(
        remote: Arc<Remote>,
        path: &str,
        holder: &LockHolder,
        (times, timeout): (LockTimes, Duration),
        lost: LockFence,
    ) -> Result<NomadLock, StateError> {
        let items = BTreeMap::from([("holder".to_string(), holder_text(holder))]);
        let body = json!({
            "Path": path,
            "Items": items,
            "Lock": { "TTL": go_duration(times.ttl), "LockDelay": go_duration(times.delay) },
        });
        let start = Instant::now();
        let id = loop {
            match remote.var_send(path, &[("lock-acquire", String::new())], &body) {
                Ok(answer) => match answer["Lock"]["ID"].as_str() {
                    Some(id) if !id.is_empty() => break id.to_string(),
                    _ => {
                        return Err(StateError::Remote {
                            location: remote.location().to_string(),
                            detail: format!("the lock on {path} was granted without an ID: {answer}"),
                        });
                    }
                },
                Err(ApiError::Status { code: 409, body, .. }) if start.elapsed() >= timeout => {
                    let current: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    let who = current["Items"]["holder"]
                        .as_str()
                        .unwrap_or("")
                        .trim()
                        .to_string();
                    return Err(StateError::Locked {
                        dir: PathBuf::from(format!("{}:{path}", remote.location())),
                        holder: if who.is_empty() {
                            "another process".into()
                        } else {
                            who
                        },
                        waited: format!("{:?}s", start.elapsed().as_millis() as f64 / 1000.0),
                    });
                }
                Err(ApiError::Status { code: 409, .. }) => {
                    std::thread::sleep(RETRY.min(timeout.saturating_sub(start.elapsed())));
                }
                Err(e) => return Err(remote_error(&remote, path, e)),
            }
        };
        let (tx, rx) = oneshot::channel();
        remote.spawn(keep_alive(
            remote.client(),
            (path.to_string(), id.clone()),
            times.ttl,
            rx,
            lost,
        ));
        Ok(NomadLock {
            remote,
            path: path.to_string(),
            id,
            stop: Some(tx),
        })
    }
}

fn remote_error(client: &Remote, path: &str, e: ApiError) -> StateError {
    match e {
        ApiError::Status { code: 404, .. } => StateError::Remote {
            location: client.location().to_string(),
            detail: format!(
                "taking the lock on variable {path}: the server has no variable lock API (Nomad 1.7 or later is needed)"
            ),
        },
        e => remote(client.location(), e),
    }
}

/// Renews the lock every TTL/3 until told to stop; marks it lost when Nomad refuses a renewal
/// (the lock is gone or another's), or when no renewal succeeded for a whole TTL.
async fn keep_alive(
    client: NomadClient,
    (path, id): (String, String),
    ttl: Duration,
    mut stop: oneshot::Receiver<()>,
    lost: LockFence,
) {
    let url = format!("/v1/var/{path}");
    let body = lock_body(&path, &id);
    let mut last_ok = Instant::now();
    loop {
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(ttl / 3) => {}
        }
        let renewed = client
            .write::<_, serde_json::Value>(Method::Put, &url, &[("lock-renew", String::new())], &body)
            .await;
        match renewed {
            Ok(_) => last_ok = Instant::now(),
            Err(ApiError::Status { code: 404 | 409, .. }) => break,
            Err(_) if last_ok.elapsed() >= ttl => break,
            Err(_) => {}
        }
    }
    lost.set_lost();
}

impl Drop for NomadLock {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.remote.var_send(
            &self.path,
            &[("lock-release", String::new())],
            &lock_body(&self.path, &self.id),
        );
    }
}
