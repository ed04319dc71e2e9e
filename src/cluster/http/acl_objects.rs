//! `/v1/acl/policies`, `/v1/acl/policy/:name`, `/v1/acl/tokens`, `/v1/acl/token[/:accessor]`:
//! Nomad's ACL policy and token objects, field for field. Token secrets appear only in the
//! answer that created them (and in `/v1/acl/token/self`, to the holder).

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use super::body::JsonBody;
use super::error::{ApiError, ApiResult};
use super::query::{indexed_json, set_index};
use super::read::answer;
use crate::cluster::fsm::{AclPolicy, AclToken};
use crate::cluster::server::endpoints::TokenRequest;

fn enabled(ctx: &Ctx) -> Result<(), ApiError> {
    if ctx.acl_enabled {
        Ok(())
    } else {
        Err(ApiError::bad_request("ACL support disabled"))
    }
}

fn written(index: u64) -> Response {
    let mut resp = StatusCode::OK.into_response();
    set_index(resp.headers_mut(), index);
    resp
}

/// `GET /v1/acl/policies`: stubs (no rules).
pub async fn policies(ctx: Ctx) -> ApiResult {
    enabled(&ctx)?;
    let found = ctx.node.acl_policies();
    let stubs: Vec<Value> = found
        .value
        .iter()
        .map(|p| {
            json!({"Name": p.name, "Description": p.description,
                   "CreateIndex": p.create_index, "ModifyIndex": p.modify_index})
        })
        .collect();
    Ok(indexed_json(found.index, &stubs))
}

/// `GET /v1/acl/policy/:name`.
pub async fn policy(ctx: Ctx, Path(name): Path<String>) -> ApiResult {
    enabled(&ctx)?;
    Ok(answer(ctx.node.acl_policy(&name)?))
}

/// `POST|PUT /v1/acl/policy/:name` with `{"Name", "Description", "Rules"}`.
pub async fn policy_upsert(
    ctx: Ctx,
    Path(name): Path<String>,
    JsonBody(p): JsonBody<AclPolicy>,
) -> ApiResult {
    enabled(&ctx)?;
    if !p.name.is_empty() && p.name != name {
        return Err(ApiError::bad_request(format!(
            "policy name {:?} in the body differs from {name:?} in the path",
            p.name
        )));
    }
    let index = ctx.node.acl_policy_upsert(AclPolicy { name, ..p }).await?;
    Ok(written(index))
}

/// `DELETE /v1/acl/policy/:name`.
pub async fn policy_delete(ctx: Ctx, Path(name): Path<String>) -> ApiResult {
    enabled(&ctx)?;
    Ok(written(ctx.node.acl_policy_delete(&name).await?))
}

/// A token as listed: everything but the secret.
fn stub(t: &AclToken) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("SecretID");
    }
    v
}

/// `GET /v1/acl/tokens`.
pub async fn tokens(ctx: Ctx) -> ApiResult {
    enabled(&ctx)?;
    let found = ctx.node.acl_tokens();
    let stubs: Vec<Value> = found.value.iter().map(stub).collect();
    Ok(indexed_json(found.index, &stubs))
}

/// `GET /v1/acl/token/:accessor` (the secret is not kept, so `SecretID` is empty).
pub async fn token(ctx: Ctx, Path(accessor): Path<String>) -> ApiResult {
    enabled(&ctx)?;
    Ok(answer(ctx.node.acl_token(&accessor)?))
}

/// The body of a token create or update.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TokenBody {
    name: String,
    r#type: String,
    policies: Option<Vec<String>>,
    global: bool,
    expiration_time: Option<String>,
    #[serde(rename = "ExpirationTTL")]
    expiration_ttl: Option<Value>,
}

impl TokenBody {
    fn into_request(self) -> Result<TokenRequest, ApiError> {
        let ttl = match &self.expiration_ttl {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| ApiError::bad_request("ExpirationTTL must be whole nanoseconds"))?,
            Some(Value::String(s)) if s.is_empty() => 0,
            Some(Value::String(s)) => go_duration_nanos(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "ExpirationTTL {s:?}: expected a duration such as \"1h30m\""
                ))
            })?,
            Some(_) => {
                return Err(ApiError::bad_request(
                    "ExpirationTTL must be a duration string or nanoseconds",
                ));
            }
        };
        Ok(TokenRequest {
            name: self.name,
            r#type: self.r#type,
            policies: self.policies.unwrap_or_default(),
            global: self.global,
            expiration_time: self
                .expiration_time
                .filter(|t| !t.is_empty() && !t.starts_with("0001-")),
            expiration_ttl_nanos: ttl,
        })
    }
}

/// `POST|PUT /v1/acl/token`: creates a token and answers it with its secret.
pub async fn token_create(ctx: Ctx, JsonBody(body): JsonBody<TokenBody>) -> ApiResult {
    enabled(&ctx)?;
    Ok(answer(ctx.node.acl_token_create(body.into_request()?).await?))
}

/// `POST|PUT /v1/acl/token/:accessor`: updates name, policies and `Global`.
pub async fn token_update(
    ctx: Ctx,
    Path(accessor): Path<String>,
    JsonBody(body): JsonBody<TokenBody>,
) -> ApiResult {
    enabled(&ctx)?;
    Ok(answer(
        ctx.node.acl_token_update(&accessor, body.into_request()?).await?,
    ))
}

/// `DELETE /v1/acl/token/:accessor`.
pub async fn token_delete(ctx: Ctx, Path(accessor): Path<String>) -> ApiResult {
    enabled(&ctx)?;
    Ok(written(ctx.node.acl_token_delete(&accessor).await?))
}

/// A Go duration (`"90s"`, `"1h30m"`, `"250ms"`) in nanoseconds.
pub fn go_duration_nanos(s: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let per = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add((value * per) as i64)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::go_duration_nanos;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_nanos("1h30m"), Some(5_400_000_000_000));
        assert_eq!(go_duration_nanos("250ms"), Some(250_000_000));
        assert_eq!(go_duration_nanos("1.5s"), Some(1_500_000_000));
        assert_eq!(go_duration_nanos("10"), None);
        assert_eq!(go_duration_nanos("1d"), None);
        assert_eq!(go_duration_nanos(""), None);
    }
}
