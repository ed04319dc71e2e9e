//! Generated stacks for the plan benchmarks: `n` small service jobs whose dependencies form a
//! binary tree (job i depends on job (i-1)/2), and a recorded state that matches them.

use deploy::spec::{Job, canonicalize};
use deploy::stack::{Dependency, DependencyKind, JobAddress, SourceSpan, Stack, StackJob, StackSettings};
use deploy::state::{JobRecord, Revision, STATE_FORMAT_VERSION};

fn name(i: usize) -> String {
    format!("svc-{i:06}")
}

/// One small job as a user would write it.
pub fn small_job(i: usize) -> Job {
    let v = serde_json::json!({
        "ID": name(i),
        "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "app",
            "Count": 1,
            "Tasks": [{
                "Name": "server",
                "Driver": "docker",
                "Config": { "image": format!("registry.local/app:{}", i % 7), "ports": ["http"] },
                "Env": { "INDEX": i.to_string() },
                "Resources": { "CPU": 100, "MemoryMB": 64 }
            }]
        }]
    });
    serde_json::from_value(v).expect("generated job is valid")
}

/// A stack of `n` jobs in a binary-tree dependency shape.
pub fn tree_stack(n: usize) -> Stack {
    let jobs = (0..n)
        .map(|i| StackJob {
            address: JobAddress::root(&name(i)),
            job: small_job(i),
            span: SourceSpan {
                file: "jobs.hcl".into(),
                line: i + 1,
                column: 1,
                offset: 0,
                len: 0,
            },
            sensitive_paths: Vec::new(),
            volatile: Vec::new(),
        })
        .collect();
    let dependencies = (1..n)
        .map(|i| Dependency {
            from: JobAddress::root(&name(i)),
            to: JobAddress::root(&name((i - 1) / 2)),
            gate: None,
            timeout: None,
            kind: DependencyKind::Declared,
            span: SourceSpan {
                file: "stack.hcl".into(),
                line: i,
                column: 1,
                offset: 0,
                len: 0,
            },
        })
        .collect();
    Stack {
        root: "bench".into(),
        settings: StackSettings {
            name: "bench".into(),
            ..Default::default()
        },
        jobs,
        dependencies,
        ..Default::default()
    }
}

/// The state an apply of `stack` would have recorded.
pub fn matching_state(stack: &Stack) -> Revision {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    Revision {
        format_version: STATE_FORMAT_VERSION,
        lineage: "00000000-0000-4000-8000-000000000000".into(),
        serial: 1,
        created_at: at,
        stack: stack.settings.name.clone(),
        jobs: stack
            .jobs
            .iter()
            .map(|j| JobRecord {
                address: j.address.clone(),
                spec: canonicalize(&j.job),
                sensitive_paths: Vec::new(),
                encrypted: Default::default(),
                job_version: Some(0),
                job_modify_index: Some(10),
                gate: None,
                applied_at: at,
            })
            .collect(),
        variables: Vec::new(),
        outputs: Vec::new(),
        nomad_variables: Vec::new(),
    }
}
