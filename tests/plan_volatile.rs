//! `uuidv4()` and `timestamp()` evaluated at load as Nomad does, the plan marking the fields
//! they feed as changing on every plan, and `deploy test` snapshots holding a placeholder; and
//! plans comparing a live job modulo what its server added on registration.

#[path = "support/fixture.rs"]
mod fixture;

use deploy::frontend::{Inputs, load_stack};
use deploy::graph::StackGraph;
use deploy::plan::{
    Action, LiveJob, LiveView, Plan, PlanOptions, TextOptions, plan, render_text, snapshot_text,
};
use deploy::spec::admission::admit;
use deploy::spec::{Constraint, canonicalize};
use deploy::stack::{JobAddress, Stack};
use deploy::state::Revision;
use fixture::recorded;
use serde_json::json;

const VOLATILE_JOB: &str = r#"
locals {
  stamp = timestamp()
}
job "app" {
  meta {
    run = uuidv4()
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
      }
      env {
        BUILT = "at ${local.stamp} for ${NOMAD_ALLOC_ID}"
        FIXED = "x"
      }
    }
  }
}
"#;

fn load(hcl: &str) -> Stack {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("app.nomad.hcl");
    std::fs::write(&file, hcl).expect("write");
    let (stack, _) = load_stack(&file, &Inputs::default()).unwrap_or_else(|d| panic!("{d}"));
    stack
}

fn make(stack: &Stack, state: Option<&Revision>, live: Option<&LiveView>) -> Plan {
    let graph = StackGraph::build(stack).expect("graph");
    plan(stack, &graph, state, live, &PlanOptions::default()).expect("plan")
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn uuidv4_and_timestamp_convert_at_load_and_are_marked() {
    let a = load(VOLATILE_JOB);
    let b = load(VOLATILE_JOB);
    let job = serde_json::to_value(&a.jobs[0].job).expect("json");
    let run = job["Meta"]["run"].as_str().expect("a string");
    let uuid = uuid::Uuid::parse_str(run).expect("a UUID");
    assert_eq!(uuid.get_version_num(), 4);
    let built = job["TaskGroups"][0]["Tasks"][0]["Env"]["BUILT"]
        .as_str()
        .expect("a string");
    let stamp = built
        .strip_prefix("at ")
        .and_then(|s| s.strip_suffix(" for ${NOMAD_ALLOC_ID}"))
        .expect("the template around the timestamp");
    chrono::DateTime::parse_from_rfc3339(stamp).expect("RFC 3339");
    let again = serde_json::to_value(&b.jobs[0].job).expect("json");
    assert_ne!(
        job["Meta"]["run"], again["Meta"]["run"],
        "a new UUID on every load"
    );
    let marked: Vec<(String, Vec<String>)> = a.jobs[0]
        .volatile
        .iter()
        .map(|v| (v.path.clone(), v.functions.clone()))
        .collect();
    assert_eq!(
        marked,
        vec![
            ("Meta.run".to_string(), vec!["uuidv4".to_string()]),
            (
                "TaskGroups[0].Tasks[0].Env.BUILT".to_string(),
                vec!["timestamp".to_string()]
            ),
        ]
    );
}

#[test]
fn every_plan_changes_the_volatile_fields_and_says_so() {
    let first = load(VOLATILE_JOB);
    let state = recorded(&first);
    let p = make(&load(VOLATILE_JOB), Some(&state), None);
    assert_eq!(p.jobs[0].action, Action::Update, "{}", p.jobs[0].reason);
    let text = render_text(&p, &TextOptions::default());
    assert!(
        text.contains("  Meta.run (changes on every plan: uuidv4())"),
        "{text}"
    );
    assert!(
        text.contains("  TaskGroups[0].Tasks[0].Env.BUILT (changes on every plan: timestamp())"),
        "{text}"
    );
    let json = serde_json::to_value(&p).expect("json");
    assert_eq!(
        json["jobs"][0]["volatile"][0],
        json!({"path": "Meta.run", "functions": ["uuidv4"]})
    );
    // A stack without them is unchanged, and its plan carries no such field.
    let plain = VOLATILE_JOB
        .replace("uuidv4()", "\"r1\"")
        .replace("timestamp()", "\"noon\"");
    let p = make(&load(&plain), Some(&recorded(&load(&plain))), None);
    assert_eq!(p.jobs[0].action, Action::Noop);
    assert!(
        serde_json::to_value(&p).expect("json")["jobs"][0]
            .get("volatile")
            .is_none()
    );
}

#[test]
fn deploy_test_snapshots_hold_a_placeholder() {
    let a = snapshot_text(&make(&load(VOLATILE_JOB), None, None));
    let b = snapshot_text(&make(&load(VOLATILE_JOB), None, None));
    assert_eq!(a, b, "two loads give the same snapshot");
    assert!(
        a.contains("\"run\": \"(changes on every plan: uuidv4())\""),
        "{a}"
    );
    // The whole field changes on every plan, so the whole value is the placeholder.
    assert!(
        a.contains("\"BUILT\": \"(changes on every plan: timestamp())\""),
        "{a}"
    );
    assert!(a.contains("\"FIXED\": \"x\""), "{a}");
    settings().bind(|| insta::assert_snapshot!("plan_volatile_snapshot", a));
}

const NOMAD_SERVICE_JOB: &str = r#"
job "web" {
  group "g" {
    service {
      name     = "web"
      provider = "nomad"
    }
    task "t" {
      driver      = "raw_exec"
      kill_signal = "SIGINT"
      config {
        command = "/bin/sleep"
      }
    }
  }
}
"#;

/// A live view holding `job` for `web`.
fn live(job: deploy::spec::Job) -> LiveView {
    let mut view = LiveView::default();
    view.jobs.insert(
        JobAddress::root("web"),
        LiveJob {
            spec: job,
            version: 0,
            modify_index: 100,
            owner: None,
        },
    );
    view
}

#[test]
fn what_the_server_adds_on_registration_is_no_drift() {
    let stack = load(NOMAD_SERVICE_JOB);
    let state = recorded(&stack);
    let admitted = admit(canonicalize(&stack.jobs[0].job));
    let groups = admitted.task_groups.clone().unwrap_or_default();
    assert_eq!(
        groups[0].constraints.clone().unwrap_or_default().len(),
        2,
        "service discovery and signals"
    );
    let p = make(&stack, Some(&state), Some(&live(admitted.clone())));
    assert_eq!(p.jobs[0].action, Action::Noop, "{}", p.jobs[0].reason);
    assert!(p.jobs[0].drift.is_none(), "{:?}", p.jobs[0].drift);
    // A constraint added by hand on the live job is drift.
    let mut edited = admitted;
    let tg = &mut edited.task_groups.as_mut().expect("groups")[0];
    tg.constraints.get_or_insert_with(Vec::new).push(Constraint {
        l_target: "${attr.kernel.name}".into(),
        r_target: "linux".into(),
        operand: "=".into(),
    });
    let p = make(&stack, Some(&state), Some(&live(edited)));
    assert!(p.jobs[0].drift.is_some());
    assert_ne!(
        p.jobs[0].action,
        Action::Noop,
        "the stack's spec goes back over it"
    );
}
