//! Rollback as a forward apply: stops dependents first, then reverts in dependency order.

use super::*;

#[tokio::test(start_paused = true)]
async fn rollback_stops_dependents_first_then_reverts_in_dependency_order() {
    let h = harness();
    let v1 = stack(
        vec![job("db", "service", 1), job("api", "service", 1)],
        &[("api", "db")],
    );
    assert!(apply(&h, &v1, ApplyOptions::default()).await.0.success);
    let v2 = stack(
        vec![
            job("db", "service", 1),
            with_env(job("api", "service", 1), "2"),
            job("worker", "service", 1),
        ],
        &[("api", "db"), ("worker", "api")],
    );
    assert!(apply(&h, &v2, ApplyOptions::default()).await.0.success);
    // Roll back to revision 1 with the current (v2) stack's edges.
    let rev1 = h.store.read(1).unwrap();
    let target = stack_at(&rev1, &v2);
    let graph = StackGraph::build(&target).unwrap();
    let state = h.store.latest().unwrap();
    let live = live_view(h.backend.as_ref(), &target, state.as_ref(), false)
        .await
        .unwrap();
    let p = plan(
        &target,
        &graph,
        state.as_ref(),
        Some(&live),
        &PlanOptions::default(),
    )
    .unwrap();
    let edges = current_edges(&StackGraph::build(&v2).unwrap());
    let opts = StepOptions {
        default_timeout: Duration::from_secs(60),
        purge: false,
        prefer_revert: true,
        owner: None,
        reclaim: Vec::new(),
    };
    let steps = build_steps(
        h.backend.as_ref(),
        &p,
        &target,
        state.as_ref(),
        Some(&live),
        &edges,
        &opts,
    )
    .await
    .unwrap();
    let api = steps.iter().find(|s| s.address == addr("api")).unwrap();
    assert!(
        matches!(
            api.op,
            Operation::Revert {
                version: 0,
                prior: Some(1),
                ..
            }
        ),
        "{:?}",
        api.op
    );
    let (report, _) = run(&h, steps, ApplyOptions::default()).await;
    assert!(report.success, "{report:#?}");
    let writes: Vec<String> = h.backend.log().into_iter().map(|(_, w)| w).skip(4).collect();
    assert_eq!(writes, ["deregister worker", "revert api 0"]);
    assert_eq!(report.revision, Some(3));
    let rev3 = h.store.read(3).unwrap();
    assert_eq!(
        rev3.jobs.iter().map(|j| j.address.job_id()).collect::<Vec<_>>(),
        ["api", "db"]
    );
}
