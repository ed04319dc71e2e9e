//! `/v1/namespaces`, `/v1/namespace/:name` and `/v1/regions`.
//!
//! A namespace write answers an empty body with `X-Nomad-Index`, as Nomad's; the name comes
//! from the path, or from the body's `Name` on `POST /v1/namespace`.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json, set_index};
use super::read::answer;
use crate::cluster::fsm::Namespace;

fn written(index: u64) -> Response {
    let mut resp = ().into_response();
    set_index(resp.headers_mut(), index);
    resp
}

/// `GET /v1/regions`: the one region this cluster is.
pub async fn regions(ctx: Ctx) -> ApiResult {
    let region = ctx.agent_self["config"]["Region"].as_str().unwrap_or("global");
    Ok(indexed_json(ctx.node.state().index(), &[region]))
}

/// `GET /v1/namespaces`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    let mut found = ctx.node.namespaces(&opts).await?;
    let prefix = q.prefix();
    found.value.retain(|ns| ns.name.starts_with(prefix));
    Ok(answer(found))
}

/// `GET /v1/namespace/:name`.
pub async fn read(ctx: Ctx, Path(name): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(ctx.node.namespace(&opts, &name).await?))
}

/// `POST|PUT /v1/namespace/:name`: create or update.
pub async fn put(ctx: Ctx, Path(name): Path<String>, JsonBody(mut ns): JsonBody<Namespace>) -> ApiResult {
    if ns.name.is_empty() {
        ns.name = name.clone();
    }
    if ns.name != name {
        return Err(ApiError::bad_request(format!(
            "Namespace name {:?} does not match the path's {name:?}",
            ns.name
        )));
    }
    Ok(written(ctx.node.upsert_namespace(ns).await?))
}

/// `POST|PUT /v1/namespace`: create or update the namespace the body names.
pub async fn put_named(ctx: Ctx, JsonBody(ns): JsonBody<Namespace>) -> ApiResult {
    if ns.name.is_empty() {
        return Err(ApiError::bad_request("Namespace name must be specified"));
    }
    Ok(written(ctx.node.upsert_namespace(ns).await?))
}

/// `DELETE /v1/namespace/:name`.
pub async fn delete(ctx: Ctx, Path(name): Path<String>) -> ApiResult {
    Ok(written(ctx.node.delete_namespace(name).await?))
}
