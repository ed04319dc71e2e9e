//! `/v1/vars` and `/v1/var/:path`: Nomad variables with check-and-set (`?cas=`) and locks
//! (`?lock-acquire`, `?lock-renew`, `?lock-release`, Nomad >= 1.7); a conflict is a 409
//! carrying the current variable.
//!
//! ```text
//!  PUT ?lock-acquire {Items?, Lock:{TTL, LockDelay}}  ─► 200 variable + Lock{ID}   | 409 current
//!  PUT ?lock-renew   {Lock:{ID}}                      ─► 200 metadata + Lock       | 409 / 404
//!  PUT ?lock-release {Lock:{ID}}                      ─► 200 metadata              | 409 / 404
//!  PUT (plain)       {Items, Lock:{ID}}               ─► the holder writes; others get 409
//! ```
//!
//! A lock's ID is its holder's secret: answers show it to the holder (the request named it)
//! and to management tokens only, and a conflict never carries it. A conflict shows the
//! current items only to a token that may read the variable. A write whose body names a
//! namespace the query does not is checked against that namespace too.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use super::acl::{authorize, token_in};
use super::acl_objects::go_duration_nanos;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{QueryParams, indexed_json};
use super::read::answer;
use crate::api::{Variable, VariableLockSpec, VariableMetadata};
use crate::cluster::acl::{Acl, Need};
use crate::cluster::server::endpoints::{Indexed, VariableAnswer};

/// Largest total size of a variable's keys and values, as Nomad's.
const MAX_ITEMS_BYTES: usize = 64 * 1024;

/// A lock's TTL bounds and defaults, as Nomad's.
const MIN_LOCK_TTL: Duration = Duration::from_secs(10);
const MAX_LOCK_TTL: Duration = Duration::from_secs(24 * 3600);
const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(15);
const DEFAULT_LOCK_DELAY: Duration = Duration::from_secs(15);

/// Query of variable writes.
#[derive(Debug, Deserialize)]
pub struct WriteParams {
    namespace: Option<String>,
    cas: Option<String>,
    #[serde(rename = "lock-acquire")]
    lock_acquire: Option<String>,
    #[serde(rename = "lock-renew")]
    lock_renew: Option<String>,
    #[serde(rename = "lock-release")]
    lock_release: Option<String>,
}

/// The lock object of a request: durations as Go strings (`"15s"`) or nanoseconds.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LockBody {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "TTL")]
    ttl: Option<serde_json::Value>,
    lock_delay: Option<serde_json::Value>,
}

/// Body of `PUT /v1/var/:path`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VariableBody {
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    items: BTreeMap<String, String>,
    #[serde(default)]
    lock: Option<LockBody>,
}

/// What a `PUT` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Write,
    Acquire,
    Renew,
    Release,
}

impl WriteParams {
    fn op(&self) -> Result<Op, ApiError> {
        let ops: Vec<Op> = [
            (self.lock_acquire.is_some(), Op::Acquire),
            (self.lock_renew.is_some(), Op::Renew),
            (self.lock_release.is_some(), Op::Release),
        ]
        .into_iter()
        .filter_map(|(set, op)| set.then_some(op))
        .collect();
        match ops[..] {
            [] => Ok(Op::Write),
            [op] => Ok(op),
            _ => Err(ApiError::bad_request("only one lock operation per request")),
        }
    }
}

fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 128
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '~' | '/'))
}

fn parse_cas(cas: Option<&str>) -> Result<Option<u64>, ApiError> {
    match cas {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("Invalid cas value: {s:?}"))),
    }
}

fn namespace(q: Option<&str>, body: &str) -> String {
    [q.unwrap_or(""), body]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("default")
        .to_owned()
}

/// A lock duration: `None` or zero is `default`; a Go duration string or nanoseconds.
fn lock_duration(v: Option<&serde_json::Value>, what: &str, default: Duration) -> Result<Duration, ApiError> {
    let nanos = match v {
        None | Some(serde_json::Value::Null) => 0,
        Some(serde_json::Value::String(s)) if s.is_empty() => 0,
        Some(serde_json::Value::String(s)) => {
            go_duration_nanos(s).ok_or_else(|| ApiError::bad_request(format!("invalid lock {what} {s:?}")))?
        }
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| ApiError::bad_request(format!("invalid lock {what} {n}")))?,
        Some(other) => return Err(ApiError::bad_request(format!("invalid lock {what} {other}"))),
    };
    if nanos < 0 {
        return Err(ApiError::bad_request("Lock delay and TTL must be positive"));
    }
    Ok(if nanos == 0 {
        default
    } else {
        Duration::from_nanos(nanos as u64)
    })
}

