//! Client routes (`/v1/client/fs/logs/:alloc`, `/v1/client/allocation/:id/stats`) answered by
//! the client agent that runs the allocation, as Nomad's servers forward them.
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
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::ApiContext;
use crate::cluster::transport::Transport;

/// Header that marks a forwarded request.
pub const FORWARDED: &str = "X-Deploy-Forwarded";

/// Whether the request was already forwarded once.
pub fn was_forwarded(headers: &HeaderMap) -> bool {
    headers.contains_key(FORWARDED)
}

/// Forwards a GET of `path_and_query` to the agent at `addr` (over `transport`) and streams its answer back. The
/// caller's ACL token goes along: the agent that runs the allocation checks it again.
pub async fn to_node(
    http: &reqwest::Client,
    transport: &Transport,
    addr: &str,
    path_and_query: &str,
    headers: &HeaderMap,
) -> Response {
    let mut req = http
        .get(transport.url(addr, path_and_query))
        .header(FORWARDED, "1");
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
        .route("/v1/client/allocation/{id}/stats", get(forward))
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
    let path = req.uri().path_and_query().map_or("", |p| p.as_str()).to_owned();
    to_node(&http, &transport, &addr, &path, req.headers()).await
}
