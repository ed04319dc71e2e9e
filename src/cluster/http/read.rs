//! Shared plumbing of read endpoints: the linearizable barrier (skipped with `?stale`) and a
//! blocking query over one table, answered with `X-Nomad-Index`.

use serde::Serialize;

use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use crate::cluster::fsm::State;

/// Waits for a linearizable read point unless `?stale` was given.
pub async fn barrier(ctx: &Ctx, q: &QueryParams) -> Result<(), ApiError> {
    if !q.stale() {
        ctx.node.read_barrier().await?;
    }
    Ok(())
}

/// Answers `query` over the state once `table` moves past `?index` (or at once); a `None`
/// answer is a 404 with `missing`.
pub async fn blocking<T: Serialize>(
    ctx: &Ctx,
    q: &QueryParams,
    table: &str,
    missing: &str,
    query: impl Fn(&State) -> Option<T>,
) -> ApiResult {
    let blocking = q.blocking()?;
    barrier(ctx, q).await?;
    let (index, value) = ctx
        .node
        .state()
        .blocking_query(blocking.min_index, blocking.wait, |s| {
            (s.table_index(table), query(s))
        })
        .await;
    let value = value.ok_or_else(|| ApiError::not_found(missing.to_owned()))?;
    Ok(indexed_json(index, &value))
}

/// Whether an object in namespace `ns` is listed for the request's namespace (`*` = all).
pub fn in_namespace(q: &QueryParams, ns: &str) -> bool {
    let want = q.namespace();
    want == "*" || want == ns || (ns.is_empty() && want == "default")
}
