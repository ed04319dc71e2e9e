//! The agent's HTTP API: Nomad paths and shapes. (The cluster's own calls, Raft and client
//! RPCs, are `cluster::rpc`, a router of their own.)
//!
//! This file is the route table; handlers live one area per file and stay thin: map the
//! request to a call of the server's endpoints (`server::endpoints`) and the answer back. Every `/v1` answer carries
//! `X-Nomad-Index`, `X-Nomad-KnownLeader` and `X-Nomad-LastContact`.
//!
//! Adding a route: also add one line for it to `cluster::acl::routes::ROUTES` (same pattern
//! text, its methods, the capability Nomad's docs list for it). The ACL middleware checks
//! every request against that table; a route without an entry answers only management tokens,
//! and `cargo test --lib cluster::acl` fails until the entry exists.

mod acl;
mod acl_by_id;
mod acl_objects;
mod agent;
pub mod agent_control;
mod allocations;
pub mod body;
mod deployments;
pub mod error;
mod evaluations;
mod events;
mod job_actions;
mod jobs;
mod keyring;
mod kv;
mod metrics;
mod monitor;
mod namespaces;
pub mod node_proxy;
pub mod nodes;
mod operator;
mod operator_actions;
pub mod parse;
mod plan;
pub mod query;
mod read;
pub mod request_guard;
mod revert;
mod scaling;
mod search;
mod services;
mod status;
mod system;
mod ui;
mod vars;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use serde_json::Value;

use crate::cluster::server::ClusterNode;

pub use acl::{CHECK as ACL_CHECK, check_query as acl_check_query, request_token};

/// What handlers share.
pub struct ApiContext {
    /// The server.
    pub node: Arc<ClusterNode>,
    /// The agent's configuration as `/v1/agent/self` shows it (`config` and `member`).
    pub agent_self: Value,
    /// Whether requests need an ACL token.
    pub acl_enabled: bool,
    /// The HCL parser behind `/v1/jobs/parse` (none: JSON jobs only).
    pub job_parser: Option<parse::JobParser>,
}

/// Handler state.
pub type Ctx = State<Arc<ApiContext>>;

/// The public API's router, with the dashboard's rendered pages beside it.
pub fn router(ctx: Arc<ApiContext>) -> Router {
    let api = api_router(Arc::clone(&ctx));
    // A page reads `api` in-process with the caller's token: each read passes the same ACL
    // check as the same request over HTTP.
    let pages = Router::new()
        .route("/ui/page/{*path}", get(ui::page))
        .with_state(ui::Pages::new(api.clone()))
        .layer(middleware::from_fn_with_state(Arc::clone(&ctx), acl::enforce))
        .layer(middleware::from_fn(metrics::count));
    api.merge(pages)
}

