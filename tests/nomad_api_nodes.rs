//! Node and system endpoints against a real dev agent: `GET /v1/nodes?resources=true&os=true`,
//! `POST /v1/node/:id/evaluate`, `POST /v1/node/:id/purge` (its allocations lost), `PUT
//! /v1/system/reconcile/summaries`, and python-nomad calling each (`tests/python/nomad_nodes.py`).

mod client_harness;
mod cluster_harness;
mod reference_examples;

use client_harness::{Agent, get_json, http, register_job, secs, wait_job_alloc, wait_nodes};
use serde_json::{Value, json};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

async fn post(http: &reqwest::Client, url: String) -> (u16, Value) {
    let resp = http.post(url).send().await.expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn sleeper(id: &str) -> Value {
    json!({"ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": 1,
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "KillTimeout": secs(1.0),
                       "Config": {"command": "/bin/sh", "args": ["-c", "sleep 600"]}}]}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_stubs_evaluate_purge_and_reconcile_answer_as_nomads() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = Agent::start(BIN, dir.path().join("a"), &["--dev", "--node", "purged"]);
    let node_id = wait_nodes(&http, &agent, 1).await[0].1.clone();
    let node = get_json(&http, &agent.url(&format!("/v1/node/{node_id}")))
        .await
        .expect("node");

    let plain = get_json(&http, &agent.url("/v1/nodes")).await.expect("nodes");
    assert_eq!(plain[0]["Attributes"], Value::Null, "{plain}");
    assert!(plain[0].get("NodeResources").is_none(), "{plain}");
    assert!(plain[0].get("ReservedResources").is_none(), "{plain}");
    let full = get_json(&http, &agent.url("/v1/nodes?resources=true&os=true"))
        .await
        .expect("nodes");
    assert_eq!(full[0]["NodeResources"], node["NodeResources"]);
    assert_eq!(full[0]["ReservedResources"], node["ReservedResources"]);
    assert!(
        full[0]["NodeResources"]["Memory"]["MemoryMB"].as_u64() > Some(0),
        "{full}"
    );
    let os =
        json!({"os.name": node["Attributes"]["os.name"], "os.version": node["Attributes"]["os.version"]});
    assert_eq!(full[0]["Attributes"], os);
    assert!(os["os.name"].as_str().is_some_and(|s| !s.is_empty()), "{node}");
    if let Some(example) = reference_examples::example("nodes", "List Nodes", 0) {
        reference_examples::assert_has_fields(
            "GET /v1/nodes?resources=true",
            &example,
            &full,
            &["Attributes", "Drivers"],
        );
    }
    let bad = http.get(agent.url("/v1/nodes?os=maybe")).send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);

    register_job(&http, &agent, &sleeper("onnode")).await;
    let alloc = wait_job_alloc(&http, &agent, "onnode", Duration::from_secs(60), |a| {
        a["ClientStatus"] == "running"
    })
    .await;

    // Evaluate: one node-update evaluation for the job on the node.
    let (status, r) = post(&http, agent.url(&format!("/v1/node/{node_id}/evaluate"))).await;
    assert_eq!(status, 200, "{r}");
    if let Some(example) = reference_examples::example("nodes", "Create Node Evaluation", 0) {
        reference_examples::assert_has_fields("POST /v1/node/:id/evaluate", &example, &r, &[]);
    }
    let evals = r["EvalIDs"].as_array().expect("EvalIDs");
    assert_eq!(evals.len(), 1, "{r}");
    assert_eq!(r["EvalCreateIndex"], r["Index"]);
    let node_now = get_json(&http, &agent.url(&format!("/v1/node/{node_id}")))
        .await
        .unwrap();
    assert_eq!(r["NodeModifyIndex"], node_now["ModifyIndex"]);
    let eval_url = agent.url(&format!("/v1/evaluation/{}", evals[0].as_str().unwrap()));
    let eval = get_json(&http, &eval_url).await.expect("eval");
    assert_eq!(
        (&eval["TriggeredBy"], &eval["JobID"], &eval["NodeID"]),
        (&json!("node-update"), &json!("onnode"), &json!(node_id))
    );
    let unknown = agent.url("/v1/node/00000000-0000-0000-0000-000000000000/evaluate");
    assert_eq!(post(&http, unknown).await.0, 404);

    // Reconcile: an empty 200 once applied, at a new index.
    let resp = http
        .put(agent.url("/v1/system/reconcile/summaries"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let index: u64 = resp.headers()["X-Nomad-Index"].to_str().unwrap().parse().unwrap();
    assert!(index > r["Index"].as_u64().unwrap(), "{index}");
    assert_eq!(resp.text().await.unwrap(), "");
    let job = get_json(&http, &agent.url("/v1/job/onnode")).await.unwrap();
    assert_eq!(job["Status"], "running");

    // Purge: the node leaves, its allocation is lost and its job evaluated.
    let (status, r) = post(&http, agent.url(&format!("/v1/node/{node_id}/purge"))).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["EvalIDs"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(
        (&r["NodeModifyIndex"], &r["EvalCreateIndex"]),
        (&r["Index"], &r["Index"])
    );
    if let Some(example) = reference_examples::example("nodes", "Purge Node", 0) {
        reference_examples::assert_has_fields("POST /v1/node/:id/purge", &example, &r, &[]);
    }
    let purged_at = r["Index"].as_u64().unwrap();
    let lost = get_json(
        &http,
        &agent.url(&format!("/v1/allocation/{}", alloc["ID"].as_str().unwrap())),
    )
    .await
    .unwrap();
    assert_eq!(lost["ClientStatus"], "lost", "{lost}");
    // The client is alive, so it may register again: then as a new node record.
    let again = http
        .get(agent.url(&format!("/v1/node/{node_id}")))
        .send()
        .await
        .unwrap();
    if again.status().as_u16() != 404 {
        let n: Value = again.json().await.unwrap();
        assert!(n["CreateIndex"].as_u64() > Some(purged_at), "{n}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_nomad_drives_node_and_system_calls() {
    if !cluster_harness::python::python_nomad_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = Agent::start(BIN, dir.path().join("a"), &["--dev", "--node", "pynode"]);
    wait_nodes(&http, &agent, 1).await;
    register_job(&http, &agent, &sleeper("pynodejob")).await;
    wait_job_alloc(&http, &agent, "pynodejob", Duration::from_secs(60), |a| {
        a["ClientStatus"] == "running"
    })
    .await;
    let (host, port) = agent.addr.split_once(':').expect("host:port");
    let args = vec![host.to_owned(), port.to_owned()];
    cluster_harness::python::run_script("nomad_nodes.py", args, vec![], "nodes answered as Nomad does").await;
}
