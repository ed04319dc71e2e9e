//! Simulated client nodes for scale runs: many nodes in one process, each speaking the real
//! client protocol through the client's own [`ServerApi`] (its node ID and secret on every
//! call): register, heartbeat at a third of the TTL the servers answer, watch its allocations
//! with the blocking watch on its node's index, fetch the new ones, and report them running.
//! Nothing is started: a report is all a task would have added.
//!
//! ```text
//!  SimNode::run ─► register ─► heartbeat loop (TTL / 3, staggered)
//!                └► watch node allocs (blocking) ─► allocs/get (new ones) ─► report running
//!                                                    └► Tally: seen, reported (acknowledged)
//! ```
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deploy::api::{
    ClientStatus, DesiredStatus, DriverInfo, Node, NodeCpuResources, NodeDiskResources, NodeMemoryResources,
    NodeResources, NodeStatus, SchedulingEligibility, TaskState,
};
use deploy::cluster::client::server_api::ServerApi;
use deploy::cluster::fsm::AllocClientUpdate;
use deploy::cluster::transport::Transport;

/// What every simulated node has counted so far (shared by all).
#[derive(Default)]
pub struct Tally {
    /// Nodes registered.
    pub registered: AtomicU64,
    /// Allocations fetched (placed on a simulated node and seen by it).
    pub seen: AtomicU64,
    /// Allocations whose `running` report the servers acknowledged.
    pub running: AtomicU64,
    /// Calls that failed (retried).
    pub errors: AtomicU64,
}

/// One simulated node.
pub struct SimNode {
    api: ServerApi,
    node: Node,
}

/// The simulated node number `i`, talking to `servers` (RPC addresses) starting with
/// `servers[i % len]` so that the nodes spread over the servers.
pub fn sim_node(i: usize, servers: &[String]) -> SimNode {
    let id = uuid::Uuid::new_v4().to_string();
    let secret = uuid::Uuid::new_v4().to_string();
    let mut order = servers.to_vec();
    order.rotate_left(i % servers.len().max(1));
    let api = ServerApi::for_node(order, Some((&id, &secret)), Transport::plain()).expect("server API");
    let driver = DriverInfo {
        detected: true,
        healthy: true,
        ..DriverInfo::default()
    };
    let node = Node {
        id,
        secret_id: secret,
        name: format!("sim-{i:05}"),
        datacenter: "dc1".into(),
        status: NodeStatus::Ready,
        scheduling_eligibility: SchedulingEligibility::Eligible,
        attributes: BTreeMap::from([
            ("kernel.name".to_string(), "linux".to_string()),
            ("driver.raw_exec".to_string(), "1".to_string()),
            ("unique.hostname".to_string(), format!("sim-{i:05}")),
        ]),
        node_resources: NodeResources {
            cpu: NodeCpuResources {
                cpu_shares: 8000,
                total_cpu_cores: 4,
                ..NodeCpuResources::default()
            },
            memory: NodeMemoryResources { memory_mb: 16384 },
            disk: NodeDiskResources { disk_mb: 100_000 },
            ..NodeResources::default()
        },
        drivers: BTreeMap::from([("raw_exec".to_string(), driver)]),
        ..Node::default()
    };
    SimNode { api, node }
}

impl SimNode {
    /// Registers, then heartbeats and follows its allocations until the task is aborted.
    pub async fn run(self, tally: Arc<Tally>) {
        let node = Arc::new(self);
        let ttl = loop {
            match node.api.register(&node.node).await {
                Ok(ttl) => break ttl,
                Err(_) => {
                    tally.errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        tally.registered.fetch_add(1, Ordering::Relaxed);
        let beating = Arc::clone(&node);
        let beats = Arc::clone(&tally);
        let heartbeat = tokio::spawn(async move { beating.heartbeat(ttl, beats).await });
        node.follow(&tally).await;
        heartbeat.abort();
    }

    async fn heartbeat(&self, mut ttl: Duration, tally: Arc<Tally>) {
        // Staggered, so that nodes registered together do not beat together.
        let first = ttl.mul_f64(fastrand_fraction(&self.node.id) / 3.0);
        tokio::time::sleep(first).await;
        loop {
            match self.api.heartbeat(&self.node.id).await {
                Ok(Some(t)) => ttl = t,
                Ok(None) => {
                    let _ = self.api.register(&self.node).await;
                }
                Err(_) => {
                    tally.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            tokio::time::sleep(ttl / 3).await;
        }
    }

    /// The client's watch: blocking on the node's allocation index, fetching what is new,
    /// reporting it running (acknowledged once committed).
    async fn follow(&self, tally: &Tally) {
        let mut index = 0;
        let mut known: HashSet<String> = HashSet::new();
        loop {
            let answer = match self
                .api
                .client_allocs(&self.node.id, index, Duration::from_secs(30))
                .await
            {
                Ok(a) => a,
                Err(_) => {
                    tally.errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            let stubs = answer.value.unwrap_or_default().allocs;
            let new: Vec<String> = stubs.keys().filter(|id| !known.contains(*id)).cloned().collect();
            if !new.is_empty() {
                let fetched = match self.api.allocs_get(&new).await {
                    Ok(f) => f,
                    Err(_) => {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                let updates: Vec<AllocClientUpdate> = fetched
                    .iter()
                    .filter(|a| a.desired_status == DesiredStatus::Run)
                    .map(running)
                    .collect();
                tally.seen.fetch_add(fetched.len() as u64, Ordering::Relaxed);
                if !updates.is_empty() {
                    loop {
                        match self.api.update_allocs(&updates).await {
                            Ok(()) => break,
                            Err(_) => {
                                tally.errors.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                        }
                    }
                    tally.running.fetch_add(updates.len() as u64, Ordering::Relaxed);
                }
                known.extend(fetched.into_iter().map(|a| a.id));
            }
            index = answer.index.max(index);
        }
    }
}

/// The report of a task started: every task of the group running.
fn running(a: &deploy::api::Allocation) -> AllocClientUpdate {
    let tasks = a
        .job
        .as_ref()
        .and_then(|j| j.task_groups.as_ref())
        .and_then(|gs| {
            gs.iter()
                .find(|g| g.name.as_deref() == Some(a.task_group.as_str()))
        })
        .and_then(|g| g.tasks.as_ref())
        .map(|ts| ts.iter().map(|t| t.name.clone()).collect::<Vec<_>>())
        .unwrap_or_default();
    let state = TaskState {
        state: "running".into(),
        ..TaskState::default()
    };
    AllocClientUpdate {
        id: a.id.clone(),
        client_status: ClientStatus::Running,
        client_description: "Tasks are running".into(),
        task_states: tasks.into_iter().map(|t| (t, state.clone())).collect(),
        modify_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64),
        ..AllocClientUpdate::default()
    }
}

/// A number in [0, 1) derived from `seed` (the node's random ID), for staggering.
fn fastrand_fraction(seed: &str) -> f64 {
    let h = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (h % 10_000) as f64 / 10_000.0
}
