//! Exact behaviours of Nomad's API against a real dev agent: deployment actions on a
//! terminal deployment answer Nomad's texts and status (`can't pause terminal deployment`,
//! `can't resume ...`, `can't fail ...`).

mod client_harness;

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
