//! State a team shares on Nomad: `state { backend = "nomad" }` keeps a stack's revisions,
//! journal and lock in Nomad Variables under Nomad's variable lock API. There is no Nomad
//! binary here, so these run against `deploy agent -dev -acl-enabled`, which speaks the same
//! API, through the same client path a real Nomad would be reached by, with a client token
//! whose policy grants the stack's variable paths only.
//!
//! - the lock API answers as Nomad's: a holder's ID, 409 to everyone else (acquire, write,
//!   delete, renew or release with another ID), the ID hidden from non-management readers,
//!   TTL bounds, a token without `write` refused;
//! - two `deploy apply` processes race for the lock: the second is refused naming the first;
//!   `kill -9` the holder: the lock outlives it for its time and the lock delay, then a plan
//!   from another directory takes it and recovers the holder's journal as revision 1;
//! - a revision larger than one variable holds is chunked and read back byte for byte;
//! - `deploy state migrate` moves the state to local files and into Nomad Variables;
//! - a stack whose state is in a cluster but names no address is refused, no agent started.

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apply_support::*;
use serde_json::{Value, json};

/// The policy of the stack operator's token: jobs in the default namespace and the stacks'
/// variables, nothing else.
const OPERATOR_POLICY: &str = r#"
namespace "default" {
  policy = "write"
  variables {
    path "deploy/stacks/*" {
      capabilities = ["write", "read", "list", "destroy"]
    }
  }
}
node {
  policy = "read"
}
agent {
  policy = "read"
}
"#;

/// A reader of jobs and of the stacks' variables (no `write`).
const READER_POLICY: &str = r#"
namespace "default" {
  policy = "read"
  variables {
    path "deploy/stacks/*" {
      capabilities = ["read", "list"]
    }
  }
}
"#;

/// `deploy agent -dev -acl-enabled` on a free port, bootstrapped.
struct AclAgent {
    child: Child,
    address: String,
    management: String,
}

