//! `/v1/vars` and `/v1/var/:path`: Nomad variables with check-and-set (`?cas=`); a conflict is
//! a 409 carrying the current variable.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use crate::cluster::fsm::{Command, Outcome, Variable};

/// Largest total size of a variable's keys and values, as Nomad's.
const MAX_ITEMS_BYTES: usize = 64 * 1024;

/// Query of variable writes.
#[derive(Debug, Deserialize)]
pub struct WriteParams {
    namespace: Option<String>,
    cas: Option<String>,
}

/// Body of `PUT /v1/var/:path`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VariableBody {
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    items: BTreeMap<String, String>,
}

fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 128
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '~' | '/'))
}

fn parse_cas(cas: Option<&str>) -> Result<Option<u64>, ApiError> {
    match cas {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("Invalid cas value: {s:?}"))),
    }
}

fn namespace(q: Option<&str>, body: &str) -> String {
    [q.unwrap_or(""), body]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("default")
        .to_owned()
}

fn conflict(index: u64, current: Option<Variable>, ns: &str, path: &str) -> ApiResult {
    let current = current.unwrap_or_else(|| Variable {
        namespace: ns.into(),
        path: path.into(),
        ..Default::default()
    });
    let mut resp = indexed_json(index, &current);
    *resp.status_mut() = StatusCode::CONFLICT;
    Ok(resp)
}

/// `GET /v1/vars`: metadata of variables under `?prefix=`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let blocking = q.blocking()?;
    if !q.stale() {
        ctx.node.read_barrier().await?;
    }
    let (ns, prefix) = (q.namespace(), q.prefix());
    let (index, list) = ctx
        .node
        .state()
        .blocking_query(blocking.min_index, blocking.wait, |s| {
            (
                s.table_index("vars"),
                s.variables_with_prefix(ns, prefix)
                    .map(Variable::metadata)
                    .collect::<Vec<_>>(),
            )
        })
        .await;
    Ok(indexed_json(index, &list))
}

/// `GET /v1/var/:path`: the variable with its items.
pub async fn read(ctx: Ctx, Path(path): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let blocking = q.blocking()?;
    if !q.stale() {
        ctx.node.read_barrier().await?;
    }
    let ns = q.namespace();
    let (index, var) = ctx
        .node
        .state()
        .blocking_query(blocking.min_index, blocking.wait, |s| {
            match s.variable(ns, &path) {
                Some(v) => (v.modify_index, Some(v.clone())),
                None => (s.table_index("vars"), None),
            }
        })
        .await;
    let var = var.ok_or_else(|| ApiError::not_found("variable not found"))?;
    Ok(indexed_json(index, &var))
}

/// `PUT /v1/var/:path[?cas=N]`: create or update.
pub async fn put(
    ctx: Ctx,
    Path(path): Path<String>,
    Query(p): Query<WriteParams>,
    JsonBody(body): JsonBody<VariableBody>,
) -> ApiResult {
    if !valid_path(&path) {
        return Err(ApiError::bad_request(format!("invalid path {path:?}")));
    }
    let size: usize = body.items.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_ITEMS_BYTES {
        return Err(ApiError::bad_request(format!(
            "variables are limited to {MAX_ITEMS_BYTES} bytes total"
        )));
    }
    if body.items.is_empty() {
        return Err(ApiError::bad_request(
            "variable missing required Items object",
        ));
    }
    let cas = parse_cas(p.cas.as_deref())?;
    let ns = namespace(p.namespace.as_deref(), &body.namespace);
    let var = Variable {
        namespace: ns.clone(),
        path: path.clone(),
        items: body.items,
        ..Default::default()
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let resp = ctx.node.write(Command::VarPut { var, cas, now }).await?;
    match resp.outcome {
        Outcome::Variable(v) => Ok(indexed_json(resp.index, &v)),
        Outcome::VariableConflict { current } => conflict(resp.index, current, &ns, &path),
        other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
    }
}

/// `DELETE /v1/var/:path[?cas=N]`.
pub async fn delete(ctx: Ctx, Path(path): Path<String>, Query(p): Query<WriteParams>) -> ApiResult {
    let cas = parse_cas(p.cas.as_deref())?;
    let ns = namespace(p.namespace.as_deref(), "");
    let resp = ctx
        .node
        .write(Command::VarDelete {
            namespace: ns.clone(),
            path: path.clone(),
            cas,
        })
        .await?;
    match resp.outcome {
        Outcome::Done => {
            Ok(indexed_json(resp.index, &json!({ "Index": resp.index })).into_response())
        }
        Outcome::VariableConflict { current } => conflict(resp.index, current, &ns, &path),
        other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
    }
}
