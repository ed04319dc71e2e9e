//! Every jobspec of the shared corpus converts, except the fixtures meant to be rejected,
//! which must be rejected with a diagnostic naming a line.

use std::path::{Path, PathBuf};

use deploy::frontend::{Inputs, load_stack, parse_job_file};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// Files Nomad itself rejects, beyond the `bad-*` / `*invalid*` names, with the reason.
const EXPECTED_REJECTIONS: &[(&str, &str)] = &[
    (
        "v1.8.0/jobspec/test-fixtures/basic_wrong_key.hcl",
        "parse_test.go expects an error: misspelled `nterval` in a check",
    ),
    (
        "v1.8.0/jobspec/test-fixtures/multi-network.hcl",
        "parse_test.go expects an error: HCL1 `reserved_ports` list in a network",
    ),
    (
        "v1.8.0/jobspec/test-fixtures/multi-resource.hcl",
        "parse_test.go expects an error: two ephemeral_disk blocks in one group",
    ),
    (
        "v1.8.0/jobspec/test-fixtures/multi-vault.hcl",
        "parse_test.go expects an error: two vault blocks in one task",
    ),
    (
        "v1.8.0/jobspec/test-fixtures/service-check-bad-header.hcl",
        "parse_test.go expects an error: a header value that is not a list",
    ),
    (
        "v1.8.0/jobspec/test-fixtures/task-scaling-policy-missing-name.hcl",
        "parse_test.go expects an error: task scaling without cpu/mem label",
    ),
    (
        "v1.8.0/jobspec/test-fixtures/task-scaling-policy-multi-name.hcl",
        "parse_test.go expects an error: two labels on task scaling",
    ),
    (
        "v1.8.0/jobspec/test-fixtures/tg-scaling-policy-with-label.hcl",
        "parse_test.go expects an error: a label on group scaling",
    ),
    (
        "seeds/jobforge/nomad-build-service.nomad",
        "unescaped quotes inside a quoted env value (line 135): not valid HCL, Nomad rejects it too; jobforge-service.nomad replaces it",
    ),
];

/// Nomad agent configurations and other non-job files: recognised and skipped.
const NOT_JOBS: &[&str] = &[
    "seeds/gvfx/mbp-m3max-client.hcl",
    "seeds/gvfx/prometheus-scrape.hcl",
    "seeds/jobforge/nomad-client.hcl",
    "seeds/gvfx/variables.example.hcl",
];

/// `-var` values the e2e inputs expect from their Go tests.
fn vars_for(rel: &str) -> Vec<(String, String)> {
    let table: &[(&str, &[(&str, &str)])] = &[
        (
            "e2e/jobsubmissions/input/xyz.hcl",
            &[("X", "x"), ("Y", "2"), ("Z", "true")],
        ),
        ("e2e/e2eutil/input/restart-node.nomad", &[("nodeID", "node-1")]),
        ("e2e/e2eutil/input/disconnect-node.nomad", &[("nodeID", "node-1")]),
        (
            "e2e/servicediscovery/input/checks_task_restart_helper.nomad",
            &[
                ("nodeID", "node-1"),
                ("cmd", "touch"),
                ("delay", "5"),
                ("filename", "/tmp/f"),
            ],
        ),
        (
            "e2e/servicediscovery/input/checks_task_restart_main.nomad",
            &[("filename", "/tmp/f")],
        ),
        (
            "e2e/secret/input/custom_secret.hcl",
            &[("secret_value", "s3cret")],
        ),
        (
            "e2e/secret/input/nomad_secret.hcl",
            &[("secret_path", "path/to/secret")],
        ),
        (
            "e2e/secret/input/vault_secret.hcl",
            &[("secret_path", "path/to/secret")],
        ),
        ("e2e/consul/input/service_reversion.nomad", &[("service", "svc")]),
        (
            "e2e/docker/input/docker_config.hcl",
            &[("registry_address", "localhost:5000"), ("user", "root")],
        ),
        (
            "e2e/docker_registry/registry-auths.hcl",
            &[("registry_address", "localhost:5000"), ("user", "root")],
        ),
        ("e2e/cni/input/config_format.nomad.hcl", &[("format", "json")]),
        (
            "e2e/task_schedule/input/schedule.nomad.hcl",
            &[("start", "0 * * * *"), ("end", "30")],
        ),
        (
            "e2e/workload_id/input/node-meta.nomad.hcl",
            &[
                ("foo_key", "foo"),
                ("empty_key", "empty"),
                ("unset_key", "unset"),
                ("foo_constraint", "a"),
                ("empty_constraint", "b"),
                ("unset_constraint", "c"),
            ],
        ),
        ("e2e/pledge/input/curl.hcl", &[("address", "http://localhost")]),
        // file() needs an existing file: the corpus README stands in for the SSH key.
        (
            "demo/csi/kadalu-csi/controller.nomad",
            &[(
                "ssh_priv_path",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/README.md"),
            )],
        ),
    ];
    table
        .iter()
        .filter(|(f, _)| rel.ends_with(f))
        .flat_map(|(_, v)| v.iter().map(|(k, x)| (k.to_string(), x.to_string())))
        .collect()
}

