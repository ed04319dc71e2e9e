//! The client's HTTP routes: `/v1/client/fs/logs/:alloc` (stdout/stderr, follow, origin and
//! offset, plain or Nomad's framed JSON) and `/v1/client/allocation/:id/stats`; the other file
//! routes live in `fs_http`, host stats in `host_stats`, signal and restart in `actions`.
//! Requests for allocations this client does not run go to the client that does
//! (`http::node_proxy`).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Client;
use super::alloc_dir::AllocDir;
use super::logs::read_logs;
use crate::cluster::http::node_proxy;

/// Query of the logs route.
#[derive(Debug, Deserialize)]
pub struct LogsQuery {
    task: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    follow: Option<bool>,
    origin: Option<String>,
    offset: Option<u64>,
    plain: Option<bool>,
}

pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

/// The client routes, to serve on the client's own address or merge into a server's router.
pub fn router(client: Arc<Client>) -> Router {
    Router::new()
        .route("/v1/client/fs/logs/{alloc}", get(logs))
        .route("/v1/client/allocation/{id}/stats", get(stats))
        .with_state(client)
}

fn frame(data: &[u8], file: &str, offset: u64) -> Vec<u8> {
    let f = json!({"Data": base64::engine::general_purpose::STANDARD.encode(data), "File": file, "Offset": offset});
    serde_json::to_vec(&f).unwrap_or_default()
}

/// Forwards a GET for an allocation this client does not run to the client that does; 404
/// when none is known or the request was forwarded already.
pub(super) async fn elsewhere(
    client: &Client,
    alloc: &str,
    headers: &HeaderMap,
    uri: &OriginalUri,
) -> Response {
    let path = uri.path_and_query().map_or("", |p| p.as_str());
    let get = node_proxy::Forward {
        method: axum::http::Method::GET,
        path_and_query: path,
        headers,
        body: bytes::Bytes::new(),
    };
    elsewhere_with(client, alloc, get).await
}

/// Forwards request `f` for allocation `alloc` to the client that runs it.
pub(super) async fn elsewhere_with(client: &Client, alloc: &str, f: node_proxy::Forward<'_>) -> Response {
    let unknown = || {
        error(
            StatusCode::NOT_FOUND,
            format!("unknown allocation {alloc:?} on this client"),
        )
    };
    if node_proxy::was_forwarded(f.headers) {
        return unknown();
    }
    let own = &client.config().http_addr;
    match client.ctx.api.alloc_node_addr(alloc).await {
        Ok(Some(addr)) if &addr != own => {
            node_proxy::forward_to(&client.ctx.agents, &client.config().http_transport, &addr, f).await
        }
        _ => unknown(),
    }
}

/// Whether `alloc` may name an allocation directory (a UUID-like ID).
pub(super) fn valid_alloc_id(alloc: &str) -> bool {
    !alloc.is_empty() && alloc.len() <= 64 && alloc.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

async fn logs(
    State(client): State<Arc<Client>>,
    Path(alloc): Path<String>,
    Query(q): Query<LogsQuery>,
    headers: HeaderMap,
    uri: OriginalUri,
) -> Response {
    let Some(task) = q.task.filter(|t| !t.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "must include task name");
    };
    if !super::beneath::is_single_component(&task) {
        return error(StatusCode::BAD_REQUEST, format!("invalid task name {task:?}"));
    }
    let kind = q.kind.unwrap_or_else(|| "stdout".into());
    if kind != "stdout" && kind != "stderr" {
        return error(StatusCode::BAD_REQUEST, "type must be stdout or stderr");
    }
    let valid_id = valid_alloc_id(&alloc);
    let dir = AllocDir::new(&client.config().alloc_root(), &alloc).logs();
    // Finished allocations keep their logs until their directory is collected.
    if !valid_id {
        return error(
            StatusCode::BAD_REQUEST,
            format!("invalid allocation ID {alloc:?}"),
        );
    }
    if !dir.is_dir() {
        return elsewhere(&client, &alloc, &headers, &uri).await;
    }
    let base = format!("{task}.{kind}");
    let from_end = q.origin.as_deref() == Some("end");
    let (first, pos) = match read_logs(&dir, &base, q.offset.unwrap_or(0), from_end) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let plain = q.plain.unwrap_or(false);
    let file = format!("alloc/logs/{base}");
    let encode = move |bytes: &[u8], offset: u64| {
        if plain {
            bytes.to_vec()
        } else {
            frame(bytes, &file, offset)
        }
    };
    if !q.follow.unwrap_or(false) {
        let body = if first.is_empty() && !plain {
            Vec::new()
        } else {
            encode(&first, pos)
        };
        return (
            [(
                header::CONTENT_TYPE,
                if plain { "text/plain" } else { "application/json" },
            )],
            body,
        )
            .into_response();
    }
    let first = encode(&first, pos);
    let stream = futures_util::stream::unfold(
        (Some(first), dir, base, pos),
        move |(first, dir, base, mut pos)| {
            let encode = encode.clone();
            async move {
                if let Some(f) = first {
                    return Some((Ok::<_, std::io::Error>(f), (None, dir, base, pos)));
                }
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let (bytes, total) = read_logs(&dir, &base, pos, false).ok()?;
                    if total < pos {
                        // Older files were rotated away: continue from what is there now.
                        pos = 0;
                        continue;
                    }
                    if !bytes.is_empty() {
                        return Some((Ok(encode(&bytes, total)), (None, dir, base, total)));
                    }
                }
            }
        },
    );
    Response::builder()
        .header(
            header::CONTENT_TYPE,
            if plain { "text/plain" } else { "application/json" },
        )
        .body(Body::from_stream(stream))
        .unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn stats(
    State(client): State<Arc<Client>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: OriginalUri,
) -> Response {
    let Some(shared) = client.alloc(&id) else {
        return elsewhere(&client, &id, &headers, &uri).await;
    };
    let handles: Vec<(String, super::driver::TaskHandle)> = shared
        .lock()
        .tasks
        .iter()
        .filter_map(|(k, s)| s.handle.clone().map(|h| (k.clone(), h)))
        .collect();
    let mut tasks = serde_json::Map::new();
    let (mut rss, mut ticks) = (0u64, 0u64);
    for (name, h) in handles {
        let Some(driver) = client.drivers().get(&h.driver) else {
            continue;
        };
        let usage = driver.stats(&h).await.unwrap_or(Value::Null);
        rss += usage["MemoryStats"]["RSS"]
            .as_u64()
            .or_else(|| usage["MemoryStats"]["Usage"].as_u64())
            .unwrap_or(0);
        ticks += usage["CpuStats"]["TotalTicks"].as_u64().unwrap_or(0);
        tasks.insert(
            name,
            json!({"ResourceUsage": usage, "Timestamp": super::task_state::now_nanos()}),
        );
    }
    let body = json!({
        "ResourceUsage": {"MemoryStats": {"RSS": rss}, "CpuStats": {"TotalTicks": ticks}},
        "Tasks": tasks,
        "Timestamp": super::task_state::now_nanos(),
    });
    axum::Json(body).into_response()
}
