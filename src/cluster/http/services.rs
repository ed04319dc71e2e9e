//! Nomad-native service discovery: `GET /v1/services` (names and tags per namespace) and
//! `GET /v1/service/:name` (the registered instances), with blocking queries.

use std::collections::BTreeMap;

use axum::extract::{Path, Query};
use serde_json::{Value, json};

use super::Ctx;
use super::error::ApiResult;
use super::query::QueryParams;
use super::read::{blocking, in_namespace};

/// `GET /v1/services`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    blocking(&ctx, &q, "services", "", |s| {
        let mut by_ns: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
        for r in s.services.values().filter(|r| in_namespace(&q, &r.namespace)) {
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
        Some(list)
    })
    .await
}

/// `GET /v1/service/:name`.
pub async fn read(ctx: Ctx, Path(name): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let ns = q.namespace().to_owned();
    blocking(&ctx, &q, "services", "", |s| {
        Some(s.services_named(&ns, &name).cloned().collect::<Vec<_>>())
    })
    .await
}
