//! What a server adds to a job on registration, on a real dev agent: one job per admission rule
//! of Nomad's `jobImplicitConstraints`, read back with its implicit constraint; the jobs whose
//! constraints the built-in client fingerprints still run; and the plan after apply shows no
//! drift and no change.

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::path::Path;

use apply_support::*;
use serde_json::{Value, json};

/// A batch job running `/bin/true` with `group` (HCL) inside its group and `task` inside its
/// task.
fn batch(id: &str, group: &str, task: &str) -> String {
    format!(
        "job \"{id}\" {{\n  type = \"batch\"\n  group \"g\" {{\n{group}\n    task \"t\" {{\n      \
         driver = \"raw_exec\"\n      config {{\n        command = \"/bin/true\"\n      }}\n{task}\n    }}\n  }}\n}}\n"
    )
}

fn write_stack(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let jobs = [
        batch(
            "discovery",
            "    service {\n      name     = \"discovery\"\n      provider = \"nomad\"\n    }",
            "",
        ),
        batch(
            "signals",
            "",
            "      kill_signal = \"SIGINT\"\n      template {\n        data          = \"x\"\n        \
             destination   = \"local/x\"\n        change_mode   = \"signal\"\n        change_signal = \"SIGHUP\"\n      }",
        ),
        batch(
            "identity",
            "",
            "      identity {\n        name = \"aws\"\n        aud  = [\"sts.amazonaws.com\"]\n      }",
        ),
    ];
    std::fs::write(dir.join("jobs.hcl"), jobs.join("\n")).unwrap();
    std::fs::write(dir.join("stack.hcl"), "stack {\n  name = \"admission\"\n}\n").unwrap();
}

/// The constraints of the first group of job `id` as the agent has it.
fn group_constraints(address: &str, id: &str) -> Vec<Value> {
    let job = get_json(address, &format!("/v1/job/{id}")).unwrap_or_else(|| panic!("job {id}"));
    job["TaskGroups"][0]["Constraints"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn constraint(l: &str, operand: &str, r: &str) -> Value {
    json!({"LTarget": l, "RTarget": r, "Operand": operand})
}

#[test]
fn jobs_read_back_with_their_implicit_constraints_run_and_show_no_drift() {
    let tmp = tempfile::tempdir().unwrap();
    let _tasks = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    let deploy = agent.deploy();
    let stack = tmp.path().join("admission");
    write_stack(&stack);
    let s = stack.to_str().unwrap();
    let applied = deploy.run(&["apply", s, "-auto-approve", "-timeout", "90s"]);
    assert!(applied.status.success(), "{}", text(&applied));
    let expected = [
        (
            "discovery",
            constraint("${attr.nomad.service_discovery}", "=", "true"),
        ),
        (
            "signals",
            constraint("${attr.os.signals}", "set_contains", "SIGHUP,SIGINT"),
        ),
        (
            "identity",
            constraint("${attr.nomad.version}", "semver", ">= 1.7.0-a"),
        ),
    ];
    for (id, want) in &expected {
        let got = group_constraints(&agent.address, id);
        assert_eq!(got, vec![want.clone()], "{id}");
        // It ran: the client fingerprints what the constraint asks.
        let allocs = get_json(&agent.address, &format!("/v1/job/{id}/allocations")).expect("allocs");
        assert!(
            allocs
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["ClientStatus"] == "complete")),
            "{id}: {allocs:#}"
        );
    }
    // What the server added is neither a change nor drift.
    let (code, changed) = deploy.planned_changes(&stack, &[]);
    assert_eq!((code, changed.len()), (0, 0), "{changed:?}");
}

/// Registers a JSON job through the HTTP API; panics unless the answer is 2xx.
fn register(address: &str, job: Value) {
    let out = std::process::Command::new("curl")
        .args([
            "-sf",
            "--max-time",
            "20",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/json",
        ])
        .arg("--data-binary")
        .arg(json!({ "Job": job }).to_string())
        .arg(format!("{address}/v1/jobs"))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "register: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn json_job(id: &str, group: Value, task: Value) -> Value {
    let mut t = json!({"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}});
    let mut g = json!({"Name": "g", "Count": 1});
    if let (Some(t), Value::Object(extra)) = (t.as_object_mut(), task) {
        t.extend(extra);
    }
    if let (Some(g), Value::Object(extra)) = (g.as_object_mut(), group) {
        g.extend(extra);
    }
    g["Tasks"] = json!([t]);
    json!({"ID": id, "Name": id, "Type": "batch", "Datacenters": ["*"], "TaskGroups": [g]})
}

/// Vault and Consul are not part of the built-in cluster, so these jobs do not place; their
/// registration still carries the constraints Nomad adds (which is what the plan explains).
#[test]
fn vault_and_consul_jobs_read_back_with_their_version_constraints() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = DevAgent::start(tmp.path());
    let cases = [
        (
            json_job("vault", json!({}), json!({"Vault": {"Policies": ["read"]}})),
            vec![constraint("${attr.vault.version}", "semver", ">= 0.6.1")],
        ),
        (
            json_job(
                "consul",
                json!({"Services": [{"Name": "web", "Provider": "consul"}]}),
                json!({}),
            ),
            vec![constraint("${attr.consul.version}", "semver", ">= 1.8.0")],
        ),
        (
            json_job(
                "checked",
                json!({"Services": [{"Name": "web", "Provider": "nomad", "Checks": [{
                    "Name": "alive", "Type": "tcp", "PortLabel": "http",
                    "Interval": 10_000_000_000_i64, "Timeout": 2_000_000_000_i64
                }]}], "Networks": [{"DynamicPorts": [{"Label": "http"}]}]}),
                json!({}),
            ),
            vec![
                constraint("${attr.nomad.service_discovery}", "=", "true"),
                constraint("${attr.nomad.version}", "semver", ">= 1.4.0"),
            ],
        ),
    ];
    for (job, want) in cases {
        let id = job["ID"].as_str().unwrap_or_default().to_string();
        register(&agent.address, job);
        assert_eq!(group_constraints(&agent.address, &id), want, "{id}");
    }
}
