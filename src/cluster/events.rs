//! The event stream's source: after each applied command, the jobs, evaluations, allocations,
//! deployments and nodes it changed become Nomad events, kept in a bounded ring by Raft index
//! and sent to live subscribers.
//!
//! ```text
//!  State::apply(index, cmd) ──► EventBus::record(&mut state, index)
//!                                  ├── ring: the last RING_BATCHES batches (replay from ?index=)
//!                                  └── broadcast: live streams
//! ```
//!
//! A batch holds every object of a watched table whose `ModifyIndex` is the applied index, so the
//! hook needs no knowledge of the command. Jobs and evaluations are found through what apply
//! noted (`State::written_jobs`, the evaluation table's modify-index index), not by walking
//! every one of them after each write. Deletions (garbage collection, purge) make no event.
//! Payloads are kept as their JSON text: as `serde_json::Value`s, the ring held tens of MB per
//! registration of a large job (a 1 MB job's `Value` is many times its text).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::broadcast;

use super::fsm::State;
use crate::api::Allocation;

/// How many batches the ring keeps for replay.
pub const RING_BATCHES: usize = 1024;
/// How many batches a live subscriber may fall behind before it resyncs from the ring.
const CHANNEL: usize = 256;

/// One event, as Nomad's event stream writes it (see [`Event::write_json`]).
#[derive(Debug, Clone)]
pub struct Event {
    /// `Job`, `Evaluation`, `Allocation`, `Deployment` or `Node`.
    pub topic: &'static str,
    /// What happened (`JobRegistered`, `AllocationUpdated`, ...).
    pub r#type: &'static str,
    /// The object's ID.
    pub key: String,
    /// The object's namespace (empty for nodes).
    pub namespace: String,
    /// Other keys a topic filter matches (job ID, deployment ID).
    pub filter_keys: Vec<String>,
    /// The Raft index that made the change.
    pub index: u64,
    /// The object under its kind's name (`{"Job": {...}}`), as JSON text.
    pub payload: Arc<str>,
}

/// An event's fields but its payload, in the order Nomad writes them.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EventHead<'a> {
    topic: &'a str,
    r#type: &'a str,
    key: &'a str,
    namespace: &'a str,
    filter_keys: &'a [String],
    index: u64,
}

impl Event {
    /// Appends the event as a JSON object to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let head = EventHead {
            topic: self.topic,
            r#type: self.r#type,
            key: &self.key,
            namespace: &self.namespace,
            filter_keys: &self.filter_keys,
            index: self.index,
        };
        serde_json::to_writer(&mut *out, &head)?;
        // Reopen the object for the payload, which is JSON already.
        out.pop();
        out.extend_from_slice(b",\"Payload\":");
        out.extend_from_slice(self.payload.as_bytes());
        out.push(b'}');
        Ok(())
    }
}

/// `{"<kind>": object}` as JSON text.
fn payload_json(kind: &str, object: &impl Serialize) -> Arc<str> {
    match serde_json::to_string(object) {
        Ok(json) => format!("{{\"{kind}\":{json}}}").into(),
        Err(e) => {
            tracing::error!("event payload of a {kind}: {e}");
            format!("{{\"{kind}\":null}}").into()
        }
    }
}

/// The events of one Raft index.
#[derive(Debug, Clone)]
pub struct EventBatch {
    /// The Raft index.
    pub index: u64,
    /// Its events.
    pub events: Vec<Event>,
}

/// The ring and the live channel.
pub struct EventBus {
    ring: Mutex<VecDeque<Arc<EventBatch>>>,
    live: broadcast::Sender<Arc<EventBatch>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            ring: Mutex::new(VecDeque::with_capacity(RING_BATCHES)),
            live: broadcast::channel(CHANNEL).0,
        }
    }
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus").finish_non_exhaustive()
    }
}

