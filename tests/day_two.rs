//! The day-two commands against a real dev agent: `deploy logs` (tail, stderr, JSON, follow),
//! `deploy dispatch` (meta checks, idempotency token, payload), `deploy state rm|mv` (new
//! revisions), and `deploy import` (records a running job without registering it; refuses, with
//! the diff, a job that is not the stack's; a stack whose job already runs plans "adopt").

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use apply_support::*;
use serde_json::Value;

const TALKER: &str = "i=0; while :; do echo out-$i; echo err-$i >&2; i=$((i+1)); sleep 0.2; done";

/// A stack with a service job `talker` writing numbered lines to stdout and stderr, and a
/// parameterized batch job `work`.
fn write_stack(root: &Path, talker: &str) -> PathBuf {
    let dir = root.join("daytwo");
    std::fs::create_dir_all(&dir).unwrap();
    let jobs = format!(
        "job \"talker\" {{\n  group \"g\" {{\n    task \"t\" {{\n      driver = \"raw_exec\"\n      config {{\n        \
         command = \"/bin/sh\"\n        args    = [\"-c\", \"{talker}\"]\n      }}\n    }}\n  }}\n}}\n\n\
         job \"work\" {{\n  type = \"batch\"\n  parameterized {{\n    payload       = \"optional\"\n    \
         meta_required = [\"who\"]\n  }}\n  group \"g\" {{\n    task \"t\" {{\n      driver = \"raw_exec\"\n      \
         config {{\n        command = \"/bin/sh\"\n        args    = [\"-c\", \"echo hi-$NOMAD_META_who; sleep 60\"]\n      \
         }}\n    }}\n  }}\n}}\n"
    );
    std::fs::write(dir.join("jobs.hcl"), jobs).unwrap();
    std::fs::write(
        dir.join("stack.hcl"),
        "stack {\n  name = \"daytwo\"\n}\n\ndependency \"talker\" {\n  gate = \"running\"\n}\n",
    )
    .unwrap();
    dir
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The number in `out-N` / `err-N`.
fn number(line: &str) -> u64 {
    line.rsplit('-')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{line:?}"))
}

fn running_alloc(agent: &DevAgent) -> String {
    wait_until(Duration::from_secs(30), "a running talker allocation", || {
        get_json(&agent.address, "/v1/job/talker/allocations")?
            .as_array()?
            .iter()
            .find(|a| a["ClientStatus"] == "running")
            .and_then(|a| a["ID"].as_str().map(str::to_owned))
    })
}

#[test]
fn logs_dispatch_state_edits_and_import_on_a_dev_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let _reaper = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    let deploy = agent.deploy();
    let stack = write_stack(tmp.path(), TALKER);
    let s = stack.to_str().unwrap();
    let applied = deploy.run(&["apply", s, "-auto-approve", "-timeout", "60s"]);
    assert!(applied.status.success(), "{}", text(&applied));
    let alloc = running_alloc(&agent);
    logs(&deploy, s, &alloc);
    dispatch(&agent, &deploy, s);
    state_edits_and_import(&deploy, &stack);
}

