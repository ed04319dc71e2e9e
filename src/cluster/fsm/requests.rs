//! Writes that apply once: the table of recently applied client requests.
//!
//! ```text
//!  HTTP handler ─► ClusterNode::write ─► Command::Request { id, at_millis, cmd }
//!                    (one ID per write,        │  proposed again, same ID, when a
//!                     kept across retries)     │  forwarded reply is lost or late
//!                                              ▼
//!  State::apply ─► id already in AppliedRequests? ── yes ─► the first response, nothing applied
//!                                              │ no
//!                                              └─► apply cmd, record (id → response)
//! ```
//!
//! The table is part of [`State`](super::State), so it is replicated and snapshotted with
//! everything else: a new leader or a restarted server answers a retry the same way. It is
//! bounded three ways, each checked on every insert, oldest entries evicted first:
//! [`MAX_REQUESTS`] entries, [`MAX_AGE_MILLIS`] of proposer time behind the newest request,
//! and [`MAX_BYTES`] of recorded outcomes. A retry arrives within the forwarder's retry window
//! (10 s), far inside every bound at any write rate the cluster sustains.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::command::{CommandResponse, Outcome};
use super::variable::SealedVariable;

/// Most request IDs remembered.
pub const MAX_REQUESTS: usize = 8192;

/// How far behind the newest request (by the proposers' clocks) an ID is still remembered.
pub const MAX_AGE_MILLIS: i64 = 5 * 60 * 1000;

/// Most bytes of recorded outcomes (key and variable values dominate), approximately.
pub const MAX_BYTES: usize = 16 << 20;

/// Fixed cost counted per entry besides its outcome's payload.
const ENTRY_OVERHEAD: usize = 160;

/// One remembered request: when it was proposed and what applying it returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedRequest {
    /// The proposer's clock when the write entered the cluster, Unix milliseconds.
    pub at_millis: i64,
    /// The response of the first application.
    pub response: CommandResponse,
}

/// Recently applied request IDs with their first response, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppliedRequests {
    by_id: BTreeMap<String, AppliedRequest>,
    order: VecDeque<String>,
    newest_millis: i64,
    bytes: usize,
}

impl AppliedRequests {
    /// The first response to request `id`, if it is still remembered.
    pub fn get(&self, id: &str) -> Option<&CommandResponse> {
        self.by_id.get(id).map(|r| &r.response)
    }

    /// Number of remembered requests.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no request is remembered.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Remembers that request `id`, proposed at `at_millis`, was answered with `response`,
    /// then evicts what falls outside the bounds.
    pub fn record(&mut self, id: String, at_millis: i64, response: CommandResponse) {
        self.newest_millis = self.newest_millis.max(at_millis);
        self.bytes += entry_bytes(&id, &response.outcome);
        self.order.push_back(id.clone());
        if let Some(old) = self.by_id.insert(id, AppliedRequest { at_millis, response }) {
            // Not reached through apply (a known ID is answered, not recorded again); keep the
            // byte count honest all the same.
            self.bytes = self.bytes.saturating_sub(outcome_bytes(&old.response.outcome));
        }
        self.evict();
    }

    fn evict(&mut self) {
        let cutoff = self.newest_millis.saturating_sub(MAX_AGE_MILLIS);
        while let Some(id) = self.order.front() {
            let Some(entry) = self.by_id.get(id) else {
                self.order.pop_front();
                continue;
            };
            let over = self.by_id.len() > MAX_REQUESTS || self.bytes > MAX_BYTES;
            if !over && entry.at_millis >= cutoff {
                break;
            }
            let cost = entry_bytes(id, &entry.response.outcome);
            self.bytes = self.bytes.saturating_sub(cost);
            self.by_id.remove(id);
            self.order.pop_front();
        }
    }
}

/// What one entry counts against [`MAX_BYTES`].
fn entry_bytes(id: &str, outcome: &Outcome) -> usize {
    ENTRY_OVERHEAD + id.len() + outcome_bytes(outcome)
}

/// The variable-sized payload of an outcome.
fn outcome_bytes(outcome: &Outcome) -> usize {
    match outcome {
        Outcome::Kv(e) => e.key.len() + e.value.len(),
        Outcome::KvConflict { current } => current.as_ref().map_or(0, |e| e.key.len() + e.value.len()),
        Outcome::Variable(v) => variable_bytes(v),
        Outcome::VariableConflict { current } => current.as_ref().map_or(0, variable_bytes),
        Outcome::JobIndexConflict { message }
        | Outcome::Refused { message }
        | Outcome::NotFound { message } => message.len(),
        Outcome::JobWritten { eval_id, .. } => eval_id.len(),
        Outcome::Batch(all) => all.iter().map(outcome_bytes).sum(),
        Outcome::Done | Outcome::Lease(_) | Outcome::AclToken(_) => 0,
    }
}

/// A stored variable's variable-sized fields.
fn variable_bytes(v: &SealedVariable) -> usize {
    v.namespace.len() + v.path.len() + v.items.ciphertext.len() + v.items.nonce.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::fsm::KvEntry;

    fn done(index: u64) -> CommandResponse {
        CommandResponse {
            index,
            outcome: Outcome::Done,
        }
    }

    #[test]
    fn a_recorded_request_answers_with_its_first_response() {
        let mut t = AppliedRequests::default();
        t.record("a".into(), 1_000, done(7));
        assert_eq!(t.get("a"), Some(&done(7)));
        assert_eq!(t.get("b"), None);
    }

    #[test]
    fn the_count_is_bounded_oldest_first() {
        let mut t = AppliedRequests::default();
        for i in 0..(MAX_REQUESTS + 10) {
            t.record(format!("r{i}"), 1_000, done(i as u64));
        }
        assert_eq!(t.len(), MAX_REQUESTS);
        assert!(t.get("r0").is_none() && t.get("r9").is_none());
        assert!(t.get("r10").is_some());
        assert!(t.get(&format!("r{}", MAX_REQUESTS + 9)).is_some());
    }

    #[test]
    fn requests_older_than_the_age_bound_are_forgotten() {
        let mut t = AppliedRequests::default();
        t.record("old".into(), 0, done(1));
        t.record("mid".into(), MAX_AGE_MILLIS / 2, done(2));
        t.record("new".into(), MAX_AGE_MILLIS + 1, done(3));
        assert!(t.get("old").is_none());
        assert!(t.get("mid").is_some() && t.get("new").is_some());
    }

    #[test]
    fn large_outcomes_are_bounded_by_bytes() {
        let mut t = AppliedRequests::default();
        let big = |i: u64| CommandResponse {
            index: i,
            outcome: Outcome::Kv(KvEntry {
                key: format!("k{i}"),
                value: "x".repeat(1 << 20),
                ..KvEntry::default()
            }),
        };
        for i in 0..40 {
            t.record(format!("r{i}"), 1_000, big(i));
        }
        assert!(t.bytes <= MAX_BYTES, "{} bytes", t.bytes);
        assert!(t.len() < 17 && t.get("r39").is_some() && t.get("r0").is_none());
    }

    #[test]
    fn the_table_survives_a_snapshot_round_trip() {
        let mut t = AppliedRequests::default();
        t.record("a".into(), 5, done(3));
        let back: AppliedRequests = serde_json::from_slice(&serde_json::to_vec(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }
}
