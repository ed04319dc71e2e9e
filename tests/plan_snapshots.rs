//! The plans users read, as insta snapshots in `snapshots/`: one stack in the situations a
//! plan must explain.

#[path = "support/fixture.rs"]
mod fixture;

use std::collections::BTreeMap;

use deploy::graph::StackGraph;
use deploy::plan::{
    Action, LiveJob, LiveView, PlacementFailure, PlacementPreview, Plan, PlanOptions, TextOptions, plan,
    render_markdown, render_text,
};
use deploy::spec::canonicalize;
use deploy::stack::{JobAddress, Stack};
use deploy::state::Revision;
use fixture::*;
use serde_json::json;

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

fn make(stack: &Stack, state: Option<&Revision>, live: Option<&LiveView>) -> Plan {
    let graph = StackGraph::build(stack).expect("graph");
    plan(stack, &graph, state, live, &PlanOptions::default()).expect("plan")
}

fn text(p: &Plan) -> String {
    render_text(p, &TextOptions::default())
}

fn action(p: &Plan, id: &str) -> Action {
    p.jobs
        .iter()
        .find(|j| j.address == JobAddress::root(id))
        .map(|j| j.action)
        .expect("job in plan")
}

#[test]
fn first_plan_of_a_multi_job_stack() {
    let p = make(&shop(), None, None);
    assert_eq!(p.summary.create, 4);
    let order: Vec<_> = p.jobs.iter().map(|j| (j.address.0.as_str(), j.wave)).collect();
    assert_eq!(
        order,
        [("job.db", 0), ("job.migrate", 0), ("job.api", 1), ("job.web", 2)]
    );
    settings().bind(|| insta::assert_snapshot!("plan_first", text(&p)));
}

#[test]
fn count_change_is_in_place() {
    let old = shop();
    let new = stack(
        vec![
            ("db", db()),
            ("migrate", migrate()),
            ("api", api()),
            ("web", with(web(), "/TaskGroups/0/Count", json!(5))),
        ],
        old.dependencies.clone(),
    );
    let p = make(&new, Some(&recorded(&old)), None);
    assert_eq!(action(&p, "web"), Action::Update);
    assert_eq!(p.summary.noop, 3);
    settings().bind(|| {
        insta::assert_snapshot!("plan_count_change", text(&p));
        insta::assert_json_snapshot!("plan_count_change_json", p);
    });
}

#[test]
fn image_change_is_destructive() {
    let old = shop();
    let new = stack(
        vec![
            ("db", db()),
            ("migrate", migrate()),
            (
                "api",
                with(api(), "/TaskGroups/0/Tasks/0/Config/image", json!("api:1.1")),
            ),
            ("web", web()),
        ],
        old.dependencies.clone(),
    );
    let p = make(&new, Some(&recorded(&old)), None);
    assert_eq!(action(&p, "api"), Action::UpdateDestructive);
    settings().bind(|| {
        insta::assert_snapshot!("plan_image_change", text(&p));
        insta::assert_snapshot!(
            "plan_image_change_markdown",
            render_markdown(&p).expect("markdown")
        );
    });
}

#[test]
fn template_change_is_diffed_line_by_line() {
    let old = shop();
    let tmpl = "[server]\nport = 8080\nlog_level = \"debug\"\nworkers = 4\ntimeout = \"30s\"\n";
    let new = stack(
        vec![
            ("db", db()),
            ("migrate", migrate()),
            (
                "api",
                with(
                    api(),
                    "/TaskGroups/0/Tasks/0/Templates/0/EmbeddedTmpl",
                    json!(tmpl),
                ),
            ),
            ("web", web()),
        ],
        old.dependencies.clone(),
    );
    let p = make(&new, Some(&recorded(&old)), None);
    assert_eq!(action(&p, "api"), Action::UpdateDestructive);
    let out = text(&p);
    assert!(out.contains("- log_level = \"info\""), "{out}");
    assert!(out.contains("+ timeout = \"30s\""), "{out}");
    settings().bind(|| insta::assert_snapshot!("plan_template_change", out));
}

#[test]
fn removed_job_is_destroyed() {
    let old = shop();
    let new = stack(
        vec![("db", db()), ("migrate", migrate()), ("api", api())],
        vec![dep("api", "db", 3), dep("api", "migrate", 4)],
    );
    let p = make(&new, Some(&recorded(&old)), None);
    assert_eq!(action(&p, "web"), Action::Destroy);
    assert_eq!(p.summary.destroy, 1);
    settings().bind(|| insta::assert_snapshot!("plan_removed_job", text(&p)));
}

