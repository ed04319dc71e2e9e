//! Apply never reports what it did not see: `deploy apply` is killed (SIGKILL) at random
//! moments over a stack of short batch jobs whose updates sometimes fail, and after every kill
//! the next plan lists each job whose live spec or health differs from the recorded passing
//! state; a final apply converges and the plan after it is clean.
//!
//! The default run kills 50 applies on one dev agent (about a minute and a half on a loaded
//! two-core machine); `DEPLOY_TRUTH_KILLS=N cargo test --test apply_truth -- --ignored` is the
//! longer measurement, which prints how many kills landed while a gate ran.

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use apply_support::*;
use deploy::state::StateStore;
use serde_json::Value;

const JOBS: [&str; 3] = ["a", "b", "c"];

/// Three independent batch jobs: each sleeps briefly, then exits with its `fail_*` variable;
/// no restart or reschedule, so a failing version fails at once.
fn write_stack(root: &Path) -> PathBuf {
    let dir = root.join("truth");
    std::fs::create_dir_all(&dir).unwrap();
    let mut hcl = String::from("variable \"gen\" {\n  type    = string\n  default = \"0\"\n}\n");
    for j in JOBS {
        hcl.push_str(&format!(
            "variable \"fail_{j}\" {{\n  type    = string\n  default = \"0\"\n}}\n"
        ));
        hcl.push_str(&format!(
            "job \"{j}\" {{\n  type = \"batch\"\n  meta {{\n    gen = var.gen\n  }}\n  group \"g\" {{\n    \
             restart {{\n      attempts = 0\n      mode     = \"fail\"\n    }}\n    \
             reschedule {{\n      attempts  = 0\n      unlimited = false\n    }}\n    \
             task \"t\" {{\n      driver = \"raw_exec\"\n      config {{\n        command = \"/bin/sh\"\n        \
             args    = [\"-c\", \"sleep 0.3; exit ${{var.fail_{j}}}\"]\n      }}\n    }}\n  }}\n}}\n"
        ));
    }
    std::fs::write(dir.join("jobs.hcl"), hcl).unwrap();
    std::fs::write(dir.join("stack.hcl"), "stack {\n  name = \"truth\"\n}\n").unwrap();
    dir
}

/// `-var` flags for generation `generation` with the jobs in `failing` exiting 1.
fn vars(generation: u64, failing: &BTreeSet<&str>) -> Vec<String> {
    let mut v = vec!["-var".to_string(), format!("gen={generation}")];
    for j in JOBS {
        v.push("-var".into());
        v.push(format!("fail_{j}={}", u8::from(failing.contains(j))));
    }
    v
}

/// A small xorshift, seeded from the clock (printed, so a failure can be replayed with
/// `DEPLOY_TRUTH_SEED`).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("DEPLOY_TRUTH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
            | 1;
        println!("seed {seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The live job's `meta.gen` (`None`: not on the backend, or stopped).
fn live_gen(address: &str, job: &str) -> Option<u64> {
    let live = get_json(address, &format!("/v1/job/{job}"))?;
    if live["Stop"] == true {
        return None;
    }
    live["Meta"]["gen"].as_str()?.parse().ok()
}

/// Per job, the recorded generation and whether its gate passed, from the latest revision.
fn recorded(state_dir: &Path) -> BTreeMap<String, (Option<u64>, bool)> {
    let store = StateStore::new(state_dir);
    let Some(rev) = store.latest().unwrap() else {
        return BTreeMap::new();
    };
    rev.jobs
        .iter()
        .map(|r| {
            let generation = r
                .spec
                .meta
                .as_ref()
                .and_then(|m| m.get("gen"))
                .and_then(|g| g.parse().ok());
            let passed = r.gate.as_ref().is_none_or(|g| g.passed);
            (r.address.0.clone(), (generation, passed))
        })
        .collect()
}

/// The plan's listed jobs and its detailed exit code.
fn plan(deploy: &Deploy, stack: &str, flags: &[String]) -> (i32, BTreeSet<String>) {
    let mut args = vec!["plan", stack, "-json", "-detailed-exitcode"];
    args.extend(flags.iter().map(String::as_str));
    let out = deploy.run(&args);
    let plan: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("plan JSON: {}", text(&out)));
    (out.status.code().unwrap_or(-1), listed_addresses(&plan))
}

