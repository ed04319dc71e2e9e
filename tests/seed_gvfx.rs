//! The tv-goldviewfx seed as a stack (`examples/gvfx`): its job files are the seed's, read
//! through the same front end, and `stack.hcl` puts them in the runbook's deploy order.
//!
//! ```text
//!  phase 1  postgres, objectstore ─► convex                       (healthy)
//!  phase 2  rl-service ─► api                                     (healthy)
//!  phase 3  worker-egress-check (complete) ─► worker ─► bingx-full-backfill
//! ```
//!
//! The comparison with the seed reads `../shared/corpus/seeds/gvfx` in place; without it the
//! test skips with the reason, and fails when `CI=true`.

mod apply_support;
mod client_harness;
mod cluster_harness;
mod seed_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apply_support::{bin, repo_root};
use deploy::frontend::{Inputs, parse_job_file};
use seed_support::{assert_valid, offline_plan, snapshot_settings};
use serde_json::Value;

/// The runbook's deploy order: (job, phase).
const PHASES: [(&str, u32); 8] = [
    ("gvfx-postgres", 1),
    ("gvfx-objectstore", 1),
    ("gvfx-convex", 1),
    ("gvfx-rl-service", 2),
    ("gvfx-api", 2),
    ("gvfx-worker-egress-check", 3),
    ("gvfx-worker", 3),
    ("gvfx-bingx-full-backfill", 3),
];

fn stack_dir() -> PathBuf {
    repo_root().join("examples/gvfx")
}

fn seed_dir() -> PathBuf {
    repo_root().join("../shared/corpus/seeds/gvfx")
}

/// The `gvfx-*.nomad.hcl` files of a directory, by file name.
fn job_files(dir: &Path) -> BTreeMap<String, PathBuf> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".nomad.hcl"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect()
}

/// The file's jobs in Nomad's JSON model.
fn jobs_of(path: &Path) -> Vec<Value> {
    let (jobs, _) = parse_job_file(path, &Inputs::default())
        .unwrap_or_else(|d| panic!("{} does not parse: {d:?}", path.display()));
    jobs.iter()
        .map(|j| serde_json::to_value(&j.job).expect("job to JSON"))
        .collect()
}

/// How many of `key` the value holds at any depth (array items counted).
fn count(v: &Value, key: &str) -> usize {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| {
                let here = if k == key { x.as_array().map_or(0, Vec::len) } else { 0 };
                here + count(x, key)
            })
            .sum(),
        Value::Array(items) => items.iter().map(|x| count(x, key)).sum(),
        _ => 0,
    }
}

#[test]
fn example_job_files_are_the_seed_jobs() {
    let seed = seed_dir();
    if !seed.is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} is missing (CI=true)",
            seed.display()
        );
        eprintln!("skipping example_job_files_are_the_seed_jobs: {} is missing", seed.display());
        return;
    }
    let mut ours = job_files(&stack_dir());
    ours.extend(job_files(&stack_dir().join("optional")));
    let theirs = job_files(&seed);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "examples/gvfx (with optional/) holds exactly the seed's job files"
    );
    assert_eq!(theirs.len(), 11, "the seed has eleven job files");
    for (name, seed_path) in &theirs {
        let (a, b) = (jobs_of(&ours[name]), jobs_of(seed_path));
        assert_eq!(a.len(), 1, "{name}: one job");
        for key in ["TaskGroups", "Tasks", "Constraints", "Templates"] {
            assert_eq!(count(&a[0], key), count(&b[0], key), "{name}: {key}");
        }
        assert!(count(&a[0], "Tasks") > 0, "{name}: the job has tasks");
        // No documented differences: the whole job, field for field.
        assert_eq!(a, b, "{name}: the example's job differs from the seed's");
    }
    let templates: usize = theirs.values().map(|p| count(&jobs_of(p)[0], "Templates")).sum();
    assert!(templates >= 11, "the seed reads its config through templates");
}

#[test]
fn example_validates_and_plans_in_phase_order() {
    assert_valid(&bin(), &stack_dir());
    let plan = offline_plan(&bin(), &stack_dir(), &[]);
    let wave_of = |job: &str| -> u32 {
        let line = plan
            .lines()
            .find(|l| l.starts_with(&format!("+ job.{job} (create), wave ")))
            .unwrap_or_else(|| panic!("{job} is not created by the plan:\n{plan}"));
        line.rsplit(' ').next().unwrap().parse().expect("wave number")
    };
    for (a, pa) in PHASES {
        for (b, pb) in PHASES {
            if pa < pb {
                assert!(wave_of(a) < wave_of(b), "{a} (phase {pa}) before {b} (phase {pb})");
            }
        }
    }
    assert!(wave_of("gvfx-worker-egress-check") < wave_of("gvfx-worker"));
    assert!(wave_of("gvfx-worker") < wave_of("gvfx-bingx-full-backfill"));
    snapshot_settings().bind(|| insta::assert_snapshot!("plan_example_gvfx", plan));
}
