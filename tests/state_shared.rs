//! State a team shares: two `deploy` processes with their own state directories keep one
//! stack's state in a dev agent's KV (`state { backend = "cluster" }`). A second apply is
//! refused naming the first while it holds the lock; once the holder is killed outright its
//! lock goes with its lease and the other proceeds (recovering the holder's journal). A plan
//! from another directory sees what the first applied, and `deploy state migrate` moves the
//! state to local files and back, keeping lineage and serials.

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::path::{Path, PathBuf};
use std::time::Duration;

use apply_support::*;

/// A stack named `name` in `root/name` keeping its state in the cluster (`extra` is added to
/// its state block), with `jobs` as its job file (and the dependency blocks after `\n\n\n`
/// in stack.hcl).
fn write_stack(root: &Path, name: &str, extra: &str, jobs: &str) -> PathBuf {
    let (jobs, blocks) = jobs.split_once("\n\n\n").unwrap_or((jobs, ""));
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("jobs.hcl"), jobs).unwrap();
    std::fs::write(
        dir.join("stack.hcl"),
        format!(
            "stack {{\n  name = \"{name}\"\n  state {{\n    backend = \"cluster\"\n{extra}  }}\n}}\n{blocks}"
        ),
    )
    .unwrap();
    dir
}

/// One periodic job (gate: registered), applied in moments.
const REPORT: &str = "job \"report\" {\n  type = \"batch\"\n  periodic {\n    crons = [\"0 0 1 1 *\"]\n  }\n  \
    group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n      config {\n        command = \"true\"\n      }\n    }\n  }\n}\n";

/// A batch job that runs for minutes, and a job that waits for it to complete: an apply of
/// this stack holds its lock until it is killed.
const SLOW: &str = "job \"slow\" {\n  type = \"batch\"\n  group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n      \
    config {\n        command = \"sleep\"\n        args = [\"600\"]\n      }\n    }\n  }\n}\n\
    job \"after\" {\n  type = \"batch\"\n  periodic {\n    crons = [\"0 0 1 1 *\"]\n  }\n  group \"g\" {\n    task \"t\" {\n      \
    driver = \"raw_exec\"\n      config {\n        command = \"true\"\n      }\n    }\n  }\n}\n\n\n\
    dependency \"after\" {\n  depends_on = [job.slow]\n}\n";

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn kv(agent: &DevAgent, key: &str) -> Option<serde_json::Value> {
    get_json(&agent.address, &format!("/v1/deploy/kv/{key}"))
}

#[test]
fn a_killed_holder_of_the_shared_lock_gives_way_after_its_lease() {
    let tmp = tempfile::tempdir().unwrap();
    let _reaper = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    let stack = write_stack(tmp.path(), "shared", "    lock_ttl = \"2s\"\n", SLOW);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let deploy = agent.deploy();

    let mut holder = deploy.spawn(
        &[
            "apply",
            arg(&stack),
            "-auto-approve",
            "-timeout",
            "10m",
            "-state",
            arg(&a),
        ],
        &tmp.path().join("holder.err"),
    );
    // The first apply writes its journal (with its lineage) before registering anything.
    wait_until(
        Duration::from_secs(60),
        "the holder's journal in the cluster",
        || kv(&agent, "deploy/stacks/shared/apply-journal.ndjson"),
    );
    let lock = kv(&agent, "deploy/stacks/shared/lock").expect("the lock key while the apply runs");
    assert!(lock["Lease"].as_str().is_some_and(|l| !l.is_empty()), "{lock}");

    let refused = deploy.run(&[
        "apply",
        arg(&stack),
        "-auto-approve",
        "-lock-timeout=0",
        "-state",
        arg(&b),
    ]);
    let err = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("locked by pid {} on", holder.id())),
        "{err}"
    );
    assert!(err.contains("running `deploy apply`"), "{err}");
    assert!(err.contains("deploy/stacks/shared"), "{err}");

    holder.kill().expect("kill -9 the holder");
    holder.wait().unwrap();
    // Nothing released it: the lock is still there until the lease runs out.
    assert!(
        kv(&agent, "deploy/stacks/shared/lock").is_some(),
        "the lock outlives its killed holder"
    );
    let plan = deploy.run(&["plan", arg(&stack), "-lock-timeout=30s", "-state", arg(&b)]);
    let out = text(&plan);
    assert_eq!(plan.status.code(), Some(0), "{out}");
    assert!(out.contains("Recovered revision 1"), "{out}");
    let history = deploy.run(&["state", "history", "-stack", arg(&stack), "-state", arg(&b)]);
    assert!(
        String::from_utf8_lossy(&history.stdout).contains("lineage"),
        "{}",
        text(&history)
    );
    assert!(
        kv(&agent, "deploy/stacks/shared/lock").is_none(),
        "the plan released the lock"
    );
}

