//! Apply, rollback, destroy and crash safety against real `deploy agent` processes on
//! 127.0.0.1, driven through the `deploy` binary.
//!
//! The order, rollback and crash tests use jobs whose gate is `registered` (periodic jobs), so
//! they time only `deploy` itself; the webapp test runs real tasks on the dev agent's client
//! with healthy and complete gates.

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use apply_support::*;
use deploy::state::{LockHolder, StateLock, StateStore};

fn deploy(agent: &DevAgent, args: &[&str]) -> Output {
    agent.deploy().run(args)
}

/// Addresses a JSON plan at generation `generation` changes, and its detailed exit code.
fn planned_changes(agent: &DevAgent, stack: &Path, generation: &str) -> (i32, BTreeSet<String>) {
    agent
        .deploy()
        .planned_changes(stack, &["-var", &format!("gen={generation}")])
}

/// Jobs whose live `meta.gen` is not `gen` (or that do not run).
fn live_behind(agent: &DevAgent, names: &[String], generation: &str) -> BTreeSet<String> {
    names
        .iter()
        .filter(|n| {
            let job = get_json(&agent.address, &format!("/v1/job/{n}")).unwrap_or_default();
            job["Stop"] == true || job["Meta"]["gen"] != generation
        })
        .map(|n| format!("job.{n}"))
        .collect()
}

#[test]
fn apply_change_rollback_and_destroy_in_dependency_order_on_a_dev_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = DevAgent::start(tmp.path());
    let stack = write_chain_stack(tmp.path(), 3);
    let s = stack.to_str().unwrap();
    let first = deploy(&agent, &["apply", s, "-auto-approve", "-json"]);
    assert!(first.status.success(), "{}", text(&first));
    let ev = events(&first);
    assert!(index_of(&ev, "gate_passed", "job.j00") < index_of(&ev, "job_started", "job.j01"));
    assert!(index_of(&ev, "gate_passed", "job.j01") < index_of(&ev, "job_started", "job.j02"));
    assert_eq!(planned_changes(&agent, &stack, "1"), (0, BTreeSet::new()));
    // Refusal off a terminal without -auto-approve.
    let refused = deploy(&agent, &["apply", s, "-var", "gen=2"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("-auto-approve"), "{}", text(&refused));
    // A change.
    let second = deploy(&agent, &["apply", s, "-auto-approve", "-var", "gen=2"]);
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(planned_changes(&agent, &stack, "2"), (0, BTreeSet::new()));
    // Rollback to revision 1: a new revision 3, equal in specs to revision 1.
    let back = deploy(&agent, &["rollback", "1", "-stack", s, "-auto-approve", "-json"]);
    assert!(back.status.success(), "{}", text(&back));
    let ev = events(&back);
    assert!(
        ev.iter()
            .any(|e| e["event"] == "job_started" && e["kind"] == "revert"),
        "{ev:?}"
    );
    // Reverts go dependents first (undo order): j02, then j01, then j00.
    assert!(index_of(&ev, "gate_passed", "job.j02") < index_of(&ev, "job_started", "job.j01"));
    assert!(index_of(&ev, "gate_passed", "job.j01") < index_of(&ev, "job_started", "job.j00"));
    let store = StateStore::new(tmp.path().join("state/chain"));
    assert_eq!(store.serials().unwrap(), vec![1, 2, 3]);
    let (r1, r3) = (store.read(1).unwrap(), store.read(3).unwrap());
    assert_eq!(
        r1.jobs.iter().map(|j| &j.spec).collect::<Vec<_>>(),
        r3.jobs.iter().map(|j| &j.spec).collect::<Vec<_>>()
    );
    assert_eq!(planned_changes(&agent, &stack, "1"), (0, BTreeSet::new()));
    // Status names every job with its version.
    let status = deploy(&agent, &["status", s]);
    assert!(
        text(&status).contains("revision 3") && text(&status).contains("job.j02"),
        "{}",
        text(&status)
    );
    // Destroy: dependents first.
    let gone = deploy(&agent, &["destroy", s, "-auto-approve", "-json"]);
    assert!(gone.status.success(), "{}", text(&gone));
    let ev = events(&gone);
    assert!(index_of(&ev, "stopped", "job.j02") < index_of(&ev, "job_started", "job.j01"));
    assert!(index_of(&ev, "stopped", "job.j01") < index_of(&ev, "job_started", "job.j00"));
    assert!(store.read(4).unwrap().jobs.is_empty());
}

