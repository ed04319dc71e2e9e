//! The engine alone: plain sequences of inputs and the actions they answer with (no runtime,
//! no clock, no backend).

use super::*;
use crate::apply::engine::{Action, Engine, Input, Policy, Task};

use Action::{Commit, Discard, Fail, Record, Skip, Start, Undo};

fn task(id: &str, waits_for: &[&str]) -> Task {
    task_of(id, StepKind::Update, waits_for)
}

fn task_of(id: &str, kind: StepKind, waits_for: &[&str]) -> Task {
    Task {
        address: addr(id),
        kind,
        waits_for: waits_for.iter().map(|w| addr(w)).collect(),
    }
}

fn engine(tasks: Vec<Task>, parallelism: usize, atomic: bool) -> Engine {
    Engine::new(tasks, Policy { parallelism, atomic }).expect("no duplicates")
}

fn passed(step: usize) -> Input {
    Input::Finished {
        step,
        changed: true,
        stale_record: false,
        outcome: Ok("1/1 allocations running".into()),
    }
}

fn failed(step: usize, changed: bool) -> Input {
    Input::Finished {
        step,
        changed,
        stale_record: false,
        outcome: Err(Box::new(FailureReport::new(&addr("x"), "it failed"))),
    }
}

fn undone(step: usize, ok: bool) -> Input {
    Input::Undone {
        step,
        detail: if ok {
            "reverted to version 0"
        } else {
            "could not undo: 500"
        }
        .into(),
        ok,
    }
}

#[test]
fn steps_start_in_dependency_order_once_what_they_wait_for_passed() {
    // 0 ← 1 ← 2, and 3 waits for nothing; 4 waits for a job outside the apply.
    let mut e = engine(
        vec![
            task("db", &[]),
            task("api", &["db"]),
            task("web", &["api"]),
            task("report", &[]),
            task("cron", &["elsewhere"]),
        ],
        10,
        false,
    );
    assert_eq!(e.begin(), [Start(0), Start(3), Start(4)]);
    assert_eq!(e.handle(passed(3)), [Record(3)]);
    assert_eq!(e.handle(passed(0)), [Record(0), Start(1)]);
    assert_eq!(e.handle(passed(4)), [Record(4)]);
    assert_eq!(e.handle(passed(1)), [Record(1), Start(2)]);
    assert!(!e.is_done());
    assert_eq!(e.handle(passed(2)), [Record(2), Commit]);
    assert!(e.is_done() && e.success());
    assert_eq!(e.skipped().count(), 0);
}

#[test]
fn no_more_than_parallelism_steps_are_in_flight() {
    let tasks = (0..5).map(|i| task(&format!("job{i}"), &[])).collect();
    let mut e = engine(tasks, 2, false);
    assert_eq!(e.begin(), [Start(0), Start(1)]);
    assert_eq!(e.handle(passed(1)), [Record(1), Start(2)]);
    assert_eq!(e.handle(passed(0)), [Record(0), Start(3)]);
    assert_eq!(e.handle(passed(2)), [Record(2), Start(4)]);
    assert_eq!(e.handle(passed(3)), [Record(3)]);
    assert_eq!(e.handle(passed(4)), [Record(4), Commit]);
}

#[test]
fn a_parallelism_of_zero_runs_one_at_a_time() {
    let mut e = engine(vec![task("a", &[]), task("b", &[])], 0, false);
    assert_eq!(e.parallelism(), 1);
    assert_eq!(e.begin(), [Start(0)]);
    assert_eq!(e.handle(passed(0)), [Record(0), Start(1)]);
}

#[test]
fn a_failure_starts_nothing_new_lets_in_flight_steps_finish_and_skips_the_rest() {
    // a and b run; c is independent but waits for a free slot; d waits for a.
    let mut e = engine(
        vec![task("a", &[]), task("b", &[]), task("c", &[]), task("d", &["a"])],
        2,
        false,
    );
    assert_eq!(e.begin(), [Start(0), Start(1)]);
    // The failed registration changed nothing: nothing to record, only to announce.
    assert_eq!(e.handle(failed(0, false)), [Fail(0)]);
    assert_eq!(e.handle(passed(1)), [Record(1), Skip(2), Skip(3), Commit]);
    assert!(!e.success());
    assert_eq!(e.failures()[0].reason, "it failed");
    assert_eq!(e.skipped().collect::<Vec<_>>(), [&addr("c"), &addr("d")]);
}

#[test]
fn a_failed_gate_of_a_change_is_recorded_before_it_is_announced() {
    let mut e = engine(vec![task("a", &[])], 1, false);
    e.begin();
    assert_eq!(e.handle(failed(0, true)), [Record(0), Fail(0), Commit]);
}