fn logs(deploy: &Deploy, s: &str, alloc: &str) {
    let tail = wait_until(Duration::from_secs(30), "three lines of log", || {
        let o = deploy.run(&["logs", "job.talker", s, "-n", "3"]);
        assert!(o.status.success(), "{}", text(&o));
        let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
        (lines.len() == 3).then_some(lines)
    });
    assert!(tail.iter().all(|l| l.starts_with("out-")), "{tail:?}");
    assert_eq!(number(&tail[2]), number(&tail[0]) + 2, "{tail:?}");
    let json = deploy.run(&[
        "logs",
        "talker",
        s,
        "-stderr",
        "-n",
        "2",
        "-json",
        "-alloc",
        &alloc[..8],
    ]);
    assert!(json.status.success(), "{}", text(&json));
    let v: Value = serde_json::from_slice(&json.stdout).expect("logs JSON");
    assert_eq!(
        (v["alloc_id"].as_str(), v["task"].as_str(), v["type"].as_str()),
        (Some(alloc), Some("t"), Some("stderr"))
    );
    let lines = v["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 2, "{v:#}");
    assert!(
        lines
            .iter()
            .all(|l| l.as_str().is_some_and(|l| l.starts_with("err-"))),
        "{v:#}"
    );
    let no_task = deploy.run(&["logs", "job.talker", s, "-task", "nope"]);
    assert_eq!(no_task.status.code(), Some(1));
    assert!(
        text(&no_task).contains("no task nope; its tasks are: t"),
        "{}",
        text(&no_task)
    );
    // -f keeps printing what the task writes after the command started.
    let err = std::env::temp_dir().join(format!("deploy-logs-f-{}.err", std::process::id()));
    let mut child = deploy.spawn(&["logs", "job.talker", s, "-f", "-n", "1"], &err);
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while seen.len() < 6 {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => seen.push(number(&line)),
            Err(e) => panic!(
                "logs -f stopped after {seen:?}: {e}; {}",
                std::fs::read_to_string(&err).unwrap_or_default()
            ),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&err);
    assert!(seen.windows(2).all(|w| w[1] == w[0] + 1), "{seen:?}");
}

fn dispatch(agent: &DevAgent, deploy: &Deploy, s: &str) {
    let missing = deploy.run(&["dispatch", "job.work", "-stack", s]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing).contains("missing required meta: who"),
        "{}",
        text(&missing)
    );
    let not_param = deploy.run(&["dispatch", "job.talker", "-stack", s]);
    assert!(
        text(&not_param).contains("not a parameterized job"),
        "{}",
        text(&not_param)
    );
    let payload = agent_payload_file(s);
    let args = [
        "dispatch",
        "job.work",
        "-meta",
        "who=ann",
        "-idempotency-token",
        "tok-1",
        "-json",
        "-stack",
        s,
        &payload,
    ];
    let first = deploy.run(&args);
    assert!(first.status.success(), "{}", text(&first));
    let v: Value = serde_json::from_slice(&first.stdout).expect("dispatch JSON");
    let child = v["DispatchedJobID"].as_str().expect("child ID").to_owned();
    assert!(child.starts_with("work/dispatch-"), "{v:#}");
    assert!(v["EvalID"].as_str().is_some_and(|e| !e.is_empty()), "{v:#}");
    let live =
        get_json(&agent.address, &format!("/v1/job/{}", child.replace('/', "%2F"))).expect("child job");
    assert_eq!(live["Meta"]["who"], "ann", "{live:#}");
    assert_eq!(live["Payload"], "cGF5bG9hZA==", "{live:#}");
    // The same token while the child lives: the same child, no new evaluation.
    let again = deploy.run(&args);
    assert!(again.status.success(), "{}", text(&again));
    let v: Value = serde_json::from_slice(&again.stdout).expect("dispatch JSON");
    assert_eq!(v["DispatchedJobID"], child.as_str());
    assert_eq!(v["EvalID"], "");
}

/// A payload file (`payload`) beside the stack.
fn agent_payload_file(s: &str) -> String {
    let p = Path::new(s).join("payload.txt");
    std::fs::write(&p, "payload").unwrap();
    p.display().to_string()
}

fn state_json(deploy: &Deploy, args: &[&str]) -> Value {
    let o = deploy.run(args);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("JSON: {}", text(&o)))
}

