//! The ACL check of a client-only agent's own routes (`/v1/client/fs/logs/...`, stats, GC):
//! the agent holds no ACL state, so it asks its servers over RPC whether the request's token
//! may use the matched route (method, pattern, `?namespace=`, and the path: a route naming an
//! allocation is checked in the allocation's namespace), which the servers decide from
//! the one route table (`cluster::acl::routes`), as Nomad's clients resolve tokens through
//! the servers. Always yes with ACLs off.

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::cluster::client::Client;
use crate::cluster::http::{acl_check_query, request_token};

/// `router` behind the servers' ACL check.
pub fn guard(router: Router, client: Arc<Client>) -> Router {
    router.layer(middleware::from_fn_with_state(client, check))
}

async fn check(State(client): State<Arc<Client>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned());
    let namespace = Query::<std::collections::HashMap<String, String>>::try_from_uri(req.uri())
        .ok()
        .and_then(|Query(q)| q.get("namespace").cloned())
        .unwrap_or_default();
    let query = acl_check_query(req.method().as_str(), &route, &namespace, req.uri().path());
    if !client.token_allowed(request_token(&req), &query).await {
        return (StatusCode::FORBIDDEN, "Permission denied").into_response();
    }
    next.run(req).await
}
