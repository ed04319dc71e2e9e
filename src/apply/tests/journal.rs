//! The journal: each outcome durable before the next step, so a killed apply loses nothing.

use super::*;

#[tokio::test(start_paused = true)]
async fn each_outcome_is_journalled_and_a_killed_apply_leaves_exactly_the_rest_to_plan() {
    let h = harness();
    h.backend.behave("db", Behavior::Run(Duration::from_secs(2)));
    h.backend.behave("api", Behavior::Run(Duration::from_secs(2)));
    h.backend.behave("web", Behavior::Run(Duration::from_secs(30)));
    h.backend
        .behave("preflight", Behavior::Exit(Duration::from_secs(2), 0));
    let s = webapp();
    let steps = steps_for(&h, &s, &PlanOptions::default(), false).await;
    // Kill: drop the apply 10 s in (db, api, report and preflight done; web in flight).
    let killed = tokio::time::timeout(Duration::from_secs(10), run(&h, steps, ApplyOptions::default())).await;
    assert!(killed.is_err(), "the apply should still have been running");
    assert!(
        h.store.latest().unwrap().is_none(),
        "no revision is written before the end"
    );
    let journal = std::fs::read_to_string(h.store.dir().join(JOURNAL_FILE)).unwrap();
    let done: Vec<serde_json::Value> = journal
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Four outcomes, and before each gate a "registered, gate pending" record (web's gate
    // was running at the kill).
    let passed = done
        .iter()
        .filter(|l| l["record"]["gate"]["passed"] == true)
        .count();
    let pending: Vec<&str> = done
        .iter()
        .filter(|l| l["record"]["gate"]["passed"] == false)
        .map(|l| l["record"]["address"].as_str().unwrap())
        .collect();
    assert_eq!(passed, 4, "{done:?}");
    assert_eq!(pending.len(), 5, "{pending:?}");
    assert!(pending.contains(&"job.web"), "{pending:?}");
    // A torn last line (a kill during the write) is ignored on recovery.
    std::fs::write(
        h.store.dir().join(JOURNAL_FILE),
        format!("{journal}{{\"record\": {{\"addr"),
    )
    .unwrap();
    assert_eq!(recover_journal(&h.store).unwrap(), Some(1));
    assert!(!h.store.dir().join(JOURNAL_FILE).exists());
    // The next plan against recorded state shows exactly web (registered, gate not passed)
    // and worker (never started).
    let graph = StackGraph::build(&s).unwrap();
    let rev = h.store.latest().unwrap();
    let p = plan(&s, &graph, rev.as_ref(), None, &PlanOptions::default()).unwrap();
    let mut left: Vec<&str> = p
        .jobs
        .iter()
        .filter(|j| j.needs_apply())
        .map(|j| j.address.job_id())
        .collect();
    left.sort();
    assert_eq!(left, ["web", "worker"]);
    let web = p.jobs.iter().find(|j| j.address.job_id() == "web").unwrap();
    assert_eq!(web.action, Action::Noop);
    assert!(web.gate_not_passed.is_some(), "{web:?}");
    assert!(p.has_changes());
    // Re-applying finishes the job; web's registration went through, so it is only checked.
    let (report, events) = apply(&h, &s, ApplyOptions::default()).await;
    assert!(report.success, "{report:#?}");
    assert_eq!(report.revision, Some(2));
    let kinds: Vec<(String, StepKind)> = events
        .iter()
        .filter_map(|e| match e {
            Event::JobStarted { address, kind, .. }
                if *kind != StepKind::Check || address.job_id() == "web" =>
            {
                Some((address.job_id().to_string(), *kind))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("web".to_string(), StepKind::Check),
            ("worker".to_string(), StepKind::Create)
        ]
    );
    assert_eq!(h.store.latest().unwrap().unwrap().jobs.len(), 6);
}
