//! The requests the Nomad backend sends carry exactly Nomad's paths, query parameters, headers
//! and field names: a small HTTP server records them and answers with Nomad's documented
//! responses.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use deploy::api::{ClientConfig, NomadClient, QueryOptions};
use deploy::backend::{Backend, NomadBackend};
use deploy::spec::Job;
use serde_json::{Value, json};

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    uri: String,
    token: Option<String>,
    body: Value,
}

type Log = Arc<Mutex<Vec<Seen>>>;

async fn record(
    State(log): State<Log>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap()
    };
    let path = uri.path().to_string();
    log.lock().unwrap().push(Seen {
        method: method.to_string(),
        uri: uri.to_string(),
        token: headers
            .get("X-Nomad-Token")
            .map(|v| v.to_str().unwrap().to_string()),
        body,
    });
    let reply = match (method.as_str(), path.as_str()) {
        ("POST", "/v1/jobs") => {
            json!({"EvalID": "e1", "EvalCreateIndex": 10, "JobModifyIndex": 9, "Warnings": "", "Index": 10, "LastContact": 0, "KnownLeader": false})
        }
        ("POST", p) if p.ends_with("/plan") => {
            json!({"Index": 0, "NextPeriodicLaunch": "0001-01-01T00:00:00Z", "Warnings": "", "Diff": {"Type": "Added"}, "JobModifyIndex": 0, "Annotations": {"DesiredTGUpdates": {"cache": {"Place": 1}}}, "FailedTGAllocs": null, "CreatedEvals": null})
        }
        ("POST", p) if p.ends_with("/revert") => {
            json!({"EvalID": "e2", "EvalCreateIndex": 35, "JobModifyIndex": 34})
        }
        ("DELETE", _) => json!({"EvalID": "e3", "EvalCreateIndex": 36, "JobModifyIndex": 35}),
        ("GET", "/v1/job/missing") => return (StatusCode::NOT_FOUND, "job not found").into_response(),
        ("GET", "/v1/job/bad") => return (StatusCode::FORBIDDEN, "Permission denied").into_response(),
        ("GET", p) if p.ends_with("/deployment") => Value::Null,
        ("GET", p) if p.starts_with("/v1/job/") => json!({"ID": "cache", "Version": 3, "JobModifyIndex": 9}),
        _ => json!({}),
    };
    let mut resp = axum::Json(reply).into_response();
    resp.headers_mut().insert("X-Nomad-Index", "42".parse().unwrap());
    resp.headers_mut()
        .insert("X-Nomad-KnownLeader", "true".parse().unwrap());
    resp
}

async fn server() -> (String, Log) {
    let log: Log = Arc::default();
    let app = Router::new().fallback(record).with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), log)
}

fn backend(address: &str) -> NomadBackend {
    let config = ClientConfig {
        address: Some(address.to_string()),
        token: Some("s3cret".into()),
        namespace: Some("prod".into()),
        ..Default::default()
    };
    NomadBackend::new(NomadClient::new(config).unwrap().with_retries(0))
}

fn documented_register_payload() -> Job {
    // The sample payload of "Create Job" in the API reference.
    serde_json::from_value(json!({
        "Datacenters": ["dc1"], "ID": "cache", "NodePool": "prod",
        "TaskGroups": [{"Name": "cache",
            "Networks": [{"DynamicPorts": [{"Label": "db", "To": 6379}]}],
            "Services": [{"Name": "redis-cache", "PortLabel": "db"}],
            "Tasks": [{"Config": {"image": "redis:7", "ports": ["db"]}, "Driver": "docker", "Name": "redis"}]}]
    }))
    .unwrap()
}