#[test]
fn a_second_directory_sees_the_first_ones_apply_and_state_migrates_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let _reaper = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    let stack = write_stack(tmp.path(), "team", "", REPORT);
    let dirs: Vec<PathBuf> = ["a", "b", "c", "d"].iter().map(|d| tmp.path().join(d)).collect();
    let deploy = agent.deploy();

    let applied = deploy.run(&[
        "apply",
        arg(&stack),
        "-auto-approve",
        "-timeout",
        "60s",
        "-state",
        arg(&dirs[0]),
    ]);
    assert!(applied.status.success(), "{}", text(&applied));
    let rev = kv(&agent, "deploy/stacks/team/rev-000001.json").expect("revision 1 in the cluster");
    let rev: serde_json::Value = serde_json::from_str(rev["Value"].as_str().unwrap()).unwrap();
    let lineage = rev["lineage"].as_str().unwrap().to_string();
    assert!(
        !dirs[0].join("rev-000001.json").exists(),
        "nothing written locally"
    );

    let (code, changes) = deploy.planned_changes(&stack, &["-state", arg(&dirs[1])]);
    assert_eq!((code, changes.len()), (0, 0), "{changes:?}");

    // To local files: the same revision, byte for byte.
    let to_local = deploy.run(&[
        "state",
        "migrate",
        "-to",
        "local",
        "-stack",
        arg(&stack),
        "-state",
        arg(&dirs[2]),
    ]);
    assert!(to_local.status.success(), "{}", text(&to_local));
    let local = std::fs::read_to_string(dirs[2].join("rev-000001.json")).expect("migrated file");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&local).unwrap(), rev);

    // Back to the cluster under another prefix, then planned from there: nothing to do.
    let moved = write_stack(tmp.path(), "team2", "    prefix = \"teams/ops/team\"\n", REPORT);
    std::fs::write(
        moved.join("stack.hcl"),
        std::fs::read_to_string(moved.join("stack.hcl"))
            .unwrap()
            .replace("team2", "team"),
    )
    .unwrap();
    let back = deploy.run(&[
        "state",
        "migrate",
        "-to",
        "cluster",
        "-stack",
        arg(&moved),
        "-state",
        arg(&dirs[2]),
    ]);
    assert!(back.status.success(), "{}", text(&back));
    let copied = kv(&agent, "teams/ops/team/rev-000001.json").expect("revision 1 under the new prefix");
    assert!(copied["Value"].as_str().unwrap().contains(&lineage));
    let (code, changes) = deploy.planned_changes(&moved, &["-state", arg(&dirs[3])]);
    assert_eq!((code, changes.len()), (0, 0), "{changes:?}");

    // A local state of another lineage is refused, and nothing is written.
    std::fs::create_dir_all(&dirs[3]).unwrap();
    std::fs::write(
        dirs[3].join("rev-000001.json"),
        local.replace(&lineage, "another-lineage"),
    )
    .unwrap();
    let refused = deploy.run(&[
        "state",
        "migrate",
        "-to",
        "cluster",
        "-stack",
        arg(&stack),
        "-state",
        arg(&dirs[3]),
    ]);
    let err = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains("another-lineage") && err.contains(&lineage), "{err}");
    assert!(kv(&agent, "deploy/stacks/team/rev-000002.json").is_none());
}

#[test]
fn an_apply_whose_lease_is_revoked_stops_at_its_next_write() {
    let tmp = tempfile::tempdir().unwrap();
    let _reaper = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    let jobs = SLOW.replace("[\"600\"]", "[\"4\"]");
    let stack = write_stack(tmp.path(), "revoked", "    lock_ttl = \"3s\"\n", &jobs);
    let deploy = agent.deploy();
    let mut holder = deploy.spawn(
        &[
            "apply",
            arg(&stack),
            "-auto-approve",
            "-timeout",
            "2m",
            "-state",
            arg(&tmp.path().join("a")),
        ],
        &tmp.path().join("holder.err"),
    );
    let lock = wait_until(Duration::from_secs(60), "the holder's lock", || {
        kv(&agent, "deploy/stacks/revoked/lock")
    });
    let lease = lock["Lease"].as_str().expect("the lock's lease").to_string();
    let revoked = std::process::Command::new("curl")
        .args([
            "-sf",
            "-X",
            "DELETE",
            &format!("{}/v1/deploy/lease/{lease}", agent.address),
        ])
        .status()
        .unwrap();
    assert!(revoked.success());
    let status = holder.wait().unwrap();
    let err = std::fs::read_to_string(tmp.path().join("holder.err")).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("state lock in cluster") && err.contains("was lost"),
        "{err}"
    );
    // The job that waited for the slow one was never registered.
    assert!(get_json(&agent.address, "/v1/job/after").is_none(), "{err}");
}
