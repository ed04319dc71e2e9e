//! `/v1/evaluations`, `/v1/evaluation/:id[/allocations]` and `/v1/job/:id/evaluations`.

use axum::extract::{Path, Query};

use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::query::QueryParams;
use super::read::{blocking, in_namespace};
use crate::api::{AllocListStub, EvalStatus};
use crate::cluster::fsm::Evaluation;

/// The `status` filter of the evaluations list (Nomad's `?status=failed`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct StatusFilter {
    /// Only evaluations in this status.
    pub status: Option<EvalStatus>,
}

/// `GET /v1/evaluations?prefix=&namespace=&status=`: evaluations, oldest first.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>, Query(f): Query<StatusFilter>) -> ApiResult {
    if f.status == Some(EvalStatus::Unknown) {
        return Err(ApiError::bad_request(
            "status must be one of pending, complete, failed, blocked, canceled",
        ));
    }
    let prefix = q.prefix().to_owned();
    blocking(&ctx, &q, "evals", "", |s| {
        let mut evals: Vec<Evaluation> = s
            .evals
            .values()
            .filter(|e| e.id.starts_with(&prefix) && in_namespace(&q, &e.namespace))
            .filter(|e| f.status.is_none_or(|status| e.status == status))
            .cloned()
            .collect();
        evals.sort_by_key(|e| (e.create_index, e.id.clone()));
        Some(evals)
    })
    .await
}

/// `GET /v1/evaluation/:id`.
pub async fn read(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    blocking(&ctx, &q, "evals", "eval not found", |s| s.evals.get(&id).cloned()).await
}

/// `GET /v1/evaluation/:id/allocations`: stubs of the allocations the evaluation created.
pub async fn allocations(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    blocking(&ctx, &q, "allocs", "", |s| {
        Some(
            s.allocs
                .values()
                .filter(|a| a.eval_id == id)
                .map(|a| super::allocations::stub(s, a))
                .collect::<Vec<AllocListStub>>(),
        )
    })
    .await
}

/// `GET /v1/job/:id/evaluations`.
pub async fn by_job(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let ns = q.namespace().to_owned();
    blocking(&ctx, &q, "evals", "", |s| {
        let mut evals: Vec<Evaluation> = s
            .evals
            .values()
            .filter(|e| e.job_id == id && e.namespace == ns)
            .cloned()
            .collect();
        evals.sort_by_key(|e| std::cmp::Reverse(e.create_index));
        Some(evals)
    })
    .await
}
