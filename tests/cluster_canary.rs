//! Canary deployments on a real agent with raw_exec tasks: a destructive update places the
//! canary beside the old allocations, waits for `POST /v1/deployment/promote/:id` (refusals in
//! Nomad's words and status codes), then replaces the rest; with `auto_promote` a failing
//! canary fails the deployment, leaves the old allocations running and `auto_revert` goes back.

mod client_harness;

use std::time::Duration;

use client_harness::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// A service job of 2 running the test server, checked on port `check`, with one canary.
fn canary_job(server: &std::path::Path, marker: &str, check: &str, release: &str) -> Value {
    json!({
        "ID": "web", "Name": "web", "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "web", "Count": 2,
            "Networks": [{"DynamicPorts": [{"Label": "http"}, {"Label": "admin"}]}],
            "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
            "Update": {"MaxParallel": 1, "Canary": 1, "HealthCheck": "checks",
                       "MinHealthyTime": secs(0.5), "HealthyDeadline": secs(4.0),
                       "ProgressDeadline": secs(30.0)},
            "Services": [{
                "Name": "web-svc", "PortLabel": check, "Provider": "nomad",
                "Checks": [{"Type": "http", "Path": "/", "Interval": secs(0.3), "Timeout": secs(1.0)}],
            }],
            "Tasks": [{
                "Name": "server", "Driver": "raw_exec",
                "Config": {"command": server.display().to_string(), "args": ["${NOMAD_PORT_http}", marker]},
                "Env": {"RELEASE": release},
                "KillTimeout": secs(2.0),
            }],
        }],
    })
}

/// The job's deployment of `version` once `pred` holds for it.
async fn deployment(agent: &Agent, version: u64, pred: impl Fn(&Value) -> bool) -> Value {
    let http = http();
    wait_for(Duration::from_secs(40), || async {
        let ds = get_json(&http, &agent.url("/v1/job/web/deployments")).await?;
        ds.as_array()?
            .iter()
            .find(|d| d["JobVersion"] == version && pred(d))
            .cloned()
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "deployment of version {version} never as expected; log:\n{}",
            agent.log()
        )
    })
}

/// Running allocations of the job, as (job version, canary) pairs, sorted.
async fn running(agent: &Agent) -> Vec<(u64, bool)> {
    let http = http();
    let mut out = Vec::new();
    for stub in job_allocs(&http, agent, "web").await {
        let id = stub["ID"].as_str().unwrap_or_default();
        let Some(a) = get_json(&http, &agent.url(&format!("/v1/allocation/{id}"))).await else {
            continue;
        };
        if a["ClientStatus"] == "running" && a["DesiredStatus"] == "run" {
            let canary = a["DeploymentStatus"]["Canary"] == true;
            out.push((a["JobVersion"].as_u64().unwrap_or(0), canary));
        }
    }
    out.sort();
    out
}

