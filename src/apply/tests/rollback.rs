//! Rollback as a forward apply: stops dependents first, then reverts dependents first too
//! (undo order), or in dependency order where it also re-creates a job.

use super::*;

/// The steps that roll the harness's stack back to revision `rev`, with `current`'s edges.
async fn rollback_steps(h: &Harness, rev: u64, current: &Stack) -> Vec<Step> {
    let recorded = h.store.read(rev).unwrap();
    let target = stack_at(&recorded, current);
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
    let edges = current_edges(&StackGraph::build(current).unwrap());
    let opts = StepOptions {
        default_timeout: Duration::from_secs(60),
        purge: false,
        prefer_revert: true,
        owner: None,
        reclaim: Vec::new(),
        undo_order: true,
    };
    build_steps(
        h.backend.as_ref(),
        &p,
        &target,
        state.as_ref(),
        Some(&live),
        &edges,
        &opts,
    )
    .await
    .unwrap()
}

/// The backend's writes after the first `skip`.
fn writes_after(h: &Harness, skip: usize) -> Vec<String> {
    h.backend.log().into_iter().map(|(_, w)| w).skip(skip).collect()
}

/// Applies `revisions` in turn, rolls back to revision 1 (with the first stack's edges) and
/// returns the backend's writes of the rollback.
async fn rollback_writes(revisions: &[Stack]) -> Vec<String> {
    let h = harness();
    for s in revisions {
        assert!(apply(&h, s, ApplyOptions::default()).await.0.success);
    }
    let before = h.backend.log().len();
    let steps = rollback_steps(&h, 1, &revisions[0]).await;
    let (report, _) = run(&h, steps, ApplyOptions::default()).await;
    assert!(report.success, "{report:#?}");
    writes_after(&h, before)
}

/// The runbook's chain: backfill → worker → api → db, every job's env set to `v`.
fn chain(v: &str) -> Stack {
    stack(
        ["db", "api", "worker", "backfill"]
            .into_iter()
            .map(|id| with_env(job(id, "service", 1), v))
            .collect(),
        &[("api", "db"), ("worker", "api"), ("backfill", "worker")],
    )
}

#[tokio::test(start_paused = true)]
async fn rollback_reverts_dependents_first_backfill_worker_api_then_db() {
    assert_eq!(
        rollback_writes(&[chain("1"), chain("2")]).await,
        [
            "revert backfill 0",
            "revert worker 0",
            "revert api 0",
            "revert db 0"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_rollback_that_recreates_a_job_keeps_dependency_order() {
    // Revision 2 has no backfill and a changed db, api and worker.
    let mut v2 = chain("2");
    v2.jobs.retain(|j| j.address != addr("backfill"));
    v2.dependencies.retain(|d| d.from != addr("backfill"));
    assert_eq!(
        rollback_writes(&[chain("1"), v2]).await,
        [
            "revert db 0",
            "revert api 0",
            "revert worker 0",
            "register backfill"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn rollback_stops_a_job_the_revision_lacks_then_reverts_what_it_changed() {
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
    let steps = rollback_steps(&h, 1, &v2).await;
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
    assert_eq!(writes_after(&h, 4), ["deregister worker", "revert api 0"]);
    assert_eq!(report.revision, Some(3));
    let rev3 = h.store.read(3).unwrap();
    assert_eq!(
        rev3.jobs.iter().map(|j| j.address.job_id()).collect::<Vec<_>>(),
        ["api", "db"]
    );
}
