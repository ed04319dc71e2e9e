//! `GET /v1/metrics`: this server's gauges and counters in Nomad's JSON shape (`Counters`,
//! `Gauges`, `Points`, `Samples`, `Timestamp`), or Prometheus text with `format=prometheus`.
//!
//! Read from the replicated state when asked (nothing is sampled in the background): Raft
//! indexes and leadership, the broker's pending and blocked evaluations, jobs, nodes and
//! allocations by status; and the HTTP requests this agent has answered.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::{Query, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use super::error::ApiError;
use crate::cluster::fsm::State;

/// HTTP requests this agent's API has answered since it started.
static HTTP_REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Counts a request (a layer on the API router).
pub async fn count(req: Request, next: Next) -> Response {
    HTTP_REQUESTS.fetch_add(1, Ordering::Relaxed);
    next.run(req).await
}

/// Query of the metrics route.
#[derive(Debug, Deserialize)]
pub struct MetricsQuery {
    format: Option<String>,
}

/// One gauge: name, labels, value.
type Gauge = (&'static str, Vec<(&'static str, String)>, f64);

fn status_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn by_status(name: &'static str, statuses: impl Iterator<Item = String>, out: &mut Vec<Gauge>) {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for s in statuses {
        *counts.entry(s).or_default() += 1;
    }
    for (status, n) in counts {
        out.push((name, vec![("status", status)], n as f64));
    }
}

fn gauges(state: &State, leader: bool) -> Vec<Gauge> {
    let mut out: Vec<Gauge> = vec![
        ("nomad.raft.appliedIndex", vec![], state.index as f64),
        ("nomad.raft.leader", vec![], f64::from(u8::from(leader))),
        (
            "nomad.nomad.broker.total_pending",
            vec![],
            state.evals.pending().count() as f64,
        ),
        (
            "nomad.nomad.broker.total_blocked",
            vec![],
            state.evals.blocked().count() as f64,
        ),
        (
            "nomad.nomad.state.jobs",
            vec![],
            state.jobs.values().map(|m| m.len()).sum::<usize>() as f64,
        ),
    ];
    by_status(
        "nomad.nomad.nodes",
        state.nodes.values().map(|n| status_of(&n.status)),
        &mut out,
    );
    let allocs = state.allocs.values().map(|a| status_of(&a.client_status));
    by_status("nomad.client.allocations", allocs, &mut out);
    out
}

/// `GET /v1/metrics`.
pub async fn metrics(ctx: Ctx, Query(q): Query<MetricsQuery>) -> Result<Response, ApiError> {
    let gauges = gauges(&ctx.node.state().read(), ctx.node.is_leader());
    let requests = HTTP_REQUESTS.load(Ordering::Relaxed);
    match q.format.as_deref() {
        None | Some("") | Some("json") => Ok(Json(json_shape(&gauges, requests)).into_response()),
        Some("prometheus") => Ok((
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            prometheus(&gauges, requests),
        )
            .into_response()),
        Some(other) => Err(ApiError::bad_request(format!(
            "unknown format {other:?}: use json or prometheus"
        ))),
    }
}

fn json_shape(gauges: &[Gauge], requests: u64) -> Value {
    let gauges: Vec<Value> = gauges
        .iter()
        .map(|(name, labels, value)| {
            let labels: BTreeMap<&str, &str> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            json!({"Name": name, "Labels": labels, "Value": value})
        })
        .collect();
    let n = requests as f64;
    let counter = json!({"Name": "nomad.http.requests", "Labels": {}, "Count": requests,
        "Sum": n, "Min": 1.0, "Max": 1.0, "Mean": 1.0, "Rate": n, "Stddev": 0.0});
    json!({
        "Counters": [counter],
        "Gauges": gauges,
        "Points": [],
        "Samples": [],
        "Timestamp": chrono::Utc::now().format("%Y-%m-%d %H:%M:%S %z UTC").to_string(),
    })
}

fn prom_name(name: &str) -> String {
    name.replace(['.', '-'], "_")
}

fn prometheus(gauges: &[Gauge], requests: u64) -> String {
    let mut out = String::new();
    let mut typed = std::collections::BTreeSet::new();
    for (name, labels, value) in gauges {
        let name = prom_name(name);
        if typed.insert(name.clone()) {
            out.push_str(&format!("# TYPE {name} gauge\n"));
        }
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        match labels.is_empty() {
            true => out.push_str(&format!("{name} {value}\n")),
            false => out.push_str(&format!("{name}{{{}}} {value}\n", labels.join(","))),
        }
    }
    out.push_str("# TYPE nomad_http_requests counter\n");
    out.push_str(&format!("nomad_http_requests {requests}\n"));
    out
}
