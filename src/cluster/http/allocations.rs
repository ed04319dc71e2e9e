//! `/v1/allocations`, `/v1/allocation/:id`, `/v1/job/:id/allocations`, and the job a read
//! attaches (the stored allocation keeps only `JobVersion`; the job comes from the versions).

use axum::extract::{Path, Query};

use super::Ctx;
use super::error::ApiResult;
use super::query::QueryParams;
use super::read::{blocking, in_namespace};
use crate::api::namespace_or_default;
use crate::api::{AllocListStub, Allocation};
use crate::cluster::fsm::State;
use crate::spec::Job;

/// The job version an allocation runs, if still retained.
fn job_of<'s>(s: &'s State, a: &Allocation) -> Option<&'s Job> {
    let ns = namespace_or_default(&a.namespace);
    let v = s.job(ns, &a.job_id)?.version(a.job_version)?;
    Some(&v.job)
}

/// The list view of `a`, with `JobType` filled in.
pub fn stub(s: &State, a: &Allocation) -> AllocListStub {
    let mut st = a.stub();
    if st.job_type.is_empty() {
        st.job_type = job_of(s, a).map(|j| j.job_type().to_string()).unwrap_or_default();
    }
    st
}

/// `GET /v1/allocations?prefix=&namespace=`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let prefix = q.prefix().to_owned();
    blocking(&ctx, &q, "allocs", "", |s| {
        Some(
            s.allocs
                .values()
                .filter(|a| a.id.starts_with(&prefix) && in_namespace(&q, &a.namespace))
                .map(|a| stub(s, a))
                .collect::<Vec<_>>(),
        )
    })
    .await
}

/// `GET /v1/allocation/:id`: the allocation with its job.
pub async fn read(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    blocking(&ctx, &q, "allocs", "alloc not found", |s| {
        let mut a = s.allocs.get(&id)?.clone();
        a.job = job_of(s, &a).cloned().map(Box::new);
        Some(a)
    })
    .await
}

/// `GET /v1/job/:id/allocations`.
pub async fn by_job(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let ns = q.namespace().to_owned();
    blocking(&ctx, &q, "allocs", "", |s| {
        Some(
            s.allocs
                .values()
                .filter(|a| a.job_id == id && a.namespace == ns)
                .map(|a| stub(s, a))
                .collect::<Vec<_>>(),
        )
    })
    .await
}

/// `GET /v1/node/:id/allocations`: full allocations on a node.
pub async fn by_node(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    blocking(&ctx, &q, "allocs", "", |s| {
        Some(
            s.allocs
                .values()
                .filter(|a| a.node_id == id)
                .map(|a| {
                    let mut a = a.clone();
                    a.job = job_of(s, &a).cloned().map(Box::new);
                    a
                })
                .collect::<Vec<_>>(),
        )
    })
    .await
}
