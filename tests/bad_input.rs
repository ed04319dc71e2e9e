//! Bad input through the `deploy` binary: each case prints a clear error, exits 1 and leaves
//! every state file byte for byte as it was.

#[path = "support/fixture.rs"]
mod fixture;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use deploy::state::{LockHolder, StateLock, StateStore};
use fixture::*;

struct Case {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Case {
    fn new(stack: &deploy::stack::Stack) -> Case {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        let mut s = stack.clone();
        s.root = root.join("shop").join("stack.json");
        std::fs::create_dir_all(root.join("shop")).expect("mkdir");
        std::fs::write(
            root.join("shop/stack.json"),
            serde_json::to_vec(&s).expect("json"),
        )
        .expect("write");
        Case { _dir: dir, root }
    }

    fn state_dir(&self) -> PathBuf {
        self.root.join("state").join("shop")
    }

    fn record(&self, stack: &deploy::stack::Stack) {
        StateStore::new(self.state_dir())
            .write(&recorded(stack))
            .expect("write state");
    }

    fn plan(&self, extra: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_deploy"))
            .arg("plan")
            .arg(self.root.join("shop/stack.json"))
            .args(["--refresh=false"])
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .expect("run deploy");
        let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&self.root.display().to_string(), "[ROOT]");
        (
            out.status.code().unwrap_or(-1),
            clean(&out.stdout),
            clean(&out.stderr),
        )
    }
}

/// Every file under `dir` with its bytes (the lock file's holder line aside).
fn snapshot_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name() != "lock" {
                out.insert(e.path(), std::fs::read(e.path()).unwrap_or_default());
            }
        }
    }
    out
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn a_cycle_names_every_job_in_order_with_where_each_edge_was_declared() {
    let mut s = shop();
    s.dependencies.push(dep("db", "web", 12));
    let case = Case::new(&s);
    case.record(&shop());
    let before = snapshot_files(&case.state_dir());
    let (code, stdout, stderr) = case.plan(&[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_eq!(before, snapshot_files(&case.state_dir()));
    settings().bind(|| insta::assert_snapshot!("error_cycle", stderr));
}

#[test]
fn a_dependency_on_a_missing_job_is_named_with_a_suggestion() {
    let mut s = shop();
    s.dependencies.push(dep("web", "apl", 8));
    let case = Case::new(&s);
    let (code, _, stderr) = case.plan(&[]);
    assert_eq!(code, 1);
    settings().bind(|| insta::assert_snapshot!("error_missing_job", stderr));
}

#[test]
fn a_state_file_from_a_newer_format_is_refused_and_left_alone() {
    let case = Case::new(&shop());
    case.record(&shop());
    let file = case.state_dir().join("rev-000002.json");
    let mut newer = recorded(&shop());
    newer.serial = 2;
    newer.format_version = 2;
    std::fs::write(&file, newer.to_bytes()).expect("write");
    let before = snapshot_files(&case.state_dir());
    let (code, _, stderr) = case.plan(&[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("format_version 2, newer than this deploy understands (1)"),
        "{stderr}"
    );
    assert_eq!(before, snapshot_files(&case.state_dir()));
    settings().bind(|| insta::assert_snapshot!("error_newer_state", stderr));
}

#[test]
fn a_corrupt_state_file_is_refused_and_left_alone() {
    let case = Case::new(&shop());
    case.record(&shop());
    let file = case.state_dir().join("rev-000002.json");
    std::fs::write(
        &file,
        b"{\"format_version\": 1, \"lineage\": \"x\", \"serial\": 2, \"jobs\": [tr",
    )
    .expect("write");
    let before = snapshot_files(&case.state_dir());
    let (code, _, stderr) = case.plan(&[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is corrupt"), "{stderr}");
    assert_eq!(before, snapshot_files(&case.state_dir()));
    settings().bind(|| insta::assert_snapshot!("error_corrupt_state", stderr));
}

#[test]
fn a_held_lock_names_its_holder_and_changes_nothing() {
    let case = Case::new(&shop());
    case.record(&shop());
    let before = snapshot_files(&case.state_dir());
    let lock = StateLock::acquire(
        &case.state_dir(),
        &LockHolder {
            command: "deploy apply".into(),
        },
        std::time::Duration::ZERO,
    )
    .expect("lock");
    let (code, _, stderr) = case.plan(&["--lock-timeout", "200ms"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!("locked by pid {}", std::process::id())),
        "{stderr}"
    );
    assert!(stderr.contains("running `deploy apply`"), "{stderr}");
    assert_eq!(before, snapshot_files(&case.state_dir()));
    drop(lock);
    // Released: the same plan now works.
    let (code, stdout, _) = case.plan(&["--detailed-exitcode"]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn detailed_exitcode_and_json_and_out() {
    let case = Case::new(&shop());
    let out = case.root.join("plan.json");
    let (code, stdout, _) = case.plan(&[
        "--detailed-exitcode",
        "--json",
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("plan json");
    assert_eq!(v["format_version"], "1");
    assert_eq!(v["summary"]["create"], 4);
    let saved = deploy::plan::load_plan(&out).expect("saved plan");
    assert!(deploy::plan::check_current(&saved, None, None).is_ok());
    // Once state moved on, the saved plan is stale.
    case.record(&shop());
    let rev = StateStore::new(case.state_dir())
        .latest()
        .expect("read")
        .expect("rev");
    let err = deploy::plan::check_current(&saved, Some(&rev), None).expect_err("stale");
    assert!(err.to_string().contains("stale"), "{err}");
}

#[test]
fn target_plans_the_job_and_what_it_waits_for() {
    let case = Case::new(&shop());
    let (code, stdout, stderr) = case.plan(&["--json", "--target", "job.api"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("plan json");
    let addrs: Vec<&str> = v["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|j| j["address"].as_str())
        .collect();
    assert_eq!(addrs, ["job.db", "job.migrate", "job.api"]);
    let (code, _, stderr) = case.plan(&["--target", "job.ap"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("did you mean job.api?"), "{stderr}");
}

#[test]
fn destroy_plans_removing_every_recorded_job() {
    let case = Case::new(&shop());
    case.record(&shop());
    let (code, stdout, _) = case.plan(&["--destroy", "--format", "markdown"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("| destroy | 4 |"), "{stdout}");
}
