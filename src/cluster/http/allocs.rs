//! Reads of nodes, allocations and Nomad-native services: `/v1/nodes`, `/v1/node/:id`,
//! `/v1/node/:id/allocations` (what a client watches by blocking query), `/v1/allocations`,
//! `/v1/allocation/:id`, `/v1/deployment/:id`, `/v1/services`, `/v1/service/:name`.

use axum::extract::{Path, Query};
use serde_json::{Value, json};

use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use crate::cluster::fsm::{Allocation, Node};

fn alloc_stub(a: &Allocation) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("Job");
    }
    v
}

fn node_stub(n: &Node) -> Value {
    json!({
        "ID": n.id, "Name": n.name, "Datacenter": n.datacenter, "NodeClass": n.node_class,
        "NodePool": n.node_pool, "Address": n.http_addr.split(':').next().unwrap_or(""),
        "Status": n.status, "StatusDescription": n.status_description,
        "SchedulingEligibility": n.scheduling_eligibility, "Drain": n.drain,
        "Drivers": n.extra.get("Drivers"), "CreateIndex": n.create_index, "ModifyIndex": n.modify_index,
    })
}

async fn barrier(ctx: &Ctx, q: &QueryParams) -> Result<(), ApiError> {
    if !q.stale() {
        ctx.node.read_barrier().await?;
    }
    Ok(())
}

/// `GET /v1/nodes`.
pub async fn nodes(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let b = q.blocking()?;
    barrier(&ctx, &q).await?;
    let prefix = q.prefix().to_owned();
    let (index, list) = ctx
        .node
        .state()
        .blocking_query(b.min_index, b.wait, |s| {
            (
                s.table_index("nodes"),
                s.nodes
                    .values()
                    .filter(|n| n.id.starts_with(&prefix))
                    .map(node_stub)
                    .collect::<Vec<_>>(),
            )
        })
        .await;
    Ok(indexed_json(index, &list))
}

/// `GET /v1/node/:id`.
pub async fn node(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    barrier(&ctx, &q).await?;
    let state = ctx.node.state().read();
    let node = state
        .nodes
        .get(&id)
        .ok_or_else(|| ApiError::not_found("node not found"))?;
    Ok(indexed_json(node.modify_index, node))
}

/// `GET /v1/node/:id/allocations`: full allocations (with `Job`), blocking on the allocs table.
pub async fn node_allocations(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let b = q.blocking()?;
    barrier(&ctx, &q).await?;
    let (index, list) = ctx
        .node
        .state()
        .blocking_query(b.min_index, b.wait, |s| {
            (
                s.table_index("allocs"),
                s.allocs
                    .values()
                    .filter(|a| a.node_id == id)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        })
        .await;
    Ok(indexed_json(index, &list))
}

/// `GET /v1/allocations`.
pub async fn allocations(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let b = q.blocking()?;
    barrier(&ctx, &q).await?;
    let prefix = q.prefix().to_owned();
    let ns = q.namespace.clone().unwrap_or_else(|| "*".into());
    let (index, list) = ctx
        .node
        .state()
        .blocking_query(b.min_index, b.wait, |s| {
            let list = s
                .allocs
                .values()
                .filter(|a| a.id.starts_with(&prefix) && (ns == "*" || a.namespace == ns))
                .map(alloc_stub)
                .collect::<Vec<_>>();
            (s.table_index("allocs"), list)
        })
        .await;
    Ok(indexed_json(index, &list))
}

/// `GET /v1/allocation/:id`.
pub async fn allocation(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let b = q.blocking()?;
    barrier(&ctx, &q).await?;
    let (index, alloc) = ctx
        .node
        .state()
        .blocking_query(b.min_index, b.wait, |s| {
            let a = s.allocs.get(&id).cloned();
            (a.as_ref().map_or(s.table_index("allocs"), |a| a.modify_index), a)
        })
        .await;
    let alloc = alloc.ok_or_else(|| ApiError::not_found("alloc not found"))?;
    Ok(indexed_json(index, &alloc))
}

/// `GET /v1/services`: per namespace, the service names and their tags.
pub async fn services(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let b = q.blocking()?;
    barrier(&ctx, &q).await?;
    let ns = q.namespace().to_owned();
    let (index, list) = ctx
        .node
        .state()
        .blocking_query(b.min_index, b.wait, |s| {
            let mut by_ns: std::collections::BTreeMap<&str, std::collections::BTreeMap<&str, Vec<&str>>> =
                Default::default();
            for r in s.services.values().filter(|r| ns == "*" || r.namespace == ns) {
                let tags = by_ns
                    .entry(&r.namespace)
                    .or_default()
                    .entry(&r.service_name)
                    .or_default();
                tags.extend(r.tags.iter().map(String::as_str));
            }
            let list: Vec<Value> = by_ns
                .into_iter()
                .map(|(ns, svcs)| {
                    let services: Vec<Value> = svcs
                        .into_iter()
                        .map(|(name, mut tags)| {
                            tags.sort_unstable();
                            tags.dedup();
                            json!({"ServiceName": name, "Tags": tags})
                        })
                        .collect();
                    json!({"Namespace": ns, "Services": services})
                })
                .collect();
            (s.table_index("services"), list)
        })
        .await;
    Ok(indexed_json(index, &list))
}

/// `GET /v1/service/:name`: the registrations of one service.
pub async fn service(ctx: Ctx, Path(name): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let b = q.blocking()?;
    barrier(&ctx, &q).await?;
    let ns = q.namespace().to_owned();
    let (index, list) = ctx
        .node
        .state()
        .blocking_query(b.min_index, b.wait, |s| {
            (
                s.table_index("services"),
                s.services_named(&ns, &name).cloned().collect::<Vec<_>>(),
            )
        })
        .await;
    Ok(indexed_json(index, &list))
}

/// `GET /v1/deployment/:id`.
pub async fn deployment(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let b = q.blocking()?;
    barrier(&ctx, &q).await?;
    let (index, d) = ctx
        .node
        .state()
        .blocking_query(b.min_index, b.wait, |s| {
            let d = s.deployments.get(&id).cloned();
            (
                d.as_ref()
                    .map_or(s.table_index("deployments"), |d| d.modify_index),
                d,
            )
        })
        .await;
    let d = d.ok_or_else(|| ApiError::not_found("deployment not found"))?;
    Ok(indexed_json(index, &d))
}