async fn promote(agent: &Agent, id: &str, body: Value) -> (u16, String) {
    let r = http()
        .post(agent.url(&format!("/v1/deployment/promote/{id}")))
        .json(&body)
        .send()
        .await
        .expect("promote");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// Starts a dev agent and runs version 0 of the job to a successful deployment.
async fn started(dir: &std::path::Path, name: &str, marker: &str) -> Option<(Agent, std::path::PathBuf)> {
    let server_bin = match build_server(dir) {
        Ok(p) => p,
        Err(e) => {
            skip(&format!("cannot build the test server ({e})"));
            return None;
        }
    };
    let agent = Agent::start(
        BIN,
        dir.join(name),
        &["--dev", "--node", name, "--heartbeat-ttl", "3s"],
    );
    wait_nodes(&http(), &agent, 1).await;
    register_job(&http(), &agent, &canary_job(&server_bin, marker, "http", "1")).await;
    deployment(&agent, 0, |d| d["Status"] == "successful").await;
    Some((agent, server_bin))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_waits_for_promotion_then_the_rest_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("marker-{}", uuid::Uuid::new_v4());
    let Some((agent, server_bin)) = started(dir.path(), "canary1", &marker).await else {
        return;
    };
    let v0 = deployment(&agent, 0, |_| true).await;
    let (code, text) = promote(&agent, v0["ID"].as_str().unwrap(), json!({"All": true})).await;
    assert_eq!((code, text.trim()), (500, "can't promote terminal deployment"));

    register_job(&http(), &agent, &canary_job(&server_bin, &marker, "http", "2")).await;
    let d = deployment(&agent, 1, |d| {
        d["StatusDescription"] == "Deployment is running but requires manual promotion"
            && d["TaskGroups"]["web"]["HealthyAllocs"] == 1
    })
    .await;
    let g = &d["TaskGroups"]["web"];
    assert_eq!(
        (g["DesiredCanaries"].as_i64(), g["DesiredTotal"].as_i64()),
        (Some(1), Some(2)),
        "{d:#}"
    );
    assert_eq!(g["PlacedCanaries"].as_array().map(Vec::len), Some(1), "{d:#}");
    assert_eq!(g["Promoted"], false);
    assert_eq!(running(&agent).await, [(0, false), (0, false), (1, true)]);
    let id = d["ID"].as_str().unwrap().to_owned();
    let (code, text) = promote(&agent, &id, json!({"Groups": ["nope"]})).await;
    assert_eq!(code, 500, "{text}");

    let (code, text) = promote(&agent, &id, json!({"All": true})).await;
    assert_eq!(code, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert!(reply["EvalID"].as_str().is_some_and(|e| !e.is_empty()), "{reply}");
    let done = deployment(&agent, 1, |d| d["Status"] == "successful").await;
    assert_eq!(done["TaskGroups"]["web"]["Promoted"], true);
    assert_eq!(done["TaskGroups"]["web"]["HealthyAllocs"], 2);
    let settled = wait_for(Duration::from_secs(20), || async {
        let r = running(&agent).await;
        (r.len() == 2).then_some(r)
    })
    .await;
    assert_eq!(settled, Some(vec![(1, false), (1, true)]));
    stop_job(&http(), &agent, "web").await;
    kill_marked(&marker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_canary_fails_the_deployment_and_auto_revert_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("marker-{}", uuid::Uuid::new_v4());
    let Some((agent, server_bin)) = started(dir.path(), "canary2", &marker).await else {
        return;
    };
    // Checked on the port nothing listens on: the canary never becomes healthy.
    let mut bad = canary_job(&server_bin, &marker, "admin", "2");
    bad["TaskGroups"][0]["Update"]["AutoPromote"] = json!(true);
    bad["TaskGroups"][0]["Update"]["AutoRevert"] = json!(true);
    register_job(&http(), &agent, &bad).await;
    let failed = deployment(&agent, 1, |d| d["Status"] == "failed").await;
    assert_eq!(
        failed["StatusDescription"],
        "Failed due to unhealthy allocations - rolling back to job version 0"
    );
    assert_eq!(failed["TaskGroups"]["web"]["Promoted"], false);
    let (code, text) = promote(&agent, failed["ID"].as_str().unwrap(), json!({"All": true})).await;
    assert_eq!((code, text.trim()), (500, "can't promote terminal deployment"));
    let job = wait_for(Duration::from_secs(10), || async {
        let j = get_json(&http(), &agent.url("/v1/job/web")).await?;
        (j["Version"] == 2).then_some(j)
    })
    .await
    .expect("the job is reverted as version 2");
    assert_eq!(job["TaskGroups"][0]["Services"][0]["PortLabel"], "http");
    // The old allocations never stopped; the reverted version updates them in place.
    let settled = wait_for(Duration::from_secs(20), || async {
        let r = running(&agent).await;
        (r == [(2, false), (2, false)]).then_some(r)
    })
    .await;
    assert!(
        settled.is_some(),
        "running: {:?}; log:\n{}",
        running(&agent).await,
        agent.log()
    );
    stop_job(&http(), &agent, "web").await;
    kill_marked(&marker);
}
