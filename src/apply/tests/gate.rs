//! Gates decided from allocation stubs alone.

use super::*;

#[test]
fn a_batch_gate_fails_on_a_nonzero_exit_code_even_before_the_client_says_failed() {
    let j = job("b", "batch", 1);
    let ev = crate::api::TaskEvent {
        r#type: "Terminated".into(),
        exit_code: 2,
        ..Default::default()
    };
    let state = crate::api::TaskState {
        state: "dead".into(),
        events: Some(vec![ev]),
        ..Default::default()
    };
    let a = crate::api::AllocListStub {
        id: "abcdef0123".into(),
        client_status: crate::api::ClientStatus::Complete,
        task_states: Some([("t".to_string(), state)].into()),
        ..Default::default()
    };
    match evaluate(crate::stack::Gate::Complete, &j, 0, &[a], None) {
        GateStatus::Failed { reason, alloc_id, .. } => {
            assert!(reason.contains("exited with code 2"), "{reason}");
            assert_eq!(alloc_id.as_deref(), Some("abcdef0123"));
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}
