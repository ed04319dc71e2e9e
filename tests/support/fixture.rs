//! A small stack built in code (db, migrate, api, web) and helpers to record it as state, for
//! plan snapshot tests.

#![allow(dead_code)]

use deploy::spec::{Job, canonicalize};
use deploy::stack::{Dependency, DependencyKind, JobAddress, SourceSpan, Stack, StackJob, StackSettings};
use deploy::state::{JobRecord, Revision, STATE_FORMAT_VERSION};
use serde_json::{Value, json};

pub const LINEAGE: &str = "11111111-2222-4333-8444-555555555555";

pub const TEMPLATE_V1: &str = "[server]\nport = 8080\nlog_level = \"info\"\nworkers = 4\n";

pub fn db() -> Value {
    json!({
        "ID": "db", "Datacenters": ["dc1"],
        "TaskGroups": [{ "Name": "db", "Count": 1, "Tasks": [{
            "Name": "postgres", "Driver": "docker",
            "Config": { "image": "postgres:16" },
            "Resources": { "CPU": 500, "MemoryMB": 512 }
        }]}]
    })
}

pub fn migrate() -> Value {
    json!({
        "ID": "migrate", "Type": "batch", "Datacenters": ["dc1"],
        "TaskGroups": [{ "Name": "migrate", "Count": 1, "Tasks": [{
            "Name": "migrate", "Driver": "docker",
            "Config": { "image": "api:1.0", "args": ["migrate"] }
        }]}]
    })
}

pub fn api() -> Value {
    json!({
        "ID": "api", "Datacenters": ["dc1"], "Meta": { "team": "payments" },
        "TaskGroups": [{ "Name": "api", "Count": 2, "Tasks": [{
            "Name": "server", "Driver": "docker",
            "Config": { "image": "api:1.0", "ports": ["http"] },
            "Env": { "TOKEN": "s3cret-v1", "MODE": "production" },
            "Templates": [{ "DestPath": "local/app.toml", "EmbeddedTmpl": TEMPLATE_V1 }],
            "Resources": { "CPU": 200, "MemoryMB": 256 }
        }]}]
    })
}

pub fn web() -> Value {
    json!({
        "ID": "web", "Datacenters": ["dc1"],
        "Constraints": [{ "LTarget": "${node.class}", "RTarget": "edge", "Operand": "=" }],
        "TaskGroups": [{ "Name": "web", "Count": 3, "Tasks": [{
            "Name": "nginx", "Driver": "docker",
            "Config": { "image": "nginx:1.27" }
        }]}]
    })
}

pub fn span(file: &str, line: usize) -> SourceSpan {
    SourceSpan {
        file: file.into(),
        line,
        column: 3,
        offset: 0,
        len: 0,
    }
}

pub fn to_job(v: Value) -> Job {
    serde_json::from_value(v).expect("fixture job")
}

pub fn stack_job(id: &str, v: Value) -> StackJob {
    let sensitive_paths = if id == "api" {
        vec!["TaskGroups[0].Tasks[0].Env.TOKEN".to_string()]
    } else {
        Vec::new()
    };
    StackJob {
        address: JobAddress::root(id),
        job: to_job(v),
        span: span(&format!("{id}.nomad.hcl"), 1),
        sensitive_paths,
        volatile: Vec::new(),
    }
}

pub fn dep(from: &str, to: &str, line: usize) -> Dependency {
    Dependency {
        from: JobAddress::root(from),
        to: JobAddress::root(to),
        gate: None,
        timeout: None,
        kind: DependencyKind::Declared,
        span: span("stack.hcl", line),
    }
}

/// A stack from jobs and edges; jobs sorted by address as the front end does.
pub fn stack(jobs: Vec<(&str, Value)>, deps: Vec<Dependency>) -> Stack {
    let mut jobs: Vec<StackJob> = jobs.into_iter().map(|(id, v)| stack_job(id, v)).collect();
    jobs.sort_by(|a, b| a.address.cmp(&b.address));
    Stack {
        root: "stacks/shop".into(),
        settings: StackSettings {
            name: "shop".into(),
            ..Default::default()
        },
        jobs,
        dependencies: deps,
        ..Default::default()
    }
}

/// The four-job stack: api waits for db and migrate, web waits for api.
pub fn shop() -> Stack {
    stack(
        vec![
            ("db", db()),
            ("migrate", migrate()),
            ("api", api()),
            ("web", web()),
        ],
        vec![
            dep("api", "db", 3),
            dep("api", "migrate", 4),
            dep("web", "api", 7),
        ],
    )
}

/// What applying `stack` would have recorded (serial 1).
pub fn recorded(stack: &Stack) -> Revision {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    Revision {
        format_version: STATE_FORMAT_VERSION,
        lineage: LINEAGE.into(),
        serial: 1,
        created_at: at,
        stack: stack.settings.name.clone(),
        jobs: stack
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| JobRecord {
                address: j.address.clone(),
                spec: canonicalize(&j.job),
                sensitive_paths: j.sensitive_paths.clone(),
                encrypted: Default::default(),
                job_version: Some(0),
                job_modify_index: Some(100 + i as u64),
                gate: None,
                applied_at: at,
            })
            .collect(),
        variables: Vec::new(),
        outputs: Vec::new(),
        nomad_variables: Vec::new(),
    }
}

/// Changes a value at a JSON pointer of a fixture job.
pub fn with(mut v: Value, pointer: &str, new: Value) -> Value {
    if let Some(slot) = v.pointer_mut(pointer) {
        *slot = new;
    }
    v
}