fn state_edits_and_import(deploy: &Deploy, stack: &Path) {
    let s = stack.to_str().unwrap();
    let latest = |d: &Deploy| -> Value {
        let o = d.run(&["state", "show", "-stack", s]);
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("state show: {}", text(&o)))
    };
    let before = latest(deploy);
    let serial = before["serial"].as_u64().expect("serial");
    let moved = state_json(
        deploy,
        &[
            "state",
            "mv",
            "job.talker",
            "module.chat.job.talker",
            "-json",
            "-stack",
            s,
        ],
    );
    assert_eq!(moved["serial"].as_u64(), Some(serial + 1));
    assert_eq!(moved["lineage"], before["lineage"]);
    assert_eq!(
        moved["jobs"],
        serde_json::json!(["job.work", "module.chat.job.talker"])
    );
    let back = state_json(
        deploy,
        &[
            "state",
            "mv",
            "module.chat.job.talker",
            "job.talker",
            "-json",
            "-stack",
            s,
        ],
    );
    assert_eq!(back["serial"].as_u64(), Some(serial + 2));
    let removed = state_json(deploy, &["state", "rm", "job.talker", "-json", "-stack", s]);
    assert_eq!(removed["serial"].as_u64(), Some(serial + 3));
    assert_eq!(removed["jobs"], serde_json::json!(["job.work"]));
    let history = deploy.run(&["state", "history", "-stack", s]);
    assert_eq!(
        stdout(&history).lines().count() as u64,
        serial + 3,
        "{}",
        text(&history)
    );
    // The job still runs but is not recorded: the plan says adopt, not drift.
    let plan = deploy.run(&["plan", s]);
    let says = text(&plan);
    assert!(
        says.contains("job.talker (adopt)") && says.contains("adopt: it runs on the backend"),
        "{says}"
    );
    assert!(!says.contains("drift:"), "{says}");
    let imported = state_json(deploy, &["import", "job.talker", "talker", "-json", "-stack", s]);
    assert_eq!(imported["serial"].as_u64(), Some(serial + 4), "{imported:#}");
    assert_eq!(imported["address"], "job.talker");
    let (code, changed) = deploy.planned_changes(stack, &[]);
    assert_eq!((code, changed.len()), (0, 0), "{changed:?}");
    let twice = deploy.run(&["import", "job.talker", "talker", "-stack", s]);
    assert!(text(&twice).contains("already recorded"), "{}", text(&twice));
    // A running job that is not what the stack declares is refused, with the diff.
    assert!(
        deploy
            .run(&["state", "rm", "job.talker", "-stack", s])
            .status
            .success()
    );
    replace_in(&stack.join("jobs.hcl"), "sleep 0.2", "sleep 0.3");
    let refused = deploy.run(&["import", "job.talker", "talker", "-stack", s]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let says = text(&refused);
    assert!(
        says.contains("differs from job.talker") && says.contains("sleep 0.3"),
        "{says}"
    );
    assert_eq!(
        latest(deploy)["serial"].as_u64(),
        Some(serial + 5),
        "nothing recorded"
    );
}

#[test]
fn a_job_registered_by_hand_is_imported_without_registering_it() {
    let tmp = tempfile::tempdir().unwrap();
    let _reaper = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    let deploy = agent.deploy();
    let stack = write_stack(tmp.path(), TALKER);
    let s = stack.to_str().unwrap();
    let inspect = deploy.run(&["inspect", s, "-job", "talker"]);
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
    running_alloc(&agent);
    let version = get_json(&agent.address, "/v1/job/talker").expect("job")["Version"].clone();
    // The first plan names the way in: adopt, or import a job that already runs this spec.
    let plan = deploy.run(&["plan", s]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    assert!(
        text(&plan).contains("deploy import job.talker ID"),
        "{}",
        text(&plan)
    );
    let imported = deploy.run(&["import", "job.talker", "talker", "-stack", s]);
    assert!(imported.status.success(), "{}", text(&imported));
    assert!(
        stdout(&imported).contains("Nothing was registered"),
        "{}",
        text(&imported)
    );
    let live = get_json(&agent.address, "/v1/job/talker").expect("job");
    assert_eq!(live["Version"], version, "import registered the job");
    assert!(
        live["Meta"].get("deploy.stack").is_none_or(Value::is_null),
        "{live:#}"
    );
    let plan = deploy.run(&["plan", s, "-target", "job.talker", "-detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}
