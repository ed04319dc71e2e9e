//! The shared state's lock: the lock key written with `cas=0` and a lease, the lease renewed at
//! TTL/3 while the command runs and revoked when it ends. A holder killed outright stops
//! renewing, so its lock goes with its lease after at most the TTL.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::kv::{Kv, Put, renew};
use crate::state::error::StateError;
use crate::state::lock::{LockHolder, holder_text};
use crate::state::storage::{HeldLock, LockFence};

/// A held lock in the cluster; released (its lease revoked) on drop.
#[derive(Debug)]
pub struct ClusterLock {
    kv: Arc<Kv>,
    lease: String,
    stop: Option<oneshot::Sender<()>>,
}

impl HeldLock for ClusterLock {}

impl ClusterLock {
    /// Takes the lock at `key`, waiting up to `timeout`; `lost` is set if the lease is lost.
    pub fn acquire(
        kv: Arc<Kv>,
        key: &str,
        location: &str,
        holder: &LockHolder,
        (ttl, timeout): (Duration, Duration),
        lost: LockFence,
    ) -> Result<ClusterLock, StateError> {
        let mut lease = kv.grant(ttl)?;
        let mut renewed = Instant::now();
        let start = Instant::now();
        loop {
            // A waiter keeps its own lease alive too, or it would expire before the lock frees.
            if renewed.elapsed() >= ttl / 3 {
                let client = kv.client();
                let id = lease.clone();
                if !matches!(kv.run(async move { renew(&client, &id).await }), Some(Ok(()))) {
                    lease = kv.grant(ttl)?;
                }
                renewed = Instant::now();
            }
            match kv.put(key, holder_text(holder), Some(0), Some(&lease)) {
                Ok(Put::Written) => break,
                Ok(Put::Conflict(current)) if start.elapsed() >= timeout => {
                    let _ = kv.revoke(&lease);
                    let who = current.map(|e| e.value.trim().to_string()).unwrap_or_default();
                    return Err(StateError::Locked {
                        dir: PathBuf::from(location),
                        holder: if who.is_empty() {
                            "another process".into()
                        } else {
                            who
                        },
                        waited: format!("{:?}s", start.elapsed().as_millis() as f64 / 1000.0),
                    });
                }
                Ok(Put::Conflict(_)) => {
                    let left = timeout.saturating_sub(start.elapsed());
                    std::thread::sleep(Duration::from_millis(200).min(left));
                }
                Err(e) => {
                    let _ = kv.revoke(&lease);
                    return Err(e);
                }
            }
        }
        let (tx, rx) = oneshot::channel();
        kv.spawn(keep_alive(kv.client(), lease.clone(), ttl, rx, lost));
        Ok(ClusterLock {
            kv,
            lease,
            stop: Some(tx),
        })
    }
}

/// Renews `lease` every TTL/3 until told to stop; marks the lock lost when the cluster says the
/// lease is gone, or when no renewal succeeded for a whole TTL.
async fn keep_alive(
    client: crate::api::NomadClient,
    lease: String,
    ttl: Duration,
    mut stop: oneshot::Receiver<()>,
    lost: LockFence,
) {
    let mut last_ok = Instant::now();
    loop {
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(ttl / 3) => {}
        }
        match renew(&client, &lease).await {
            Ok(()) => last_ok = Instant::now(),
            Err(crate::api::ApiError::Status { code: 404, .. }) => break,
            Err(_) if last_ok.elapsed() >= ttl => break,
            Err(_) => {}
        }
    }
    lost.set_lost();
}

impl Drop for ClusterLock {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.kv.revoke(&self.lease);
    }
}