/// The request's token and what it may see of a variable.
struct Caller<'a> {
    ctx: &'a Ctx,
    headers: &'a HeaderMap,
}

impl Caller<'_> {
    fn may(&self, cap: &'static str, ns: &str, path: &str) -> bool {
        !self.ctx.acl_enabled
            || authorize(
                &self.ctx.node,
                token_in(self.headers),
                &Need::Variables(cap),
                &[ns],
                path,
            )
            .is_ok()
    }

    fn is_management(&self) -> bool {
        !self.ctx.acl_enabled
            || self
                .ctx
                .node
                .resolve_acl(token_in(self.headers))
                .is_ok_and(|r| matches!(r.acl, Acl::Management))
    }

    /// The variable as this caller may see it: the lock only for its holder (`claimed` is the
    /// ID the request named) or a management token.
    fn shown(&self, mut v: Variable, claimed: Option<&str>) -> Variable {
        let holder = v.lock.as_ref().is_some_and(|l| Some(l.id.as_str()) == claimed);
        if !holder && !self.is_management() {
            v.lock = None;
        }
        v
    }
}

/// Metadata with the lock, as renewals and releases answer.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct LockedMetadata {
    #[serde(flatten)]
    meta: VariableMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    lock: Option<VariableLockSpec>,
}

fn metadata(v: Variable) -> LockedMetadata {
    LockedMetadata {
        meta: VariableMetadata {
            namespace: v.namespace,
            path: v.path,
            create_index: v.create_index,
            modify_index: v.modify_index,
            create_time: v.create_time,
            modify_time: v.modify_time,
        },
        lock: v.lock,
    }
}

/// The answer to a variable write; a conflict is a 409 carrying the current variable (its
/// items only for a caller that may read them, never its lock).
fn var_written(
    found: Indexed<VariableAnswer>,
    (ns, path): (&str, &str),
    op: Op,
    caller: &Caller<'_>,
    claimed: Option<&str>,
) -> ApiResult {
    let index = found.index;
    match found.value {
        VariableAnswer::Written(v) => Ok(match op {
            // The acquirer is the holder: the answer is how it learns the ID.
            Op::Acquire => indexed_json(index, &v),
            Op::Write => indexed_json(index, &caller.shown(v, claimed)),
            Op::Renew => indexed_json(index, &metadata(v)),
            Op::Release => indexed_json(index, &metadata(Variable { lock: None, ..v })),
        }),
        VariableAnswer::Deleted => Ok(indexed_json(index, &json!({ "Index": index }))),
        VariableAnswer::Conflict(current) => {
            let mut current = current.unwrap_or_else(|| Variable {
                namespace: ns.into(),
                path: path.into(),
                ..Default::default()
            });
            current.lock = None;
            let body = if caller.may("read", ns, path) {
                serde_json::to_value(&current)
            } else {
                serde_json::to_value(metadata(current)).map(|mut v| {
                    v["Items"] = serde_json::Value::Null;
                    v
                })
            }
            .map_err(|e| ApiError::internal(e.to_string()))?;
            let mut resp = indexed_json(index, &body);
            *resp.status_mut() = StatusCode::CONFLICT;
            Ok(resp)
        }
        VariableAnswer::LockRefused(message) => Err(ApiError {
            status: StatusCode::CONFLICT,
            message,
        }),
    }
}

/// `GET /v1/vars`: metadata of variables under `?prefix=`.
pub async fn list(ctx: Ctx, Query(q): Query<QueryParams>) -> ApiResult {
    let opts = q.read_options()?;
    Ok(answer(
        ctx.node.variable_list(&opts, q.namespace(), q.prefix()).await?,
    ))
}

