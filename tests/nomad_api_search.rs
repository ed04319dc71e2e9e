//! `/v1/search` and `/v1/search/fuzzy` against a real server: prefix matches per context with
//! `Truncations`, `all`, namespaces, fuzzy `{"ID","Scope"}` matches, bad contexts refused, and
//! python-nomad calling both (`tests/python/nomad_search.py`).

mod cluster_harness;

use std::time::Duration;

use cluster_harness::Cluster;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

async fn post(c: &Cluster, path: &str, body: Value) -> (u16, Value) {
    let resp = c
        .http
        .post(c.agents[0].url(path))
        .json(&body)
        .send()
        .await
        .expect("search");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_matches_as_nomads_does() {
    let c = Cluster::start(BIN, 1).await;
    c.wait_for_leader(Duration::from_secs(20)).await;
    for id in ["web-a", "web-b", "api"] {
        c.register(0, id, "1").await.expect("register");
    }
    let (status, r) = post(&c, "/v1/search", json!({"Prefix": "web", "Context": "jobs"})).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r,
        json!({"Matches": {"jobs": ["web-a", "web-b"]}, "Truncations": {"jobs": false}})
    );

    let (status, r) = post(&c, "/v1/search", json!({"Prefix": "", "Context": "all"})).await;
    assert_eq!(status, 200);
    let contexts: Vec<&String> = r["Matches"].as_object().expect("matches").keys().collect();
    assert_eq!(
        contexts,
        [
            "allocs",
            "deployments",
            "evals",
            "jobs",
            "namespaces",
            "nodes",
            "variables"
        ]
    );
    assert_eq!(r["Matches"]["jobs"].as_array().map(Vec::len), Some(3));
    // One evaluation per registration at least (the scheduler may add more), sorted.
    let evals = r["Matches"]["evals"].as_array().expect("evals");
    assert!(evals.len() >= 3, "{r}");
    assert!(evals.windows(2).all(|w| w[0].as_str() < w[1].as_str()), "{r}");
    assert_eq!(r["Matches"]["namespaces"], json!(["default"]));

    // Another namespace holds none of them.
    let body = json!({"Prefix": "web", "Context": "jobs", "Namespace": "other"});
    assert_eq!(post(&c, "/v1/search", body).await.1["Matches"]["jobs"], json!([]));

    let (status, r) = post(&c, "/v1/search/fuzzy", json!({"Text": "eb-", "Context": "jobs"})).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r["Matches"]["jobs"],
        json!([{"ID": "web-a", "Scope": ["default", "web-a"]}, {"ID": "web-b", "Scope": ["default", "web-b"]}])
    );
    assert_eq!(r["Truncations"]["jobs"], false);

    assert_eq!(
        post(&c, "/v1/search", json!({"Prefix": "w", "Context": "bogus"}))
            .await
            .0,
        400
    );
    assert_eq!(
        post(&c, "/v1/search/fuzzy", json!({"Text": "w", "Context": "jobs"}))
            .await
            .0,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_nomad_searches() {
    if !cluster_harness::python::python_nomad_available() {
        return;
    }
    let c = Cluster::start(BIN, 1).await;
    c.wait_for_leader(Duration::from_secs(20)).await;
    c.register(0, "pysearch", "1").await.expect("register");
    let (host, port) = c.agents[0].addr.split_once(':').expect("host:port");
    let args = vec![host.to_owned(), port.to_owned()];
    cluster_harness::python::run_script("nomad_search.py", args, vec![], "search answered as Nomad does")
        .await;
}
