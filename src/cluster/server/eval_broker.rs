//! The evaluation broker: which committed evaluations the leader's scheduler takes next.
//!
//! The queue is the FSM itself: evaluations are committed `pending` by the writes that create
//! them (job register, deregister, node updates, launches), so a new leader finds exactly the
//! work its predecessor left. The broker orders it (priority first, then oldest first) and
//! picks the blocked evaluations a node change should wake.

use crate::api::EvalStatus;
use crate::cluster::fsm::{Evaluation, State};

/// Pending evaluations in the order the scheduler takes them: highest priority first, then
/// by creation index (oldest first), then by ID.
pub fn pending(state: &State) -> Vec<Evaluation> {
    let mut out: Vec<Evaluation> = state
        .evals
        .values()
        .filter(|e| e.status == EvalStatus::Pending)
        .cloned()
        .collect();
    out.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(a.create_index.cmp(&b.create_index))
            .then(a.id.cmp(&b.id))
    });
    out
}

/// Blocked evaluations, oldest first: they are re-run when nodes change.
pub fn blocked(state: &State) -> Vec<Evaluation> {
    let mut out: Vec<Evaluation> = state
        .evals
        .values()
        .filter(|e| e.status == EvalStatus::Blocked)
        .cloned()
        .collect();
    out.sort_by(|a, b| a.create_index.cmp(&b.create_index).then(a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
