//! Forwarded writes apply once: three real servers whose leader drops the reply to every other
//! forwarded write (`DEPLOY_TEST_LOSE_FORWARDED_REPLIES=1`), so the follower that forwarded it
//! proposes the same write again. Each write must still apply once: one job version, one
//! evaluation per register or stop, and a key created with `cas=0` answered as created, not
//! as a conflict with itself.

mod cluster_harness;

use std::time::Duration;

use cluster_harness::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// How many replies the leader's log says it dropped.
fn dropped_replies(c: &Cluster, leader: usize) -> usize {
    std::fs::read_to_string(c.agents[leader].data_dir().join("agent.log"))
        .unwrap_or_default()
        .matches("dropping the reply to a forwarded write")
        .count()
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The `CreateIndex` of each of the job's evaluations triggered by `trigger` (the scheduler
/// adds blocked ones of its own). A write applied twice re-creates its evaluation at the
/// second index.
async fn job_evals(c: &Cluster, i: usize, id: &str, trigger: &str) -> Vec<u64> {
    let (status, evals) = c.get(i, &format!("/v1/job/{id}/evaluations")).await;
    assert_eq!(status, 200, "{evals}");
    evals.as_array().map_or(Vec::new(), |e| {
        e.iter()
            .filter(|e| e["TriggeredBy"] == trigger)
            .filter_map(|e| e["CreateIndex"].as_u64())
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_forwarded_reply_is_lost_applies_once() {
    let c = Cluster::spawn_with_env(BIN, 3, 3, &[], &[("DEPLOY_TEST_LOSE_FORWARDED_REPLIES", "1")]);
    let leader = c.wait_for_leader(Duration::from_secs(30)).await;
    let f = c.other_than(leader);
    c.wait_for_http(f, Duration::from_secs(30)).await;

    // A job registered through the follower: the first reply is lost, the retry is answered.
    let index = c
        .register(f, "once", "1.0")
        .await
        .expect("register through a follower");
    assert_eq!(
        c.leader().await,
        Some(leader),
        "the leader changed; the test needs it stable"
    );
    assert!(
        dropped_replies(&c, leader) >= 1,
        "the leader dropped no reply: the retry was never exercised"
    );
    let (_, job) = c.get(leader, "/v1/job/once").await;
    assert_eq!(job["Version"], 0, "{job}");
    assert_eq!(job["JobModifyIndex"].as_u64(), Some(index), "{job}");
    assert_eq!(
        job_evals(&c, leader, "once", "job-register").await,
        vec![index],
        "one register evaluation, created with the job's version"
    );

    // Stopped through the follower: one new version, one evaluation.
    let before = dropped_replies(&c, leader);
    let (status, body) = send(c.http.delete(c.agents[f].url("/v1/job/once"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        dropped_replies(&c, leader) > before,
        "the stop's reply was not dropped"
    );
    let (_, versions) = c.get(leader, "/v1/job/once/versions").await;
    assert_eq!(
        versions["Versions"].as_array().map(Vec::len),
        Some(2),
        "{versions}"
    );
    let (_, job) = c.get(leader, "/v1/job/once").await;
    assert_eq!(
        job_evals(&c, leader, "once", "job-deregister").await,
        vec![job["JobModifyIndex"].as_u64().unwrap_or(0)],
        "one stop evaluation, created with the stopped version"
    );

    // A key created with cas=0 is created, not refused as existing (its own first apply).
    let url = c.agents[f].url("/v1/deploy/kv/once?cas=0");
    let (status, entry) = send(c.http.put(url).json(&json!({"Value": "v1"}))).await;
    assert_eq!(status, 200, "a cas=0 create answered {status}: {entry}");
    let (_, now) = c.get(leader, "/v1/deploy/kv/once").await;
    assert_eq!(now["ModifyIndex"], entry["ModifyIndex"], "{now} vs {entry}");
    assert_eq!(now["CreateIndex"], entry["CreateIndex"], "{now} vs {entry}");
    assert!(
        dropped_replies(&c, leader) >= 3,
        "every write above lost one reply"
    );
}
