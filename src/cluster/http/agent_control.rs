//! The agent's own routes, served by servers and client-only agents alike: the servers a
//! client talks to (`GET/POST /v1/agent/servers`), joining and removing servers
//! (`/v1/agent/join`, `/v1/agent/force-leave`), health (`/v1/agent/health`) and the log
//! stream (`/v1/agent/monitor`, in `monitor.rs`).
//!
//! As in Nomad, a route for a role the agent does not have answers 501 `Invalid method`:
//! the server list on a server-only agent, joins on a client-only one.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::error::ApiError;
use super::monitor;
use crate::cluster::client::Client;
use crate::cluster::server::ClusterNode;

/// How many addresses one call may name.
const MAX_ADDRESSES: usize = 64;

/// What the agent runs, for its own routes.
pub struct AgentParts {
    /// The server, if this agent is one.
    pub server: Option<Arc<ClusterNode>>,
    /// The client, if this agent is one.
    pub client: Option<Arc<Client>>,
    /// The region (member names end in `.region`).
    pub region: String,
    /// This agent's member name (`name.region`).
    pub member_name: String,
}

/// Handler state.
pub type Parts = State<Arc<AgentParts>>;

/// The routes that need a token when ACLs are on (`agent:read` or `agent:write`).
pub fn router(parts: Arc<AgentParts>) -> Router {
    Router::new()
        .route(
            "/v1/agent/servers",
            get(servers).post(set_servers).put(set_servers),
        )
        .route("/v1/agent/join", post(join).put(join))
        .route("/v1/agent/force-leave", post(force_leave).put(force_leave))
        .route("/v1/agent/monitor", get(monitor::monitor))
        .with_state(parts)
}

/// The routes answered without a token, as Nomad's (`/v1/agent/health`).
pub fn open_router(parts: Arc<AgentParts>) -> Router {
    Router::new()
        .route("/v1/agent/health", get(health))
        .with_state(parts)
}

fn invalid_method() -> ApiError {
    ApiError {
        status: StatusCode::NOT_IMPLEMENTED,
        message: "Invalid method".into(),
    }
}

/// Repeated `?address=` values, checked: at least one, at most `MAX_ADDRESSES`, each
/// `host:port` (port 4647 when left out, as Nomad's).
fn addresses(query: &[(String, String)], missing: &str) -> Result<Vec<String>, ApiError> {
    let out: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "address")
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    if out.is_empty() || out.iter().all(String::is_empty) {
        return Err(ApiError::bad_request(missing));
    }
    if out.len() > MAX_ADDRESSES {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_ADDRESSES} addresses per call"
        )));
    }
    out.into_iter().map(|a| checked_address(&a)).collect()
}

fn checked_address(a: &str) -> Result<String, ApiError> {
    let with_port = match a.rsplit_once(':') {
        Some((_, p)) if !a.ends_with(']') => {
            p.parse::<u16>()
                .map_err(|_| ApiError::bad_request(format!("invalid address {a:?}: bad port")))?;
            a.to_owned()
        }
        _ => format!("{a}:4647"),
    };
    let host = with_port.rsplit_once(':').map_or("", |(h, _)| h);
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    if !ok {
        return Err(ApiError::bad_request(format!(
            "invalid address {a:?}: expected host:port"
        )));
    }
    Ok(with_port)
}

/// `GET /v1/agent/servers`: the servers this client talks to, sorted.
pub async fn servers(State(parts): Parts) -> Result<Response, ApiError> {
    let client = parts.client.as_ref().ok_or_else(invalid_method)?;
    let mut list = client.servers();
    list.sort();
    Ok(axum::Json(list).into_response())
}

/// `POST /v1/agent/servers?address=..`: replaces the servers this client talks to.
pub async fn set_servers(
    State(parts): Parts,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let client = parts.client.as_ref().ok_or_else(invalid_method)?;
    let list = addresses(&query, "missing server address")?;
    client.set_servers(list);
    Ok(StatusCode::OK.into_response())
}

/// `POST /v1/agent/join?address=..`: adds the servers at these RPC addresses to this
/// server's cluster; `{"error": "", "num_joined": N}`.
pub async fn join(
    State(parts): Parts,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let node = parts.server.as_ref().ok_or_else(invalid_method)?;
    let list = addresses(&query, "missing address to join")?;
    let mut joined = 0;
    let mut errors = Vec::new();
    for addr in list {
        let added = match node.peer_id(&addr).await {
            Ok(id) => node.add_server(id, &addr).await,
            Err(e) => Err(e),
        };
        match added {
            Ok(()) => joined += 1,
            Err(e) => errors.push(format!("{addr}: {e}")),
        }
    }
    let body = json!({"error": errors.join("; "), "num_joined": joined});
    Ok(axum::Json(body).into_response())
}

/// `POST /v1/agent/force-leave?node=..`: removes a server from the cluster. `node` is a
/// member name as `/v1/agent/members` lists it (with or without `.region`), an RPC address
/// or a server ID.
pub async fn force_leave(
    State(parts): Parts,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let node = parts.server.as_ref().ok_or_else(invalid_method)?;
    let name = query
        .iter()
        .find(|(k, _)| k == "node")
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_request("missing node to force leave"))?;
    let suffix = format!(".{}", parts.region);
    let bare = name.strip_suffix(&suffix).unwrap_or(name);
    let own_bare = parts
        .member_name
        .strip_suffix(&suffix)
        .unwrap_or(&parts.member_name);
    let found = node.voters().into_iter().find(|(id, addr)| {
        let is_self = *id == node.id() && bare == own_bare;
        is_self || addr == bare || id.to_string() == bare
    });
    let (id, _) = found.ok_or_else(|| {
        ApiError::not_found(format!(
            "no server {name:?} in the cluster (see /v1/agent/members)"
        ))
    })?;
    node.remove_server(id).await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /v1/agent/health`: `{"server": {"ok", "message"}, "client": {...}}` for the roles
/// this agent has; 500 when one is not healthy.
pub async fn health(State(parts): Parts) -> Response {
    let mut body = serde_json::Map::new();
    let mut healthy = true;
    if let Some(node) = &parts.server {
        let (ok, message) = match node.leader_addr() {
            Some(_) => (true, "ok"),
            None => (false, "No cluster leader"),
        };
        healthy &= ok;
        body.insert("server".into(), json!({"ok": ok, "message": message}));
    }
    if let Some(client) = &parts.client {
        let (ok, message) = match client.servers().is_empty() {
            false => (true, "ok"),
            true => (false, "no known servers"),
        };
        healthy &= ok;
        body.insert("client".into(), json!({"ok": ok, "message": message}));
    }
    let status = match healthy {
        true => StatusCode::OK,
        false => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, axum::Json(serde_json::Value::Object(body))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(values: &[&str]) -> Vec<(String, String)> {
        values
            .iter()
            .map(|v| ("address".to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn addresses_take_nomads_default_port_and_refuse_junk() {
        assert_eq!(
            addresses(&q(&["10.0.0.1", "h:4700"]), "m").expect("valid"),
            vec!["10.0.0.1:4647", "h:4700"]
        );
        assert_eq!(addresses(&[], "missing").expect_err("none").message, "missing");
        assert!(addresses(&q(&["h:99999"]), "m").is_err());
        assert!(addresses(&q(&["h/x:1"]), "m").is_err());
        let many: Vec<&str> = std::iter::repeat_n("h:1", MAX_ADDRESSES + 1).collect();
        assert!(addresses(&q(&many), "m").is_err());
    }
}
