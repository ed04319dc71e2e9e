//! The evaluation broker: which committed evaluations the leader's scheduler takes next.
//!
//! The queue is the FSM itself: evaluations are committed `pending` by the writes that create
//! them (job register, deregister, node updates, launches), so a new leader finds exactly the
//! work its predecessor left. The FSM's [`EvalTable`](crate::cluster::fsm::EvalTable) keeps
//! the pending ones in the order the scheduler takes them (priority first, then oldest
//! first) and the blocked ones a node change should wake, so the broker reads an index, never
//! every evaluation ever made.
//!
//! Blocked evaluations (placements that found no room) are made pending again by [`Waker`]:
//!
//! ```text
//!  a node changed (joined, eligible again, new attributes) ──► every blocked evaluation
//!  an allocation stopped holding resources (fsm CAPACITY) ──► those blocked on exhausted
//!                                      resources, at most once per CAPACITY_WAKE_INTERVAL
//! ```
//!
//! A woken evaluation that still cannot place everything is blocked again under its own ID
//! (the scheduler worker's `to_command`, Nomad's reblock), so waking never adds evaluations:
//! each job keeps at most one blocked evaluation however often capacity comes and goes.

use std::time::{Duration, Instant};

use super::evals::now_nanos;
use crate::api::EvalStatus;
use crate::cluster::fsm::state::CAPACITY;
use crate::cluster::fsm::{Evaluation, State};

/// Least time between two wakes for freed capacity. Every allocation that ends frees some; in
/// a busy cluster that is many times a second, and each wake re-plans every evaluation blocked
/// on resources, so wakes are spaced (those due meanwhile are taken together at the next).
pub const CAPACITY_WAKE_INTERVAL: Duration = Duration::from_millis(500);

/// The first pending evaluation, in order, that `skip` does not exclude.
pub fn next_pending(state: &State, skip: impl Fn(&Evaluation) -> bool) -> Option<Evaluation> {
    state.evals.pending().find(|e| !skip(e)).cloned()
}

/// Up to `max` pending evaluations, in order, that `skip` does not exclude, at most one per
/// job: a batch's plans are made on one snapshot and committed together, and two plans of one
/// job would each miss what the other decided.
pub fn next_batch(state: &State, max: usize, skip: impl Fn(&Evaluation) -> bool) -> Vec<Evaluation> {
    let mut jobs = std::collections::HashSet::new();
    state
        .evals
        .pending()
        .filter(|e| !skip(e) && jobs.insert((e.namespace.as_str(), e.job_id.as_str())))
        .take(max)
        .cloned()
        .collect()
}

/// What the leader has woken blocked evaluations for so far.
#[derive(Debug, Default)]
pub struct Waker {
    seen_nodes: u64,
    seen_capacity: u64,
    last_capacity_wake: Option<Instant>,
}

/// A wake decided by [`Waker::due`]: the evaluations to commit `pending` (possibly none), and
/// what the waker has seen once they are ([`Waker::woke`]).
#[derive(Debug)]
pub struct Wake {
    pub evals: Vec<Evaluation>,
    pub seen: Seen,
}

/// The table indexes a wake covers, and whether it was a wake for freed capacity.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    nodes: u64,
    capacity: u64,
    capacity_woken: bool,
}

impl Waker {
    /// The blocked evaluations to make pending now, as `pending` evaluations ready to commit.
    pub fn due(&self, state: &State, now: Instant) -> Wake {
        let nodes = state.table_index("nodes");
        let capacity = state.table_index(CAPACITY);
        let nodes_changed = nodes > self.seen_nodes;
        let capacity_due = capacity > self.seen_capacity
            && self
                .last_capacity_wake
                .is_none_or(|t| now.duration_since(t) >= CAPACITY_WAKE_INTERVAL);
        let (evals, why): (Vec<&Evaluation>, &str) = if nodes_changed {
            (state.evals.blocked().collect(), "unblocked by a node update")
        } else if capacity_due {
            let on_resources = state.evals.blocked().filter(|e| blocked_on_resources(e));
            (on_resources.collect(), "unblocked: resources were freed")
        } else {
            (Vec::new(), "")
        };
        let stamp = now_nanos();
        Wake {
            evals: evals
                .into_iter()
                .map(|e| Evaluation {
                    status: EvalStatus::Pending,
                    status_description: why.into(),
                    modify_time: stamp,
                    ..e.clone()
                })
                .collect(),
            seen: Seen {
                nodes,
                capacity: if nodes_changed || capacity_due {
                    capacity
                } else {
                    self.seen_capacity
                },
                capacity_woken: !nodes_changed && capacity_due,
            },
        }
    }

