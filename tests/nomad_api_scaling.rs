//! Scaling against a real dev agent: a group's `scaling` block stored as a policy
//! (`/v1/scaling/policies`, `/v1/scaling/policy/:id`), `POST /v1/job/:id/scale` (a new job
//! version, an evaluation, a scaling event; min/max checked; Nomad's refusals) and `GET
//! /v1/job/:id/scale`, and python-nomad reading the policies (`tests/python/nomad_scaling.py`).

mod client_harness;
mod cluster_harness;
mod reference_examples;

use std::time::Duration;

use client_harness::{Agent, get_json, http, register_job, secs, wait_for, wait_nodes};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

fn scaled_job(id: &str) -> Value {
    json!({"ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "web", "Count": 1,
            "Scaling": {"Min": 1, "Max": 3, "Enabled": true, "Policy": {"cooldown": "1m"}},
            "Update": {"MaxParallel": 2, "HealthCheck": "task_states", "MinHealthyTime": secs(5.0),
                       "HealthyDeadline": secs(60.0), "ProgressDeadline": secs(120.0)},
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "KillTimeout": secs(1.0),
                       "Config": {"command": "/bin/sh", "args": ["-c", "sleep 600"]}}]}]})
}

async fn scale(http: &reqwest::Client, agent: &Agent, job: &str, body: Value) -> (u16, Value, String) {
    let resp = http
        .post(agent.url(&format!("/v1/job/{job}/scale")))
        .json(&body)
        .send()
        .await
        .expect("scale");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

async fn running(http: &reqwest::Client, agent: &Agent, job: &str, n: usize) {
    let url = agent.url(&format!("/v1/job/{job}/allocations"));
    wait_for(Duration::from_secs(60), || async {
        let allocs = get_json(http, &url).await?;
        let live = allocs
            .as_array()?
            .iter()
            .filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
            .count();
        (live == n).then_some(())
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "{job} did not reach {n} running allocations; log:\n{}",
            agent.log()
        )
    });
}