#[test]
fn dependency_added_with_a_new_job() {
    let old = shop();
    let worker = json!({
        "ID": "worker", "Datacenters": ["dc1"],
        "TaskGroups": [{ "Name": "worker", "Count": 1, "Tasks": [{
            "Name": "worker", "Driver": "docker", "Config": { "image": "api:1.0", "args": ["work"] }
        }]}]
    });
    let mut deps = old.dependencies.clone();
    deps.push(dep("worker", "db", 9));
    deps.push(dep("worker", "migrate", 10));
    let new = stack(
        vec![
            ("db", db()),
            ("migrate", migrate()),
            ("api", api()),
            ("web", web()),
            ("worker", worker),
        ],
        deps,
    );
    let p = make(&new, Some(&recorded(&old)), None);
    assert_eq!(action(&p, "worker"), Action::Create);
    let w = p
        .jobs
        .iter()
        .find(|j| j.address.0 == "job.worker")
        .expect("worker");
    assert_eq!(w.wave, 1);
    assert_eq!(w.depends_on.len(), 2);
    settings().bind(|| insta::assert_snapshot!("plan_dependency_added", text(&p)));
}

#[test]
fn sensitive_variable_change_shows_no_value() {
    let old = shop();
    let new = stack(
        vec![
            ("db", db()),
            ("migrate", migrate()),
            (
                "api",
                with(api(), "/TaskGroups/0/Tasks/0/Env/TOKEN", json!("s3cret-v2")),
            ),
            ("web", web()),
        ],
        old.dependencies.clone(),
    );
    let p = make(&new, Some(&recorded(&old)), None);
    assert_eq!(action(&p, "api"), Action::UpdateDestructive);
    let out = text(&p);
    let json = serde_json::to_string(&p).expect("json");
    for leaked in ["s3cret-v1", "s3cret-v2"] {
        assert!(
            !out.contains(leaked) && !json.contains(leaked),
            "{leaked} leaked:\n{out}"
        );
    }
    assert!(out.contains("(sensitive)"));
    settings().bind(|| insta::assert_snapshot!("plan_sensitive_change", out));
}

#[test]
fn drift_shows_recorded_and_live() {
    let s = shop();
    let state = recorded(&s);
    let mut live = LiveView::default();
    for (i, j) in s.jobs.iter().enumerate() {
        let mut spec = canonicalize(&j.job);
        spec.version = Some(1);
        spec.job_modify_index = Some(200 + i as u64);
        live.jobs.insert(
            j.address.clone(),
            LiveJob {
                spec,
                version: 1,
                modify_index: 200 + i as u64,
                owner: None,
            },
        );
    }
    // Someone scaled db by hand.
    if let Some(db) = live.jobs.get_mut(&JobAddress::root("db")) {
        let groups = db.spec.task_groups.as_mut().expect("groups");
        groups[0].count = Some(3);
    }
    let p = make(&s, Some(&state), Some(&live));
    assert_eq!(action(&p, "db"), Action::Update);
    assert!(
        p.jobs
            .iter()
            .find(|j| j.address.0 == "job.db")
            .and_then(|j| j.drift.as_ref())
            .is_some()
    );
    assert_eq!(p.jobs.iter().filter(|j| j.drift.is_some()).count(), 1);
    settings().bind(|| insta::assert_snapshot!("plan_drift", text(&p)));
}

#[test]
fn placement_failure_is_explained() {
    let s = shop();
    let mut live = LiveView::default();
    live.placements.insert(
        JobAddress::root("web"),
        PlacementPreview {
            desired: 3,
            placed: 1,
            failures: vec![PlacementFailure {
                group: "web".into(),
                unplaced: 2,
                constraint_filtered: BTreeMap::from([("${node.class} = edge".into(), 4)]),
                nodes_evaluated: 5,
                nodes_filtered: 4,
                nodes_exhausted: 1,
                dimension_exhausted: BTreeMap::from([("memory".into(), 1)]),
                per_node_reasons: BTreeMap::from([
                    (
                        "node-a".into(),
                        "constraint ${node.class} = edge: class is \"batch\"".into(),
                    ),
                    (
                        "node-b".into(),
                        "constraint ${node.class} = edge: class is \"batch\"".into(),
                    ),
                    (
                        "node-c".into(),
                        "constraint ${node.class} = edge: class is \"gpu\"".into(),
                    ),
                    (
                        "node-d".into(),
                        "constraint ${node.class} = edge: class is unset".into(),
                    ),
                    (
                        "node-e".into(),
                        "memory exhausted: 128 MB free, 256 MB asked".into(),
                    ),
                ]),
            }],
            ..Default::default()
        },
    );
    let p = make(&s, None, Some(&live));
    let web = p.jobs.iter().find(|j| j.address.0 == "job.web").expect("web");
    assert_eq!(web.placement.as_ref().map(|pl| pl.placed), Some(1));
    settings().bind(|| insta::assert_snapshot!("plan_placement_failure", text(&p)));
    let md = render_markdown(&p).expect("markdown");
    assert!(md.contains("| **would not be placed** | 1 |"), "{md}");
}
