//! Executor tests against the in-memory backend with a paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::fake::{Behavior, FakeBackend};
use super::*;
use crate::graph::StackGraph;
use crate::plan::{Action, PlanOptions, live_view, plan};
use crate::spec::Job;
use crate::stack::{Dependency, DependencyKind, JobAddress, Stack, StackJob};
use crate::state::{JOURNAL_FILE, Sealer, StateStore, recover_journal};

fn job(id: &str, ty: &str, count: i64) -> Job {
    serde_json::from_value(json!({
        "ID": id, "Name": id, "Type": ty, "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": count,
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}]
    }))
    .expect("test job")
}

fn addr(id: &str) -> JobAddress {
    JobAddress::root(id)
}

fn stack(jobs: Vec<Job>, deps: &[(&str, &str)]) -> Stack {
    let mut s = Stack::default();
    s.settings.name = "test".into();
    s.jobs = jobs
        .into_iter()
        .map(|j| StackJob {
            address: addr(j.id()),
            job: j,
            span: Default::default(),
            sensitive_paths: Vec::new(),
        })
        .collect();
    s.jobs.sort_by(|a, b| a.address.cmp(&b.address));
    s.dependencies = deps
        .iter()
        .map(|(from, to)| Dependency {
            from: addr(from),
            to: addr(to),
            gate: None,
            timeout: None,
            kind: DependencyKind::Declared,
            span: Default::default(),
        })
        .collect();
    s
}

/// db ← api, web ← worker; preflight (batch) ← worker; report is periodic.
fn webapp() -> Stack {
    let mut report = job("report", "batch", 1);
    report.periodic =
        serde_json::from_value(json!({"Enabled": true, "Spec": "0 * * * *", "SpecType": "cron"})).ok();
    stack(
        vec![
            job("db", "service", 1),
            job("api", "service", 2),
            job("web", "service", 1),
            job("preflight", "batch", 1),
            job("worker", "service", 1),
            report,
        ],
        &[
            ("api", "db"),
            ("web", "db"),
            ("preflight", "api"),
            ("worker", "preflight"),
            ("worker", "web"),
        ],
    )
}

struct Harness {
    backend: Arc<FakeBackend>,
    store: StateStore,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    Harness {
        backend: Arc::new(FakeBackend::default()),
        store: StateStore::new(dir.path().join("state")),
        _dir: dir,
    }
}

type Events = Arc<Mutex<Vec<Event>>>;

async fn steps_for(h: &Harness, s: &Stack, options: &PlanOptions, prefer_revert: bool) -> Vec<Step> {
    let graph = StackGraph::build(s).expect("graph");
    let state = h.store.latest().expect("state");
    let live = live_view(h.backend.as_ref(), s, state.as_ref(), false)
        .await
        .expect("live");
    let plan = plan(s, &graph, state.as_ref(), Some(&live), options).expect("plan");
    let opts = StepOptions {
        default_timeout: Duration::from_secs(60),
        purge: false,
        prefer_revert,
    };
    build_steps(
        h.backend.as_ref(),
        &plan,
        s,
        state.as_ref(),
        Some(&live),
        &current_edges(&graph),
        &opts,
    )
    .await
    .expect("steps")
}

async fn run(h: &Harness, steps: Vec<Step>, options: ApplyOptions) -> (ApplyReport, Vec<Event>) {
    let events: Events = Arc::default();
    let sink_events = events.clone();
    let sink: EventSink = Arc::new(move |e: &Event| sink_events.lock().unwrap().push(e.clone()));
    let state = h.store.latest().expect("state");
    let journal = Journal::begin(&h.store, state.as_ref(), "test");
    let sealer = Sealer::from_settings(&[], None).expect("sealer");
    let report = execute(
        h.backend.clone(),
        steps,
        &options,
        journal,
        &h.store,
        &sealer,
        sink,
    )
    .await
    .expect("apply");
    let events = events.lock().unwrap().clone();
    (report, events)
}