impl EventBus {
    /// Turns the changes `state` made at `index` into a batch, keeps it and sends it.
    pub fn record(&self, state: &mut State, index: u64) {
        let written_jobs = state.written_jobs.take();
        let events = collect(state, &written_jobs, index);
        if events.is_empty() {
            return;
        }
        let batch = Arc::new(EventBatch { index, events });
        {
            let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
            if ring.len() == RING_BATCHES {
                ring.pop_front();
            }
            ring.push_back(Arc::clone(&batch));
        }
        // No receivers is fine: the ring still keeps the batch.
        let _ = self.live.send(batch);
    }

    /// Subscribes to batches recorded from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventBatch>> {
        self.live.subscribe()
    }

    /// How many live streams follow the bus.
    pub fn subscribers(&self) -> usize {
        self.live.receiver_count()
    }

    /// The kept batches with an index at least `from`, oldest first.
    pub fn since(&self, from: u64) -> Vec<Arc<EventBatch>> {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.iter().filter(|b| b.index >= from).cloned().collect()
    }
}

fn changed(state: &State, table: &str, index: u64) -> bool {
    state.table_index.get(table) == Some(&index)
}

/// The events of the objects `state` changed at `index`.
fn collect(state: &State, written_jobs: &[(String, String)], index: u64) -> Vec<Event> {
    let mut out = Vec::new();
    if changed(state, "jobs", index) {
        for record in written_jobs.iter().filter_map(|(ns, id)| state.job(ns, id)) {
            let job = record.current();
            if job.modify_index != Some(index) {
                continue;
            }
            let kind = match job.stop == Some(true) {
                true => "JobDeregistered",
                false => "JobRegistered",
            };
            let key = job.id.clone().unwrap_or_default();
            let namespace = job.namespace.clone().unwrap_or_else(|| "default".into());
            out.push(event(
                "Job",
                kind,
                key,
                namespace,
                vec![],
                index,
                payload_json("Job", job),
            ));
        }
    }
    if changed(state, "evals", index) {
        for e in state.evals.modified_at(index) {
            let keys = nonempty([&e.job_id, &e.deployment_id]);
            let payload = payload_json("Evaluation", e);
            out.push(event(
                "Evaluation",
                "EvaluationUpdated",
                e.id.clone(),
                e.namespace.clone(),
                keys,
                index,
                payload,
            ));
        }
    }
    if changed(state, "allocs", index) {
        let modified: Vec<&Allocation> = match state.node_allocs.modified_at(index) {
            Some(ids) => ids.iter().filter_map(|id| state.allocs.get(id)).collect(),
            None => state
                .allocs
                .values()
                .filter(|a| a.modify_index == index)
                .collect(),
        };
        for a in modified {
            let keys = nonempty([&a.job_id, &a.deployment_id]);
            let payload = payload_json("Allocation", a);
            out.push(event(
                "Allocation",
                "AllocationUpdated",
                a.id.clone(),
                a.namespace.clone(),
                keys,
                index,
                payload,
            ));
        }
    }
    if changed(state, "deployments", index) {
        for d in state.deployments.modified_at(index) {
            let keys = nonempty([&d.job_id]);
            let payload = payload_json("Deployment", d);
            out.push(event(
                "Deployment",
                "DeploymentStatusUpdate",
                d.id.clone(),
                d.namespace.clone(),
                keys,
                index,
                payload,
            ));
        }
    }
    if changed(state, "nodes", index) {
        for n in state.nodes.values().filter(|n| n.modify_index == index) {
            let kind = match n.create_index == index {
                true => "NodeRegistration",
                false => "NodeEvent",
            };
            out.push(event(
                "Node",
                kind,
                n.id.clone(),
                String::new(),
                vec![],
                index,
                payload_json("Node", n),
            ));
        }
    }
    out
}

fn nonempty<const N: usize>(keys: [&String; N]) -> Vec<String> {
    keys.into_iter().filter(|k| !k.is_empty()).cloned().collect()
}

