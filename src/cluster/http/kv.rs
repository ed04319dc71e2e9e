//! Stack state storage (an extension; Nomad has no such API): a key/value store with
//! check-and-set and leases, replicated like everything else.
//!
//! | method | path | |
//! |---|---|---|
//! | GET | `/v1/deploy/kv?prefix=P` | entries under a prefix (blocking) |
//! | GET | `/v1/deploy/kv/{key}` | one entry (blocking) |
//! | PUT | `/v1/deploy/kv/{key}?cas=N&lease=ID` | body `{"Value": "..."}`; 409 with the current entry on conflict |
//! | DELETE | `/v1/deploy/kv/{key}?cas=N` | 409 with the current entry on conflict |
//! | PUT | `/v1/deploy/lease` | body `{"TTL": "15s"}`: a new lease |
//! | PUT | `/v1/deploy/lease/{id}/renew` | extend by its TTL |
//! | DELETE | `/v1/deploy/lease/{id}` | revoke: delete its keys now |

use std::time::Duration;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json, parse_duration};
use super::read::answer;
use crate::cluster::server::endpoints::{Indexed, KvAnswer};

/// Longest lease TTL.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// Query of key writes.
#[derive(Debug, Deserialize)]
pub struct KvWriteParams {
    cas: Option<u64>,
    lease: Option<String>,
}

/// Body of a key write.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KvBody {
    value: String,
}

/// Body of a lease grant.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LeaseBody {
    #[serde(rename = "TTL")]
    ttl: String,
}

/// The answer to a key or lease write; a conflict is a 409 with the current entry.
fn kv_written(found: Indexed<KvAnswer>) -> ApiResult {
    let index = found.index;
    Ok(match found.value {
        KvAnswer::Entry(e) => indexed_json(index, &e),
        KvAnswer::Lease(l) => indexed_json(index, &l),
        KvAnswer::Done => indexed_json(index, &json!({ "Index": index })),
        KvAnswer::Conflict(current) => {
            let mut resp = indexed_json(index, &current);
            *resp.status_mut() = StatusCode::CONFLICT;
            resp
        }
    })
}

/// `GET /v1/deploy/kv?prefix=`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(ctx.node.kv_list(&q.read_options()?, q.prefix()).await?))
}

/// `GET /v1/deploy/kv/{key}`.
pub async fn read(ctx: Ctx, Path(key): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    Ok(answer(ctx.node.kv_entry(&q.read_options()?, &key).await?))
}

/// `PUT /v1/deploy/kv/{key}`.
pub async fn put(
    ctx: Ctx,
    Path(key): Path<String>,
    Query(p): Query<KvWriteParams>,
    JsonBody(body): JsonBody<KvBody>,
) -> ApiResult {
    kv_written(ctx.node.kv_put(key, body.value, p.cas, p.lease).await?)
}

/// `DELETE /v1/deploy/kv/{key}`.
pub async fn delete(ctx: Ctx, Path(key): Path<String>, Query(p): Query<KvWriteParams>) -> ApiResult {
    kv_written(ctx.node.kv_delete(key, p.cas).await?)
}

/// `PUT /v1/deploy/lease`.
pub async fn grant(ctx: Ctx, JsonBody(body): JsonBody<LeaseBody>) -> ApiResult {
    let ttl = parse_duration(&body.ttl)
        .filter(|d| !d.is_zero() && *d <= MAX_TTL)
        .ok_or_else(|| ApiError::bad_request(format!("Invalid TTL {:?}", body.ttl)))?;
    kv_written(ctx.node.lease_grant(ttl).await?)
}

/// `PUT /v1/deploy/lease/{id}/renew`.
pub async fn renew(ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    kv_written(ctx.node.lease_renew(id).await?)
}

/// `DELETE /v1/deploy/lease/{id}`.
pub async fn revoke(ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    kv_written(ctx.node.lease_revoke(id).await?)
}
