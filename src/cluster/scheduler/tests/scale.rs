//! Jobs far larger than a cluster: reconcile stays O(n log n) on tens of thousands of
//! allocations, a huge count is counted rather than searched, and a budget stops planning.
//! Assertions are on results only; the sizes make a quadratic step show as a hung test.

use std::time::Duration;

use super::harness::{Harness, job, node};
use crate::api::{Allocation, ClientStatus, DesiredStatus, Evaluation};
use crate::cluster::scheduler::{Budget, OverBudget, SchedRng, schedule_within};

/// `n` running allocations of `job_id`'s group `app` on `n0`, at indexes 0, 2, 4, ...
fn running(job_id: &str, n: u32) -> Vec<Allocation> {
    (0..n)
        .map(|k| Allocation {
            id: format!("alloc-{k:06}"),
            namespace: "default".into(),
            job_id: job_id.into(),
            task_group: "app".into(),
            name: format!("{job_id}.app[{}]", 2 * k),
            node_id: "id-n0".into(),
            node_name: "n0".into(),
            desired_status: DesiredStatus::Run,
            client_status: ClientStatus::Running,
            create_index: u64::from(k) + 1,
            ..Allocation::default()
        })
        .collect()
}

#[test]
fn fifty_thousand_allocations_reconcile_into_the_gaps() {
    let mut h = Harness::with_nodes(vec![node("n0"), node("n1")]);
    h.register(job("big", "service", 60_000));
    h.allocs = running("big", 50_000);
    let plan = h.eval("big");
    let updates = &plan.annotations.desired_tg_updates["app"];
    assert_eq!((updates.ignore, updates.place, updates.stop), (50_000, 10_000, 0));
    // Two nodes take 8 of 500 MHz each, at the lowest free indexes; the rest fail as one.
    assert_eq!(plan.place.len(), 16);
    let mut indexes: Vec<u32> = plan.place.iter().filter_map(Allocation::index).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..16).map(|k| 2 * k + 1).collect::<Vec<u32>>());
    assert_eq!(plan.queued_allocations["app"], 10_000 - 16);
    assert_eq!(plan.failed_tg_allocs["app"].coalesced_failures, 10_000 - 16 - 1);
}

#[test]
fn fifty_thousand_allocations_scale_down_highest_index_first() {
    let mut h = Harness::with_nodes(vec![node("n0")]);
    h.register(job("big", "service", 3));
    h.allocs = running("big", 50_000);
    let plan = h.eval("big");
    assert_eq!(plan.stop.len(), 50_000 - 3);
    assert_eq!(plan.stop[0].alloc_id, "alloc-049999");
    assert_eq!(
        plan.stop.last().map(|s| s.alloc_id.as_str()),
        Some("alloc-000003")
    );
    assert!(plan.place.is_empty());
}

#[test]
fn a_billion_is_counted_not_searched() {
    let mut h = Harness::with_nodes(vec![node("n0")]);
    h.register(job("huge", "batch", 1_000_000_000));
    let plan = h.eval("huge");
    assert_eq!(plan.place.len(), 8);
    assert_eq!(plan.annotations.desired_tg_updates["app"].place, 1_000_000_000);
    assert_eq!(plan.queued_allocations["app"], 1_000_000_000 - 8);
}

fn eval_of(job_id: &str) -> Evaluation {
    Evaluation {
        id: "eval-budget".into(),
        namespace: "default".into(),
        job_id: job_id.into(),
        ..Evaluation::default()
    }
}

#[test]
fn a_spent_budget_gives_the_evaluation_up_with_a_reason() {
    let nodes: Vec<_> = (0..50).map(|i| node(&format!("n{i}"))).collect();
    let mut h = Harness::with_nodes(nodes);
    h.register(job("svc", "service", 100));
    h.register(job("agent", "system", 1));
    for id in ["svc", "agent"] {
        let mut rng = SchedRng::seeded(1);
        let err = schedule_within(&h, &eval_of(id), &mut rng, &Budget::of(Duration::ZERO)).unwrap_err();
        assert_eq!(err, OverBudget::Deadline(Duration::ZERO));
        assert_eq!(err.to_string(), "planning exceeded its time budget of 0ns");
    }
    // The same evaluation with room to finish plans as usual.
    let mut rng = SchedRng::seeded(1);
    let plan = schedule_within(
        &h,
        &eval_of("svc"),
        &mut rng,
        &Budget::of(Duration::from_secs(3600)),
    )
    .unwrap();
    assert_eq!(plan.place.len(), 100);
}
