//! The event stream against a real server: `GET /v1/event/stream` replays kept batches from
//! `?index=`, follows new ones, filters by `topic=Topic:Key` and namespace, refuses unknown
//! topics, and python-nomad reads it (`tests/python/nomad_events.py`).

mod cluster_harness;

use std::time::Duration;

use cluster_harness::{Cluster, job};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// Reads the stream at `path` until a batch holds an event `pick` accepts; returns that batch
/// and event. Panics after 30 s.
async fn first_match(c: &Cluster, path: &str, pick: impl Fn(&Value) -> bool) -> (Value, Value) {
    let mut resp = c.http.get(c.agents[0].url(path)).send().await.expect("stream");
    assert_eq!(resp.status().as_u16(), 200, "{path}");
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("no matching event on {path} in 30 s"))
            .expect("read")
            .expect("stream ended");
        buf.extend_from_slice(&chunk);
        while let Some(end) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            let batch: Value = serde_json::from_slice(&line).expect("one JSON value per line");
            for e in batch["Events"].as_array().into_iter().flatten() {
                if pick(e) {
                    return (batch.clone(), e.clone());
                }
            }
        }
    }
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_replays_follows_and_filters() {
    let c = Cluster::start(BIN, 1).await;
    c.wait_for_leader(Duration::from_secs(20)).await;
    c.register(0, "ev1", "1").await.expect("register ev1");

    // Replay from the start: the registration is a Job event shaped as Nomad's.
    let (batch, e) = first_match(&c, "/v1/event/stream?index=1&topic=Job:ev1", |e| {
        e["Key"] == "ev1"
    })
    .await;
    assert_eq!(keys(&batch), ["Events", "Index"]);
    assert_eq!(
        keys(&e),
        [
            "FilterKeys",
            "Index",
            "Key",
            "Namespace",
            "Payload",
            "Topic",
            "Type"
        ]
    );
    assert_eq!(
        (e["Topic"].as_str(), e["Type"].as_str()),
        (Some("Job"), Some("JobRegistered"))
    );
    assert_eq!(e["Namespace"], "default");
    assert_eq!(e["Index"], batch["Index"]);
    assert_eq!(e["Payload"]["Job"]["ID"], "ev1");
    assert_eq!(e["Payload"]["Job"]["ModifyIndex"], e["Index"]);
    // The filter let only the asked-for topic and key through.
    for other in batch["Events"].as_array().expect("events") {
        assert_eq!(
            (other["Topic"].as_str(), other["Key"].as_str()),
            (Some("Job"), Some("ev1"))
        );
    }

    // Live: a stream opened before a registration sees its evaluation, keyed by job ID.
    let http = c.http.clone();
    let url = c.agents[0].url("/v1/jobs");
    let later = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let resp = http.put(url).json(&json!({"Job": job("ev2", "1")})).send().await;
        resp.expect("register ev2").status().as_u16()
    });
    let (_, e) = first_match(&c, "/v1/event/stream?topic=Evaluation:ev2", |_| true).await;
    assert_eq!(later.await.expect("join"), 200);
    assert_eq!(e["Topic"], "Evaluation");
    assert_eq!(e["Type"], "EvaluationUpdated");
    assert!(
        e["FilterKeys"].as_array().expect("keys").contains(&json!("ev2")),
        "{e}"
    );
    assert_eq!(e["Payload"]["Evaluation"]["JobID"], "ev2");
    assert_eq!(e["Payload"]["Evaluation"]["ID"], e["Key"]);

    // Namespaces: jobs in `default` are not events of another namespace, and `*` sees them.
    let (_, e) = first_match(&c, "/v1/event/stream?index=1&namespace=*&topic=Job", |_| true).await;
    assert_eq!(e["Topic"], "Job");
    let (status, _) = c.get(0, "/v1/event/stream?topic=Bogus").await;
    assert_eq!(status, 400);
    let (status, _) = c.get(0, "/v1/event/stream?index=x").await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_of_another_namespace_skips_default_jobs() {
    let c = Cluster::start(BIN, 1).await;
    c.wait_for_leader(Duration::from_secs(20)).await;
    let url = c.agents[0].url("/v1/namespace/other");
    let resp = c.http.post(url).json(&json!({"Name": "other"})).send().await;
    assert_eq!(resp.expect("namespace").status().as_u16(), 200);
    c.register(0, "indefault", "1").await.expect("register");
    let mut other = job("inother", "1");
    other["Namespace"] = json!("other");
    let resp = c
        .http
        .put(c.agents[0].url("/v1/jobs"))
        .json(&json!({"Job": other}))
        .send()
        .await;
    assert_eq!(resp.expect("register").status().as_u16(), 200);
    // Replayed in order, the first Job event of `other` is `inother`: `indefault` came first
    // but is not of that namespace.
    let (_, e) = first_match(&c, "/v1/event/stream?index=1&namespace=other&topic=Job", |_| true).await;
    assert_eq!(
        (e["Key"].as_str(), e["Namespace"].as_str()),
        (Some("inother"), Some("other"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_nomad_reads_the_event_stream() {
    if !cluster_harness::python::python_nomad_available() {
        return;
    }
    let c = Cluster::start(BIN, 1).await;
    c.wait_for_leader(Duration::from_secs(20)).await;
    let (host, port) = c.agents[0].addr.split_once(':').expect("host:port");
    let args = vec![host.to_owned(), port.to_owned()];
    cluster_harness::python::run_script(
        "nomad_events.py",
        args,
        vec![],
        "the event stream answered as Nomad does",
    )
    .await;
}
