//! `/v1/metrics` against a real server: Nomad's JSON shape, the Prometheus text, a bad format
//! refused, and python-nomad reading it (`tests/python/nomad_metrics.py`).

mod cluster_harness;

use std::time::Duration;

use cluster_harness::Cluster;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

fn gauge<'a>(m: &'a Value, name: &str) -> Option<&'a Value> {
    m["Gauges"].as_array()?.iter().find(|g| g["Name"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_nomads_shapes() {
    let c = Cluster::start(BIN, 1).await;
    c.wait_for_leader(Duration::from_secs(20)).await;
    c.register(0, "m1", "1").await.expect("register");
    let (status, m) = c.get(0, "/v1/metrics").await;
    assert_eq!(status, 200);
    let mut keys: Vec<&str> = m
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["Counters", "Gauges", "Points", "Samples", "Timestamp"]);
    let leader = gauge(&m, "nomad.raft.leader").expect("leader gauge");
    assert_eq!(leader["Value"], 1.0);
    assert!(leader["Labels"].is_object(), "{leader}");
    assert_eq!(gauge(&m, "nomad.nomad.state.jobs").expect("jobs")["Value"], 1.0);
    let applied = gauge(&m, "nomad.raft.appliedIndex").expect("applied")["Value"].as_f64();
    assert!(applied.is_some_and(|i| i > 1.0), "{applied:?}");
    let requests = m["Counters"]
        .as_array()
        .expect("counters")
        .iter()
        .find(|c| c["Name"] == "nomad.http.requests")
        .expect("request counter");
    assert!(requests["Count"].as_u64().is_some_and(|n| n >= 2), "{requests}");

    let resp = c
        .http
        .get(c.agents[0].url("/v1/metrics?format=prometheus"))
        .send()
        .await;
    let resp = resp.expect("prometheus");
    assert_eq!(resp.status().as_u16(), 200);
    let text = resp.text().await.expect("text");
    assert!(
        text.contains("# TYPE nomad_raft_leader gauge\nnomad_raft_leader 1\n"),
        "{text}"
    );
    assert!(text.contains("nomad_nomad_state_jobs 1\n"), "{text}");
    assert!(text.contains("# TYPE nomad_http_requests counter\n"), "{text}");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').expect("name value");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    assert_eq!(c.get(0, "/v1/metrics?format=xml").await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_nomad_reads_metrics() {
    if !cluster_harness::python::python_nomad_available() {
        return;
    }
    let c = Cluster::start(BIN, 1).await;
    c.wait_for_leader(Duration::from_secs(20)).await;
    let (host, port) = c.agents[0].addr.split_once(':').expect("host:port");
    let args = vec![host.to_owned(), port.to_owned()];
    cluster_harness::python::run_script("nomad_metrics.py", args, vec![], "metrics answered as Nomad does")
        .await;
}
