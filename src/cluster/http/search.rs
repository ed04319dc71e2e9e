//! `POST /v1/search` (IDs that start with `Prefix`) and `POST /v1/search/fuzzy` (names that
//! contain `Text`), per `Context`: `jobs`, `evals`, `allocs`, `nodes`, `deployments`,
//! `namespaces`, `variables`, or `all`. At most 20 matches per context, with `Truncations`
//! saying where more were left out, as Nomad's.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use super::body::JsonBody;
use super::error::ApiError;
use super::query::set_index;
use crate::cluster::fsm::State;

/// Matches per context before truncation.
const LIMIT: usize = 20;
/// The contexts `all` covers.
const CONTEXTS: [&str; 7] = [
    "allocs",
    "deployments",
    "evals",
    "jobs",
    "namespaces",
    "nodes",
    "variables",
];

/// Body of both search routes.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SearchRequest {
    prefix: String,
    text: String,
    context: String,
    namespace: String,
}

/// One searchable object: its ID, its name (for fuzzy search) and its namespace.
type Item = (String, String, String);

fn items(state: &State, context: &str) -> Vec<Item> {
    match context {
        "jobs" => state
            .jobs
            .iter()
            .flat_map(|(ns, m)| m.keys().map(move |id| (id.clone(), id.clone(), ns.clone())))
            .collect(),
        "evals" => state
            .evals
            .values()
            .map(|e| (e.id.clone(), e.id.clone(), e.namespace.clone()))
            .collect(),
        "allocs" => state
            .allocs
            .values()
            .map(|a| (a.id.clone(), a.name.clone(), a.namespace.clone()))
            .collect(),
        "deployments" => state
            .deployments
            .values()
            .map(|d| (d.id.clone(), d.id.clone(), d.namespace.clone()))
            .collect(),
        "nodes" => state
            .nodes
            .values()
            .map(|n| (n.id.clone(), n.name.clone(), String::new()))
            .collect(),
        "namespaces" => std::iter::once("default".to_owned())
            .chain(state.namespaces.keys().filter(|n| *n != "default").cloned())
            .map(|n| (n.clone(), n, String::new()))
            .collect(),
        "variables" => state
            .variables
            .iter()
            .flat_map(|(ns, m)| m.keys().map(move |p| (p.clone(), p.clone(), ns.clone())))
            .collect(),
        _ => Vec::new(),
    }
}

fn contexts(context: &str) -> Result<Vec<&'static str>, ApiError> {
    match context {
        "" | "all" => Ok(CONTEXTS.to_vec()),
        c => CONTEXTS
            .iter()
            .find(|k| **k == c)
            .map(|k| vec![*k])
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "invalid context {c:?}: use one of {} or all",
                    CONTEXTS.join(", ")
                ))
            }),
    }
}

fn in_namespace(wanted: &str, ns: &str) -> bool {
    ns.is_empty() || wanted == "*" || wanted == ns
}

fn answer(index: u64, matches: Value, truncations: Value) -> Response {
    let mut resp = Json(json!({"Matches": matches, "Truncations": truncations})).into_response();
    set_index(resp.headers_mut(), index);
    resp
}

fn namespace(req: &SearchRequest) -> &str {
    match req.namespace.as_str() {
        "" => "default",
        ns => ns,
    }
}

/// `POST|PUT /v1/search`: IDs starting with `Prefix`.
pub async fn prefix(ctx: Ctx, JsonBody(req): JsonBody<SearchRequest>) -> Result<Response, ApiError> {
    let wanted = contexts(&req.context)?;
    let ns = namespace(&req);
    let state = ctx.node.state().read();
    let (mut matches, mut truncations) = (serde_json::Map::new(), serde_json::Map::new());
    for c in wanted {
        let mut ids: Vec<String> = items(&state, c)
            .into_iter()
            .filter(|(id, _, item_ns)| id.starts_with(&req.prefix) && in_namespace(ns, item_ns))
            .map(|(id, _, _)| id)
            .collect();
        ids.sort();
        ids.dedup();
        truncations.insert(c.into(), json!(ids.len() > LIMIT));
        ids.truncate(LIMIT);
        matches.insert(c.into(), json!(ids));
    }
    Ok(answer(state.index, matches.into(), truncations.into()))
}

/// `POST|PUT /v1/search/fuzzy`: objects whose name contains `Text` (case-insensitive), each
/// as `{"ID", "Scope"}` with its namespace in `Scope`.
pub async fn fuzzy(ctx: Ctx, JsonBody(req): JsonBody<SearchRequest>) -> Result<Response, ApiError> {
    if req.text.chars().count() < 2 {
        return Err(ApiError::bad_request(
            "fuzzy search Text must be at least 2 characters",
        ));
    }
    let wanted = contexts(&req.context)?;
    let ns = namespace(&req);
    let text = req.text.to_lowercase();
    let state = ctx.node.state().read();
    let (mut matches, mut truncations) = (serde_json::Map::new(), serde_json::Map::new());
    for c in wanted {
        let mut found: Vec<(String, Value)> = items(&state, c)
            .into_iter()
            .filter(|(_, name, item_ns)| name.to_lowercase().contains(&text) && in_namespace(ns, item_ns))
            .map(|(id, name, item_ns)| {
                let scope = match item_ns.is_empty() {
                    true => vec![id],
                    false => vec![item_ns, id],
                };
                (name.clone(), json!({"ID": name, "Scope": scope}))
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        truncations.insert(c.into(), json!(found.len() > LIMIT));
        found.truncate(LIMIT);
        matches.insert(
            c.into(),
            Value::Array(found.into_iter().map(|(_, v)| v).collect()),
        );
    }
    Ok(answer(state.index, matches.into(), truncations.into()))
}
