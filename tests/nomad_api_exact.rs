//! Exact behaviours of Nomad's API against a real dev agent: deployment actions on a
//! terminal deployment answer Nomad's texts and status (`can't pause terminal deployment`,
//! `can't resume ...`, `can't fail ...`); `POST /v1/validate/job` without a job; job status as
//! Nomad derives it; dispatch idempotency tokens; a purged job registered again; allocation
//! health set through the API (and python-nomad's calls: `tests/python/nomad_exact.py`).

mod client_harness;
mod cluster_harness;

use std::time::Duration;

use client_harness::{Agent, get_json, http, register_job, secs, wait_for, wait_nodes};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

async fn post(http: &reqwest::Client, url: String) -> (u16, String) {
    let resp = http.post(url).send().await.expect("POST");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_on_a_terminal_deployment_answer_nomads_texts() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = Agent::start(BIN, dir.path().join("a"), &["--dev", "--node", "exact"]);
    wait_nodes(&http, &agent, 1).await;
    let job = json!({"ID": "sleepy", "Name": "sleepy", "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": 1,
            "Update": {"MaxParallel": 1, "HealthCheck": "task_states", "MinHealthyTime": secs(30.0),
                       "HealthyDeadline": secs(60.0), "ProgressDeadline": secs(120.0)},
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "KillTimeout": secs(1.0),
                       "Config": {"command": "/bin/sh", "args": ["-c", "sleep 600"]}}]}]});
    register_job(&http, &agent, &job).await;
    let deployment: Value = wait_for(Duration::from_secs(30), || async {
        let d = get_json(&http, &agent.url("/v1/job/sleepy/deployment")).await?;
        d["ID"].is_string().then_some(d)
    })
    .await
    .expect("the job's deployment");
    let id = deployment["ID"].as_str().unwrap().to_owned();
    let url = |verb: &str| agent.url(&format!("/v1/deployment/{verb}/{id}"));
    let (status, text) = post(&http, url("fail")).await;
    assert_eq!(status, 200, "{text}");
    let d = get_json(&http, &agent.url(&format!("/v1/deployment/{id}")))
        .await
        .expect("deployment");
    assert_eq!(d["Status"], "failed");

    let pause = http
        .post(url("pause"))
        .json(&json!({"DeploymentID": id, "Pause": true}));
    let resp = pause.send().await.unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.text().await.unwrap()),
        (500, "can't pause terminal deployment".to_owned())
    );
    let resume = http
        .post(url("pause"))
        .json(&json!({"DeploymentID": id, "Pause": false}));
    let resp = resume.send().await.unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.text().await.unwrap()),
        (500, "can't resume terminal deployment".to_owned())
    );
    assert_eq!(
        post(&http, url("fail")).await,
        (500, "can't fail terminal deployment".to_owned())
    );
    let unknown = agent.url("/v1/deployment/fail/00000000-0000-0000-0000-000000000000");
    assert_eq!(post(&http, unknown).await.0, 404);
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value, String) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

fn sleeper(id: &str, meta: &str) -> Value {
    json!({"ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"], "Meta": {"m": meta},
        "TaskGroups": [{"Name": "g", "Count": 1,
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "KillTimeout": secs(1.0),
                       "Config": {"command": "/bin/sh", "args": ["-c", "sleep 600"]}}]}]})
}

