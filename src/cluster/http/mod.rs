//! The agent's HTTP API: Nomad paths and shapes, plus the internal cluster routes.
//!
//! This file is the route table; handlers live one area per file and stay thin: parse the
//! request, call [`ClusterNode`], shape the answer. Every `/v1` answer carries
//! `X-Nomad-Index`, `X-Nomad-KnownLeader` and `X-Nomad-LastContact`.

mod agent;
mod allocs;
pub mod body;
pub mod clients;
pub mod error;
mod internal;
mod jobs;
mod kv;
mod operator;
pub mod query;
mod status;
mod vars;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use serde_json::Value;

use crate::cluster::raft::rpc;
use crate::cluster::server::ClusterNode;

/// What handlers share.
pub struct ApiContext {
    /// The server.
    pub node: Arc<ClusterNode>,
    /// The agent's configuration as `/v1/agent/self` shows it (`config` and `member`).
    pub agent_self: Value,
}

/// Handler state.
pub type Ctx = State<Arc<ApiContext>>;

/// The whole router: public API, internal cluster routes and Raft transport.
pub fn router(ctx: Arc<ApiContext>) -> Router {
    let api = Router::new()
        .route(
            "/v1/jobs",
            get(jobs::list).put(jobs::register).post(jobs::register),
        )
        .route(
            "/v1/job/{id}",
            get(jobs::read)
                .put(jobs::register_at)
                .post(jobs::register_at)
                .delete(jobs::deregister),
        )
        .route("/v1/job/{id}/versions", get(jobs::versions))
        .route("/v1/job/{id}/submission", get(jobs::submission))
        .route("/v1/vars", get(vars::list))
        .route(
            "/v1/var/{*path}",
            get(vars::read).put(vars::put).delete(vars::delete),
        )
        .route("/v1/deploy/kv", get(kv::list))
        .route("/v1/deploy/kv/{*key}", get(kv::read).put(kv::put).delete(kv::delete))
        .route("/v1/deploy/lease", put(kv::grant))
        .route("/v1/deploy/lease/{id}/renew", put(kv::renew))
        .route("/v1/deploy/lease/{id}", delete(kv::revoke))
        .route("/v1/nodes", get(allocs::nodes))
        .route("/v1/node/{id}", get(allocs::node))
        .route("/v1/node/{id}/allocations", get(allocs::node_allocations))
        .route("/v1/allocations", get(allocs::allocations))
        .route("/v1/allocation/{id}", get(allocs::allocation))
        .route("/v1/deployment/{id}", get(allocs::deployment))
        .route("/v1/services", get(allocs::services))
        .route("/v1/service/{name}", get(allocs::service))
        .route("/v1/status/leader", get(status::leader))
        .route("/v1/status/peers", get(status::peers))
        .route("/v1/agent/self", get(agent::agent_self))
        .route(
            "/v1/operator/raft/configuration",
            get(operator::configuration),
        )
        .route(
            "/v1/operator/raft/peer",
            post(operator::add_peer)
                .put(operator::add_peer)
                .delete(operator::remove_peer),
        )
        .layer(middleware::from_fn_with_state(
            Arc::clone(&ctx),
            leader_headers,
        ))
        .route(internal::INFO, get(internal::info))
        .route(internal::WRITE, post(internal::write))
        .route(internal::READ_INDEX, get(internal::read_index))
        .route(internal::JOIN, post(internal::join))
        .route(internal::LEAVE, post(internal::leave))
        .route(clients::REGISTER, put(clients::register))
        .route(clients::HEARTBEAT, put(clients::heartbeat))
        .route(clients::ALLOC_UPDATE, post(clients::alloc_update))
        .route(clients::SERVICES, put(clients::services))
        .route(clients::PLACE, post(clients::place))
        .route(clients::KV, get(clients::kv))
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .with_state(Arc::clone(&ctx));
    let node = &ctx.node;
    api.merge(rpc::router(
        node.raft().clone(),
        node.leader_contact().clone(),
    ))
}

/// Adds the leader headers to every API answer, and `X-Nomad-Index` where a handler did not.
async fn leader_headers(State(ctx): State<Arc<ApiContext>>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let node = &ctx.node;
    let headers = resp.headers_mut();
    let known = if node.leader_addr().is_some() {
        "true"
    } else {
        "false"
    };
    headers.insert("X-Nomad-KnownLeader", HeaderValue::from_static(known));
    headers.insert(
        "X-Nomad-LastContact",
        HeaderValue::from(node.last_contact_millis()),
    );
    if !headers.contains_key("X-Nomad-Index") {
        query::set_index(headers, node.state().index());
    }
    resp
}