/// Waits until the newest deployment of `job` is of `version` and has `status`.
async fn deployment(http: &reqwest::Client, agent: &Agent, job: &str, version: u64, status: &str) {
    let url = agent.url(&format!("/v1/job/{job}/deployment"));
    wait_for(Duration::from_secs(90), || async {
        let d = get_json(http, &url).await?;
        (d["JobVersion"] == version && d["Status"] == status).then_some(())
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "no {status} deployment of {job} v{version}; log:\n{}",
            agent.log()
        )
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_policies_and_scale_actions_answer_as_nomads() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = Agent::start(BIN, dir.path().join("a"), &["--dev", "--node", "scaler"]);
    wait_nodes(&http, &agent, 1).await;
    register_job(&http, &agent, &scaled_job("scaled")).await;
    register_job(
        &http,
        &agent,
        &json!({"ID": "plain", "Name": "plain", "Type": "batch",
        "Datacenters": ["dc1"], "TaskGroups": [{"Name": "g", "Count": 0,
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}]}),
    )
    .await;

    // The policy, as Nomad lists and reads it.
    let list = get_json(&http, &agent.url("/v1/scaling/policies"))
        .await
        .expect("policies");
    let rows = list.as_array().expect("list");
    assert_eq!(rows.len(), 1, "{list}");
    let id = rows[0]["ID"].as_str().expect("ID").to_owned();
    assert_eq!(id.len(), 36, "{list}");
    let target = json!({"Namespace": "default", "Job": "scaled", "Group": "web"});
    assert_eq!(rows[0]["Target"], target);
    assert_eq!(rows[0]["Type"], "horizontal");
    assert_eq!(rows[0]["Enabled"], true);
    let filtered = |q: &str| agent.url(&format!("/v1/scaling/policies?{q}"));
    assert_eq!(get_json(&http, &filtered("job=scaled")).await, Some(list.clone()));
    assert_eq!(get_json(&http, &filtered("job=plain")).await, Some(json!([])));
    assert_eq!(
        get_json(&http, &filtered("type=horizontal")).await,
        Some(list.clone())
    );
    assert_eq!(
        get_json(&http, &filtered("type=vertical_cpu")).await,
        Some(json!([]))
    );
    let policy = get_json(&http, &agent.url(&format!("/v1/scaling/policy/{id}")))
        .await
        .expect("policy");
    assert_eq!(
        (&policy["ID"], &policy["Min"], &policy["Max"], &policy["Target"]),
        (&json!(id), &json!(1), &json!(3), &target)
    );
    assert_eq!(policy["Policy"], json!({"cooldown": "1m"}));
    let unknown = http
        .get(agent.url("/v1/scaling/policy/00000000-0000-0000-0000-000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);

    // The same job again: no new version, the same policy.
    register_job(&http, &agent, &scaled_job("scaled")).await;
    let again = get_json(&http, &agent.url("/v1/scaling/policies")).await.unwrap();
    assert_eq!(again[0]["ID"], json!(id));
    running(&http, &agent, "scaled", 1).await;
    deployment(&http, &agent, "scaled", 0, "successful").await;

    // Refusals, with Nomad's texts.
    let refusals = [
        (
            json!({"Count": 5, "Target": {"Group": "web"}}),
            "group count was greater than scaling policy maximum: 5 > 3",
        ),
        (
            json!({"Count": 0, "Target": {"Group": "web"}}),
            "group count was less than scaling policy minimum: 0 < 1",
        ),
        (
            json!({"Count": 2, "Target": {}}),
            "missing task group name for scaling action",
        ),
        (
            json!({"Count": 2, "Target": {"Group": "nope"}}),
            "task group \"nope\" specified for scaling does not exist in job",
        ),
        (
            json!({"Count": -1, "Target": {"Group": "web"}}),
            "scaling action count can't be negative",
        ),
        (
            json!({"Count": 2, "Target": {"Group": "web", "Job": "other"}}),
            "job ID in payload did not match URL",
        ),
    ];
    for (body, text) in refusals {
        let (status, _, got) = scale(&http, &agent, "scaled", body.clone()).await;
        assert_eq!((status, got.as_str()), (400, text), "{body}");
    }
    let (status, _, _) = scale(
        &http,
        &agent,
        "missing",
        json!({"Count": 1, "Target": {"Group": "web"}}),
    )
    .await;
    assert_eq!(status, 404);

    // A count change: a new version, an evaluation, an event.
    let body = json!({"Count": 2, "Target": {"Group": "web"}, "Message": "more load",
        "Meta": {"metrics": ["cpu"]}});
    let (status, r, text) = scale(&http, &agent, "scaled", body).await;
    assert_eq!(status, 200, "{text}");
    if let Some(example) = reference_examples::example("jobs", "Scale Task Group", 0) {
        reference_examples::assert_has_fields("POST /v1/job/:id/scale", &example, &r, &[]);
    }
    let eval_id = r["EvalID"].as_str().expect("EvalID").to_owned();
    assert!(!eval_id.is_empty(), "{r}");
    assert!(r["EvalCreateIndex"].as_u64() > Some(0), "{r}");
    assert!(r["Index"].as_u64() > r["JobModifyIndex"].as_u64(), "{r}");
    let eval = get_json(&http, &agent.url(&format!("/v1/evaluation/{eval_id}")))
        .await
        .unwrap();
    assert_eq!(eval["TriggeredBy"], "job-scaling");
    let job = get_json(&http, &agent.url("/v1/job/scaled")).await.unwrap();
    assert_eq!(
        (&job["Version"], &job["TaskGroups"][0]["Count"]),
        (&json!(1), &json!(2))
    );
    assert_eq!(job["TaskGroups"][0]["Scaling"]["ID"], json!(id));
    // While the new version's deployment runs (each allocation must stay healthy for 5 s),
    // another count change is refused.
    deployment(&http, &agent, "scaled", 1, "running").await;
    let (status, _, text) = scale(
        &http,
        &agent,
        "scaled",
        json!({"Count": 3, "Target": {"Group": "web"}}),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (400, "job scaling blocked due to active deployment")
    );
    running(&http, &agent, "scaled", 2).await;
    deployment(&http, &agent, "scaled", 1, "successful").await;

    // An event without a count: recorded, no version, no evaluation.
    let (status, r, text) = scale(
        &http,
        &agent,
        "scaled",
        json!({"Target": {"Group": "web"}, "Error": true, "Message": "metrics unavailable"}),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(r["EvalID"], "");
    let job = get_json(&http, &agent.url("/v1/job/scaled")).await.unwrap();
    assert_eq!(job["Version"], 1);
    assert_eq!(r["JobModifyIndex"], job["ModifyIndex"]);

    let s = get_json(&http, &agent.url("/v1/job/scaled/scale"))
        .await
        .expect("scale status");
    if let Some(example) = reference_examples::example("jobs", "Read Job Scale Status", 0) {
        reference_examples::assert_has_fields("GET /v1/job/:id/scale", &example, &s, &["TaskGroups"]);
    }
    assert_eq!(
        (&s["JobID"], &s["Namespace"], &s["JobStopped"]),
        (&json!("scaled"), &json!("default"), &json!(false))
    );
    assert_eq!(s["JobCreateIndex"], job["CreateIndex"]);
    assert_eq!(s["JobModifyIndex"], job["ModifyIndex"]);
    let web = &s["TaskGroups"]["web"];
    assert_eq!(
        (&web["Desired"], &web["Running"], &web["Unhealthy"]),
        (&json!(2), &json!(2), &json!(0)),
        "{s}"
    );
    assert!(
        web["Healthy"].as_u64() >= Some(1) && web["Placed"].as_u64() >= web["Healthy"].as_u64(),
        "{s}"
    );
    let events = web["Events"].as_array().expect("events");
    assert_eq!(events.len(), 2, "{s}");
    assert_eq!(
        (&events[0]["Error"], &events[0]["Message"]),
        (&json!(true), &json!("metrics unavailable"))
    );
    assert_eq!(
        (&events[0]["Count"], &events[0]["EvalID"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(
        (&events[1]["Count"], &events[1]["PreviousCount"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(
        (&events[1]["EvalID"], &events[1]["Meta"]),
        (&json!(eval_id), &json!({"metrics": ["cpu"]}))
    );

    // Past the maximum with PolicyOverride.
    let (status, _, text) = scale(
        &http,
        &agent,
        "scaled",
        json!({"Count": 4, "Target": {"Group": "web"}, "PolicyOverride": true}),
    )
    .await;
    assert_eq!(status, 200, "{text}");

    // Purged: the policy and the events go with the job.
    let purge = http
        .delete(agent.url("/v1/job/scaled?purge=true"))
        .send()
        .await
        .unwrap();
    assert!(purge.status().is_success());
    assert_eq!(
        get_json(&http, &agent.url("/v1/scaling/policies")).await,
        Some(json!([]))
    );
    assert_eq!(
        http.get(agent.url("/v1/job/scaled/scale"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_nomad_reads_scaling_policies() {
    if !cluster_harness::python::python_nomad_available() {
        return;
    }
    let c = cluster_harness::Cluster::start(BIN, 1).await;
    c.wait_for_leader(Duration::from_secs(20)).await;
    let resp = c
        .http
        .put(c.agents[0].url("/v1/jobs"))
        .json(&json!({"Job": scaled_job("pyscaled")}))
        .send()
        .await
        .expect("register");
    assert!(resp.status().is_success());
    let (host, port) = c.agents[0].addr.split_once(':').expect("host:port");
    let args = vec![host.to_owned(), port.to_owned()];
    cluster_harness::python::run_script("nomad_scaling.py", args, vec![], "scaling answered as Nomad does")
        .await;
}