fn api_router(ctx: Arc<ApiContext>) -> Router {
    Router::new()
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
        .route("/v1/jobs/parse", post(parse::parse).put(parse::parse))
        .route(
            "/v1/validate/job",
            post(parse::validate_job).put(parse::validate_job),
        )
        .route("/v1/job/{id}/versions", get(jobs::versions))
        .route(
            "/v1/job/{id}/stable",
            post(job_actions::stable).put(job_actions::stable),
        )
        .route(
            "/v1/job/{id}/evaluate",
            post(job_actions::evaluate).put(job_actions::evaluate),
        )
        .route(
            "/v1/job/{id}/periodic/force",
            post(job_actions::periodic_force).put(job_actions::periodic_force),
        )
        .route(
            "/v1/job/{id}/dispatch",
            post(job_actions::dispatch).put(job_actions::dispatch),
        )
        .route("/v1/job/{id}/summary", get(job_actions::summary))
        .route(
            "/v1/job/{id}/scale",
            get(scaling::status).post(scaling::scale).put(scaling::scale),
        )
        .route("/v1/scaling/policies", get(scaling::policies))
        .route("/v1/scaling/policy/{id}", get(scaling::policy))
        .route("/v1/job/{id}/deployments", get(job_actions::deployments))
        .route("/v1/job/{id}/deployment", get(job_actions::latest_deployment))
        .route("/v1/deployments", get(deployments::list))
        .route("/v1/deployment/{id}", get(deployments::read))
        .route("/v1/deployment/allocations/{id}", get(deployments::allocations))
        .route(
            "/v1/deployment/fail/{id}",
            post(deployments::fail).put(deployments::fail),
        )
        .route(
            "/v1/deployment/pause/{id}",
            post(deployments::pause).put(deployments::pause),
        )
        .route(
            "/v1/deployment/promote/{id}",
            post(deployments::promote).put(deployments::promote),
        )
        .route(
            "/v1/deployment/allocation-health/{id}",
            post(deployments::allocation_health).put(deployments::allocation_health),
        )
        .route(
            "/v1/deployment/unblock/{id}",
            post(deployments::unblock).put(deployments::unblock),
        )
        .route(
            "/v1/allocation/{id}/stop",
            post(operator_actions::alloc_stop).put(operator_actions::alloc_stop),
        )
        .route(
            "/v1/node/{id}/drain",
            post(operator_actions::node_drain).put(operator_actions::node_drain),
        )
        .route("/v1/agent/members", get(agent::members))
        .route("/v1/event/stream", get(events::stream))
        .route("/v1/metrics", get(metrics::metrics))
        .route("/v1/search", post(search::prefix).put(search::prefix))
        .route("/v1/search/fuzzy", post(search::fuzzy).put(search::fuzzy))
        .route("/v1/regions", get(namespaces::regions))
        .route("/v1/namespaces", get(namespaces::list))
        .route(
            "/v1/namespace",
            post(namespaces::put_named).put(namespaces::put_named),
        )
        .route(
            "/v1/namespace/{name}",
            get(namespaces::read)
                .post(namespaces::put)
                .put(namespaces::put)
                .delete(namespaces::delete),
        )
        .route("/v1/acl/bootstrap", post(acl::bootstrap).put(acl::bootstrap))
        .route("/v1/acl/policies", get(acl_objects::policies))
        .route(
            "/v1/acl/policy/{name}",
            get(acl_objects::policy)
                .post(acl_objects::policy_upsert)
                .put(acl_objects::policy_upsert)
                .delete(acl_objects::policy_delete),
        )
        .route("/v1/acl/tokens", get(acl_objects::tokens))
        .route(
            "/v1/acl/token",
            post(acl_objects::token_create).put(acl_objects::token_create),
        )
        .route("/v1/acl/token/self", get(acl::token_self))
        .route(
            "/v1/acl/token/{accessor}",
            get(acl_objects::token)
                .post(acl_objects::token_update)
                .put(acl_objects::token_update)
                .delete(acl_objects::token_delete),
        )
        .route("/v1/job/{id}/submission", get(jobs::submission))
        .route("/v1/job/{id}/revert", post(revert::revert).put(revert::revert))
        .route("/v1/job/{id}/plan", post(plan::plan).put(plan::plan))
        .route("/v1/job/{id}/allocations", get(allocations::by_job))
        .route("/v1/job/{id}/evaluations", get(evaluations::by_job))
        .route("/v1/services", get(services::list))
        .route("/v1/service/{name}", get(services::read))
        .route("/v1/evaluations", get(evaluations::list))
        .route("/v1/evaluation/{id}", get(evaluations::read))
        .route("/v1/evaluation/{id}/allocations", get(evaluations::allocations))
        .route("/v1/allocations", get(allocations::list))
        .route("/v1/allocation/{id}", get(allocations::read))
        .route("/v1/nodes", get(nodes::list))
        .route("/v1/node/{id}", get(nodes::read))
        .route("/v1/node/{id}/allocations", get(allocations::by_node))
        .route(
            "/v1/node/{id}/eligibility",
            post(nodes::eligibility).put(nodes::eligibility),
        )
        .route(
            "/v1/node/{id}/evaluate",
            post(nodes::evaluate).put(nodes::evaluate),
        )
        .route("/v1/node/{id}/purge", post(nodes::purge).put(nodes::purge))
        .route("/v1/vars", get(vars::list))
        .route(
            "/v1/var/{*path}",
            get(vars::read).put(vars::put).delete(vars::delete),
        )
        .route("/v1/deploy/kv", get(kv::list))
        .route(
            "/v1/deploy/kv/{*key}",
            get(kv::read).put(kv::put).delete(kv::delete),
        )
        .route("/v1/deploy/lease", put(kv::grant))
        .route("/v1/deploy/lease/{id}/renew", put(kv::renew))
        .route("/v1/deploy/lease/{id}", delete(kv::revoke))
        .route("/v1/system/gc", put(system::gc))
        .route("/v1/system/reconcile/summaries", put(system::reconcile_summaries))
        .route("/ui", get(ui::index))
        .route("/ui/app.css", get(ui::css))
        .route("/ui/app.js", get(ui::js))
        .route("/v1/status/leader", get(status::leader))
        .route("/v1/status/peers", get(status::peers))
        .route("/v1/agent/self", get(agent::agent_self))
        .route("/v1/operator/raft/configuration", get(operator::configuration))
        .route("/v1/operator/keyring/keys", get(keyring::keys))
        .route(
            "/v1/operator/keyring/rotate",
            put(keyring::rotate).post(keyring::rotate),
        )
        .route(
            "/v1/operator/raft/peer",
            post(operator::add_peer)
                .put(operator::add_peer)
                .delete(operator::remove_peer),
        )
        .layer(middleware::from_fn_with_state(Arc::clone(&ctx), acl::enforce))
        .layer(middleware::from_fn_with_state(Arc::clone(&ctx), leader_headers))
        .layer(middleware::from_fn(metrics::count))
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .with_state(ctx)
}

/// The public reads a client agent needs, served to it on the RPC listener (authenticated by
/// its node secret there, not by an ACL token): its allocations and the allocations and nodes
/// it forwards log requests to, variables, services and keys for templates, and whether an
/// ACL token may read (for a client-only agent's own `/v1/client/...` routes).
pub fn client_reads(ctx: Arc<ApiContext>) -> Router {
    Router::new()
        .route("/v1/node/{id}/allocations", get(allocations::by_node))
        .route("/v1/allocation/{id}", get(allocations::read))
        .route("/v1/node/{id}", get(nodes::read))
        .route("/v1/vars", get(vars::list))
        .route("/v1/var/{*path}", get(vars::read))
        .route("/v1/service/{name}", get(services::read))
        .route("/v1/deploy/kv/{*key}", get(kv::read))
        .route(acl::CHECK, get(acl::check))
        .layer(middleware::from_fn_with_state(Arc::clone(&ctx), leader_headers))
        .with_state(ctx)
}

/// `router` with the ACL check in front: for routes merged in from elsewhere (a client's
/// `/v1/client/...` routes on a server agent).
pub fn with_acl(router: Router, ctx: Arc<ApiContext>) -> Router {
    router.layer(middleware::from_fn_with_state(ctx, acl::enforce))
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