#[test]
fn kill_9_during_apply_never_corrupts_state_and_the_next_plan_shows_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = DevAgent::start(tmp.path());
    let n = 30;
    let stack = write_chain_stack(tmp.path(), n);
    let s = stack.to_str().unwrap();
    let names: Vec<String> = (0..n)
        .map(|i| format!("j{i:02}"))
        .chain(["solo".to_string()])
        .collect();
    let state_dir = tmp.path().join("state/chain");
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    // Kills are drawn within the time one whole apply takes here, so that they land before,
    // during and after its registrations whatever the machine's speed.
    let first = Instant::now();
    let whole = deploy(&agent, &["apply", s, "-auto-approve", "-var", "gen=1"]);
    assert!(whole.status.success(), "{}", text(&whole));
    let window_ms = (first.elapsed().as_millis() as u64).max(50);
    println!("one whole apply took {window_ms} ms");
    let started = Instant::now();
    let mut interrupted = 0;
    for trial in 2..22 {
        let generation = trial.to_string();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(seed % window_ms);
        let mut child = Command::new(BIN)
            .args([
                "apply",
                s,
                "-auto-approve",
                "-parallelism",
                "2",
                "-var",
                &format!("gen={generation}"),
            ])
            .env("NOMAD_ADDR", &agent.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // The lock is free and every revision reads back.
        let lock = StateLock::acquire(
            &state_dir,
            &LockHolder {
                command: "test".into(),
            },
            Duration::ZERO,
        );
        assert!(lock.is_ok(), "trial {trial}: the lock is still held: {lock:?}");
        drop(lock);
        let store = StateStore::new(&state_dir);
        for serial in store.serials().unwrap() {
            store
                .read(serial)
                .unwrap_or_else(|e| panic!("trial {trial}: revision {serial}: {e}"));
        }
        // The plan shows exactly the jobs the backend does not run at this generation.
        let (code, changed) = planned_changes(&agent, &stack, &generation);
        let behind = live_behind(&agent, &names, &generation);
        if !behind.is_empty() && behind.len() < names.len() {
            interrupted += 1;
        }
        assert_eq!(changed, behind, "trial {trial} (killed after {delay:?})");
        // A job killed between its registration and its recorded gate is live at this
        // generation yet still work (its gate is checked again), so the exit code may be 2
        // with nothing behind; never 0 with something behind.
        if !behind.is_empty() {
            assert_eq!(code, 2, "trial {trial}");
        }
        // With recorded state alone too: the journal made it into the state.
        let out = deploy(
            &agent,
            &[
                "plan",
                s,
                "-var",
                &format!("gen={generation}"),
                "-refresh=false",
                "-json",
            ],
        );
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let recorded_changes: BTreeSet<String> = plan["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["action"] != "noop")
            .map(|j| j["address"].as_str().unwrap().to_string())
            .collect();
        assert!(
            recorded_changes.is_superset(&behind),
            "trial {trial}: recorded {recorded_changes:?} ⊉ {behind:?}"
        );
        assert!(
            recorded_changes.len() <= behind.len() + 2,
            "trial {trial}: recorded {recorded_changes:?} vs {behind:?}"
        );
        // Re-applying finishes the job.
        let again = deploy(
            &agent,
            &["apply", s, "-auto-approve", "-var", &format!("gen={generation}")],
        );
        assert!(again.status.success(), "trial {trial}: {}", text(&again));
        assert_eq!(
            planned_changes(&agent, &stack, &generation),
            (0, BTreeSet::new()),
            "trial {trial}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the trials took too long"
        );
    }
    println!("{interrupted} of 20 kills landed part-way through an apply");
    assert!(
        interrupted >= 1,
        "no kill landed part-way through an apply: the test proved nothing"
    );
}

/// The webapp example (a module's store, two services on it, a batch preflight that must exit
/// 0, a worker gated on both, a periodic report) on a dev agent whose client runs the tasks:
/// gates are honoured in order, rollback to revision 1 works, destroy stops dependents first.
/// The example runs as it is, but for its store's port (a free one, so tests do not clash).
#[test]
fn webapp_applies_in_gate_order_rolls_back_and_destroys_on_a_dev_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let _tasks = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    let stack = copy_webapp(
        &tmp.path().join("src"),
        &WebappOptions {
            store_port: free_port(),
            min_healthy_time: None,
            nomad_backend: None,
        },
    );
    // The stack has a sensitive variable: its state is encrypted to a key made for the test.
    let deploy = agent.deploy().with_age_key();
    let state = tmp.path().join("state");
    let st = state.to_str().unwrap();
    let s = stack.to_str().unwrap();
    let out = deploy.run(&["apply", s, "-state", st, "-auto-approve", "-json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_gate_order(&events(&out));
    let rollback = deploy.run(&["rollback", "1", "-stack", s, "-state", st, "-auto-approve"]);
    assert!(rollback.status.success(), "{}", text(&rollback));
    let destroy = deploy.run(&["destroy", s, "-state", st, "-auto-approve", "-json"]);
    assert!(destroy.status.success(), "{}", text(&destroy));
    let ev = events(&destroy);
    assert!(index_of(&ev, "stopped", "job.worker") < index_of(&ev, "job_started", "job.api"));
}

/// A batch job whose spec changes must run again at its new version (Nomad ignores the
/// completed allocations of older versions); were the old version's completed allocation
/// counted as done, the new version would never be placed and its gate would time out.
#[test]
fn a_changed_batch_job_runs_again_at_its_new_version() {
    let tmp = tempfile::tempdir().unwrap();
    let _tasks = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    let stack = tmp.path().join("once");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::write(
        stack.join("jobs.hcl"),
        "variable \"msg\" {\n  type    = string\n  default = \"one\"\n}\n\njob \"once\" {\n  type = \"batch\"\n  \
         group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n      config {\n        command = \"/bin/echo\"\n        \
         args    = [var.msg]\n      }\n    }\n  }\n}\n",
    )
    .unwrap();
    std::fs::write(stack.join("stack.hcl"), "stack {\n  name = \"once\"\n}\n").unwrap();
    let s = stack.to_str().unwrap();
    let first = deploy(&agent, &["apply", s, "-auto-approve", "-timeout", "60s"]);
    assert!(first.status.success(), "{}", text(&first));
    let second = deploy(
        &agent,
        &["apply", s, "-auto-approve", "-timeout", "60s", "-var", "msg=two"],
    );
    assert!(second.status.success(), "{}", text(&second));
    let allocs = get_json(&agent.address, "/v1/job/once/allocations").unwrap();
    assert!(
        allocs
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["JobVersion"] == 1 && a["ClientStatus"] == "complete"),
        "{allocs:#}"
    );
}