impl Drop for AclAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `METHOD address+path` with `token` and a JSON `body`: the status and the JSON answer
/// (`Null` when it is not JSON).
fn call(address: &str, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--max-time", "20", "-X", method, "-w", "\n%{http_code}"])
        .args(["-H", &format!("X-Nomad-Token: {token}")]);
    if let Some(b) = body {
        cmd.args(["-H", "Content-Type: application/json", "-d", &b.to_string()]);
    }
    let out = cmd.arg(format!("{address}{path}")).output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

impl AclAgent {
    fn start(dir: &Path) -> Self {
        let port = free_port();
        let log = std::fs::File::create(dir.join("agent.log")).expect("agent log");
        let child = Command::new(bin())
            .args(["agent", "-dev", "-acl-enabled", "-bind", "127.0.0.1"])
            .args(["-http-port", &port.to_string(), "-data-dir"])
            .arg(dir.join("agent"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting deploy agent -dev -acl-enabled");
        let address = format!("http://127.0.0.1:{port}");
        wait_until(Duration::from_secs(30), "the agent electing a leader", || {
            get_json(&address, "/v1/status/leader").filter(|l| l.as_str().is_some_and(|s| !s.is_empty()))
        });
        let (code, token) = call(&address, "POST", "/v1/acl/bootstrap", "", None);
        assert_eq!(code, 200, "bootstrap: {token}");
        AclAgent {
            child,
            address,
            management: token["SecretID"].as_str().expect("SecretID").to_owned(),
        }
    }

    /// A client token with `rules` as its one policy.
    fn token(&self, name: &str, rules: &str) -> String {
        let policy = json!({ "Name": name, "Rules": rules });
        let (code, answer) = self.call("POST", &format!("/v1/acl/policy/{name}"), Some(&policy));
        assert_eq!(code, 200, "policy {name}: {answer}");
        let token = json!({ "Name": name, "Type": "client", "Policies": [name] });
        let (code, answer) = self.call("POST", "/v1/acl/token", Some(&token));
        assert_eq!(code, 200, "token {name}: {answer}");
        answer["SecretID"].as_str().expect("SecretID").to_owned()
    }

    /// A call with the management token.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        call(&self.address, method, path, &self.management, body)
    }

    /// `deploy` at this agent with `token`.
    fn deploy(&self, token: &str) -> Deploy {
        Deploy::at(&self.address).with("NOMAD_TOKEN", token)
    }
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A stack named `name` in `root/name` keeping its state in Nomad Variables (`extra` is added
/// to its state block), with `jobs` as its job file (and the dependency blocks after
/// `\n\n\n` in stack.hcl).
fn write_stack(root: &Path, name: &str, extra: &str, jobs: &str) -> PathBuf {
    let (jobs, blocks) = jobs.split_once("\n\n\n").unwrap_or((jobs, ""));
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("jobs.hcl"), jobs).unwrap();
    std::fs::write(
        dir.join("stack.hcl"),
        format!(
            "stack {{\n  name = \"{name}\"\n  state {{\n    backend = \"nomad\"\n{extra}  }}\n}}\n{blocks}"
        ),
    )
    .unwrap();
    dir
}

/// A batch job that runs for minutes, and a job that waits for it to complete: an apply of
/// this stack holds its lock until it is killed.
const SLOW: &str = "job \"slow\" {\n  type = \"batch\"\n  group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n      \
    config {\n        command = \"sleep\"\n        args = [\"600\"]\n      }\n    }\n  }\n}\n\
    job \"after\" {\n  type = \"batch\"\n  periodic {\n    crons = [\"0 0 1 1 *\"]\n  }\n  group \"g\" {\n    task \"t\" {\n      \
    driver = \"raw_exec\"\n      config {\n        command = \"true\"\n      }\n    }\n  }\n}\n\n\n\
    dependency \"after\" {\n  depends_on = [job.slow]\n}\n";

#[test]
fn the_variable_lock_api_answers_as_nomads() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = AclAgent::start(tmp.path());
    let operator = agent.token("operator", OPERATOR_POLICY);
    let reader = agent.token("reader", READER_POLICY);
    let at = |token: &str, method: &str, query: &str, body: Value| {
        call(
            &agent.address,
            method,
            &format!("/v1/var/deploy/stacks/api/lock{query}"),
            token,
            Some(&body),
        )
    };
    let acquire = json!({ "Items": { "holder": "me" }, "Lock": { "TTL": "10s", "LockDelay": "1s" } });

    let (code, held) = at(&operator, "PUT", "?lock-acquire", acquire.clone());
    assert_eq!(code, 200, "{held}");
    let id = held["Lock"]["ID"]
        .as_str()
        .expect("the holder sees its lock ID")
        .to_owned();
    assert_eq!(held["Lock"]["TTL"], "10s", "{held}");
    assert_eq!(held["Lock"]["LockDelay"], "1s", "{held}");
    assert_eq!(held["Items"]["holder"], "me", "{held}");

    // Everyone else gets 409, and a conflict never carries the ID.
    let (code, conflict) = at(&operator, "PUT", "?lock-acquire", acquire.clone());
    assert_eq!(code, 409, "{conflict}");
    assert_eq!(
        conflict["Items"]["holder"], "me",
        "a reader sees who holds it: {conflict}"
    );
    assert!(conflict["Lock"].is_null(), "{conflict}");
    let (code, _) = at(&operator, "PUT", "", json!({ "Items": { "holder": "intruder" } }));
    assert_eq!(code, 409, "a write without the lock's ID");
    let other = json!({ "Items": { "x": "y" }, "Lock": { "ID": "not-the-id" } });
    assert_eq!(at(&operator, "PUT", "", other).0, 409, "a write with another ID");
    assert_eq!(
        at(&operator, "DELETE", "", json!({})).0,
        409,
        "a delete of a locked variable"
    );
    let (code, text) = at(
        &operator,
        "PUT",
        "?lock-renew",
        json!({ "Lock": { "ID": "not-the-id" } }),
    );
    assert_eq!(code, 409, "a renewal with another ID: {text}");

    // The holder writes and renews.
    let write = json!({ "Items": { "holder": "me, still" }, "Lock": { "ID": id } });
    let (code, written) = at(&operator, "PUT", "", write);
    assert_eq!(code, 200, "{written}");
    assert_eq!(written["Lock"]["ID"], id.as_str(), "{written}");
    let (code, renewed) = at(&operator, "PUT", "?lock-renew", json!({ "Lock": { "ID": id } }));
    assert_eq!(code, 200, "{renewed}");
    assert!(
        renewed.get("Items").is_none(),
        "a renewal answers metadata: {renewed}"
    );
    assert_eq!(renewed["Lock"]["ID"], id.as_str(), "{renewed}");

    // Readers see the variable, not the lock's ID; management sees it.
    let (code, read) = call(
        &agent.address,
        "GET",
        "/v1/var/deploy/stacks/api/lock",
        &reader,
        None,
    );
    assert_eq!(code, 200, "{read}");
    assert_eq!(read["Items"]["holder"], "me, still", "{read}");
    assert!(read.get("Lock").is_none_or(Value::is_null), "{read}");
    let (_, read) = agent.call("GET", "/v1/var/deploy/stacks/api/lock", None);
    assert_eq!(read["Lock"]["ID"], id.as_str(), "{read}");

    // A token without `write` may not lock; Nomad's TTL bounds hold.
    assert_eq!(at(&reader, "PUT", "?lock-acquire", acquire.clone()).0, 403);
    let short = json!({ "Lock": { "TTL": "5s" } });
    let (code, _) = call(
        &agent.address,
        "PUT",
        "/v1/var/deploy/stacks/other?lock-acquire",
        &operator,
        Some(&short),
    );
    assert_eq!(code, 400, "a TTL under 10s");
    let (code, _) = at(&operator, "PUT", "?lock-release", json!({ "Lock": {} }));
    assert_eq!(code, 400, "a release without the ID");

    // Released: the variable stays; anyone may take it again.
    let (code, released) = at(&operator, "PUT", "?lock-release", json!({ "Lock": { "ID": id } }));
    assert_eq!(code, 200, "{released}");
    assert!(released.get("Lock").is_none_or(Value::is_null), "{released}");
    let (code, again) = at(&operator, "PUT", "?lock-release", json!({ "Lock": { "ID": id } }));
    assert_eq!(code, 409, "a release of a free variable: {again}");
    let (code, retaken) = at(
        &operator,
        "PUT",
        "?lock-acquire",
        json!({ "Lock": { "TTL": "10s" } }),
    );
    assert_eq!(code, 200, "{retaken}");
    assert_ne!(retaken["Lock"]["ID"], id.as_str(), "a new lock, a new ID");
    assert_eq!(
        retaken["Items"]["holder"], "me, still",
        "items kept when none are given"
    );

    // Eight callers race for a free lock at once: exactly one takes it.
    let codes: Vec<u16> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let (address, operator) = (&agent.address, &operator);
                s.spawn(move || {
                    let body =
                        json!({ "Items": { "holder": format!("racer {i}") }, "Lock": { "TTL": "10s" } });
                    call(
                        address,
                        "PUT",
                        "/v1/var/deploy/stacks/race/lock?lock-acquire",
                        operator,
                        Some(&body),
                    )
                    .0
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(codes.iter().filter(|&&c| c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|&&c| c == 409).count(), 7, "{codes:?}");
}

#[test]
fn racing_applies_share_one_nomad_lock_and_a_killed_holder_gives_way_after_ttl_and_delay() {
    let tmp = tempfile::tempdir().unwrap();
    let _reaper = TaskReaper::new(tmp.path());
    let agent = AclAgent::start(tmp.path());
    let operator = agent.token("operator", OPERATOR_POLICY);
    let (ttl, delay) = (Duration::from_secs(10), Duration::from_secs(2));
    let stack = write_stack(
        tmp.path(),
        "shared",
        "    lock_ttl = \"10s\"\n    lock_delay = \"2s\"\n",
        SLOW,
    );
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    let deploy = agent.deploy(&operator);

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
        "the holder's journal in Nomad Variables",
        || {
            let (code, v) = agent.call("GET", "/v1/var/deploy/stacks/shared/apply-journal", None);
            (code == 200).then_some(v)
        },
    );
    let (_, lock) = agent.call("GET", "/v1/var/deploy/stacks/shared/lock", None);
    assert!(
        lock["Lock"]["ID"].as_str().is_some_and(|id| !id.is_empty()),
        "{lock}"
    );

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
    assert!(err.contains("deploy/stacks/shared/lock"), "{err}");

    holder.kill().expect("kill -9 the holder");
    holder.wait().unwrap();
    let killed = Instant::now();
    // Nothing released it: the lock outlives its holder for the holder's time and the delay.
    let refused = deploy.run(&["plan", arg(&stack), "-lock-timeout=0", "-state", arg(&b)]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let waiter = deploy.spawn(
        &["plan", arg(&stack), "-lock-timeout=90s", "-state", arg(&b)],
        &tmp.path().join("waiter.err"),
    );
    wait_until(Duration::from_secs(90), "the dead holder's lock freed", || {
        let (_, v) = agent.call("GET", "/v1/var/deploy/stacks/shared/lock", None);
        let holder = v["Items"]["holder"].as_str().unwrap_or("").to_owned();
        (v["Lock"].is_null() || !holder.contains(&format!("pid {} ", holder_pid(&lock)))).then_some(())
    });
    let freed_after = killed.elapsed();
    eprintln!(
        "the killed holder's lock was freed {freed_after:?} after the kill (TTL {ttl:?}, delay {delay:?})"
    );
    // The server grants at least the TTL past the last renewal, then the delay: never less.
    assert!(
        freed_after >= ttl + delay - ttl / 3,
        "the lock was freed {freed_after:?} after its holder died (TTL {ttl:?}, delay {delay:?})"
    );
    let plan = waiter.wait_with_output().unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&plan.stdout),
        std::fs::read_to_string(tmp.path().join("waiter.err")).unwrap_or_default()
    );
    assert_eq!(plan.status.code(), Some(0), "{out}");
    assert!(out.contains("Recovered revision 1"), "{out}");
    let (_, lock) = agent.call("GET", "/v1/var/deploy/stacks/shared/lock", None);
    assert!(lock["Lock"].is_null(), "the plan released the lock: {lock}");

    // The state moves to local files and back, lineage and serials kept.
    let moved = deploy.run(&[
        "state",
        "migrate",
        "-stack",
        arg(&stack),
        "-to",
        "local",
        "-state",
        arg(&c),
    ]);
    assert_eq!(moved.status.code(), Some(0), "{}", text(&moved));
    assert!(c.join("rev-000001.json").exists());
    let again = deploy.run(&[
        "state",
        "migrate",
        "-stack",
        arg(&stack),
        "-to",
        "nomad",
        "-state",
        arg(&c),
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("Copied 0 revision(s)"), "{}", text(&again));
}

/// The pid a lock variable's holder text names (`pid N on HOST ...`).
fn holder_pid(lock: &Value) -> String {
    let text = lock["Items"]["holder"].as_str().unwrap_or("");
    text.split_whitespace().nth(1).unwrap_or("").to_owned()
}

#[test]
fn a_revision_larger_than_a_variable_is_chunked_and_read_back() {
    use deploy::api::ClientConfig;
    use deploy::state::{LockHolder, LockTimes, NomadStorage, StateStorage};

    let tmp = tempfile::tempdir().unwrap();
    let agent = AclAgent::start(tmp.path());
    let operator = agent.token("operator", OPERATOR_POLICY);
    let mut config = ClientConfig::at(agent.address.as_str());
    config.token = Some(operator);
    let times = LockTimes {
        ttl: Duration::from_secs(10),
        delay: Duration::from_secs(1),
    };
    let storage = NomadStorage::new(config, "deploy/stacks/big", tmp.path(), times).unwrap();
    let holder = LockHolder {
        command: "test".into(),
    };
    let _lock = storage.lock(&holder, Duration::ZERO).unwrap();
    // 200 KiB with multi-byte characters across the chunk boundaries.
    let bytes: Vec<u8> = "{\"k\":\""
        .bytes()
        .chain("é€a".repeat(30_000).into_bytes())
        .chain("\"}".bytes())
        .collect();
    storage.create(1, &bytes).unwrap();
    assert_eq!(storage.read(1).unwrap().as_deref(), Some(bytes.as_slice()));
    assert!(storage.create(1, b"{}").is_err(), "a revision is never replaced");
    assert_eq!(storage.serials().unwrap(), vec![1]);
    let (_, list) = agent.call("GET", "/v1/vars?prefix=deploy/stacks/big/rev-000001", None);
    assert!(
        list.as_array().is_some_and(|l| l.len() >= 3),
        "the head and its chunks: {list}"
    );

    // The journal is rewritten whole; the chunks of the value it replaced go.
    storage.write_journal(&bytes).unwrap();
    storage.write_journal(b"short").unwrap();
    assert_eq!(storage.journal().unwrap().as_deref(), Some(&b"short"[..]));
    let (_, list) = agent.call("GET", "/v1/vars?prefix=deploy/stacks/big/apply-journal", None);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    storage.remove_journal().unwrap();
    assert_eq!(storage.journal().unwrap(), None);
}

#[test]
fn a_stack_whose_state_is_in_a_cluster_needs_an_address_and_starts_no_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = write_stack(tmp.path(), "lonely", "", SLOW);
    for backend in ["nomad", "cluster"] {
        let hcl = std::fs::read_to_string(stack.join("stack.hcl")).unwrap();
        let hcl = hcl
            .replace("\"nomad\"", &format!("\"{backend}\""))
            .replace("\"cluster\"", &format!("\"{backend}\""));
        std::fs::write(stack.join("stack.hcl"), hcl).unwrap();
        let out = Deploy::without_address().run(&["plan", arg(&stack), "-state", arg(&tmp.path().join("s"))]);
        let err = text(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("names no address"), "{err}");
        assert!(err.contains("NOMAD_ADDR"), "{err}");
        assert!(!tmp.path().join(".agent").exists() && !tmp.path().join("s").join(".agent").exists());
    }
}
