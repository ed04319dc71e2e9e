//! Canary deployments through `deploy`: an apply of a destructive change stops at the
//! "canaries healthy, awaiting promotion" gate, `deploy promote ADDR` passes it, and
//! `deploy apply -auto-promote` promotes on its own. Real raw_exec tasks on a dev agent.

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::path::{Path, PathBuf};

use apply_support::*;

/// A stack with one service job (2 × `/bin/sleep`, one canary, health from task states) whose
/// environment carries `var.gen`, so each generation is a destructive change.
fn canary_stack(root: &Path) -> PathBuf {
    let stack = root.join("canary");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::write(
        stack.join("jobs.hcl"),
        r#"variable "gen" {
  type    = string
  default = "1"
}

job "web" {
  type = "service"
  update {
    max_parallel     = 1
    canary           = 1
    health_check     = "task_states"
    min_healthy_time = "1s"
    healthy_deadline = "20s"
  }
  group "g" {
    count = 2
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      env {
        GEN = var.gen
      }
    }
  }
}
"#,
    )
    .unwrap();
    std::fs::write(stack.join("stack.hcl"), "stack {\n  name = \"canary\"\n}\n").unwrap();
    stack
}

/// Versions of the job's running allocations, sorted.
fn running_versions(agent: &DevAgent) -> Vec<u64> {
    let allocs = get_json(&agent.address, "/v1/job/web/allocations").unwrap_or_default();
    let mut v: Vec<u64> = allocs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .filter_map(|a| a["JobVersion"].as_u64())
        .collect();
    v.sort();
    v
}

#[test]
fn apply_stops_at_promotion_and_deploy_promote_or_auto_promote_passes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let _tasks = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    let stack = canary_stack(tmp.path());
    let s = stack.to_str().unwrap();
    let deploy = agent.deploy();
    let first = deploy.run(&["apply", s, "-auto-approve", "-timeout", "60s"]);
    assert!(first.status.success(), "{}", text(&first));

    // A destructive change: one canary beside the two old allocations, then the gate stops.
    let second = deploy.run(&[
        "apply",
        s,
        "-auto-approve",
        "-timeout",
        "60s",
        "-json",
        "-var",
        "gen=2",
    ]);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    let ev = events(&second);
    let waiting = ev
        .iter()
        .find(|e| e["event"] == "awaiting_promotion")
        .unwrap_or_else(|| panic!("no awaiting_promotion event: {}", text(&second)));
    assert_eq!(waiting["auto_promote"], false);
    assert!(
        text(&second).contains("canaries healthy, awaiting promotion")
            && text(&second).contains("deploy promote job.web"),
        "{}",
        text(&second)
    );
    assert_eq!(running_versions(&agent), [0, 0, 1]);

    let promoted = deploy.run(&["promote", "job.web", s, "-json"]);
    assert!(promoted.status.success(), "{}", text(&promoted));
    let out: serde_json::Value = serde_json::from_slice(&promoted.stdout).expect("promote -json");
    assert_eq!(out["status"], "successful", "{out}");
    assert_eq!(out["address"], "job.web");
    wait_until(
        std::time::Duration::from_secs(20),
        "two allocations of version 1",
        || (running_versions(&agent) == [1, 1]).then_some(()),
    );
    // Nothing to promote now: Nomad's refusal, and a non-zero exit.
    let again = deploy.run(&["promote", "job.web", s]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again).contains("can't promote terminal deployment"),
        "{}",
        text(&again)
    );

    // With -auto-promote the apply promotes on its own and passes the gate.
    let third = deploy.run(&[
        "apply",
        s,
        "-auto-approve",
        "-auto-promote",
        "-timeout",
        "60s",
        "-json",
        "-var",
        "gen=3",
    ]);
    assert!(third.status.success(), "{}", text(&third));
    let ev = events(&third);
    assert!(
        ev.iter()
            .any(|e| e["event"] == "awaiting_promotion" && e["auto_promote"] == true),
        "{ev:?}"
    );
    assert!(index_of(&ev, "awaiting_promotion", "job.web") < index_of(&ev, "gate_passed", "job.web"));
    assert_eq!(running_versions(&agent), [2, 2]);
}
