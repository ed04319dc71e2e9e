//! A failing or timed-out step: nothing new starts, and the failure is reported in full.

use super::*;

#[tokio::test(start_paused = true)]
async fn a_failure_starts_nothing_new_and_reports_the_allocation_and_stderr() {
    let h = harness();
    h.backend.behave("db", Behavior::Run(Duration::from_secs(1)));
    h.backend.behave("api", Behavior::Run(Duration::from_secs(1)));
    h.backend.behave("web", Behavior::Run(Duration::from_secs(20)));
    h.backend
        .behave("preflight", Behavior::Exit(Duration::from_secs(2), 3));
    let (report, events) = apply(&h, &webapp(), ApplyOptions::default()).await;
    assert!(!report.success);
    assert_eq!(report.failures.len(), 1);
    let f = &report.failures[0];
    assert_eq!(f.address, addr("preflight"));
    assert!(f.reason.contains("exited with code 3"), "{}", f.reason);
    let alloc = f.alloc.as_ref().expect("an allocation is blamed");
    assert!(
        alloc.tasks[0].events.iter().any(|e| e.contains("exit code 3")),
        "{alloc:?}"
    );
    assert_eq!(
        alloc.tasks[0].stderr_tail.last().map(String::as_str),
        Some("error: the preflight check failed")
    );
    let text = f.to_string();
    assert!(
        text.contains("preflight failed") && text.contains("| error: the preflight check failed"),
        "{text}"
    );
    // web was in flight and finished; worker never started.
    let failed_at = time_of(&events, "preflight", |e| match e {
        Event::JobFailed { elapsed_ms, .. } => Some(*elapsed_ms),
        _ => None,
    });
    assert!(time_of(&events, "web", passed) > failed_at);
    // The event stream (NDJSON with -json) carries the same report as the text view.
    let failed = events
        .iter()
        .find(|e| matches!(e, Event::JobFailed { .. }))
        .expect("a job_failed event");
    let line = serde_json::to_value(failed).unwrap();
    assert_eq!(line["event"], "job_failed");
    assert_eq!(
        line["alloc"]["tasks"][0]["stderr_tail"]
            .as_array()
            .and_then(|l| l.last()),
        Some(&serde_json::json!("error: the preflight check failed")),
        "{line:#}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::JobStarted { address, .. } if *address == addr("worker")))
    );
    assert_eq!(report.skipped, vec![addr("worker")]);
    // What was applied is recorded, the failed gate included.
    let rev = h.store.latest().unwrap().unwrap();
    assert!(rev.job(&addr("worker")).is_none());
    assert_eq!(
        rev.job(&addr("preflight"))
            .and_then(|j| j.gate.as_ref())
            .map(|g| g.passed),
        Some(false)
    );
}

#[tokio::test(start_paused = true)]
async fn a_gate_that_never_passes_times_out() {
    let h = harness();
    h.backend.behave("db", Behavior::Hang);
    let s = stack(vec![job("db", "service", 2)], &[]);
    let mut steps = steps_for(&h, &s, &PlanOptions::default(), false).await;
    steps[0].timeout = Duration::from_secs(30);
    let (report, _) = run(&h, steps, ApplyOptions::default()).await;
    assert!(
        report.failures[0].reason.starts_with("timed out after 30s"),
        "{}",
        report.failures[0].reason
    );
    assert!(
        report.failures[0].reason.contains("2 placed, 0 running"),
        "{}",
        report.failures[0].reason
    );
}

#[tokio::test(start_paused = true)]
async fn an_evaluation_gone_while_followed_ends_the_wait_with_a_clear_message() {
    let h = harness();
    h.backend.behave("db", Behavior::EvalGone);
    let started = tokio::time::Instant::now();
    let (report, _) = apply(&h, &webapp(), ApplyOptions::default()).await;
    assert!(!report.success);
    let f = &report.failures[0];
    assert_eq!(f.address, addr("db"));
    assert!(f.reason.contains("garbage-collected"), "{}", f.reason);
    // Not the step's timeout: the wait ended on the 404.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
