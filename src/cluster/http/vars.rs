//! `/v1/vars` and `/v1/var/:path`: Nomad variables with check-and-set (`?cas=`); a conflict is
//! a 409 carrying the current variable.

use std::collections::BTreeMap;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use super::read::answer;
use crate::api::Variable;
use crate::cluster::server::endpoints::{Indexed, VariableAnswer};

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

/// The answer to a variable write; a conflict is a 409 carrying the current variable.
fn var_written(found: Indexed<VariableAnswer>, ns: &str, path: &str, deleting: bool) -> ApiResult {
    let index = found.index;
    match found.value {
        VariableAnswer::Written(v) if !deleting => Ok(indexed_json(index, &v)),
        VariableAnswer::Deleted if deleting => Ok(indexed_json(index, &json!({ "Index": index }))),
        VariableAnswer::Conflict(current) => {
            let current = current.unwrap_or_else(|| Variable {
                namespace: ns.into(),
                path: path.into(),
                ..Default::default()
            });
            let mut resp = indexed_json(index, &current);
            *resp.status_mut() = StatusCode::CONFLICT;
            Ok(resp)
        }
        other => Err(ApiError::internal(format!("unexpected answer {other:?}"))),
    }
}

/// `GET /v1/vars`: metadata of variables under `?prefix=`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(
        ctx.node.variable_list(&opts, q.namespace(), q.prefix()).await?,
    ))
}

/// `GET /v1/var/:path`: the variable with its items.
pub async fn read(ctx: Ctx, Path(path): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(ctx.node.variable(&opts, q.namespace(), &path).await?))
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
        return Err(ApiError::bad_request("variable missing required Items object"));
    }
    let cas = parse_cas(p.cas.as_deref())?;
    let ns = namespace(p.namespace.as_deref(), &body.namespace);
    let var = Variable {
        namespace: ns.clone(),
        path: path.clone(),
        items: body.items,
        ..Default::default()
    };
    var_written(ctx.node.put_variable(var, cas).await?, &ns, &path, false)
}

/// `DELETE /v1/var/:path[?cas=N]`.
pub async fn delete(ctx: Ctx, Path(path): Path<String>, Query(p): Query<WriteParams>) -> ApiResult {
    let cas = parse_cas(p.cas.as_deref())?;
    let ns = namespace(p.namespace.as_deref(), "");
    let found = ctx.node.delete_variable(ns.clone(), path.clone(), cas).await?;
    var_written(found, &ns, &path, true)
}
