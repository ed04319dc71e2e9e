//! Graph building: gates, waves, closures, cycles and the DOT view.

use super::*;
use crate::spec::{Duration, Job};
use crate::stack::{Dependency, DependencyKind, Gate, JobAddress, JobOptions, SourceSpan, Stack, StackJob};

fn job(id: &str, kind: &str) -> StackJob {
    let j: Job = serde_json::from_value(serde_json::json!({ "ID": id, "Type": kind })).expect("job");
    StackJob {
        address: JobAddress::root(id),
        job: j,
        span: SourceSpan::default(),
        sensitive_paths: vec![],
        volatile: Vec::new(),
    }
}

fn edge(from: &str, to: &str, line: usize) -> Dependency {
    Dependency {
        from: JobAddress::root(from),
        to: JobAddress::root(to),
        gate: None,
        timeout: None,
        kind: DependencyKind::Declared,
        span: SourceSpan {
            file: "stack.hcl".into(),
            line,
            column: 1,
            offset: 0,
            len: 0,
        },
    }
}

fn stack(jobs: Vec<StackJob>, deps: Vec<Dependency>) -> Stack {
    let mut jobs = jobs;
    jobs.sort_by(|a, b| a.address.cmp(&b.address));
    Stack {
        jobs,
        dependencies: deps,
        ..Default::default()
    }
}

#[test]
fn gates_default_by_upstream_type_and_options_override() {
    let mut s = stack(
        vec![
            job("a", "service"),
            job("b", "batch"),
            job("c", "system"),
            job("d", "service"),
        ],
        vec![edge("d", "a", 1), edge("d", "b", 2), edge("d", "c", 3)],
    );
    let g = StackGraph::build(&s).expect("graph");
    let gates: Vec<Gate> = g.edges().iter().map(|e| e.gate).collect();
    assert_eq!(gates, [Gate::Healthy, Gate::Complete, Gate::Running]);
    s.job_options.insert(
        JobAddress::root("a"),
        JobOptions {
            gate: Some(Gate::Registered),
            timeout: Some(Duration::from_secs(60)),
        },
    );
    let g = StackGraph::build(&s).expect("graph");
    assert_eq!(g.edges()[0].gate, Gate::Registered);
    assert_eq!(g.edges()[0].timeout, Some(Duration::from_secs(60)));
}

#[test]
fn waves_follow_the_longest_chain() {
    let s = stack(
        vec![
            job("a", "service"),
            job("b", "service"),
            job("c", "service"),
            job("d", "service"),
        ],
        vec![
            edge("b", "a", 1),
            edge("c", "b", 2),
            edge("d", "a", 3),
            edge("c", "d", 4),
        ],
    );
    let g = StackGraph::build(&s).expect("graph");
    let w = |id: &str| g.wave(&JobAddress::root(id)).expect("wave");
    assert_eq!((w("a"), w("b"), w("d"), w("c")), (0, 1, 1, 2));
    assert_eq!(g.wave_count(), 3);
}

#[test]
fn closure_takes_what_targets_wait_for() {
    let s = stack(
        vec![job("a", "service"), job("b", "service"), job("c", "service")],
        vec![edge("b", "a", 1), edge("c", "b", 2)],
    );
    let g = StackGraph::build(&s).expect("graph");
    let names = |set: std::collections::BTreeSet<usize>| -> Vec<String> {
        set.into_iter().map(|i| g.addresses()[i].0.clone()).collect()
    };
    assert_eq!(
        names(g.closure(&["job.b".into()]).expect("closure")),
        ["job.a", "job.b"]
    );
    assert!(g.closure(&["job.x".into()]).is_err());
}

#[test]
fn every_cycle_is_reported_in_order_and_missing_jobs_too() {
    let s = stack(
        vec![
            job("a", "service"),
            job("b", "service"),
            job("c", "service"),
            job("x", "service"),
        ],
        vec![
            edge("a", "b", 1),
            edge("b", "c", 2),
            edge("c", "a", 3),
            edge("x", "x", 4),
            edge("a", "zz", 5),
        ],
    );
    let errs = StackGraph::build(&s).expect_err("cycles").0;
    assert_eq!(errs.len(), 3, "{errs:?}");
    let cycles: Vec<Vec<&str>> = errs
        .iter()
        .filter_map(|e| match e {
            GraphError::Cycle { steps } => Some(steps.iter().map(|s| s.job.0.as_str()).collect()),
            _ => None,
        })
        .collect();
    assert!(cycles.contains(&vec!["job.a", "job.b", "job.c"]), "{cycles:?}");
    assert!(cycles.contains(&vec!["job.x"]), "{cycles:?}");
    assert!(
        errs.iter()
            .any(|e| matches!(e, GraphError::MissingJob { missing, .. } if missing.0 == "job.zz"))
    );
}

#[test]
fn dot_shows_waves_and_gates() {
    let s = stack(
        vec![job("db", "service"), job("seed", "batch"), job("web", "service")],
        {
            let mut r = edge("web", "seed", 2);
            r.kind = DependencyKind::Reference;
            vec![edge("web", "db", 1), r]
        },
    );
    let g = StackGraph::build(&s).expect("graph");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!("graph_dot", render_dot(&g, "shop"));
        insta::assert_snapshot!("graph_text", render_text(&g));
    });
}
