//! system and sysbatch jobs through `deploy apply`, end to end on a cluster of one server agent
//! and three client agents: the system gate passes once the job runs on every eligible node,
//! the sysbatch gate once it completed with exit 0 on every eligible node.

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::time::Instant;

use apply_support::*;
use serde_json::Value;

const JOBS: &str = r#"
job "agentd" {
  type = "system"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["600"]
      }
    }
  }
}

job "prep" {
  type = "sysbatch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "sleep 1"]
      }
    }
  }
}
"#;

const STACK: &str = r#"
stack {
  name = "nodes"
}

dependency "agentd" {
  depends_on = [job.prep]
}
"#;

fn allocs(address: &str, job: &str) -> Vec<Value> {
    get_json(address, &format!("/v1/job/{job}/allocations"))
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn system_and_sysbatch_jobs_pass_their_gates_on_every_client() {
    let tmp = tempfile::tempdir().unwrap();
    let _tasks = TaskReaper::new(tmp.path());
    let cluster = RealCluster::start(tmp.path(), 1, 3);
    let address = cluster.address(0);
    let stack = tmp.path().join("nodes");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::write(stack.join("jobs.hcl"), JOBS).unwrap();
    std::fs::write(stack.join("stack.hcl"), STACK).unwrap();
    let s = stack.to_str().unwrap();
    let started = Instant::now();
    let out = Deploy::at(&address).run(&["apply", s, "-auto-approve", "-json", "-timeout", "60s"]);
    assert!(out.status.success(), "{}", text(&out));
    let ev = events(&out);
    // The sysbatch job passed its gate (every node complete) before the system job started.
    assert!(index_of(&ev, "gate_passed", "job.prep") < index_of(&ev, "job_started", "job.agentd"));
    let prep = allocs(&address, "prep");
    let nodes = |a: &[Value]| {
        a.iter()
            .map(|x| x["NodeID"].as_str().unwrap_or_default().to_string())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(nodes(&prep).len(), 3, "{prep:#?}");
    assert!(prep.iter().all(|a| a["ClientStatus"] == "complete"), "{prep:#?}");
    let agentd = allocs(&address, "agentd");
    assert_eq!(nodes(&agentd).len(), 3, "{agentd:#?}");
    assert!(
        agentd.iter().all(|a| a["ClientStatus"] == "running"),
        "{agentd:#?}"
    );
    assert!(
        started.elapsed().as_secs() < 55,
        "the gates waited for their timeout: {:?}",
        started.elapsed()
    );
    assert_eq!(Deploy::at(&address).planned_changes(&stack, &[]).0, 0);
}
