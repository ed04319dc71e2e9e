//! The ACL check in front of every route, and the bootstrap and token-self routes.
//!
//! ```text
//!  request ─► MatchedPath + method ─► acl::need_for (THE table, cluster::acl::routes)
//!          ─► token (X-Nomad-Token / Bearer; none: the anonymous policy) ─► ClusterNode::resolve_acl
//!          ─► Acl::allows(need, ?namespace= (default "default"), variable path) ─► route or 403
//!             (a route naming an allocation, evaluation or deployment by ID: its namespace)
//! ```
//!
//! A route missing from the table needs a management token. The cluster's own calls are not on
//! this API at all: they are on the RPC listener, authenticated by the cluster key or a node
//! secret (`cluster::rpc::auth`); a client-only agent asks its servers [`CHECK`] whether a
//! token may use one of its own routes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::acl_by_id;
use super::error::{ApiError, ApiResult};
use super::read::answer;
use super::{ApiContext, Ctx};
use crate::cluster::acl::{Need, need_for};
use crate::cluster::server::ClusterNode;

/// `POST|PUT /v1/acl/bootstrap`: a management token, once (or after a reset).
pub async fn bootstrap(ctx: Ctx) -> ApiResult {
    if !ctx.acl_enabled {
        return Err(ApiError::bad_request("ACL support disabled"));
    }
    Ok(answer(ctx.node.acl_bootstrap().await?))
}

/// `GET /v1/acl/token/self`: the request's own token, with the secret it sent.
pub async fn token_self(ctx: Ctx, req: Request) -> ApiResult {
    if !ctx.acl_enabled {
        return Err(ApiError::bad_request("ACL support disabled"));
    }
    let secret = request_token(&req).unwrap_or("").to_owned();
    ctx.node.catch_up_for_token(Some(&secret)).await;
    let resolved = ctx.node.resolve_acl(Some(&secret))?;
    let Some(mut token) = resolved.token else {
        return Err(ApiError::not_found("ACL token not found"));
    };
    token.secret_id = secret;
    let index = ctx.node.state().read().table_index("acl_token");
    Ok(super::query::indexed_json(index, &token))
}

/// The token a request carries, if any (`X-Nomad-Token`, else `Authorization: Bearer`).
pub fn request_token(req: &Request) -> Option<&str> {
    token_in(req.headers())
}