fn event(
    topic: &'static str,
    kind: &'static str,
    key: String,
    namespace: String,
    filter_keys: Vec<String>,
    index: u64,
    payload: Arc<str>,
) -> Event {
    Event {
        topic,
        r#type: kind,
        key,
        namespace,
        filter_keys,
        index,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Allocation, Node};
    use crate::cluster::fsm::Command;

    fn node(id: &str) -> Command {
        let node = Node {
            id: id.into(),
            ..Default::default()
        };
        Command::NodeUpsert { node: Box::new(node) }
    }

    #[test]
    fn a_batch_holds_only_what_the_index_changed() {
        let bus = EventBus::default();
        let mut s = State::default();
        s.apply(1, node("n1"));
        bus.record(&mut s, 1);
        s.apply(2, node("n1"));
        bus.record(&mut s, 2);
        let alloc = Allocation {
            id: "a1".into(),
            namespace: "default".into(),
            job_id: "web".into(),
            node_id: "n1".into(),
            ..Default::default()
        };
        s.apply(3, Command::AllocUpsert { allocs: vec![alloc] });
        bus.record(&mut s, 3);
        let kept = bus.since(1);
        let seen: Vec<(u64, &str, &str)> = kept
            .iter()
            .flat_map(|b| b.events.iter().map(move |e| (b.index, e.topic, e.r#type)))
            .collect();
        assert_eq!(
            seen,
            [
                (1, "Node", "NodeRegistration"),
                (2, "Node", "NodeEvent"),
                (3, "Allocation", "AllocationUpdated"),
            ]
        );
        assert_eq!(kept[2].events[0].filter_keys, ["web"]);
        assert_eq!(bus.since(3).len(), 1);
        let mut out = Vec::new();
        kept[2].events[0].write_json(&mut out).unwrap();
        let written: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            written,
            serde_json::json!({
                "Topic": "Allocation", "Type": "AllocationUpdated", "Key": "a1",
                "Namespace": "default", "FilterKeys": ["web"], "Index": 3,
                "Payload": {"Allocation": serde_json::to_value(&s.allocs["a1"]).unwrap()},
            })
        );
    }

    #[test]
    fn a_registration_in_a_batch_makes_job_and_evaluation_events() {
        let bus = EventBus::default();
        let mut s = State::default();
        let register = |id: &str| {
            let eval = crate::api::Evaluation {
                id: format!("e-{id}"),
                namespace: "default".into(),
                job_id: id.into(),
                ..Default::default()
            };
            Command::JobRegister(Box::new(crate::cluster::fsm::JobRegister {
                job: serde_json::from_value(serde_json::json!({"ID": id, "Name": id})).unwrap(),
                submission: None,
                enforce_index: None,
                eval: Some(eval),
                submit_time: 1,
            }))
        };
        s.apply(1, register("a"));
        bus.record(&mut s, 1);
        s.apply(
            2,
            Command::Batch(vec![register("c"), register("b"), register("a")]),
        );
        bus.record(&mut s, 2);
        let kept = bus.since(2);
        let seen: Vec<(&str, &str)> = kept[0].events.iter().map(|e| (e.topic, e.key.as_str())).collect();
        assert_eq!(
            seen,
            [
                ("Job", "b"),
                ("Job", "c"),
                ("Evaluation", "e-a"),
                ("Evaluation", "e-b"),
                ("Evaluation", "e-c"),
            ],
            "a's resubmission is unchanged: no new version, but its evaluation is written again",
        );
    }

    #[test]
    fn the_ring_keeps_the_newest_batches() {
        let bus = EventBus::default();
        let mut s = State::default();
        let total = RING_BATCHES as u64 + 5;
        for index in 1..=total {
            s.apply(index, node(&format!("n{index}")));
            bus.record(&mut s, index);
        }
        let kept = bus.since(0);
        assert_eq!(kept.len(), RING_BATCHES);
        assert_eq!(kept.first().map(|b| b.index), Some(6));
        assert_eq!(kept.last().map(|b| b.index), Some(total));
    }
}
