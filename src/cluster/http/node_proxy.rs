//! Client routes (`/v1/client/fs/*/:alloc`, `/v1/client/allocation/:id/{stats,signal,restart,
//! gc}`, `/v1/client/stats?node_id=`, `/v1/client/gc?node_id=`) answered by the client agent that runs the allocation (or is
//! the node asked about), as Nomad's servers forward them.
//!
//! ```text
//!  request ─► agent without that allocation ─► node of the allocation (HTTPAddr) ─► its client
//!                                 (marked X-Deploy-Forwarded: never forwarded twice)
//! ```
//!
//! A server-only agent serves these paths through [`router`]; a client agent forwards the
//! allocations it does not run itself through [`to_node`].

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;

use super::ApiContext;
use crate::cluster::transport::Transport;

/// Header that marks a forwarded request.
pub const FORWARDED: &str = "X-Deploy-Forwarded";

/// Whether the request was already forwarded once.
pub fn was_forwarded(headers: &HeaderMap) -> bool {
    headers.contains_key(FORWARDED)
}

/// Largest request body forwarded (signal and restart requests are a few bytes).
pub const MAX_FORWARDED_BODY: usize = 64 * 1024;

/// Forwards a GET of `path_and_query` to the agent at `addr` (over `transport`) and streams its answer back. The
/// caller's ACL token goes along: the agent that runs the allocation checks it again.
pub async fn to_node(
    http: &reqwest::Client,
    transport: &Transport,
    addr: &str,
    path_and_query: &str,
    headers: &HeaderMap,
) -> Response {
    let get = Forward {
        method: Method::GET,
        path_and_query,
        headers,
        body: Bytes::new(),
    };
    forward_to(http, transport, addr, get).await
}

/// A request to pass on to another agent.
pub struct Forward<'a> {
    /// Its method.
    pub method: Method,
    /// Path and query, as asked.
    pub path_and_query: &'a str,
    /// The caller's headers (only the ACL token goes along).
    pub headers: &'a HeaderMap,
    /// Its body (at most [`MAX_FORWARDED_BODY`] bytes).
    pub body: Bytes,
}

/// Forwards `f` to the agent at `addr` (over `transport`) and streams its answer back.
pub async fn forward_to(
    http: &reqwest::Client,
    transport: &Transport,
    addr: &str,
    f: Forward<'_>,
) -> Response {
    let method = reqwest::Method::from_bytes(f.method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut req = http
        .request(method, transport.url(addr, f.path_and_query))
        .header(FORWARDED, "1");
    if !f.body.is_empty() {
        req = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(f.body);
    }
    let headers = f.headers;
    for name in ["X-Nomad-Token", "Authorization"] {
        if let Some(v) = headers.get(name) {
            req = req.header(name, v.as_bytes());
        }
    }
    let resp = req.send().await;
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("client agent at {addr} did not answer: {e}");
            return (StatusCode::BAD_GATEWAY, msg).into_response();
        }
    };
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let body = futures_util::stream::unfold(resp, |mut r| async move {
        match r.chunk().await {
            Ok(Some(bytes)) => Some((Ok::<_, std::io::Error>(bytes), r)),
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e)), r)),
        }
    });
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from_stream(body))
        .unwrap_or_else(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
}

/// The client routes of an agent that runs no client: each request goes to the node of its
/// allocation.
pub fn router(ctx: Arc<ApiContext>, transport: Transport) -> Router {
    // Not the server's own HTTP client: that one carries the cluster key.
    let http = transport
        .client_builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap_or_default();
    Router::new()
        .route("/v1/client/fs/logs/{alloc}", get(forward))
        .route("/v1/client/fs/ls/{alloc}", get(forward))
        .route("/v1/client/fs/stat/{alloc}", get(forward))
        .route("/v1/client/fs/cat/{alloc}", get(forward))
        .route("/v1/client/fs/readat/{alloc}", get(forward))
        .route("/v1/client/fs/stream/{alloc}", get(forward))
        .route("/v1/client/allocation/{id}/stats", get(forward))
        .route("/v1/client/allocation/{id}/signal", post(forward).put(forward))
        .route("/v1/client/allocation/{id}/restart", post(forward).put(forward))
        .route("/v1/client/allocation/{id}/gc", get(forward).put(forward))
        .route("/v1/client/stats", get(forward_by_node))
        .route("/v1/client/gc", get(forward_by_node).put(forward_by_node))
        .with_state(Proxy { ctx, http, transport })
}

#[derive(Clone)]
struct Proxy {
    ctx: Arc<ApiContext>,
    http: reqwest::Client,
    transport: Transport,
}

async fn forward(
    State(Proxy { ctx, http, transport }): State<Proxy>,
    Path(alloc): Path<String>,
    req: Request,
) -> Response {
    if was_forwarded(req.headers()) {
        return (StatusCode::NOT_FOUND, format!("unknown allocation {alloc:?}")).into_response();
    }
    let Some(addr) = ctx.node.alloc_node_addr(&alloc) else {
        return (StatusCode::NOT_FOUND, format!("unknown allocation {alloc:?}")).into_response();
    };
    pass_on(&http, &transport, &addr, req).await
}

/// Sends `req` on to the agent at `addr`, its body read up to [`MAX_FORWARDED_BODY`].
async fn pass_on(http: &reqwest::Client, transport: &Transport, addr: &str, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_FORWARDED_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let msg = format!("request body larger than {MAX_FORWARDED_BODY} bytes");
            return (StatusCode::PAYLOAD_TOO_LARGE, msg).into_response();
        }
    };
    let path = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let f = Forward {
        method: parts.method.clone(),
        path_and_query: path,
        headers: &parts.headers,
        body,
    };
    forward_to(http, transport, addr, f).await
}

/// `GET /v1/client/stats?node_id=` and `/v1/client/gc?node_id=` on a server: the node named
/// answers.
async fn forward_by_node(State(Proxy { ctx, http, transport }): State<Proxy>, req: Request) -> Response {
    let node_id = axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(req.uri())
        .ok()
        .and_then(|q| q.0.get("node_id").cloned())
        .unwrap_or_default();
    if node_id.is_empty() {
        let msg = format!(
            "missing node_id: a server answers {} for the node named by ?node_id=",
            req.uri().path()
        );
        return (StatusCode::BAD_REQUEST, msg).into_response();
    }
    if was_forwarded(req.headers()) {
        return (StatusCode::NOT_FOUND, format!("unknown node {node_id:?}")).into_response();
    }
    let Some(addr) = ctx.node.node_http_addr(&node_id) else {
        return (StatusCode::NOT_FOUND, format!("unknown node {node_id:?}")).into_response();
    };
    pass_on(&http, &transport, &addr, req).await
}
