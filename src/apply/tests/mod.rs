//! Executor tests: the engine alone with plain input sequences, then the whole apply against
//! the in-memory backend with a paused clock. One file per concern; the shared stacks and the
//! harness live here.

mod atomic;
mod engine;
mod failure;
mod gate;
mod journal;
mod order;
mod rollback;
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
            volatile: Vec::new(),
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
        owner: None,
        reclaim: Vec::new(),
        undo_order: prefer_revert,
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

fn with_env(mut j: Job, value: &str) -> Job {
    let mut v = serde_json::to_value(&j).unwrap();
    v["TaskGroups"][0]["Tasks"][0]["Env"] = json!({"V": value});
    j = serde_json::from_value(v).unwrap();
    j
}