/// `GET /v1/var/:path`: the variable with its items (its lock for management tokens only).
pub async fn read(
    ctx: Ctx,
    headers: HeaderMap,
    Path(path): Path<String>,
    Query(q): Query<QueryParams>,
) -> ApiResult {
    let opts = q.read_options()?;
    let found = ctx.node.variable(&opts, q.namespace(), &path).await?;
    let caller = Caller {
        ctx: &ctx,
        headers: &headers,
    };
    let index = found.index;
    Ok(answer(Indexed {
        index,
        value: caller.shown(found.value, None),
    }))
}

/// `PUT /v1/var/:path[?cas=N | ?lock-acquire | ?lock-renew | ?lock-release]`.
pub async fn put(
    ctx: Ctx,
    headers: HeaderMap,
    Path(path): Path<String>,
    Query(p): Query<WriteParams>,
    JsonBody(body): JsonBody<VariableBody>,
) -> ApiResult {
    if !valid_path(&path) {
        return Err(ApiError::bad_request(format!("invalid path {path:?}")));
    }
    let size: usize = body.items.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_ITEMS_BYTES {
        return Err(ApiError::bad_request(format!(
            "variables are limited to {MAX_ITEMS_BYTES} bytes total"
        )));
    }
    let op = p.op()?;
    let ns = namespace(p.namespace.as_deref(), &body.namespace);
    let caller = Caller {
        ctx: &ctx,
        headers: &headers,
    };
    // The ACL check ran in the query's namespace (or the default one).
    let checked_ns = p
        .namespace
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    if ns != checked_ns && !caller.may("write", &ns, &path) {
        return Err(ApiError {
            status: StatusCode::FORBIDDEN,
            message: "Permission denied".into(),
        });
    }
    let lock = body.lock.unwrap_or_default();
    let claimed = (!lock.id.is_empty()).then_some(lock.id.as_str());
    let at = (ns.as_str(), path.as_str());
    let found = match op {
        Op::Write => {
            if body.items.is_empty() {
                return Err(ApiError::bad_request("variable missing required Items object"));
            }
            let cas = parse_cas(p.cas.as_deref())?;
            let var = Variable {
                namespace: ns.clone(),
                path: path.clone(),
                items: body.items,
                lock: claimed.map(|id| VariableLockSpec {
                    id: id.to_owned(),
                    ..Default::default()
                }),
                ..Default::default()
            };
            ctx.node.put_variable(var, cas).await?
        }
        Op::Acquire => {
            if claimed.is_some() {
                return Err(ApiError::bad_request(
                    "a lock acquire takes no lock ID: the server chooses it",
                ));
            }
            let ttl = lock_duration(lock.ttl.as_ref(), "TTL", DEFAULT_LOCK_TTL)?;
            let delay = lock_duration(lock.lock_delay.as_ref(), "delay", DEFAULT_LOCK_DELAY)?;
            if !(MIN_LOCK_TTL..=MAX_LOCK_TTL).contains(&ttl) {
                return Err(ApiError::bad_request(
                    "TTL must be between 10 seconds and 24 hours",
                ));
            }
            let var = Variable {
                namespace: ns.clone(),
                path: path.clone(),
                items: body.items,
                ..Default::default()
            };
            ctx.node.lock_variable(var, ttl, delay).await?
        }
        Op::Renew | Op::Release => {
            let Some(id) = claimed else {
                return Err(ApiError::bad_request("missing lock information"));
            };
            if op == Op::Release && !body.items.is_empty() {
                return Err(ApiError::bad_request(
                    "lock release operation doesn't take variable items",
                ));
            }
            let (ns, path, id) = (ns.clone(), path.clone(), id.to_owned());
            if op == Op::Renew {
                ctx.node.renew_variable_lock(ns, path, id).await?
            } else {
                ctx.node.release_variable_lock(ns, path, id).await?
            }
        }
    };
    var_written(found, at, op, &caller, claimed)
}

/// `DELETE /v1/var/:path[?cas=N]` (a locked variable is a 409: release it first).
pub async fn delete(
    ctx: Ctx,
    headers: HeaderMap,
    Path(path): Path<String>,
    Query(p): Query<WriteParams>,
) -> ApiResult {
    let cas = parse_cas(p.cas.as_deref())?;
    let ns = namespace(p.namespace.as_deref(), "");
    let found = ctx.node.delete_variable(ns.clone(), path.clone(), cas).await?;
    let caller = Caller {
        ctx: &ctx,
        headers: &headers,
    };
    var_written(found, (&ns, &path), Op::Write, &caller, None)
}