    /// Records that a wake's evaluations were committed.
    pub fn woke(&mut self, seen: Seen, now: Instant) {
        self.seen_nodes = self.seen_nodes.max(seen.nodes);
        self.seen_capacity = self.seen_capacity.max(seen.capacity);
        if seen.capacity_woken {
            self.last_capacity_wake = Some(now);
        }
    }
}

/// Whether some placement of `eval` failed because nodes were full (not only filtered out):
/// freed resources may make room for it.
fn blocked_on_resources(eval: &Evaluation) -> bool {
    eval.failed_tg_allocs
        .iter()
        .flat_map(|f| f.values())
        .any(crate::api::AllocMetric::found_nodes_full)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EvalStatus;

    /// The order itself is `EvalTable`'s (tested there); the broker adds the skip.
    #[test]
    fn next_pending_skips_what_it_is_told_to() {
        let mut state = State::default();
        for (id, priority) in [("b", 70), ("c", 50)] {
            let e = Evaluation {
                id: id.into(),
                priority,
                create_index: 1,
                status: EvalStatus::Pending,
                ..Default::default()
            };
            state.evals.insert(e.id.clone(), e);
        }
        let next = next_pending(&state, |e| e.id == "b").map(|e| e.id);
        assert_eq!(next.as_deref(), Some("c"));
    }

    #[test]
    fn a_batch_takes_one_evaluation_per_job_in_order() {
        let mut state = State::default();
        for (id, job, priority) in [
            ("a", "web", 90),
            ("b", "web", 80),
            ("c", "db", 70),
            ("d", "api", 60),
        ] {
            let e = Evaluation {
                id: id.into(),
                job_id: job.into(),
                priority,
                create_index: 1,
                status: EvalStatus::Pending,
                ..Default::default()
            };
            state.evals.insert(e.id.clone(), e);
        }
        let ids = |b: Vec<Evaluation>| b.into_iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(next_batch(&state, 10, |_| false)), ["a", "c", "d"]);
        assert_eq!(ids(next_batch(&state, 2, |e| e.id == "a")), ["b", "c"]);
    }

    fn blocked_eval(id: &str, exhausted: bool) -> Evaluation {
        let mut metric = crate::api::AllocMetric::default();
        if exhausted {
            metric.count_exhausted("cpu");
        } else {
            metric.count_filtered("${attr.kernel.name} = windows");
        }
        Evaluation {
            id: id.into(),
            job_id: id.into(),
            create_index: 1,
            status: EvalStatus::Blocked,
            failed_tg_allocs: Some([("g".to_owned(), metric)].into()),
            ..Default::default()
        }
    }

    fn ids(wake: &Wake) -> Vec<&str> {
        wake.evals.iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn nodes_wake_every_blocked_evaluation_and_freed_resources_only_those_that_lacked_room() {
        let mut state = State::default();
        for e in [blocked_eval("full", true), blocked_eval("filtered", false)] {
            state.evals.insert(e.id.clone(), e);
        }
        state.table_index.insert("nodes".into(), 5);
        let mut waker = Waker::default();
        let t0 = Instant::now();

        // A node changed: both, made pending with the reason.
        let wake = waker.due(&state, t0);
        assert_eq!(ids(&wake), ["filtered", "full"]);
        assert!(wake.evals.iter().all(|e| e.status == EvalStatus::Pending));
        assert_eq!(wake.evals[0].status_description, "unblocked by a node update");
        waker.woke(wake.seen, t0);
        assert!(waker.due(&state, t0).evals.is_empty(), "nothing changed since");

        // Resources freed: only the evaluation that found nodes full.
        state.table_index.insert(CAPACITY.into(), 7);
        let wake = waker.due(&state, t0);
        assert_eq!(ids(&wake), ["full"]);
        waker.woke(wake.seen, t0);

        // Freed again within the interval: held back, then taken once the interval passed.
        state.table_index.insert(CAPACITY.into(), 9);
        let soon = t0 + CAPACITY_WAKE_INTERVAL / 2;
        let held = waker.due(&state, soon);
        assert!(held.evals.is_empty());
        waker.woke(held.seen, soon);
        let later = t0 + CAPACITY_WAKE_INTERVAL;
        assert_eq!(ids(&waker.due(&state, later)), ["full"]);
    }
}
