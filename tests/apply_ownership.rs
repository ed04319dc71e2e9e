//! A stack never takes over a job it does not own: two stacks declaring the same job ID on one
//! dev agent, and a job registered by hand through the HTTP API, then a stack that declares it.
//! The ownership is the `deploy.stack` / `deploy.lineage` meta apply registers with each job.

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::path::{Path, PathBuf};

use apply_support::*;
use serde_json::Value;

/// A stack named `name` with one periodic job `report` (gate: registered).
fn write_stack(root: &Path, name: &str, command: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("jobs.hcl"),
        format!(
            "job \"report\" {{\n  type = \"batch\"\n  periodic {{\n    crons = [\"0 0 1 1 *\"]\n  }}\n  \
             group \"g\" {{\n    task \"t\" {{\n      driver = \"raw_exec\"\n      config {{\n        command = \"{command}\"\n      \
             }}\n    }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("stack.hcl"),
        format!("stack {{\n  name = \"{name}\"\n}}\n"),
    )
    .unwrap();
    dir
}

fn report(agent: &DevAgent) -> Value {
    get_json(&agent.address, "/v1/job/report").expect("job report")
}

#[test]
fn a_stack_never_takes_over_another_stacks_job_unless_told_to() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = DevAgent::start(tmp.path());
    let deploy = agent.deploy();
    let nightly = write_stack(tmp.path(), "nightly", "/bin/true");
    let webapp = write_stack(tmp.path(), "webapp", "/bin/echo");
    let (n, w) = (nightly.to_str().unwrap(), webapp.to_str().unwrap());
    let first = deploy.run(&["apply", n, "-auto-approve"]);
    assert!(first.status.success(), "{}", text(&first));
    let live = report(&agent);
    assert_eq!(live["Meta"]["deploy.stack"], "nightly", "{live:#}");
    assert!(
        live["Meta"]["deploy.lineage"]
            .as_str()
            .is_some_and(|l| !l.is_empty())
    );
    // The ownership meta is not a change of the stack's own.
    assert_eq!(deploy.planned_changes(&nightly, &[]).0, 0);
    // The other stack's plan and apply stop, name the owner and the way to adopt; nothing changes.
    let plan = deploy.run(&["plan", w, "-detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    let says = text(&plan);
    assert!(
        says.contains("stack \"nightly\"") && says.contains("-adopt job.report"),
        "{says}"
    );
    let refused = deploy.run(&["apply", w, "-auto-approve"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert_eq!(report(&agent)["Version"], live["Version"]);
    assert!(!tmp.path().join("state/webapp").join("rev-000001.json").exists());
    // Adopted explicitly, it becomes webapp's; nightly's plan now stops in turn.
    let adopted = deploy.run(&["apply", w, "-auto-approve", "-adopt", "job.report"]);
    assert!(adopted.status.success(), "{}", text(&adopted));
    let live = report(&agent);
    assert_eq!(live["Meta"]["deploy.stack"], "webapp", "{live:#}");
    assert_eq!(
        live["TaskGroups"][0]["Tasks"][0]["Config"]["command"],
        "/bin/echo"
    );
    assert_eq!(deploy.planned_changes(&webapp, &[]).0, 0);
    let back = deploy.run(&["plan", n, "-detailed-exitcode"]);
    assert_eq!(back.status.code(), Some(1), "{}", text(&back));
    assert!(text(&back).contains("stack \"webapp\""), "{}", text(&back));
    let destroy = deploy.run(&["destroy", n, "-auto-approve"]);
    assert_eq!(destroy.status.code(), Some(1), "{}", text(&destroy));
    assert_eq!(report(&agent)["Stop"], false);
}

#[test]
fn a_job_registered_by_hand_is_adopted_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = DevAgent::start(tmp.path());
    let deploy = agent.deploy();
    let stack = write_stack(tmp.path(), "nightly", "/bin/true");
    let s = stack.to_str().unwrap();
    // The same job, registered through the API by hand.
    let inspect = deploy.run(&["inspect", s, "-job", "report"]);
    assert!(inspect.status.success(), "{}", text(&inspect));
    let job: Value = serde_json::from_slice(&inspect.stdout).expect("inspect JSON");
    let job = if job.get("Job").is_some() {
        job["Job"].clone()
    } else {
        job
    };
    let posted = std::process::Command::new("curl")
        .args([
            "-sf",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
        ])
        .arg(serde_json::json!({ "Job": job }).to_string())
        .arg(format!("{}/v1/jobs", agent.address))
        .output()
        .unwrap();
    assert!(
        posted.status.success(),
        "{}",
        String::from_utf8_lossy(&posted.stderr)
    );
    let before = report(&agent);
    assert!(before["Meta"].get("deploy.stack").is_none_or(Value::is_null));
    let plan = deploy.run(&["plan", s, "-detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    assert!(
        text(&plan).contains("registered outside deploy"),
        "{}",
        text(&plan)
    );
    let refused = deploy.run(&["apply", s, "-auto-approve"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert_eq!(report(&agent)["Version"], before["Version"]);
    let adopted = deploy.run(&["apply", s, "-auto-approve", "-adopt-all"]);
    assert!(adopted.status.success(), "{}", text(&adopted));
    assert_eq!(report(&agent)["Meta"]["deploy.stack"], "nightly");
    assert_eq!(deploy.planned_changes(&stack, &[]).0, 0);
}