#[test]
fn a_check_is_recorded_only_when_the_journal_has_it_otherwise() {
    let mut e = engine(
        vec![
            task_of("same", StepKind::Check, &[]),
            task_of("stale", StepKind::Check, &[]),
        ],
        10,
        false,
    );
    assert_eq!(e.begin(), [Start(0), Start(1)]);
    let check = |step, stale_record| Input::Finished {
        step,
        changed: false,
        stale_record,
        outcome: Ok("registered".into()),
    };
    assert_eq!(e.handle(check(0, false)), []);
    assert_eq!(e.handle(check(1, true)), [Record(1), Commit]);
}

#[test]
fn atomic_undoes_every_change_newest_first_then_discards_the_journal() {
    let mut e = engine(
        vec![
            task("db", &[]),
            task("api", &["db"]),
            task_of("same", StepKind::Check, &[]),
            task("web", &["api"]),
        ],
        10,
        true,
    );
    assert_eq!(e.begin(), [Start(0), Start(2)]);
    assert_eq!(e.handle(passed(0)), [Record(0), Start(1)]);
    let check = Input::Finished {
        step: 2,
        changed: false,
        stale_record: false,
        outcome: Ok("registered".into()),
    };
    assert_eq!(e.handle(check), []);
    assert_eq!(e.handle(passed(1)), [Record(1), Start(3)]);
    // The check changed nothing, so it is not undone.
    assert_eq!(e.handle(failed(3, true)), [Record(3), Fail(3), Undo(3)]);
    assert_eq!(e.handle(undone(3, true)), [Undo(1)]);
    assert_eq!(e.handle(undone(1, true)), [Undo(0)]);
    assert!(!e.is_done());
    assert_eq!(e.handle(undone(0, true)), [Discard]);
    assert!(e.is_done());
    let order: Vec<&str> = e.rolled_back().iter().map(|(a, _)| a.job_id()).collect();
    assert_eq!(order, ["web", "api", "db"]);
}

#[test]
fn atomic_commits_what_is_left_when_an_undo_is_refused() {
    let mut e = engine(vec![task("a", &[]), task("b", &["a"])], 10, true);
    e.begin();
    e.handle(passed(0));
    assert_eq!(e.handle(failed(1, true)), [Record(1), Fail(1), Undo(1)]);
    assert_eq!(e.handle(undone(1, false)), [Undo(0)]);
    assert_eq!(e.handle(undone(0, true)), [Commit]);
    assert_eq!(e.rolled_back()[0].1, "could not undo: 500");
}

#[test]
fn atomic_with_nothing_changed_only_commits() {
    let mut e = engine(vec![task("a", &[])], 10, true);
    e.begin();
    assert_eq!(e.handle(failed(0, false)), [Fail(0), Commit]);
    assert!(e.rolled_back().is_empty());
}

#[test]
fn without_atomic_a_failure_undoes_nothing() {
    let mut e = engine(vec![task("a", &[]), task("b", &["a"])], 10, false);
    e.begin();
    e.handle(passed(0));
    assert_eq!(e.handle(failed(1, true)), [Record(1), Fail(1), Commit]);
}

#[test]
fn steps_waiting_on_each_other_are_skipped_and_reported() {
    let mut e = engine(vec![task("a", &["b"]), task("b", &["a"])], 10, false);
    assert_eq!(e.begin(), [Skip(0), Skip(1), Commit]);
    assert!(!e.success());
    assert_eq!(e.failures()[0].address, addr("a"));
    assert!(e.failures()[0].reason.contains("a cycle?"));
}

#[test]
fn a_lost_step_stops_new_work() {
    let mut e = engine(vec![task("a", &[]), task("b", &["a"])], 10, false);
    e.begin();
    let lost = Input::Lost {
        message: "task 3 panicked".into(),
    };
    assert_eq!(e.handle(lost), [Skip(1), Commit]);
    assert_eq!(e.failures()[0].reason, "a step panicked: task 3 panicked");
}

#[test]
fn an_empty_apply_only_commits() {
    let mut e = engine(Vec::new(), 10, true);
    assert_eq!(e.begin(), [Commit]);
    assert!(e.is_done() && e.success());
}

#[test]
fn a_job_named_twice_is_refused() {
    let err = Engine::new(
        vec![task("a", &[]), task("a", &[])],
        Policy {
            parallelism: 1,
            atomic: false,
        },
    )
    .unwrap_err();
    assert_eq!(err, addr("a"));
}
