//! Apply, rollback, destroy and crash safety against real `deploy agent` processes on
//! 127.0.0.1, driven through the `deploy` binary.
//!
//! The order, rollback and crash tests use jobs whose gate is `registered` (periodic jobs), so
//! they time only `deploy` itself; the webapp test runs real tasks on the dev agent's client
//! with healthy and complete gates.

use age::secrecy::ExposeSecret;
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use deploy::state::{LockHolder, StateLock, StateStore};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

struct Agent {
    child: Child,
    address: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_dev_agent(dir: &Path) -> Agent {
    let port = free_port();
    let log = std::fs::File::create(dir.join("agent.log")).expect("agent log");
    let child = Command::new(BIN)
        .args([
            "agent",
            "-dev",
            "-bind",
            "127.0.0.1",
            "-http-port",
            &port.to_string(),
            "-data-dir",
        ])
        .arg(dir.join("agent"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("starting deploy agent -dev");
    let address = format!("http://127.0.0.1:{port}");
    let agent = Agent { child, address };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let out = Command::new("curl")
            .args(["-sf", &format!("{}/v1/status/leader", agent.address)])
            .output();
        if out.is_ok_and(|o| o.status.success() && o.stdout.len() > 2) {
            return agent;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "the dev agent did not elect a leader; see {}",
        dir.join("agent.log").display()
    );
}

/// A stack of periodic jobs `j00..jNN`: each depends on the one before it (a chain), plus `solo`.
fn write_chain_stack(root: &Path, n: usize) -> PathBuf {
    let dir = root.join("chain");
    std::fs::create_dir_all(&dir).unwrap();
    let mut jobs = String::from("variable \"gen\" {\n  type    = string\n  default = \"1\"\n}\n");
    let mut stack = String::from("stack {\n  name = \"chain\"\n}\n");
    let names: Vec<String> = (0..n)
        .map(|i| format!("j{i:02}"))
        .chain(["solo".to_string()])
        .collect();
    for name in &names {
        jobs.push_str(&format!(
            "job \"{name}\" {{\n  type = \"batch\"\n  periodic {{\n    crons = [\"0 0 1 1 *\"]\n  }}\n  meta {{\n    gen = var.gen\n  }}\n  \
             group \"g\" {{\n    task \"t\" {{\n      driver = \"raw_exec\"\n      config {{\n        command = \"/bin/true\"\n      }}\n    }}\n  }}\n}}\n"
        ));
    }
    for i in 1..n {
        stack.push_str(&format!(
            "dependency \"j{i:02}\" {{\n  depends_on = [job.j{:02}]\n}}\n",
            i - 1
        ));
    }
    std::fs::write(dir.join("jobs.hcl"), jobs).unwrap();
    std::fs::write(dir.join("stack.hcl"), stack).unwrap();
    dir
}

fn deploy(agent: &Agent, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("NOMAD_ADDR", &agent.address)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("running deploy")
}

/// `deploy` with extra environment variables.
fn deploy_env(agent: &Agent, args: &[&str], env: &[(&str, String)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("NOMAD_ADDR", &agent.address)
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .expect("running deploy")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn events(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn index_of(events: &[serde_json::Value], kind: &str, address: &str) -> usize {
    events
        .iter()
        .position(|e| e["event"] == kind && e["address"] == address)
        .unwrap_or_else(|| panic!("no {kind} event for {address}"))
}

/// Addresses a saved JSON plan changes.
fn planned_changes(agent: &Agent, stack: &Path, generation: &str) -> (i32, BTreeSet<String>) {
    let s = stack.to_str().unwrap();
    let out = deploy(
        agent,
        &[
            "plan",
            s,
            "-var",
            &format!("gen={generation}"),
            "-json",
            "-detailed-exitcode",
        ],
    );
    let code = out.status.code().unwrap_or(-1);
    let plan: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("plan JSON: {}", text(&out)));
    let changed = plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["action"] != "noop")
        .map(|j| j["address"].as_str().unwrap().to_string())
        .collect();
    (code, changed)
}

/// Jobs whose live `meta.gen` is not `gen` (or that do not run).
fn live_behind(agent: &Agent, names: &[String], generation: &str) -> BTreeSet<String> {
    names
        .iter()
        .filter(|n| {
            let out = Command::new("curl")
                .args(["-sf", &format!("{}/v1/job/{n}", agent.address)])
                .output()
                .unwrap();
            let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            job["Stop"] == true || job["Meta"]["gen"] != generation
        })
        .map(|n| format!("job.{n}"))
        .collect()
}

#[test]
fn apply_change_rollback_and_destroy_in_dependency_order_on_a_dev_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = start_dev_agent(tmp.path());
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
    assert!(index_of(&ev, "gate_passed", "job.j00") < index_of(&ev, "job_started", "job.j01"));
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
    let agent = start_dev_agent(tmp.path());
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
    let started = Instant::now();
    let mut interrupted = 0;
    for trial in 2..22 {
        let generation = trial.to_string();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(seed % 1500);
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
        assert_eq!(code, if behind.is_empty() { 0 } else { 2 }, "trial {trial}");
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
#[test]
fn webapp_applies_in_gate_order_rolls_back_and_destroys_on_a_dev_agent() {
    let stack = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/webapp");
    let tmp = tempfile::tempdir().unwrap();
    let agent = start_dev_agent(tmp.path());
    // The stack has a sensitive variable: its state is encrypted to a key made for the test.
    let key = age::x25519::Identity::generate();
    let keys = [
        ("DEPLOY_AGE_RECIPIENTS", key.to_public().to_string()),
        ("DEPLOY_AGE_IDENTITY", key.to_string().expose_secret().to_owned()),
    ];
    let deploy = |agent: &Agent, args: &[&str]| deploy_env(agent, args, &keys);
    let state = tmp.path().join("state");
    let st = state.to_str().unwrap();
    let s = stack.to_str().unwrap();
    let out = deploy(&agent, &["apply", s, "-state", st, "-auto-approve", "-json"]);
    assert!(out.status.success(), "{}", text(&out));
    let ev = events(&out);
    for (from, to) in [
        ("job.api", "module.store.job.store"),
        ("job.frontend", "module.store.job.store"),
        ("job.preflight", "job.api"),
        ("job.worker", "job.preflight"),
        ("job.worker", "job.frontend"),
    ] {
        assert!(
            index_of(&ev, "gate_passed", to) < index_of(&ev, "job_started", from),
            "{from} before {to}"
        );
    }
    let rollback = deploy(
        &agent,
        &["rollback", "1", "-stack", s, "-state", st, "-auto-approve"],
    );
    assert!(rollback.status.success(), "{}", text(&rollback));
    let destroy = deploy(&agent, &["destroy", s, "-state", st, "-auto-approve", "-json"]);
    let ev = events(&destroy);
    assert!(index_of(&ev, "stopped", "job.worker") < index_of(&ev, "job_started", "job.api"));
}
