//! The Nomad HTTP API beyond register and read, on a real server process: parse and
//! validate, job stability, evaluate, summary, allocation stop, node drain, deployments,
//! periodic launches (cron and force), dispatch, members; bad input refused with a 400 and
//! no change; ACLs (bootstrap, 403 without a token).

mod cluster_harness;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cluster_harness::Cluster;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

fn node(name: &str) -> Value {
    json!({
        "ID": format!("00000000-0000-0000-0000-{:0>12}", name),
        "Name": name, "Datacenter": "dc1", "NodePool": "default", "Status": "ready",
        "SchedulingEligibility": "eligible",
        "Attributes": {"kernel.name": "linux", "unique.network.ip-address": "127.0.0.1"},
        "Drivers": {"raw_exec": {"Detected": true, "Healthy": true}},
        "NodeResources": {"Cpu": {"CpuShares": 4000}, "Memory": {"MemoryMB": 8192},
                          "Disk": {"DiskMB": 100000}, "MinDynamicPort": 20000, "MaxDynamicPort": 32000},
    })
}

fn service(id: &str, count: u64) -> Value {
    json!({
        "ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "app", "Count": count,
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/sleep", "args": ["60"]},
                       "Resources": {"CPU": 100, "MemoryMB": 64}}]}],
    })
}

