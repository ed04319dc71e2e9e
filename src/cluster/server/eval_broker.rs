//! The evaluation broker: which committed evaluations the leader's scheduler takes next.
//!
//! The queue is the FSM itself: evaluations are committed `pending` by the writes that create
//! them (job register, deregister, node updates, launches), so a new leader finds exactly the
//! work its predecessor left. The FSM's [`EvalTable`](crate::cluster::fsm::EvalTable) keeps
//! the pending ones in the order the scheduler takes them (priority first, then oldest
//! first) and the blocked ones a node change should wake, so the broker reads an index, never
//! every evaluation ever made.

use crate::cluster::fsm::{Evaluation, State};

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

/// Blocked evaluations, oldest first: they are re-run when nodes change.
pub fn blocked(state: &State) -> Vec<Evaluation> {
    state.evals.blocked().cloned().collect()
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
        assert_eq!(blocked(&state), Vec::<Evaluation>::new());
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
}