/// Runs `kills` killed applies and the final convergence; returns how many job instances
/// were found recorded at the new generation with a gate that did not pass.
fn kill_applies(kills: usize) -> usize {
    let tmp = tempfile::tempdir().unwrap();
    let _tasks = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    let deploy = agent.deploy();
    let stack = write_stack(tmp.path());
    let s = stack.to_str().unwrap();
    let state_dir = tmp.path().join("state/truth");
    let first = deploy.run(&["apply", s, "-auto-approve", "-timeout", "30s"]);
    assert!(first.status.success(), "{}", text(&first));
    let mut rng = Rng::new();
    // Per generation, the jobs whose version fails.
    let mut fails: BTreeMap<u64, BTreeSet<&str>> = BTreeMap::from([(0, BTreeSet::new())]);
    let mut mid_gate = 0;
    let started = Instant::now();
    for generation in 1..=kills as u64 {
        let failing: BTreeSet<&str> = JOBS
            .into_iter()
            .filter(|_| rng.next().is_multiple_of(3))
            .collect();
        fails.insert(generation, failing.clone());
        let flags = vars(generation, &failing);
        let mut args = vec![
            "apply",
            s,
            "-auto-approve",
            "-timeout",
            "30s",
            "-parallelism",
            "3",
        ];
        args.extend(flags.iter().map(String::as_str));
        let mut child = deploy.spawn(&args, &tmp.path().join("apply.err"));
        std::thread::sleep(Duration::from_millis(rng.next() % 1800));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // The plan takes the lock, so it recovers the journal before it plans.
        let (code, listed) = plan(&deploy, s, &flags);
        let records = recorded(&state_dir);
        let mut must = BTreeSet::new();
        for j in JOBS {
            let address = format!("job.{j}");
            let live = live_gen(&agent.address, j);
            let (rec_gen, passed) = records.get(&address).copied().unwrap_or((None, false));
            if rec_gen == Some(generation) && !passed {
                mid_gate += 1;
            }
            let live_fails = live.is_none_or(|g| fails[&g].contains(j));
            if live != rec_gen || !passed || live_fails || live != Some(generation) {
                must.insert(address);
            }
        }
        assert!(
            listed.is_superset(&must),
            "generation {generation}: the plan lists {listed:?}, but {must:?} differ from the recorded passing state \
             (records {records:?})"
        );
        assert_eq!(
            code,
            if listed.is_empty() { 0 } else { 2 },
            "generation {generation}"
        );
    }
    println!(
        "{kills} kills in {:?}: {mid_gate} job instances recorded at the new generation with a gate that did \
         not pass (pending at the kill, or failed)",
        started.elapsed()
    );
    let last = vars(kills as u64 + 1, &BTreeSet::new());
    let mut args = vec!["apply", s, "-auto-approve", "-timeout", "30s"];
    args.extend(last.iter().map(String::as_str));
    let done = deploy.run(&args);
    assert!(done.status.success(), "{}", text(&done));
    assert_eq!(plan(&deploy, s, &last), (0, BTreeSet::new()));
    mid_gate
}

#[test]
fn a_killed_apply_never_leaves_a_plan_that_hides_work() {
    let mid_gate = kill_applies(50);
    assert!(
        mid_gate > 0,
        "no kill landed while a gate ran: the test proved nothing"
    );
}

