//! Regions and namespaces against a real server: `/v1/regions`, namespaces as objects
//! (`/v1/namespaces`, `/v1/namespace/:name`), jobs scoped by `?namespace=` (and `*` on the
//! list), registration into a namespace that does not exist refused, and python-nomad
//! driving the same calls (`tests/python/nomad_namespaces.py`).

mod cluster_harness;

use std::time::Duration;

use cluster_harness::{Cluster, job};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

async fn send(req: reqwest::RequestBuilder) -> (u16, String, Option<u64>) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let index = resp
        .headers()
        .get("X-Nomad-Index")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (status, resp.text().await.unwrap_or_default(), index)
}

fn job_ids(list: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|j| {
            (
                j["Namespace"].as_str().unwrap_or("").to_owned(),
                j["ID"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_scope_jobs_as_nomads_do() {
    let c = Cluster::start(BIN, 1).await;
    c.wait_for_leader(Duration::from_secs(20)).await;
    let url = |p: &str| c.agents[0].url(p);
    assert_eq!(c.get(0, "/v1/regions").await, (200, json!(["global"])));
    let (status, list) = c.get(0, "/v1/namespaces").await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["Name"], "default");
    assert_eq!(list[0]["Description"], "Default shared namespace");

    // Registering into a namespace that does not exist is refused with Nomad's text.
    let mut web = job("web", "1");
    web["Namespace"] = json!("prod");
    let (status, text, _) = send(c.http.put(url("/v1/jobs")).json(&json!({"Job": web}))).await;
    assert_eq!(
        (status, text.as_str()),
        (400, r#"job "web" is in nonexistent namespace "prod""#)
    );

    let body = json!({"Name": "prod", "Description": "Production", "Meta": {"team": "a"}});
    let (status, text, index) = send(c.http.post(url("/v1/namespace/prod")).json(&body)).await;
    assert_eq!((status, text.as_str()), (200, ""));
    assert!(index.is_some_and(|i| i > 1), "X-Nomad-Index {index:?}");
    let (status, prod) = c.get(0, "/v1/namespace/prod").await;
    assert_eq!(status, 200);
    let mut keys: Vec<&str> = prod
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "Capabilities",
            "CreateIndex",
            "Description",
            "Meta",
            "ModifyIndex",
            "Name",
            "NodePoolConfiguration",
            "Quota"
        ]
    );
    assert_eq!(prod["Meta"], json!({"team": "a"}));
    assert_eq!(prod["Quota"], "");

    // Jobs by namespace: the query's namespace fills in the job's.
    let (status, text, _) = send(
        c.http
            .put(url("/v1/jobs?namespace=prod"))
            .json(&json!({"Job": job("web", "1")})),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    c.register(0, "api", "1").await.expect("default job");
    let (_, default_jobs) = c.get(0, "/v1/jobs").await;
    assert_eq!(job_ids(&default_jobs), [("default".to_owned(), "api".to_owned())]);
    let (_, prod_jobs) = c.get(0, "/v1/jobs?namespace=prod").await;
    assert_eq!(job_ids(&prod_jobs), [("prod".to_owned(), "web".to_owned())]);
    let (_, all) = c.get(0, "/v1/jobs?namespace=*").await;
    assert_eq!(job_ids(&all).len(), 2, "{all}");
    assert_eq!(c.get(0, "/v1/job/web").await.0, 404);
    assert_eq!(c.get(0, "/v1/job/web?namespace=prod").await.0, 200);

    // A namespace with jobs stays; `default` always stays; bad names are refused.
    let (status, text, _) = send(c.http.delete(url("/v1/namespace/prod"))).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("has jobs"), "{text}");
    let (status, text, _) = send(c.http.delete(url("/v1/namespace/default"))).await;
    assert_eq!(
        (status, text.as_str()),
        (400, "default namespace can not be deleted")
    );
    let (status, text, _) = send(
        c.http
            .post(url("/v1/namespace"))
            .json(&json!({"Name": "bad name"})),
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("invalid name"), "{text}");
    let (status, _, _) = send(c.http.post(url("/v1/namespace/a")).json(&json!({"Name": "b"}))).await;
    assert_eq!(status, 400);

    // Purge as Go's ParseBool reads it: a 400 for anything else.
    let (status, text, _) = send(c.http.delete(url("/v1/job/web?namespace=prod&purge=notabool"))).await;
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            r#"Failed to parse value of "purge" (notabool) as a bool: strconv.ParseBool: parsing "notabool": invalid syntax"#
        )
    );
    let (status, text, _) = send(c.http.delete(url("/v1/job/web?namespace=prod&purge=True"))).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(c.get(0, "/v1/job/web?namespace=prod").await.0, 404);
    let (status, text, _) = send(c.http.delete(url("/v1/namespace/prod"))).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(c.get(0, "/v1/namespace/prod").await.0, 404);
    assert_eq!(c.get(0, "/v1/namespace/nope").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_nomad_drives_regions_and_namespaces() {
    if !cluster_harness::python::python_nomad_available() {
        return;
    }
    let c = Cluster::start(BIN, 1).await;
    c.wait_for_leader(Duration::from_secs(20)).await;
    let (host, port) = c.agents[0].addr.split_once(':').expect("host:port");
    let args = vec![host.to_owned(), port.to_owned()];
    cluster_harness::python::run_script(
        "nomad_namespaces.py",
        args,
        vec![],
        "every namespace call answered as Nomad does",
    )
    .await;
}
