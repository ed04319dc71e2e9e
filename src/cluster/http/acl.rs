//! ACLs: `POST /v1/acl/bootstrap` creates the one management token, and with ACLs enabled
//! every API request must carry a known token as `X-Nomad-Token` or `Authorization: Bearer`.
//!
//! Exempt: the bootstrap call itself and `/v1/status/*` (as in Nomad, for load balancers).
//! The cluster's own calls are not on this API at all: they are on the RPC listener,
//! authenticated by the cluster key or a node secret (`cluster::rpc::auth`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ApiResult};
use super::read::answer;
use super::{ApiContext, Ctx};

/// `POST|PUT /v1/acl/bootstrap`: the management token, once.
pub async fn bootstrap(ctx: Ctx) -> ApiResult {
    if !ctx.acl_enabled {
        return Err(ApiError::bad_request("ACL support disabled"));
    }
    Ok(answer(ctx.node.acl_bootstrap().await?))
}

/// Whether `path` is answered without a token.
fn exempt(path: &str) -> bool {
    path == "/v1/acl/bootstrap" || path.starts_with("/v1/status/")
}

/// The token a request carries, if any (`X-Nomad-Token`, else `Authorization: Bearer`).
pub fn request_token(req: &Request) -> Option<&str> {
    let headers = req.headers();
    if let Some(t) = headers.get("X-Nomad-Token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim());
    }
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The RPC path a client-only agent asks whether a token may use its `/v1/client/...` routes.
pub const CHECK: &str = "/v1/internal/client/acl/check";

/// `GET /v1/internal/client/acl/check` (RPC): `{"Allowed": bool}` for the request's token;
/// always allowed with ACLs off.
pub async fn check(ctx: Ctx, req: Request) -> ApiResult {
    let allowed = !ctx.acl_enabled
        || request_token(&req)
            .filter(|t| !t.is_empty())
            .is_some_and(|t| ctx.node.acl_token_known(t));
    let body = serde_json::json!({ "Allowed": allowed });
    Ok(super::query::indexed_json(ctx.node.state().index(), &body))
}

/// Refuses requests without a known token when ACLs are enabled (403, Nomad's text).
pub async fn enforce(State(ctx): State<Arc<ApiContext>>, req: Request, next: Next) -> Response {
    if !ctx.acl_enabled || exempt(req.uri().path()) {
        return next.run(req).await;
    }
    let known = request_token(&req)
        .filter(|t| !t.is_empty())
        .is_some_and(|t| ctx.node.acl_token_known(t));
    if !known {
        return (StatusCode::FORBIDDEN, "Permission denied").into_response();
    }
    next.run(req).await
}
