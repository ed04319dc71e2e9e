//! `/v1/operator/keyring/*`, as Nomad's: list the root keys (metadata only, never key
//! material) and rotate to a new active key (`?full=true` re-encrypts every variable).

use axum::extract::Query;
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::query::indexed_json;
use super::read::answer;

/// Query of `PUT /v1/operator/keyring/rotate`.
#[derive(Debug, Deserialize)]
pub struct RotateParams {
    full: Option<String>,
    algo: Option<String>,
}

/// `GET /v1/operator/keyring/keys`.
pub async fn keys(ctx: Ctx) -> ApiResult {
    Ok(answer(ctx.node.keyring_keys().await?))
}

/// `PUT|POST /v1/operator/keyring/rotate[?full=true]`.
pub async fn rotate(ctx: Ctx, Query(p): Query<RotateParams>) -> ApiResult {
    if let Some(algo) = p
        .algo
        .filter(|a| !a.is_empty() && a != crate::cluster::keyring::ALGORITHM)
    {
        return Err(ApiError::bad_request(format!(
            "unsupported algorithm {algo:?}: this cluster uses {}",
            crate::cluster::keyring::ALGORITHM
        )));
    }
    let full = match p.full.as_deref() {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(ApiError::bad_request(format!("invalid full value {other:?}"))),
    };
    let done = ctx.node.keyring_rotate(full).await?;
    let rotated = done.value;
    Ok(indexed_json(
        done.index,
        &json!({ "Key": rotated.key, "Rekeyed": rotated.rekeyed, "Index": done.index }),
    ))
}