async fn apply(h: &Harness, s: &Stack, options: ApplyOptions) -> (ApplyReport, Vec<Event>) {
    let steps = steps_for(h, s, &PlanOptions::default(), false).await;
    run(h, steps, options).await
}

fn time_of(events: &[Event], id: &str, pick: fn(&Event) -> Option<u64>) -> u64 {
    events
        .iter()
        .filter(|e| e.address() == Some(&addr(id)))
        .find_map(pick)
        .unwrap_or_else(|| panic!("no such event for {id} in {events:#?}"))
}

fn started(e: &Event) -> Option<u64> {
    if let Event::JobStarted { elapsed_ms, .. } = e {
        Some(*elapsed_ms)
    } else {
        None
    }
}

fn passed(e: &Event) -> Option<u64> {
    if let Event::GatePassed { elapsed_ms, .. } = e {
        Some(*elapsed_ms)
    } else {
        None
    }
}

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

fn with_env(mut j: Job, value: &str) -> Job {
    let mut v = serde_json::to_value(&j).unwrap();
    v["TaskGroups"][0]["Tasks"][0]["Env"] = json!({"V": value});
    j = serde_json::from_value(v).unwrap();
    j
}

#[tokio::test(start_paused = true)]
async fn atomic_undoes_this_applys_changes_newest_first() {
    let h = harness();
    let v1 = stack(
        vec![job("db", "service", 1), job("api", "service", 1)],
        &[("api", "db")],
    );
    assert!(apply(&h, &v1, ApplyOptions::default()).await.0.success);
    // v2: db and api change, web is new (after api), preflight (new, after web) fails.
    let v2 = stack(
        vec![
            with_env(job("db", "service", 1), "2"),
            with_env(job("api", "service", 1), "2"),
            job("web", "service", 1),
            job("preflight", "batch", 1),
        ],
        &[("api", "db"), ("web", "api"), ("preflight", "web")],
    );
    h.backend
        .behave("preflight", Behavior::Exit(Duration::from_secs(1), 1));
    let (report, events) = apply(
        &h,
        &v2,
        ApplyOptions {
            parallelism: 10,
            atomic: true,
        },
    )
    .await;
    assert!(!report.success);
    let order: Vec<&str> = report.rolled_back.iter().map(|(a, _)| a.job_id()).collect();
    assert_eq!(order, ["preflight", "web", "api", "db"]);
    assert!(
        report.rolled_back[2].1.starts_with("reverted to version 0"),
        "{:?}",
        report.rolled_back
    );
    assert!(events.iter().any(|e| matches!(e, Event::RolledBack { .. })));
    // The backend runs v1 again and the state is still revision 1.
    assert_eq!(
        h.backend.live_spec("api"),
        Some(crate::spec::canonicalize(&job("api", "service", 1)))
    );
    assert_eq!(h.backend.live_version("web"), None);
    assert_eq!(h.backend.live_version("preflight"), None);
    assert_eq!(report.revision, None);
    assert_eq!(h.store.serials().unwrap(), vec![1]);
    assert!(!h.store.dir().join(JOURNAL_FILE).exists());
}

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
    assert_eq!(done.len(), 4, "{done:?}");
    // A torn last line (a kill during the write) is ignored on recovery.
    std::fs::write(
        h.store.dir().join(JOURNAL_FILE),
        format!("{journal}{{\"record\": {{\"addr"),
    )
    .unwrap();
    assert_eq!(recover_journal(&h.store).unwrap(), Some(1));
    assert!(!h.store.dir().join(JOURNAL_FILE).exists());
    // The next plan against recorded state shows exactly web and worker.
    let graph = StackGraph::build(&s).unwrap();
    let rev = h.store.latest().unwrap();
    let p = plan(&s, &graph, rev.as_ref(), None, &PlanOptions::default()).unwrap();
    let mut left: Vec<&str> = p
        .jobs
        .iter()
        .filter(|j| j.action != Action::Noop)
        .map(|j| j.address.job_id())
        .collect();
    left.sort();
    assert_eq!(left, ["web", "worker"]);
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