/// The measurement: `DEPLOY_TRUTH_KILLS` kills (default 200).
#[test]
#[ignore]
fn measure_killed_applies() {
    let kills = std::env::var("DEPLOY_TRUTH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mid_gate = kill_applies(kills);
    println!("every plan after {kills} kills was truthful ({mid_gate} job instances with an unpassed gate)");
}

/// POSTs `body` (JSON) to `address` + `path`; panics unless the answer is 2xx.
fn post_json(address: &str, path: &str, body: &Value) -> Value {
    let out = std::process::Command::new("curl")
        .args([
            "-sf",
            "--max-time",
            "20",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
        ])
        .arg("--data-binary")
        .arg(body.to_string())
        .arg(format!("{address}{path}"))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "POST {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The probe: a batch job applied, then a change whose new version fails, the apply killed
/// while the gate runs. The next plan must not say there is nothing to do, and apply must
/// check the gate again and report the failure instead of "Nothing to apply".
#[test]
fn an_apply_killed_during_a_failing_gate_is_not_taken_for_a_success() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let _tasks = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    let deploy = agent.deploy();
    let stack = write_stack(tmp.path());
    let s = stack.to_str().unwrap();
    let first = deploy.run(&["apply", s, "-auto-approve", "-timeout", "30s"]);
    assert!(first.status.success(), "{}", text(&first));
    // Version 2 of job a sleeps 3 s, then fails.
    replace_in(
        &stack.join("jobs.hcl"),
        "sleep 0.3; exit ${var.fail_a}",
        "sleep 3; exit 1",
    );
    let flags = vars(1, &BTreeSet::new());
    let mut args = vec!["apply", s, "-auto-approve", "-json", "-timeout", "30s"];
    args.extend(flags.iter().map(String::as_str));
    let mut child = deploy.spawn(&args, &tmp.path().join("apply.err"));
    let stdout = child.stdout.take().unwrap();
    for line in std::io::BufReader::new(stdout).lines() {
        let e: Value = serde_json::from_str(&line.unwrap()).unwrap_or(Value::Null);
        if e["event"] == "registered" && e["address"] == "job.a" {
            break;
        }
    }
    let _ = child.kill(); // SIGKILL while job a's gate runs
    let _ = child.wait();
    let (code, listed) = plan(&deploy, s, &flags);
    assert_eq!(code, 2, "the plan hides the unfinished gate of job.a: {listed:?}");
    assert!(listed.contains("job.a"), "{listed:?}");
    let mut args = vec!["apply", s, "-auto-approve", "-timeout", "30s"];
    args.extend(flags.iter().map(String::as_str));
    let again = deploy.run(&args);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(!text(&again).contains("Nothing to apply"), "{}", text(&again));
    let records = recorded(&tmp.path().join("state/truth"));
    assert_eq!(records["job.a"], (Some(1), false), "{records:?}");
    assert_eq!(plan(&deploy, s, &flags).0, 2);
}

/// Drift made by hand: a plain plan converges it back to the stack; `-refresh-only` instead
/// records the live job, changing nothing on the backend.
#[test]
fn drift_is_a_change_and_refresh_only_records_the_live_job() {
    let tmp = tempfile::tempdir().unwrap();
    let _tasks = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    let deploy = agent.deploy();
    let stack = write_stack(tmp.path());
    let s = stack.to_str().unwrap();
    let first = deploy.run(&["apply", s, "-auto-approve", "-timeout", "30s"]);
    assert!(first.status.success(), "{}", text(&first));
    let state_dir = tmp.path().join("state/truth");
    // Someone registers job b with another meta.gen through the API.
    let mut live = get_json(&agent.address, "/v1/job/b").unwrap();
    live["Meta"]["gen"] = "7".into();
    post_json(&agent.address, "/v1/jobs", &serde_json::json!({ "Job": live }));
    let (code, listed) = plan(&deploy, s, &[]);
    assert_eq!((code, listed), (2, BTreeSet::from(["job.b".to_string()])));
    // -refresh-only shows the drift alone and records it; the backend is not touched.
    let (code, listed) = plan(&deploy, s, &["-refresh-only".to_string()]);
    assert_eq!((code, listed), (2, BTreeSet::from(["job.b".to_string()])));
    let version = get_json(&agent.address, "/v1/job/b").unwrap()["Version"].clone();
    let adopted = deploy.run(&["apply", s, "-auto-approve", "-refresh-only"]);
    assert!(adopted.status.success(), "{}", text(&adopted));
    assert_eq!(get_json(&agent.address, "/v1/job/b").unwrap()["Version"], version);
    assert_eq!(recorded(&state_dir)["job.b"].0, Some(7));
    assert_eq!(plan(&deploy, s, &["-refresh-only".to_string()]).0, 0);
    // The stack still says gen 0: a plain apply converges the backend to it.
    let (code, listed) = plan(&deploy, s, &[]);
    assert_eq!((code, listed), (2, BTreeSet::from(["job.b".to_string()])));
    let converged = deploy.run(&["apply", s, "-auto-approve", "-timeout", "30s"]);
    assert!(converged.status.success(), "{}", text(&converged));
    assert_eq!(live_gen(&agent.address, "b"), Some(0));
    assert_eq!(plan(&deploy, s, &[]), (0, BTreeSet::new()));
}
