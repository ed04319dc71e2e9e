//! Lease and variable lock expiry: the leader reads its clock and proposes expiring the leases
//! and freeing the variable locks past their time. Apply re-checks each against that reading,
//! so a renewal that commits first wins.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ClusterNode;
use crate::cluster::fsm::Command;

const CHECK_EVERY: Duration = Duration::from_millis(250);

/// Unix milliseconds now.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(super) async fn run(node: Arc<ClusterNode>) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !node.is_leader() {
            continue;
        }
        let now = now_millis();
        let (ids, locks) = {
            let state = node.state.read();
            (state.expired_leases(now), state.expired_variable_locks(now))
        };
        if !ids.is_empty()
            && let Err(e) = node
                .write_local(Command::LeaseExpire { ids, now_millis: now })
                .await
        {
            tracing::warn!("proposing lease expiry: {e}");
        }
        if !locks.is_empty()
            && let Err(e) = node
                .write_local(Command::VarLockExpire {
                    locks,
                    now_millis: now,
                })
                .await
        {
            tracing::warn!("proposing variable lock expiry: {e}");
        }
    }
}
