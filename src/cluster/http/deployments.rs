//! `/v1/deployments`, `/v1/deployment/:id`, `/v1/job/:id/deployments` and
//! `/v1/job/:id/deployment` (the latest), with blocking queries.

use axum::extract::{Path, Query};

use super::Ctx;
use super::error::ApiResult;
use super::query::QueryParams;
use super::read::{blocking, in_namespace};
use crate::api::Deployment;
use crate::cluster::fsm::State;

fn of_job<'a>(s: &'a State, ns: &str, job: &str) -> Vec<&'a Deployment> {
    let mut out: Vec<&Deployment> = s
        .deployments
        .values()
        .filter(|d| d.job_id == job && (d.namespace == ns || (d.namespace.is_empty() && ns == "default")))
        .collect();
    out.sort_by_key(|d| std::cmp::Reverse(d.create_index));
    out
}

/// `GET /v1/deployments?prefix=`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let prefix = q.prefix().to_owned();
    blocking(&ctx, &q, "deployments", "", |s| {
        Some(
            s.deployments
                .values()
                .filter(|d| d.id.starts_with(&prefix) && in_namespace(&q, &d.namespace))
                .cloned()
                .collect::<Vec<_>>(),
        )
    })
    .await
}

/// `GET /v1/deployment/:id`.
pub async fn read(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    blocking(&ctx, &q, "deployments", "deployment not found", |s| {
        s.deployments.get(&id).cloned()
    })
    .await
}

/// `GET /v1/job/:id/deployments`: newest first.
pub async fn by_job(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let ns = q.namespace().to_owned();
    blocking(&ctx, &q, "deployments", "", |s| {
        Some(of_job(s, &ns, &id).into_iter().cloned().collect::<Vec<_>>())
    })
    .await
}

/// `GET /v1/job/:id/deployment`: the latest deployment (`null` when there is none, as Nomad).
pub async fn latest(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let ns = q.namespace().to_owned();
    blocking(&ctx, &q, "deployments", "", |s| {
        Some(of_job(s, &ns, &id).first().map(|d| (*d).clone()))
    })
    .await
}