/// The token in `headers`, if any (`X-Nomad-Token`, else `Authorization: Bearer`).
pub fn token_in(headers: &axum::http::HeaderMap) -> Option<&str> {
    if let Some(t) = headers.get("X-Nomad-Token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim());
    }
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The RPC path a client-only agent asks whether a token may use one of its own routes:
/// `?method=GET&route=/v1/client/fs/logs/{alloc}&namespace=default&path=/v1/client/fs/logs/ID`.
pub const CHECK: &str = "/v1/internal/client/acl/check";

/// The query of a [`CHECK`] call for `method` on route pattern `route` in `namespace`, for the
/// request path `path` (a route naming an allocation by ID is checked in its namespace).
pub fn check_query(method: &str, route: &str, namespace: &str, path: &str) -> String {
    format!(
        "method={}&route={}&namespace={}&path={}",
        encode(method),
        encode(route),
        encode(namespace),
        encode(path)
    )
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /v1/internal/client/acl/check` (RPC): `{"Allowed": bool}` for the request's token on
/// the named route; always allowed with ACLs off.
pub async fn check(ctx: Ctx, Query(q): Query<HashMap<String, String>>, req: Request) -> ApiResult {
    let get = |k: &str| q.get(k).map_or("", String::as_str);
    let allowed = !ctx.acl_enabled || {
        let need = need_for(get("method"), get("route")).unwrap_or(Need::Management);
        let path: Option<Uri> = get("path").parse().ok();
        let by_id = path.and_then(|p| by_id_namespace(&ctx.node, get("route"), &p));
        let ns = match &by_id {
            Some((_, _, object_ns)) => object_ns.as_str(),
            None => Some(get("namespace"))
                .filter(|n| !n.is_empty())
                .unwrap_or("default"),
        };
        authorize(&ctx.node, request_token(&req), &need, &[ns], "").is_ok()
    };
    let body = serde_json::json!({ "Allowed": allowed });
    Ok(super::query::indexed_json(ctx.node.state().index(), &body))
}

/// The refusal of a valid token that lacks the capability (Nomad's text).
const PERMISSION_DENIED: &str = "Permission denied";

/// Whether `token` may do `need` in every one of `namespaces` (at `var_path` for variables);
/// the refusal text otherwise.
pub fn authorize(
    node: &ClusterNode,
    token: Option<&str>,
    need: &Need,
    namespaces: &[&str],
    var_path: &str,
) -> Result<(), String> {
    if *need == Need::None {
        return Ok(());
    }
    let resolved = node.resolve_acl(token).map_err(|e| e.to_string())?;
    if *need == Need::Token && resolved.token.is_none() {
        return Err(PERMISSION_DENIED.into());
    }
    if namespaces
        .iter()
        .all(|ns| resolved.acl.allows(need, ns, var_path))
    {
        Ok(())
    } else {
        Err(PERMISSION_DENIED.into())
    }
}

/// Refuses what the request's token may not do (403 with Nomad's text).
pub async fn enforce(State(ctx): State<Arc<ApiContext>>, req: Request, next: Next) -> Response {
    if !ctx.acl_enabled {
        return next.run(req).await;
    }
    // No matched route: the fallback's 404 goes to valid tokens only, so an anonymous caller
    // cannot tell which routes exist.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let need = match &route {
        Some(route) => need_for(req.method().as_str(), route).unwrap_or(Need::Management),
        None => Need::Token,
    };
    let route = route.unwrap_or_default();
    if need != Need::None {
        let token = request_token(&req).map(str::to_owned);
        ctx.node.catch_up_for_token(token.as_deref()).await;
    }
    let (req, body_ns) = match job_namespace(req, &need).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let by_id = by_id_namespace(&ctx.node, &route, req.uri());
    let ns = match &by_id {
        Some((_, _, object_ns)) => object_ns.clone(),
        None => query_param(req.uri(), "namespace").unwrap_or_else(|| "default".into()),
    };
    let var_path = variable_path(req.uri(), &route);
    let mut namespaces = vec![ns.as_str()];
    namespaces.extend(body_ns.as_deref());
    match authorize(&ctx.node, request_token(&req), &need, &namespaces, &var_path) {
        Ok(()) => next.run(req).await,
        // A valid token without the capability; an unknown or expired token is told so.
        Err(message) => match by_id {
            Some((object, id, _)) if message == PERMISSION_DENIED => acl_by_id::refusal(&route, object, &id),
            _ => (StatusCode::FORBIDDEN, message).into_response(),
        },
    }
}

/// For a route naming an existing allocation, evaluation or deployment by ID: the object, its
/// ID and its namespace, which the token is checked in (see [`acl_by_id`]).
fn by_id_namespace(
    node: &ClusterNode,
    route: &str,
    uri: &Uri,
) -> Option<(acl_by_id::Object, String, String)> {
    let object = acl_by_id::object_of(route)?;
    let id = acl_by_id::id_in(route, uri)?;
    let ns = acl_by_id::namespace_of(&node.state().read(), object, &id)?;
    Some((object, id, ns))
}

/// A write that carries a job (`{"Job": {"Namespace": ...}}`) is checked in the job's
/// namespace too: the body is read (bounded by the API's body limit) and put back.
async fn job_namespace(req: Request, need: &Need) -> Result<(Request, Option<String>), Response> {
    let writes = matches!(*req.method(), Method::POST | Method::PUT);
    if !writes || !matches!(need, Need::Namespace(_)) {
        return Ok((req, None));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, super::body::MAX_BODY)
        .await
        .map_err(|e| (StatusCode::PAYLOAD_TOO_LARGE, format!("request body: {e}")).into_response())?;
    let ns = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["Job"]["Namespace"].as_str().map(str::to_owned))
        .filter(|n| !n.is_empty());
    Ok((Request::from_parts(parts, Body::from(bytes)), ns))
}

fn query_param(uri: &Uri, key: &str) -> Option<String> {
    Query::<HashMap<String, String>>::try_from_uri(uri)
        .ok()
        .and_then(|Query(q)| q.get(key).cloned())
        .filter(|v| !v.is_empty())
}

/// The variable path a variables route acts on: the path after `/v1/var/`, or the list's
/// `prefix`.
fn variable_path(uri: &Uri, route: &str) -> String {
    match route {
        "/v1/var/{*path}" => percent_decode(uri.path().trim_start_matches("/v1/var/")),
        "/v1/vars" => query_param(uri, "prefix").unwrap_or_default(),
        _ => String::new(),
    }
}

pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
