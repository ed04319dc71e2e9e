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

/// Pending evaluations in the order the scheduler takes them: highest priority first, then
/// by creation index (oldest first), then by ID.
pub fn pending(state: &State) -> Vec<Evaluation> {
    state.evals.pending().cloned().collect()
}

/// Blocked evaluations, oldest first: they are re-run when nodes change.
pub fn blocked(state: &State) -> Vec<Evaluation> {
    state.evals.blocked().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EvalStatus;

    fn eval(id: &str, priority: i64, create_index: u64, status: EvalStatus) -> Evaluation {
        Evaluation {
            id: id.into(),
            priority,
            create_index,
            status,
            ..Default::default()
        }
    }

    #[test]
    fn pending_is_priority_then_age() {
        let mut state = State::default();
        for e in [
            eval("a", 50, 3, EvalStatus::Pending),
            eval("b", 70, 5, EvalStatus::Pending),
            eval("c", 50, 1, EvalStatus::Pending),
            eval("d", 90, 2, EvalStatus::Complete),
            eval("e", 10, 1, EvalStatus::Blocked),
        ] {
            state.evals.insert(e.id.clone(), e);
        }
        let ids: Vec<String> = pending(&state).into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["b", "c", "a"]);
        let ids: Vec<String> = blocked(&state).into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["e"]);
        let next = next_pending(&state, |e| e.id == "b").map(|e| e.id);
        assert_eq!(next.as_deref(), Some("c"));
    }
}