async fn job_status(http: &reqwest::Client, agent: &Agent, id: &str, want: &str) {
    let url = agent.url(&format!("/v1/job/{id}"));
    wait_for(Duration::from_secs(60), || async {
        let job = get_json(http, &url).await?;
        (job["Status"] == want).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("job {id} never became {want}; log:\n{}", agent.log()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_purge_dispatch_and_job_status_answer_as_nomads() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = Agent::start(BIN, dir.path().join("a"), &["--dev", "--node", "exact-jobs"]);
    wait_nodes(&http, &agent, 1).await;

    let (status, _, text) = send(http.post(agent.url("/v1/validate/job")).json(&json!({}))).await;
    assert_eq!((status, text.as_str()), (400, "Job must be specified"));

    // Job status as Nomad derives it.
    let once = json!({"ID": "once", "Name": "once", "Type": "batch", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": 1,
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}]});
    register_job(&http, &agent, &once).await;
    let mut cron = sleeper("cron", "a");
    cron["Type"] = json!("batch");
    cron["Periodic"] = json!({"Enabled": true, "Spec": "0 0 1 1 *", "SpecType": "cron"});
    register_job(&http, &agent, &cron).await;
    let mut param = sleeper("param", "a");
    param["Type"] = json!("batch");
    param["ParameterizedJob"] = json!({"Payload": "optional"});
    register_job(&http, &agent, &param).await;
    for id in ["cron", "param"] {
        let job = get_json(&http, &agent.url(&format!("/v1/job/{id}")))
            .await
            .unwrap();
        assert_eq!(job["Status"], "running", "{job}");
    }
    job_status(&http, &agent, "once", "dead").await;

    // Dispatch with an idempotency token answers the earlier child while it lives.
    let url = agent.url("/v1/job/param/dispatch?idempotency_token=tok-1");
    let (status, first, text) = send(http.post(url.clone()).json(&json!({}))).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        !first["EvalID"].as_str().unwrap_or_default().is_empty(),
        "{first}"
    );
    let (status, second, text) = send(http.post(url).json(&json!({}))).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(second["DispatchedJobID"], first["DispatchedJobID"]);
    assert_eq!(
        (&second["EvalID"], &second["EvalCreateIndex"]),
        (&json!(""), &json!(0))
    );
    assert_eq!(second["JobCreateIndex"], first["JobCreateIndex"]);
    let other = agent.url("/v1/job/param/dispatch?idempotency_token=tok-2");
    let (_, third, _) = send(http.post(other).json(&json!({}))).await;
    assert_ne!(third["DispatchedJobID"], first["DispatchedJobID"]);

    // After a purge the job is gone, and registered again it starts at version 0.
    register_job(&http, &agent, &sleeper("cycle", "a")).await;
    register_job(&http, &agent, &sleeper("cycle", "b")).await;
    let job = get_json(&http, &agent.url("/v1/job/cycle")).await.unwrap();
    assert_eq!(job["Version"], 1);
    let (status, _, _) = send(http.delete(agent.url("/v1/job/cycle?purge=true"))).await;
    assert_eq!(status, 200);
    let (status, _, _) = send(http.get(agent.url("/v1/job/cycle"))).await;
    assert_eq!(status, 404);
    register_job(&http, &agent, &sleeper("cycle", "c")).await;
    let job = get_json(&http, &agent.url("/v1/job/cycle")).await.unwrap();
    assert_eq!((&job["Version"], &job["Meta"]["m"]), (&json!(0), &json!("c")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_health_set_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = Agent::start(BIN, dir.path().join("a"), &["--dev", "--node", "exact-health"]);
    wait_nodes(&http, &agent, 1).await;
    let manual = |meta: &str| {
        let mut job = sleeper("manual", meta);
        // A changed environment replaces the allocation (a new one for each version).
        job["TaskGroups"][0]["Tasks"][0]["Env"] = json!({"VERSION": meta});
        job["TaskGroups"][0]["Update"] = json!({"MaxParallel": 1, "HealthCheck": "manual",
            "MinHealthyTime": secs(1.0), "HealthyDeadline": secs(600.0), "ProgressDeadline": secs(900.0)});
        job
    };
    let deployment_of = |version: u64| {
        let (http, agent) = (&http, &agent);
        async move {
            wait_for(Duration::from_secs(60), || async {
                let d = get_json(http, &agent.url("/v1/job/manual/deployment")).await?;
                (d["JobVersion"] == version).then_some(d)
            })
            .await
            .expect("the version's deployment")
        }
    };
    let running_alloc = |version: u64| {
        let (http, agent) = (&http, &agent);
        async move {
            let a = client_harness::wait_job_alloc(http, agent, "manual", Duration::from_secs(60), |a| {
                a["ClientStatus"] == "running" && a["JobVersion"] == version
            })
            .await;
            a["ID"].as_str().unwrap().to_owned()
        }
    };
    register_job(&http, &agent, &manual("a")).await;
    let d0 = deployment_of(0).await["ID"].as_str().unwrap().to_owned();
    let a0 = running_alloc(0).await;
    let health = |id: &str, body: Value| {
        http.post(agent.url(&format!("/v1/deployment/allocation-health/{id}")))
            .json(&body)
    };
    let (status, _, text) = send(health(&d0, json!({"HealthyAllocationIDs": ["nope"]}))).await;
    assert_eq!((status, text.as_str()), (500, "unknown alloc \"nope\""));
    let (status, _, text) = send(health(&d0, json!({}))).await;
    assert_eq!(
        (status, text.as_str()),
        (500, "must specify at least one healthy/unhealthy allocation ID")
    );
    let (status, _, _) = send(health(
        "00000000-0000-0000-0000-000000000000",
        json!({"HealthyAllocationIDs": [a0]}),
    ))
    .await;
    assert_eq!(status, 404);

    // Healthy: the allocation counts, the deployment completes.
    let (status, r, text) = send(health(&d0, json!({"HealthyAllocationIDs": [a0]}))).await;
    assert_eq!(status, 200, "{text}");
    assert!(!r["EvalID"].as_str().unwrap_or_default().is_empty(), "{r}");
    assert_eq!(
        (&r["DeploymentModifyIndex"], &r["RevertedJobVersion"]),
        (&r["Index"], &Value::Null)
    );
    let alloc = get_json(&http, &agent.url(&format!("/v1/allocation/{a0}")))
        .await
        .unwrap();
    assert_eq!(alloc["DeploymentStatus"]["Healthy"], true);
    wait_for(Duration::from_secs(30), || async {
        let d = get_json(&http, &agent.url(&format!("/v1/deployment/{d0}"))).await?;
        (d["Status"] == "successful").then_some(())
    })
    .await
    .expect("the deployment completes once its allocation is healthy");

    // Unhealthy (with python-nomad's spelling of the field): the deployment fails.
    register_job(&http, &agent, &manual("b")).await;
    let d1 = deployment_of(1).await["ID"].as_str().unwrap().to_owned();
    let a1 = running_alloc(1).await;
    let (status, _, text) = send(health(&d1, json!({"UnHealthyAllocationIDs": [a1]}))).await;
    assert_eq!(status, 200, "{text}");
    let d = get_json(&http, &agent.url(&format!("/v1/deployment/{d1}")))
        .await
        .unwrap();
    assert_eq!(
        (&d["Status"], &d["StatusDescription"]),
        (&json!("failed"), &json!("Failed due to unhealthy allocations"))
    );
    let (status, _, text) = send(health(&d1, json!({"HealthyAllocationIDs": [a1]}))).await;
    assert_eq!(
        (status, text.as_str()),
        (500, "can't set health of allocations for a terminal deployment")
    );

    if cluster_harness::python::python_nomad_available() {
        let (host, port) = agent.addr.split_once(':').expect("host:port");
        let args = [host, port, &d1, &a1].map(str::to_owned).to_vec();
        cluster_harness::python::run_script("nomad_exact.py", args, vec![], "exact behaviours as Nomad's")
            .await;
    }
}

/// A service job registered through the API without an `update` block reads back as Nomad's
/// does (its HTTP API canonicalizes a job first): each group with the default update strategy,
/// so its deployment tracks health and the allocation turns healthy after the default
/// `min_healthy_time` of 10 s; a batch job gets no update strategy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_registered_without_defaults_reads_back_canonicalized_and_turns_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = Agent::start(BIN, dir.path().join("a"), &["--dev", "--node", "exact-canon"]);
    wait_nodes(&http, &agent, 1).await;
    let plain = json!({"ID": "plain", "Name": "plain", "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": 1,
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "KillTimeout": secs(1.0),
                       "Config": {"command": "/bin/sh", "args": ["-c", "sleep 600"]}}]}]});
    register_job(&http, &agent, &plain).await;
    let job = get_json(&http, &agent.url("/v1/job/plain")).await.unwrap();
    let update = &job["TaskGroups"][0]["Update"];
    assert_eq!(update["MaxParallel"], 1, "{job}");
    assert_eq!(update["HealthCheck"], "checks", "{job}");
    assert_eq!(update["MinHealthyTime"], secs(10.0), "{job}");
    assert_eq!(update["HealthyDeadline"], secs(300.0), "{job}");
    assert_eq!(update["ProgressDeadline"], secs(600.0), "{job}");
    assert_eq!(job["TaskGroups"][0]["EphemeralDisk"]["SizeMB"], 300, "{job}");
    let healthy = wait_for(Duration::from_secs(60), || async {
        let allocs = get_json(&http, &agent.url("/v1/job/plain/allocations")).await?;
        (allocs[0]["DeploymentStatus"]["Healthy"] == json!(true)).then_some(())
    })
    .await;
    assert!(
        healthy.is_some(),
        "the allocation never turned healthy:\n{}",
        agent.log()
    );

    let mut once = plain.clone();
    once["ID"] = json!("once");
    once["Name"] = json!("once");
    once["Type"] = json!("batch");
    register_job(&http, &agent, &once).await;
    let job = get_json(&http, &agent.url("/v1/job/once")).await.unwrap();
    assert!(job["TaskGroups"][0]["Update"].is_null(), "{job}");
    let _ = http.delete(agent.url("/v1/job/plain?purge=true")).send().await;
    let _ = http.delete(agent.url("/v1/job/once?purge=true")).send().await;
}