fn corpus_dir() -> Option<PathBuf> {
    let p = Path::new(CORPUS);
    if p.is_dir() {
        return Some(p.to_path_buf());
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("corpus {CORPUS} is missing and CI=true");
    }
    println!("skipping: corpus {CORPUS} not found");
    None
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "hcl" || e == "nomad") {
            out.push(p);
        }
    }
}

fn expected_to_fail(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.starts_with("bad-")
        || name.contains("invalid")
        || EXPECTED_REJECTIONS.iter().any(|(f, _)| rel.ends_with(f))
}

#[test]
fn corpus_converts() {
    let Some(root) = corpus_dir() else { return };
    let mut files = Vec::new();
    walk(&root.join("nomad"), &mut files);
    walk(&root.join("seeds"), &mut files);
    let mut total = 0;
    let mut accepted = 0;
    let mut failures = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/");
        let inputs = Inputs {
            vars: vars_for(&rel),
            ..Inputs::default()
        };
        let result = parse_job_file(f, &inputs);
        if NOT_JOBS.iter().any(|n| rel.ends_with(n)) {
            match &result {
                Ok((jobs, warnings)) if jobs.is_empty() && warnings.warnings().count() > 0 => {}
                _ => failures.push(format!("{rel}: should be skipped as a non-job file")),
            }
            continue;
        }
        total += 1;
        match (expected_to_fail(&rel), result) {
            (false, Ok((jobs, _))) if !jobs.is_empty() => accepted += 1,
            (false, Ok(_)) => failures.push(format!("{rel}: no job found")),
            (false, Err(d)) => failures.push(format!("{rel}: rejected:\n{d}")),
            (true, Ok(_)) => failures.push(format!("{rel}: accepted, but it is meant to be rejected")),
            (true, Err(d)) => {
                if d.iter()
                    .any(|x| x.is_error() && x.span.as_ref().is_some_and(|s| s.line > 0))
                {
                    accepted += 1;
                } else {
                    failures.push(format!("{rel}: rejected without a line:\n{d}"));
                }
            }
        }
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    println!("accepted {accepted} / total {total}");
    assert!(failures.is_empty(), "{} corpus files failed", failures.len());
    assert_eq!(accepted, total);
}

#[test]
fn gvfx_seed_directory_loads_unchanged() {
    let Some(root) = corpus_dir() else { return };
    let (stack, warnings) = match load_stack(&root.join("seeds/gvfx"), &Inputs::default()) {
        Ok(x) => x,
        Err(d) => panic!("gvfx failed:\n{d}"),
    };
    assert_eq!(stack.jobs.len(), 11, "eleven gvfx jobs");
    assert!(
        warnings.warnings().count() >= 3,
        "agent config, scrape config and values file are skipped with warnings"
    );
}