#[tokio::test]
async fn register_plan_revert_stop_use_nomads_names() {
    let (address, log) = server().await;
    let backend = backend(&address);
    let job = documented_register_payload();

    let reg = backend.register_job(&job, Some(9)).await.unwrap();
    assert_eq!((reg.eval_id.as_str(), reg.job_modify_index), ("e1", 9));
    let plan = backend.plan_job(&job).await.unwrap();
    assert_eq!(plan.annotations.unwrap().desired_tg_updates["cache"].place, 1);
    let rev = backend.revert_job("prod", "cache", 2, Some(3)).await.unwrap();
    assert_eq!(rev.job_modify_index, 34);
    let stop = backend.deregister_job("prod", "cache", true).await.unwrap();
    assert_eq!(stop.eval_id, "e3");

    let seen = log.lock().unwrap().clone();
    assert!(
        seen.iter().all(|s| s.token.as_deref() == Some("s3cret")),
        "every request carries X-Nomad-Token"
    );

    assert_eq!(
        (seen[0].method.as_str(), seen[0].uri.as_str()),
        ("POST", "/v1/jobs?namespace=prod")
    );
    let body = seen[0].body.as_object().unwrap();
    assert_eq!(body["EnforceIndex"], json!(true));
    assert_eq!(body["JobModifyIndex"], json!(9));
    assert_eq!(body["PolicyOverride"], json!(false));
    // Every field of the documented sample payload is sent under the same name and value.
    let sent_job = &body["Job"];
    assert_eq!(sent_job["ID"], json!("cache"));
    assert_eq!(sent_job["NodePool"], json!("prod"));
    assert_eq!(
        sent_job["TaskGroups"][0]["Networks"][0]["DynamicPorts"][0]["To"],
        json!(6379)
    );
    assert_eq!(sent_job["TaskGroups"][0]["Services"][0]["PortLabel"], json!("db"));
    assert_eq!(
        sent_job["TaskGroups"][0]["Tasks"][0]["Config"],
        json!({"image": "redis:7", "ports": ["db"]})
    );

    assert_eq!(
        (seen[1].method.as_str(), seen[1].uri.as_str()),
        ("POST", "/v1/job/cache/plan?namespace=prod")
    );
    let keys: Vec<&String> = seen[1].body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Diff", "Job", "PolicyOverride"]);
    assert_eq!(seen[1].body["Diff"], json!(true));

    assert_eq!(
        (seen[2].method.as_str(), seen[2].uri.as_str()),
        ("POST", "/v1/job/cache/revert?namespace=prod")
    );
    assert_eq!(
        seen[2].body,
        json!({"JobID": "cache", "JobVersion": 2, "EnforcePriorVersion": 3})
    );

    assert_eq!(
        (seen[3].method.as_str(), seen[3].uri.as_str()),
        ("DELETE", "/v1/job/cache?namespace=prod&purge=true")
    );
}

#[tokio::test]
async fn reads_map_404_to_none_and_report_4xx_clearly() {
    let (address, log) = server().await;
    let backend = backend(&address);
    assert!(backend.read_job("prod", "missing").await.unwrap().is_none());
    let live = backend.read_job("prod", "cache").await.unwrap().unwrap();
    assert_eq!((live.version, live.job_modify_index), (3, 9));
    let err = backend.read_job("prod", "bad").await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.to_string(), "GET /v1/job/bad: 403 Permission denied");
    let (deployment, meta) = backend
        .latest_deployment(
            "prod",
            "cache",
            QueryOptions {
                index: Some(41),
                wait: Some(std::time::Duration::from_secs(1)),
            },
        )
        .await
        .unwrap();
    assert!(deployment.is_none());
    assert_eq!((meta.last_index, meta.known_leader), (42, true));
    let seen = log.lock().unwrap();
    assert_eq!(
        seen.last().unwrap().uri,
        "/v1/job/cache/deployment?namespace=prod&index=41&wait=1000ms"
    );
}

#[tokio::test]
async fn an_absent_server_is_a_clear_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = backend(&address).nodes().await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot connect to {address}")),
        "{err}"
    );
}
