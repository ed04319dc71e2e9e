//! Dependency order and the parallelism bound, as the whole apply shows them.

use super::*;

#[tokio::test(start_paused = true)]
async fn jobs_start_only_after_what_they_depend_on_passed_its_gate() {
    let h = harness();
    h.backend.behave("db", Behavior::Run(Duration::from_secs(10)));
    h.backend.behave("api", Behavior::Run(Duration::from_secs(3)));
    h.backend.behave("web", Behavior::Run(Duration::from_secs(8)));
    h.backend
        .behave("preflight", Behavior::Exit(Duration::from_secs(5), 0));
    h.backend.behave("worker", Behavior::Run(Duration::from_secs(1)));
    let (report, events) = apply(&h, &webapp(), ApplyOptions::default()).await;
    assert!(report.success, "{report:#?}");
    for (from, to) in [
        ("api", "db"),
        ("web", "db"),
        ("preflight", "api"),
        ("worker", "preflight"),
        ("worker", "web"),
    ] {
        assert!(
            time_of(&events, from, started) >= time_of(&events, to, passed),
            "{from} started before {to} passed its gate"
        );
    }
    // api and web start together once db is healthy; the periodic job waits for nothing.
    assert_eq!(time_of(&events, "api", started), time_of(&events, "web", started));
    assert!(time_of(&events, "db", passed) >= 10_000);
    assert!(time_of(&events, "report", passed) < 1_000);
    // worker waits for the slower of its two upstreams: web (db 10s + 8s) after preflight (10+3+5).
    assert!(time_of(&events, "worker", started) >= 18_000);
    assert_eq!(report.revision, Some(1));
    let rev = h.store.latest().unwrap().unwrap();
    assert_eq!(rev.jobs.len(), 6);
    assert!(rev.jobs.iter().all(|j| j.gate.as_ref().is_some_and(|g| g.passed)));
}

#[tokio::test(start_paused = true)]
async fn no_more_than_parallelism_jobs_are_in_flight() {
    let h = harness();
    let jobs: Vec<Job> = (1..=7).map(|i| job(&format!("job{i}x"), "service", 1)).collect();
    for (i, j) in jobs.iter().enumerate() {
        h.backend
            .behave(j.id(), Behavior::Run(Duration::from_secs(1 + i as u64)));
    }
    let (report, events) = apply(
        &h,
        &stack(jobs, &[]),
        ApplyOptions {
            parallelism: 3,
            atomic: false,
            ..ApplyOptions::default()
        },
    )
    .await;
    assert!(report.success);
    let mut in_flight = 0i32;
    let mut max = 0;
    for e in &events {
        match e {
            Event::JobStarted { .. } => in_flight += 1,
            Event::GatePassed { .. } | Event::JobFailed { .. } => in_flight -= 1,
            _ => {}
        }
        max = max.max(in_flight);
    }
    assert_eq!(max, 3);
}
