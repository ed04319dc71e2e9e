//! Per-node wake-ups for clients watching their own allocations.
//!
//! ```text
//!  applied index moves ─► run: for each node with a waiting query, its allocation index
//!                          (State::node_allocs) ─► moved? ─► wake that node's queries only
//! ```
//!
//! A query on the applied index would wake every waiting client at every write; with
//! thousands of clients each holding a query, that is thousands of wake-ups (and answers) per
//! write. Here one task follows the index and wakes a node's queries only when that node's
//! allocations changed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use super::ClusterNode;
use crate::cluster::fsm::{State, StateHandle};

/// Per node with a waiting query: the last allocation index its waiters were told.
#[derive(Default)]
pub struct NodeWatch {
    nodes: Mutex<HashMap<String, watch::Sender<u64>>>,
}

/// The index of the last change to `node_id`'s allocations (scanning them all when the
/// state's node index is not built yet).
pub fn node_alloc_index(state: &State, node_id: &str) -> u64 {
    match state.node_allocs.node(node_id) {
        Some((index, _)) => index,
        None => state
            .allocs
            .values()
            .filter(|a| a.node_id == node_id)
            .map(|a| a.modify_index)
            .max()
            .unwrap_or(0),
    }
}

impl NodeWatch {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, watch::Sender<u64>>> {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `node_id`'s allocation index passes `min_index` or `wait` passes; returns
    /// at once when it already has.
    pub async fn wait(&self, state: &StateHandle, node_id: &str, min_index: u64, wait: Duration) {
        // Subscribed before the index is read: a change applied in between is either in the
        // reading or told by the follower, never missed.
        let mut rx = self
            .lock()
            .entry(node_id.to_owned())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        let current = node_alloc_index(&state.read(), node_id);
        if let Some(tx) = self.lock().get(node_id) {
            tell(tx, current);
        }
        if current > min_index {
            return;
        }
        let _ = tokio::time::timeout(wait, rx.wait_for(|i| *i > min_index)).await;
    }

    /// Tells the waiters of every node whose allocations changed; forgets nodes nobody waits on.
    fn notify(&self, state: &State) {
        self.lock().retain(|node_id, tx| {
            if tx.receiver_count() == 0 {
                return false;
            }
            tell(tx, node_alloc_index(state, node_id));
            true
        });
    }
}

/// Tells the waiters of one node its index `current`, if it moved past what they were told.
fn tell(tx: &watch::Sender<u64>, current: u64) {
    tx.send_if_modified(|told| {
        let moved = current > *told;
        *told = (*told).max(current);
        moved
    });
}

/// Follows the applied index and wakes the queries of nodes whose allocations changed.
pub(super) async fn run(node: Arc<ClusterNode>) {
    let mut seen = 0;
    loop {
        node.state()
            .wait_for_index(seen + 1, Duration::from_secs(1))
            .await;
        let state = node.state().read();
        if state.index == seen {
            continue;
        }
        seen = state.index;
        node.node_watch.notify(&state);
    }
}
