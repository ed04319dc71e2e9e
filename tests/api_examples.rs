//! Every JSON example of Nomad's API reference for nodes, allocations, evaluations,
//! deployments and job responses decodes into `deploy::api` types, and re-encoding keeps every
//! field name the example had.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use deploy::api;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn reference_dir() -> Option<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/nomad-api"));
    if dir.is_dir() {
        return Some(dir.to_path_buf());
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing and CI=true",
        dir.display()
    );
    eprintln!("skipping: {} is absent", dir.display());
    None
}

/// The ```json blocks of a page, in order.
fn json_blocks(page: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        match (&mut current, line.trim()) {
            (None, "```json") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(buf), _) => {
                buf.push_str(line);
                buf.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Parses an example; the reference has one block missing a comma between members, which
/// is repaired (a closing brace at the end of a line followed by a line opening a key).
fn parse_example(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|first| {
        let lines: Vec<&str> = text.lines().collect();
        let mut fixed = String::new();
        for (i, line) in lines.iter().enumerate() {
            fixed.push_str(line);
            let next = lines.get(i + 1).map(|l| l.trim_start()).unwrap_or("");
            let end = line.trim_end();
            if (end.ends_with('}') || end.ends_with(']')) && next.starts_with('"') {
                fixed.push(',');
            }
            fixed.push('\n');
        }
        serde_json::from_str(&fixed).unwrap_or_else(|e| panic!("example is not JSON ({first}; {e})"))
    })
}

/// Every object key path in `v` (array elements share their parent's path). Keys under
/// free-form maps (attributes, meta, task names...) are part of the path like any other key.
fn key_paths(v: &Value, prefix: &str, skip: &[&str], out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let path = format!("{prefix}/{k}");
                if skip.contains(&k.as_str()) {
                    continue;
                }
                out.insert(path.clone());
                key_paths(child, &path, skip, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| key_paths(i, prefix, skip, out)),
        _ => {}
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(page: &str, index: usize, example: &Value) -> Result<(), String> {
    let decoded: T = serde_json::from_value(example.clone())
        .map_err(|e| format!("{page} example #{index} does not decode: {e}"))?;
    let encoded = serde_json::to_value(&decoded).expect("encodes");
    // `Job` is spec's type with its own round-trip tests; `Diff` is free-form here.
    let skip = ["Job", "Diff"];
    let (mut want, mut got) = (BTreeSet::new(), BTreeSet::new());
    key_paths(example, "", &skip, &mut want);
    key_paths(&encoded, "", &skip, &mut got);
    let lost: Vec<_> = want.difference(&got).collect();
    if lost.is_empty() {
        Ok(())
    } else {
        Err(format!("{page} example #{index}: re-encoding lost {lost:?}"))
    }
}

type Check = fn(&str, usize, &Value) -> Result<(), String>;

fn one<T: DeserializeOwned + Serialize>() -> Check {
    |p, i, v| round_trip::<T>(p, i, v)
}

fn list<T: DeserializeOwned + Serialize>() -> Check {
    |p, i, v| round_trip::<Vec<T>>(p, i, v)
}

/// (page, example index, type). Examples not listed belong to other objects (signal payloads,
/// service registrations, job versions, scale status...).
fn table() -> Vec<(&'static str, usize, Check)> {
    vec![
        ("allocations", 0, list::<api::AllocListStub>()),
        ("allocations", 1, one::<api::Allocation>()),
        ("evaluations", 0, list::<api::Evaluation>()),
        ("evaluations", 1, one::<api::Evaluation>()),
        ("evaluations", 2, list::<api::AllocListStub>()),
        ("nodes", 0, list::<api::NodeListStub>()),
        ("nodes", 1, one::<api::Node>()),
        ("nodes", 2, list::<api::Allocation>()),
        ("deployments", 0, list::<api::Deployment>()),
        ("deployments", 1, one::<api::Deployment>()),
        ("deployments", 2, list::<api::AllocListStub>()),
        ("jobs", 0, list::<api::JobListStub>()),
        ("jobs", 2, one::<api::JobRegisterResponse>()),
        ("jobs", 9, list::<api::AllocListStub>()),
        ("jobs", 10, list::<api::Evaluation>()),
        ("jobs", 11, list::<api::Deployment>()),
        ("jobs", 12, one::<api::Deployment>()),
        ("jobs", 13, one::<api::JobSummary>()),
        ("jobs", 14, one::<api::JobRegisterResponse>()),
        ("jobs", 20, one::<api::JobRegisterResponse>()),
        ("jobs", 24, one::<api::JobRegisterResponse>()),
        ("jobs", 26, one::<api::JobPlanResponse>()),
        ("jobs", 28, one::<api::JobRegisterResponse>()),
    ]
}

#[test]
fn reference_examples_decode_and_keep_field_names() {
    let Some(dir) = reference_dir() else { return };
    let mut failures = Vec::new();
    for (page, index, check) in table() {
        let text = std::fs::read_to_string(dir.join(format!("{page}.mdx"))).expect("readable page");
        let blocks = json_blocks(&text);
        let block = blocks
            .get(index)
            .unwrap_or_else(|| panic!("{page}.mdx has no JSON example #{index}"));
        failures.extend(check(page, index, &parse_example(block)).err());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unknown_fields_from_newer_nomad_decode() {
    let node: api::Node = serde_json::from_str(
        r#"{"ID":"n1","Status":"ready","FutureField":{"x":1},"SchedulingEligibility":"eligible"}"#,
    )
    .expect("decodes");
    assert_eq!(node.status, api::NodeStatus::Ready);
    let alloc: api::Allocation =
        serde_json::from_str(r#"{"ID":"a","ClientStatus":"teleported","DesiredStatus":"run"}"#).expect("decodes");
    assert_eq!(alloc.client_status, api::ClientStatus::Other);
}

#[test]
fn node_reasons_serialise_only_when_present() {
    let mut m = api::AllocMetric::default();
    assert!(!serde_json::to_string(&m).unwrap().contains("NodeReasons"));
    m.filter_node("n1", "distinct_hosts", "already runs an allocation of this job");
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(json["NodeReasons"]["n1"], "already runs an allocation of this job");
    assert_eq!(json["ConstraintFiltered"]["distinct_hosts"], 1);
}
