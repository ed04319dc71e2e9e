//! A job the scheduler cannot place is never silent, against a real `deploy agent -dev`: the
//! constraints Nomad adds on its own place, a Vault constraint is explained in one line and
//! refused by apply, and a periodic job whose child cannot be placed is flagged at plan time.
//! Jobs that each fit but not all at once wait for capacity, as Nomad's blocked evaluations do.

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::path::{Path, PathBuf};
use std::time::Duration;

use apply_support::*;
use serde_json::Value;

const VAULT: &str = "constraint {\n    attribute = \"${attr.vault.version}\"\n    operator  = \"semver\"\n    value     = \">= 0.6.1\"\n  }\n";
const NOMAD_IDENTITY: &str = "constraint {\n    attribute = \"${attr.nomad.version}\"\n    operator  = \"semver\"\n    value     = \">= 1.7.0-a\"\n  }\n";
const VAULT_CAUSE: &str =
    "constraint `${attr.vault.version} semver >= 0.6.1`: unset on the only node: this cluster has no Vault";

/// A one-job stack: a batch job `name` running `/bin/true`, with `extra` (constraints,
/// periodic) in its job block.
fn write_stack(root: &Path, name: &str, extra: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("stack.hcl"),
        format!("stack {{\n  name = \"{name}\"\n}}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("jobs.hcl"),
        format!(
            "job \"{name}\" {{\n  type = \"batch\"\n  {extra}  group \"g\" {{\n    task \"t\" {{\n      \
             driver = \"raw_exec\"\n      config {{\n        command = \"/bin/true\"\n      }}\n    }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    dir
}

/// A dev agent (with `extra` flags) whose client node is ready (placement previews need a
/// node).
fn agent_with_node(dir: &Path, extra: &[&str]) -> DevAgent {
    let agent = DevAgent::start_with(dir, extra);
    wait_until(Duration::from_secs(60), "the dev client registering", || {
        let nodes = get_json(&agent.address, "/v1/nodes")?;
        nodes
            .as_array()?
            .iter()
            .any(|n| n["Status"] == "ready")
            .then_some(())
    });
    agent
}

fn json_plan(agent: &DevAgent, stack: &Path) -> (i32, Value) {
    let o = agent
        .deploy()
        .run(&["plan", stack.to_str().unwrap(), "-json", "-detailed-exitcode"]);
    let plan = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    (o.status.code().unwrap_or(-1), plan)
}

#[test]
fn placement_failures_are_shown_flagged_and_refused_on_a_dev_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = agent_with_node(tmp.path(), &[]);

    // The seed's two constraints: Nomad's own version constraint places, and the plan says
    // exactly which one does not.
    let seed = write_stack(tmp.path(), "seed", &format!("{VAULT}  {NOMAD_IDENTITY}"));
    let (code, plan) = json_plan(&agent, &seed);
    assert_eq!(code, 3, "{plan:#}");
    assert_eq!(plan["summary"]["unplaced"], 1, "{plan:#}");
    let filtered = &plan["jobs"][0]["placement"]["failures"][0]["constraint_filtered"];
    assert_eq!(filtered.as_object().map(|o| o.len()), Some(1), "{plan:#}");
    assert!(
        filtered.get("${attr.vault.version} semver >= 0.6.1").is_some(),
        "{plan:#}"
    );

    // Without the Vault constraint it places.
    let identity = write_stack(tmp.path(), "identity", NOMAD_IDENTITY);
    let (code, plan) = json_plan(&agent, &identity);
    assert_eq!(code, 2, "{plan:#}");
    assert_eq!(plan["summary"]["unplaced"], 0, "{plan:#}");
    let placement = &plan["jobs"][0]["placement"];
    assert_eq!(placement["failures"], Value::Array(vec![]), "{plan:#}");
    assert_eq!(placement["placed"], 1, "{plan:#}");
    let applied = agent
        .deploy()
        .run(&["apply", identity.to_str().unwrap(), "-auto-approve"]);
    assert!(applied.status.success(), "{}", text(&applied));

    // The Vault-constrained job: one line per cause in the text plan.
    let vault = write_stack(tmp.path(), "vault", VAULT);
    let s = vault.to_str().unwrap();
    let shown = agent.deploy().run(&["plan", s]);
    assert!(shown.status.success(), "{}", text(&shown));
    assert!(text(&shown).contains(VAULT_CAUSE), "{}", text(&shown));
    assert!(
        text(&shown).contains("Placement fails: 1 job"),
        "{}",
        text(&shown)
    );

    // Apply refuses it, naming the cause, and registers nothing.
    let refused = agent.deploy().run(&["apply", s, "-auto-approve"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("-allow-unplaced"), "{}", text(&refused));
    assert!(text(&refused).contains(VAULT_CAUSE), "{}", text(&refused));
    assert!(get_json(&agent.address, "/v1/job/vault").is_none());

    // A periodic job whose child cannot be placed is flagged at plan time.
    let periodic = write_stack(
        tmp.path(),
        "nightly",
        &format!("periodic {{\n    crons = [\"0 0 1 1 *\"]\n  }}\n  {VAULT}"),
    );
    let (code, plan) = json_plan(&agent, &periodic);
    assert_eq!(code, 3, "{plan:#}");
    let placement = &plan["jobs"][0]["placement"];
    assert_eq!(placement["child"], "nightly-periodic-plan", "{plan:#}");
    assert_eq!(placement["failures"][0]["group"], "g", "{plan:#}");
}

/// Four batch jobs of 400 MHz each on a node of 1,000 MHz, applied all at once: each fits
/// alone (the plan places them), two at a time fit together. The other two are blocked, not
/// failed: the apply says it waits for capacity, and the blocked evaluations place them when
/// the first two finish. Each job keeps at most one blocked evaluation (blocked again under
/// its own ID when woken too early), and every job completes.
#[test]
fn jobs_that_fit_alone_but_not_together_wait_for_capacity() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("small-node.hcl");
    std::fs::write(&config, "client {\n  cpu_total_compute = 1000\n}\n").unwrap();
    let agent = agent_with_node(tmp.path(), &["-config", config.to_str().unwrap()]);

    let dir = tmp.path().join("crowd");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("stack.hcl"), "stack {\n  name = \"crowd\"\n}\n").unwrap();
    let names = ["crowd-a", "crowd-b", "crowd-c", "crowd-d"];
    let jobs: String = names
        .iter()
        .map(|name| {
            format!(
                "job \"{name}\" {{\n  type = \"batch\"\n  group \"g\" {{\n    task \"t\" {{\n      \
                 driver = \"raw_exec\"\n      config {{\n        command = \"/bin/sleep\"\n        \
                 args = [\"2\"]\n      }}\n      resources {{\n        cpu    = 400\n        \
                 memory = 32\n      }}\n    }}\n  }}\n}}\n"
            )
        })
        .collect();
    std::fs::write(dir.join("jobs.hcl"), jobs).unwrap();

    let s = dir.to_str().unwrap();
    let applied = agent
        .deploy()
        .run(&["apply", s, "-auto-approve", "-parallelism", "4", "-timeout", "2m"]);
    let out = text(&applied);
    assert!(applied.status.success(), "{out}");
    assert!(out.contains("waiting for capacity"), "{out}");
    assert!(out.contains("cpu exhausted"), "{out}");

    for name in names {
        let allocs = get_json(&agent.address, &format!("/v1/job/{name}/allocations")).unwrap();
        let allocs = allocs.as_array().unwrap();
        assert_eq!(allocs.len(), 1, "{name}: {allocs:?}");
        assert_eq!(allocs[0]["ClientStatus"], "complete", "{name}: {allocs:?}");
        let evals = get_json(&agent.address, &format!("/v1/job/{name}/evaluations")).unwrap();
        let evals = evals.as_array().unwrap();
        let blocked: Vec<&Value> = evals
            .iter()
            .filter(|e| e["TriggeredBy"] == "queued-allocs")
            .collect();
        assert!(blocked.len() <= 1, "{name}: {evals:#?}");
        assert!(
            evals.iter().all(|e| e["Status"] == "complete"),
            "{name}: {evals:#?}"
        );
    }
}
