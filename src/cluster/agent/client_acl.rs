//! The ACL check of a client-only agent's own routes (`/v1/client/fs/logs/...`, stats): the
//! agent holds no ACL state, so it asks its servers over RPC whether the request's token may
//! read (always yes with ACLs off), as Nomad's clients resolve tokens through the servers.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::cluster::client::Client;
use crate::cluster::http::request_token;

/// `router` behind the servers' ACL check.
pub fn guard(router: Router, client: Arc<Client>) -> Router {
    router.layer(middleware::from_fn_with_state(client, check))
}

async fn check(State(client): State<Arc<Client>>, req: Request, next: Next) -> Response {
    if !client.token_allowed(request_token(&req)).await {
        return (StatusCode::FORBIDDEN, "Permission denied").into_response();
    }
    next.run(req).await
}
