//! The `/ui` dashboard in a real headless Chromium (python selenium + chromedriver) against a
//! real `deploy agent -dev -acl-enabled`: an anonymous visitor sees no job; a read-only
//! token sees the jobs (the webapp example's, applied with `deploy apply`, and a new one
//! appearing without a reload), a job's allocation turning running and then healthy without a
//! reload, the diff between two versions, the constraint that kept another
//! job off the node, a task's log line, a node, the servers, a variable's values only once
//! revealed (and refused where the token may only list), and the revisions and plans of a
//! stack applied with its state in the cluster. Without a browser: a token that may read
//! nothing gets no data in any rendered page.
//!
//! Set `DEPLOY_UI_SCREENSHOTS=DIR` to save PNGs of the pages there (docs/ui/ holds a set).

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use client_harness::{Agent, kill_marked, skip, wait_for};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");
const MARKER: &str = "deploy-ui-browser-test";

/// Chromium, chromedriver and python selenium, or why not.
fn browser_missing() -> Option<String> {
    let has = |cmd: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {cmd}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has("chromedriver") {
        return Some("chromedriver is not installed (apt-get install chromium-driver)".into());
    }
    if !["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .any(|b| has(b))
    {
        return Some("chromium is not installed (apt-get install chromium)".into());
    }
    let selenium = Command::new("python3")
        .args(["-c", "import selenium"])
        .status()
        .is_ok_and(|s| s.success());
    (!selenium).then(|| "python3 cannot import selenium (pip install selenium)".into())
}

async fn send(
    http: &reqwest::Client,
    agent: &Agent,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Value {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http.request(m, agent.url(path)).header("X-Nomad-Token", token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A service that prints a line to stdout and stays up, healthy once it has run for 2 s;
/// registered with no instance, so the page is open before the allocation exists.
fn web_job(count: u32) -> Value {
    json!({"Job": {
        "ID": "web", "Name": "web", "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "frontend", "Count": count,
            "Update": {"MaxParallel": 1, "HealthCheck": "task_states", "MinHealthyTime": 2_000_000_000u64,
                "HealthyDeadline": 60_000_000_000u64, "ProgressDeadline": 120_000_000_000u64},
            "Tasks": [{"Name": "server", "Driver": "raw_exec",
                "Config": {"command": "/bin/sh", "args": ["-c",
                    format!("echo hello from the web task; exec sleep 600 # {MARKER}")]}}]}],
    }})
}

/// A job registered while the jobs page is open: a periodic one, so nothing runs.
fn late_job() -> Value {
    json!({"Job": {
        "ID": "late", "Name": "late", "Type": "batch", "Datacenters": ["dc1"],
        "Periodic": {"Enabled": true, "Spec": "0 0 1 1 *", "SpecType": "cron"},
        "TaskGroups": [{"Name": "g", "Count": 1,
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}],
    }})
}

/// A job no node can run: its constraint filters the one dev node.
fn nowhere_job() -> Value {
    json!({"Job": {
        "ID": "nowhere", "Name": "nowhere", "Type": "service", "Datacenters": ["dc1"],
        "Constraints": [{"LTarget": "${attr.kernel.name}", "RTarget": "plan9", "Operand": "="}],
        "TaskGroups": [{"Name": "g", "Count": 1,
            "Tasks": [{"Name": "t", "Driver": "raw_exec",
                "Config": {"command": "/bin/true"}}]}],
    }})
}

const VIEWER_RULES: &str = r#"namespace "default" {
  policy       = "read"
  capabilities = ["read-logs"]
  variables {
    path "*" {
      capabilities = ["list"]
    }
    path "app/*" {
      capabilities = ["read", "list"]
    }
  }
}
node { policy = "read" }
agent { policy = "read" }
operator { policy = "read" }"#;

/// A dev agent with ACLs on, bootstrapped: the agent, a client and the management token.
async fn acl_agent(dir: &Path) -> (Agent, reqwest::Client, String) {
    let agent = Agent::start(BIN, dir.join("a"), &["-dev", "-acl-enabled"]);
    let http = client_harness::http();
    let leader = wait_for(Duration::from_secs(60), || async {
        let r = http.get(agent.url("/v1/status/leader")).send().await.ok()?;
        let l: String = r.json().await.ok()?;
        (!l.is_empty()).then_some(l)
    })
    .await;
    assert!(leader.is_some(), "no leader; log:\n{}", agent.log());
    let boot: Value = http
        .post(agent.url("/v1/acl/bootstrap"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mgmt = boot["SecretID"].as_str().expect("bootstrap token").to_owned();
    (agent, http, mgmt)
}

/// A token with `rules` as its one policy.
async fn token_with(http: &reqwest::Client, agent: &Agent, mgmt: &str, name: &str, rules: &str) -> String {
    let policy = json!({"Name": name, "Rules": rules});
    send(
        http,
        agent,
        "POST",
        &format!("/v1/acl/policy/{name}"),
        mgmt,
        Some(policy),
    )
    .await;
    let token = json!({"Name": name, "Type": "client", "Policies": [name]});
    let token = send(http, agent, "POST", "/v1/acl/token", mgmt, Some(token)).await;
    token["SecretID"].as_str().expect("a secret").to_owned()
}

/// Stops job `id` and waits until the agent has ended its tasks (their command lines lose the
/// marker once `exec` replaces the shell, so the marker only catches what is left).
async fn stop_and_wait(http: &reqwest::Client, agent: &Agent, mgmt: &str, id: &str) {
    let _ = http
        .delete(agent.url(&format!("/v1/job/{id}")))
        .header("X-Nomad-Token", mgmt)
        .send()
        .await;
    let path = format!("/v1/job/{id}/allocations");
    let _ = wait_for(Duration::from_secs(30), || async {
        let allocs = send(http, agent, "GET", &path, mgmt, None).await;
        let list = allocs.as_array().cloned().unwrap_or_default();
        list.iter()
            .all(|a| a["ClientStatus"] != "running" && a["ClientStatus"] != "pending")
            .then_some(())
    })
    .await;
    kill_marked(MARKER);
}

/// `deploy` against `agent` with the management token.
fn deploy_cmd(agent: &Agent, mgmt: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("NOMAD_ADDR", format!("http://{}", agent.addr))
        .env("NOMAD_TOKEN", mgmt)
        .env("NO_COLOR", "1");
    cmd
}

/// Writes stack `name` under `dir`, keeping its state in the cluster, with `jobs` as its job
/// file and `extra` after its stack block.
fn write_shared_stack(dir: &Path, name: &str, jobs: &str, extra: &str) -> std::path::PathBuf {
    let stack = dir.join(name);
    std::fs::create_dir_all(&stack).unwrap();
    let settings =
        format!("stack {{\n  name = \"{name}\"\n  state {{\n    backend = \"cluster\"\n  }}\n}}\n{extra}");
    std::fs::write(stack.join("stack.hcl"), settings).unwrap();
    std::fs::write(stack.join("jobs.hcl"), jobs).unwrap();
    stack
}

/// The webapp example (a store from a module, two services, a preflight, a worker, a periodic
/// report) applied through `deploy apply` with the management token, its services healthy
/// after 1 s instead of Nomad's default 10 s.
fn apply_webapp(dir: &Path, agent: &Agent, mgmt: &str) {
    let opts = apply_support::WebappOptions {
        store_port: apply_support::free_port(),
        min_healthy_time: Some("1s"),
        nomad_backend: None,
    };
    let stack = apply_support::copy_webapp(&dir.join("src"), &opts);
    let state = dir.join("webapp-state");
    let deploy = apply_support::Deploy::at(&format!("http://{}", agent.addr))
        .with("NOMAD_TOKEN", mgmt)
        .with_age_key();
    let (stack, state) = (stack.to_str().unwrap(), state.to_str().unwrap());
    let out = deploy.run(&["apply", "-auto-approve", "-state", state, stack]);
    assert!(
        out.status.success(),
        "deploy apply examples/webapp: {}{}\nagent log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        agent.log()
    );
}

/// A stack keeping its state in the cluster, applied twice (revisions 1 and 2): one periodic
/// job, its command changed by the second apply.
fn apply_shared_stack(dir: &Path, agent: &Agent, mgmt: &str) {
    for command in ["true", "/bin/true"] {
        let job = format!(
            "job \"ledger\" {{\n  type = \"batch\"\n  periodic {{\n    crons = [\"0 0 1 1 *\"]\n  }}\n  \
             group \"g\" {{\n    task \"t\" {{\n      driver = \"raw_exec\"\n      config {{\n        \
             command = \"{command}\"\n      }}\n    }}\n  }}\n}}\n"
        );
        let stack = write_shared_stack(dir, "shop", &job, "");
        let out = deploy_cmd(agent, mgmt)
            .args(["apply", "-auto-approve", "-state"])
            .arg(dir.join("state"))
            .arg(&stack)
            .output()
            .expect("run deploy apply");
        assert!(
            out.status.success(),
            "deploy apply: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_jobs_allocations_failures_and_logs_in_a_browser() {
    if let Some(reason) = browser_missing() {
        skip(&reason);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let _reaper = apply_support::TaskReaper::new(dir.path());
    let (agent, http, mgmt) = acl_agent(dir.path()).await;
    let viewer = token_with(&http, &agent, &mgmt, "viewer", VIEWER_RULES).await;
    apply_webapp(dir.path(), &agent, &mgmt);
    send(&http, &agent, "PUT", "/v1/jobs", &mgmt, Some(web_job(0))).await;
    send(&http, &agent, "PUT", "/v1/jobs", &mgmt, Some(nowhere_job())).await;
    let items = |v: Value| Some(json!({ "Items": v }));
    let config = items(json!({"user": "admin", "password": "ui-secret-pw"}));
    send(&http, &agent, "PUT", "/v1/var/app/config", &mgmt, config).await;
    let db = items(json!({"password": "ui-db-secret"}));
    send(&http, &agent, "PUT", "/v1/var/secret/db", &mgmt, db).await;
    apply_shared_stack(dir.path(), &agent, &mgmt);

    let script = format!("{}/tests/python/ui_browser.py", env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .arg(format!("http://{}", agent.addr))
        .env("UI_VIEWER_TOKEN", &viewer)
        .env("UI_MANAGEMENT_TOKEN", &mgmt)
        .env("UI_WEB_JOB", web_job(1).to_string())
        .env("UI_LATE_JOB", late_job().to_string());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    stop_and_wait(&http, &agent, &mgmt, "web").await;
    assert!(
        out.status.success() && stdout.contains("ui: every page checked"),
        "the browser check failed:\n{stdout}\n{stderr}\nagent log:\n{}",
        agent.log()
    );
}

/// `GET /ui/page/ROUTE` with `token` (none: anonymous): status and body.
async fn page(http: &reqwest::Client, agent: &Agent, route: &str, token: Option<&str>) -> (u16, String) {
    let mut req = http.get(agent.url(&format!("/ui/page/{route}")));
    if let Some(t) = token {
        req = req.header("X-Nomad-Token", t);
    }
    let resp = req.send().await.expect("page request");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_reads_nothing_gets_no_data_in_any_rendered_page() {
    let dir = tempfile::tempdir().unwrap();
    let (agent, http, mgmt) = acl_agent(dir.path()).await;
    // Data that only reads could reveal, each with a word no page prints by itself.
    let job = |arg: &str| {
        json!({"Job": {
            "ID": "hush", "Name": "hush", "Type": "batch", "Datacenters": ["dc1"],
            "TaskGroups": [{"Name": "quietgroup", "Count": 1,
                "Tasks": [{"Name": "quiettask", "Driver": "raw_exec",
                    "Config": {"command": "/bin/true", "args": [arg]}}]}],
        }})
    };
    send(&http, &agent, "PUT", "/v1/jobs", &mgmt, Some(job("one"))).await;
    send(&http, &agent, "PUT", "/v1/jobs", &mgmt, Some(job("two"))).await;
    let var = json!({"Items": {"quietkey": "quietvalue"}});
    send(&http, &agent, "PUT", "/v1/var/app/hush", &mgmt, Some(var)).await;
    apply_shared_stack(dir.path(), &agent, &mgmt);
    let node = send(&http, &agent, "GET", "/v1/nodes", &mgmt, None).await;
    let node_id = node[0]["ID"].as_str().expect("the dev node").to_owned();
    let alloc = wait_for(Duration::from_secs(30), || async {
        let a = send(&http, &agent, "GET", "/v1/job/hush/allocations", &mgmt, None).await;
        a[0]["ID"].as_str().map(str::to_owned)
    })
    .await
    .expect("the job's allocation");
    // A valid token for another namespace only.
    let nothing = token_with(
        &http,
        &agent,
        &mgmt,
        "elsewhere",
        r#"namespace "other" { policy = "read" }"#,
    )
    .await;

    // (route, what a reader sees there): the management token sees it, the others nothing.
    let routes = [
        ("jobs".to_string(), "ledger"),
        ("job/hush".to_string(), "quiettask"),
        ("job/hush/versions".to_string(), "quietgroup"),
        (format!("allocation/{alloc}"), "quiettask"),
        ("nodes".to_string(), "raw_exec"),
        (format!("node/{node_id}"), "raw_exec"),
        ("servers".to_string(), "Raft configuration"),
        ("vars".to_string(), "app/hush"),
        ("var/app/hush".to_string(), "quietkey"),
        ("var/app/hush?reveal=1".to_string(), "quietvalue"),
        ("stacks".to_string(), "shop"),
        ("stack/shop".to_string(), "revision 2"),
        ("stack/shop/rev/2".to_string(), "to replace"),
    ];
    let secrets = [
        "quietgroup",
        "quiettask",
        "quietkey",
        "quietvalue",
        "raw_exec",
        "ledger",
        "Raft configuration",
        "app/hush",
        "revision 2",
        "to replace",
        "lineage",
    ];
    for (route, seen) in &routes {
        let (status, body) = page(&http, &agent, route, Some(&mgmt)).await;
        assert_eq!(status, 200, "{route} with the management token: {body}");
        let word = seen.split('|').next().unwrap_or(seen);
        assert!(
            body.contains(word),
            "{route} with the management token lacks {word:?}: {body}"
        );
        for (who, token) in [
            ("a token for another namespace", Some(nothing.as_str())),
            ("no token", None),
        ] {
            let (status, body) = page(&http, &agent, route, token).await;
            // Refused; an object named by its ID is "unknown" to who may not read it.
            assert!(matches!(status, 403 | 404), "{route} with {who}: {status} {body}");
            assert!(
                status == 404 || body.contains("id=\"denied\""),
                "{route} with {who}: {body}"
            );
            for secret in secrets.iter().filter(|s| !route.contains(*s)) {
                assert!(
                    !body.contains(secret),
                    "{route} with {who} shows {secret:?}: {body}"
                );
            }
        }
    }
}

/// A batch job that runs until stopped, and one that waits for it to complete: an apply of
/// this stack stays in progress.
const SLOW_STACK: &str = "job \"slow\" {\n  type = \"batch\"\n  group \"g\" {\n    task \"t\" {\n      \
    driver = \"raw_exec\"\n      config {\n        command = \"/bin/sh\"\n        \
    args = [\"-c\", \"exec sleep 600 # deploy-ui-browser-test\"]\n      }\n    }\n  }\n}\n\
    job \"after\" {\n  type = \"batch\"\n  periodic {\n    crons = [\"0 0 1 1 *\"]\n  }\n  group \"g\" {\n    \
    task \"t\" {\n      driver = \"raw_exec\"\n      config {\n        command = \"/bin/true\"\n      }\n    }\n  }\n}\n";

#[tokio::test(flavor = "multi_thread")]
async fn the_stack_page_shows_an_apply_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let (agent, http, mgmt) = acl_agent(dir.path()).await;
    let deps = "dependency \"after\" {\n  depends_on = [job.slow]\n}\n";
    let stack = write_shared_stack(dir.path(), "busy", SLOW_STACK, deps);
    let mut apply = deploy_cmd(&agent, &mgmt)
        .args(["apply", "-auto-approve", "-timeout", "10m", "-state"])
        .arg(dir.path().join("state"))
        .arg(&stack)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("apply.err")).unwrap())
        .spawn()
        .expect("start deploy apply");
    // The apply writes its journal before it registers anything, and keeps it until the end.
    let shown = wait_for(Duration::from_secs(60), || async {
        let (status, body) = page(&http, &agent, "stack/busy", Some(&mgmt)).await;
        (status == 200 && body.contains("Apply in progress")).then_some(body)
    })
    .await;
    let _ = apply.kill();
    let _ = apply.wait();
    stop_and_wait(&http, &agent, &mgmt, "slow").await;
    let body = shown.unwrap_or_else(|| {
        let err = std::fs::read_to_string(dir.path().join("apply.err")).unwrap_or_default();
        panic!("no apply in progress on the stack page; apply said:\n{err}")
    });
    assert!(body.contains("applying"), "{body}");
    assert!(body.contains("to 1"), "the revision the apply will write: {body}");
    assert!(
        body.contains("running `deploy apply`"),
        "the lock's holder: {body}"
    );
}
