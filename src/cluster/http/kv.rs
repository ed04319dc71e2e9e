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
use crate::cluster::fsm::{Command, KvEntry, Outcome};
use crate::cluster::server::now_millis;

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

fn answer(index: u64, outcome: Outcome, key: &str) -> ApiResult {
    match outcome {
        Outcome::Kv(e) => Ok(indexed_json(index, &e)),
        Outcome::Lease(l) => Ok(indexed_json(index, &l)),
        Outcome::Done => Ok(indexed_json(index, &json!({ "Index": index }))),
        Outcome::KvConflict { current } => {
            let current = current.unwrap_or_else(|| KvEntry { key: key.into(), ..Default::default() });
            let mut resp = indexed_json(index, &current);
            *resp.status_mut() = StatusCode::CONFLICT;
            Ok(resp)
        }
        Outcome::NotFound { message } => Err(ApiError::not_found(message)),
        other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
    }
}

/// `GET /v1/deploy/kv?prefix=`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let blocking = q.blocking()?;
    if !q.stale() {
        ctx.node.read_barrier().await?;
    }
    let prefix = q.prefix();
    let (index, list) = ctx
        .node
        .state()
        .blocking_query(blocking.min_index, blocking.wait, |s| {
            (s.table_index("kv"), s.kv_list(prefix).cloned().collect::<Vec<_>>())
        })
        .await;
    Ok(indexed_json(index, &list))
}

/// `GET /v1/deploy/kv/{key}`.
pub async fn read(ctx: Ctx, Path(key): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let blocking = q.blocking()?;
    if !q.stale() {
        ctx.node.read_barrier().await?;
    }
    let (index, entry) = ctx
        .node
        .state()
        .blocking_query(blocking.min_index, blocking.wait, |s| match s.kv_get(&key) {
            Some(e) => (e.modify_index, Some(e.clone())),
            None => (s.table_index("kv"), None),
        })
        .await;
    let entry = entry.ok_or_else(|| ApiError::not_found("key not found"))?;
    Ok(indexed_json(index, &entry))
}

/// `PUT /v1/deploy/kv/{key}`.
pub async fn put(
    ctx: Ctx,
    Path(key): Path<String>,
    Query(p): Query<KvWriteParams>,
    JsonBody(body): JsonBody<KvBody>,
) -> ApiResult {
    let cmd = Command::KvPut { key: key.clone(), value: body.value, cas: p.cas, lease: p.lease };
    let resp = ctx.node.write(cmd).await?;
    answer(resp.index, resp.outcome, &key)
}

/// `DELETE /v1/deploy/kv/{key}`.
pub async fn delete(ctx: Ctx, Path(key): Path<String>, Query(p): Query<KvWriteParams>) -> ApiResult {
    let resp = ctx.node.write(Command::KvDelete { key: key.clone(), cas: p.cas }).await?;
    answer(resp.index, resp.outcome, &key)
}

/// `PUT /v1/deploy/lease`.
pub async fn grant(ctx: Ctx, JsonBody(body): JsonBody<LeaseBody>) -> ApiResult {
    let ttl = parse_duration(&body.ttl)
        .filter(|d| !d.is_zero() && *d <= MAX_TTL)
        .ok_or_else(|| ApiError::bad_request(format!("Invalid TTL {:?}", body.ttl)))?;
    let ttl_millis = ttl.as_millis() as u64;
    let cmd = Command::LeaseGrant {
        id: uuid::Uuid::new_v4().to_string(),
        ttl_millis,
        expires_at_millis: now_millis() + ttl_millis as i64,
    };
    let resp = ctx.node.write(cmd).await?;
    answer(resp.index, resp.outcome, "")
}

/// `PUT /v1/deploy/lease/{id}/renew`.
pub async fn renew(ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let ttl = {
        let state = ctx.node.state().read();
        state.lease(&id).map(|l| l.ttl_millis).ok_or_else(|| ApiError::not_found("lease not found"))?
    };
    let cmd = Command::LeaseRenew { id, expires_at_millis: now_millis() + ttl as i64 };
    let resp = ctx.node.write(cmd).await?;
    answer(resp.index, resp.outcome, "")
}

/// `DELETE /v1/deploy/lease/{id}`.
pub async fn revoke(ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    let resp = ctx.node.write(Command::LeaseRevoke { id }).await?;
    answer(resp.index, resp.outcome, "")
}