async fn send(c: &Cluster, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = c.http.request(method, c.agents[0].url(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn post(c: &Cluster, path: &str, body: Value) -> (u16, Value) {
    send(c, reqwest::Method::POST, path, Some(body)).await
}

/// Polls `f` until it returns Some, for at most `secs`.
async fn eventually<T>(secs: u64, what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn live_allocs(c: &Cluster, job: &str) -> Vec<Value> {
    let (_, list) = c.get(0, &format!("/v1/job/{job}/allocations")).await;
    list.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["DesiredStatus"] == "run")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn job_node_and_deployment_actions_answer_as_nomad() {
    let c = Cluster::start(BIN, 1).await;
    for n in ["a", "b"] {
        let body = json!({ "Node": node(n) });
        let (s, b) = c
            .rpc(0, reqwest::Method::PUT, "/v1/internal/node/register", Some(&body))
            .await;
        assert_eq!(s, 200, "{b}");
    }

    // Parse: HCL with variables, canonicalized.
    let hcl = "variable \"n\" {\n  type = number\n}\njob \"parsed\" {\n  group \"g\" {\n    count = var.n\n    task \"t\" {\n      driver = \"raw_exec\"\n      config {\n        command = \"true\"\n      }\n    }\n  }\n}\n";
    let (s, job) = post(
        &c,
        "/v1/jobs/parse",
        json!({"JobHCL": hcl, "Variables": "n = 2", "Canonicalize": true}),
    )
    .await;
    assert_eq!(s, 200, "{job}");
    assert_eq!(job["ID"], "parsed");
    assert_eq!(job["TaskGroups"][0]["Count"], 2);
    assert_eq!(job["Priority"], 50, "canonicalized");
    let (s, err) = post(&c, "/v1/jobs/parse", json!({"JobHCL": "job \"x\" {"})).await;
    assert_eq!(s, 400, "{err}");

    // Validate: problems listed, nothing registered.
    let mut bad = service("bad", 1);
    bad["TaskGroups"][0]["Count"] = json!(-1);
    let (s, v) = post(&c, "/v1/validate/job", json!({ "Job": bad })).await;
    assert_eq!(s, 200, "{v}");
    assert!(!v["ValidationErrors"].as_array().unwrap().is_empty(), "{v}");
    assert!(v["Error"].as_str().unwrap().contains("error"), "{v}");
    let (s, v) = post(&c, "/v1/validate/job", json!({ "Job": service("ok", 1) })).await;
    assert_eq!((s, v["ValidationErrors"].clone()), (200, json!([])), "{v}");

    // Register, then stability, evaluate and the summary.
    let (s, r) = post(&c, "/v1/jobs", json!({ "Job": service("web", 2) })).await;
    assert_eq!(s, 200, "{r}");
    let allocs = eventually(20, "2 allocations", async || {
        let a = live_allocs(&c, "web").await;
        (a.len() == 2).then_some(a)
    })
    .await;
    let (s, r) = post(&c, "/v1/job/web/stable", json!({"JobVersion": 0, "Stable": true})).await;
    assert_eq!(s, 200, "{r}");
    assert!(r["JobModifyIndex"].as_u64().is_some(), "{r}");
    let (_, versions) = c.get(0, "/v1/job/web/versions").await;
    assert_eq!(versions["Versions"][0]["Stable"], true, "{versions}");
    let (s, r) = post(&c, "/v1/job/web/evaluate", json!({"JobID": "web"})).await;
    assert_eq!(s, 200, "{r}");
    let (s, e) = c
        .get(0, &format!("/v1/evaluation/{}", r["EvalID"].as_str().unwrap()))
        .await;
    assert_eq!((s, e["TriggeredBy"].clone()), (200, json!("job-eval")), "{e}");
    let (s, sum) = c.get(0, "/v1/job/web/summary").await;
    assert_eq!(s, 200, "{sum}");
    assert_eq!(
        sum["Summary"]["app"]["Starting"], 2,
        "pending allocations count as starting: {sum}"
    );
    let (_, list) = c.get(0, "/v1/jobs").await;
    assert_eq!(list[0]["JobSummary"]["Summary"]["app"]["Starting"], 2, "{list}");

    // Stop one allocation: it is replaced.
    let stopped = allocs[0]["ID"].as_str().unwrap().to_owned();
    let (s, r) = post(&c, &format!("/v1/allocation/{stopped}/stop"), json!({})).await;
    assert_eq!(s, 200, "{r}");
    assert!(r["EvalID"].as_str().is_some_and(|e| !e.is_empty()), "{r}");
    eventually(20, "a replacement", async || {
        let a = live_allocs(&c, "web").await;
        (a.len() == 2 && a.iter().all(|x| x["ID"] != stopped.as_str())).then_some(())
    })
    .await;

    // Drain node a: nothing of web stays there; the drain completes; a stays ineligible.
    let node_a = node("a")["ID"].as_str().unwrap().to_owned();
    let (s, r) = post(
        &c,
        &format!("/v1/node/{node_a}/drain"),
        json!({"DrainSpec": {"Deadline": 60_000_000_000i64}}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert!(r["NodeModifyIndex"].as_u64().is_some(), "{r}");
    eventually(30, "allocations off the drained node", async || {
        let a = live_allocs(&c, "web").await;
        (a.len() == 2 && a.iter().all(|x| x["NodeID"] != node_a.as_str())).then_some(())
    })
    .await;
    eventually(20, "the drain to complete", async || {
        let (_, n) = c.get(0, &format!("/v1/node/{node_a}")).await;
        (n["DrainStrategy"].is_null() && n["SchedulingEligibility"] == "ineligible").then_some(())
    })
    .await;

    // Deployments: listed per job and overall; a missing one is a 404.
    let (s, d) = c.get(0, "/v1/job/web/deployments").await;
    assert_eq!(s, 200, "{d}");
    assert!(d.is_array());
    let (s, _) = c.get(0, "/v1/deployments").await;
    assert_eq!(s, 200);
    let (s, _) = post(&c, "/v1/deployment/fail/no-such-deployment", json!({})).await;
    assert_eq!(s, 404);
    if let Some(id) = d[0]["ID"].as_str() {
        let (s, r) = post(&c, &format!("/v1/deployment/pause/{id}"), json!({"Pause": true})).await;
        if d[0]["Status"] == "running" {
            assert_eq!(s, 200, "{r}");
            let (_, dep) = c.get(0, &format!("/v1/deployment/{id}")).await;
            assert_eq!(dep["Status"], "paused", "{dep}");
        }
    }

    // Periodic: a cron with seconds launches children; force launches one now.
    let mut periodic = service("tick", 1);
    periodic["Type"] = json!("batch");
    periodic["Periodic"] =
        json!({"Enabled": true, "Spec": "*/2 * * * * * *", "SpecType": "cron", "ProhibitOverlap": false});
    let (s, r) = post(&c, "/v1/jobs", json!({ "Job": periodic })).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["EvalID"], "", "a periodic parent is not evaluated itself");
    let child = eventually(15, "a periodic child", async || {
        let (_, list) = c.get(0, "/v1/jobs?prefix=tick/periodic-").await;
        list.as_array().and_then(|l| l.first().cloned())
    })
    .await;
    assert_eq!(child["ParentID"], "tick", "{child}");
    assert_eq!(child["Periodic"], false, "{child}");
    let mut nightly = periodic.clone();
    nightly["ID"] = json!("nightly");
    nightly["Name"] = json!("nightly");
    nightly["Periodic"]["Spec"] = json!("0 3 * * *");
    let (s, r) = post(&c, "/v1/jobs", json!({ "Job": nightly })).await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = post(&c, "/v1/job/nightly/periodic/force", json!({})).await;
    assert_eq!(s, 200, "{r}");
    assert!(r["EvalID"].as_str().is_some_and(|e| !e.is_empty()), "{r}");
    let (_, forced) = c.get(0, "/v1/jobs?prefix=nightly/periodic-").await;
    assert_eq!(forced.as_array().map(Vec::len), Some(1), "{forced}");
    let (s, r) = post(&c, "/v1/job/web/periodic/force", json!({})).await;
    assert_eq!(s, 400, "{r}");
    let (_, sum) = c.get(0, "/v1/job/tick/summary").await;
    let children = &sum["Children"];
    let total = ["Pending", "Running", "Dead"]
        .iter()
        .map(|k| children[k].as_u64().unwrap())
        .sum::<u64>();
    assert!(total >= 1, "{sum}");
    let (s, _) = send(&c, reqwest::Method::DELETE, "/v1/job/tick?purge=true", None).await;
    assert_eq!(s, 200);

    // Dispatch: meta checked, child registered, idempotency token honoured.
    let mut param = service("encode", 1);
    param["Type"] = json!("batch");
    param["ParameterizedJob"] =
        json!({"Payload": "optional", "MetaRequired": ["file"], "MetaOptional": null});
    let (s, r) = post(&c, "/v1/jobs", json!({ "Job": param })).await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = post(&c, "/v1/job/encode/dispatch", json!({})).await;
    assert_eq!(s, 400, "{r}");
    assert!(r.as_str().unwrap().contains("file"), "{r}");
    let (s, r) = post(
        &c,
        "/v1/job/encode/dispatch?idempotency_token=t1",
        json!({"Meta": {"file": "a.mp4"}, "Payload": "aGk="}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let dispatched = r["DispatchedJobID"].as_str().unwrap().to_owned();
    assert!(dispatched.starts_with("encode/dispatch-"), "{r}");
    let (s, j) = c
        .get(0, &format!("/v1/job/{}", dispatched.replace('/', "%2F")))
        .await;
    assert_eq!(s, 200, "{j}");
    assert_eq!(
        (j["Dispatched"].clone(), j["Meta"]["file"].clone()),
        (json!(true), json!("a.mp4"))
    );
    assert_eq!(j["Payload"], "aGk=");
    let (_, again) = post(
        &c,
        "/v1/job/encode/dispatch?idempotency_token=t1",
        json!({"Meta": {"file": "a.mp4"}}),
    )
    .await;
    assert_eq!(again["DispatchedJobID"], dispatched.as_str(), "{again}");

    // Members.
    let (s, m) = c.get(0, "/v1/agent/members").await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["Members"].as_array().map(Vec::len), Some(1), "{m}");
    assert_eq!(m["Members"][0]["Status"], "alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_gets_a_400_and_changes_nothing() {
    let c = Cluster::start(BIN, 1).await;
    let (s, _) = post(&c, "/v1/jobs", json!({ "Job": service("keep", 1) })).await;
    assert_eq!(s, 200);
    // The job as listed, less its summary (the scheduler may still be working on its
    // evaluation, which moves the summary's index but changes nothing of the job).
    let jobs = async || {
        let (_, mut list) = c.get(0, "/v1/jobs").await;
        for j in list.as_array_mut().into_iter().flatten() {
            j.as_object_mut().map(|o| o.remove("JobSummary"));
        }
        list
    };
    let before = jobs().await;
    let (_, versions_before) = c.get(0, "/v1/job/keep/versions").await;

    let mut negative = service("keep", 1);
    negative["TaskGroups"][0]["Count"] = json!(-3);
    let mut typo = service("keep", 1);
    typo["TaskGroups"][0]["Tasks"][0]["Driverr"] = json!("docker");
    let mut wrong_type = service("keep", 1);
    wrong_type["TaskGroups"][0]["Count"] = json!("two");
    let huge = "x".repeat(17 * 1024 * 1024);
    let cases: Vec<(&str, &str, reqwest::Body, &str)> = vec![
        (
            "malformed JSON",
            "/v1/jobs",
            "{\"Job\": {".into(),
            "Failed to parse JSON",
        ),
        (
            "not an object",
            "/v1/jobs",
            "[1, 2]".into(),
            "Failed to parse JSON",
        ),
        ("no job", "/v1/jobs", "{}".into(), "Job must be specified"),
        (
            "wrong type",
            "/v1/jobs",
            json!({ "Job": wrong_type }).to_string().into(),
            "Failed to decode job",
        ),
        (
            "unknown field",
            "/v1/jobs",
            json!({ "Job": typo }).to_string().into(),
            "Driverr",
        ),
        (
            "invalid spec",
            "/v1/jobs",
            json!({ "Job": negative }).to_string().into(),
            "error",
        ),
        (
            "path mismatch",
            "/v1/job/other",
            json!({ "Job": service("keep", 5) }).to_string().into(),
            "does not match",
        ),
        (
            "huge body",
            "/v1/jobs",
            format!("{{\"Job\": {{\"ID\": \"{huge}\"}}}}").into(),
            "could not be read",
        ),
        ("bad variable body", "/v1/var/app/x", "{\"Items\": 5}".into(), ""),
        (
            "dispatch to a non-parameterized job",
            "/v1/job/keep/dispatch",
            "{}".into(),
            "not a parameterized job",
        ),
        ("bad blocking index", "/v1/jobs?index=abc", "{}".into(), ""),
    ];
    // The server closes a connection after refusing an oversized body; a pooled connection
    // could carry the next case into that close, so each case has a connection of its own.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("HTTP client");
    for (what, path, body, text) in cases {
        let method = if what == "bad blocking index" {
            reqwest::Method::GET
        } else if path.starts_with("/v1/var/") {
            reqwest::Method::PUT
        } else {
            reqwest::Method::POST
        };
        let resp = http
            .request(method, c.agents[0].url(path))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = resp.status().as_u16();
        let answer = resp.text().await.unwrap_or_default();
        assert_eq!(status, 400, "{what}: {answer}");
        assert!(answer.contains(text), "{what}: {answer:?} lacks {text:?}");
    }
    let after = jobs().await;
    let (_, versions_after) = c.get(0, "/v1/job/keep/versions").await;
    assert_eq!(before, after, "no job changed");
    assert_eq!(versions_before, versions_after, "no version added");
    assert!(c.agent_self(0).await.is_some(), "the agent is still up");
}

/// A dev agent with ACLs on: every request without a known token is refused; bootstrap
/// gives a management token once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_refuse_requests_without_a_token() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "agent",
            "-dev",
            "-acl-enabled",
            "-bind",
            "127.0.0.1",
            "-http-port",
            &port.to_string(),
        ])
        .arg("-data-dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn agent");
    let base = format!("http://127.0.0.1:{port}");
    // reqwest is built without a default TLS provider; this test may run before any other
    // test of this binary has installed one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    eventually(30, "a leader", async || {
        let r = http.get(format!("{base}/v1/status/leader")).send().await.ok()?;
        let leader: String = r.json().await.ok()?;
        (!leader.is_empty()).then_some(())
    })
    .await;
    let status = |r: reqwest::Response| r.status().as_u16();
    let anonymous = http.get(format!("{base}/v1/jobs")).send().await.unwrap();
    assert_eq!(status(anonymous), 403);
    let forged = http
        .get(format!("{base}/v1/jobs"))
        .header("X-Nomad-Token", "not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(status(forged), 403);

    // The CLI bootstraps, like `nomad acl bootstrap`.
    let out = Command::new(BIN)
        .args(["acl", "bootstrap", "-json", "-address", &base])
        .env_remove("NOMAD_TOKEN")
        .output()
        .expect("deploy acl bootstrap");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token: Value = serde_json::from_slice(&out.stdout).expect("token JSON");
    assert_eq!(token["Type"], "management");
    let secret = token["SecretID"].as_str().unwrap().to_owned();

    let ok = http
        .get(format!("{base}/v1/jobs"))
        .header("X-Nomad-Token", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(status(ok), 200);
    let bearer = http
        .get(format!("{base}/v1/nodes"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(status(bearer), 200);
    let write = http
        .put(format!("{base}/v1/jobs"))
        .json(&json!({ "Job": service("guarded", 1) }))
        .send()
        .await
        .unwrap();
    assert_eq!(status(write), 403, "writes too need a token");
    let again = http
        .post(format!("{base}/v1/acl/bootstrap"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 400);
    assert!(again.text().await.unwrap().contains("already done"));
    let _ = child.kill();
    let _ = child.wait();
}
