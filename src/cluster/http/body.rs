//! The JSON body extractor: any unreadable, oversized or malformed body is a 400 with a
//! plain-text reason, never a panic or a framework-specific status.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest accepted API request body.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// The whole body, or a 400 saying why it could not be read (too large, cut off).
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        ApiError::bad_request(format!(
            "Request body could not be read (limit {MAX_BODY} bytes): {e}"
        ))
    })
}

/// A request body decoded from JSON.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("Failed to parse JSON input: {e}")))
    }
}

/// A JSON body that may be absent: an empty body is `T::default()` (Nomad's older clients
/// call some action endpoints without one).
pub struct JsonOrEmpty<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for JsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonOrEmpty(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(JsonOrEmpty)
            .map_err(|e| ApiError::bad_request(format!("Failed to parse JSON input: {e}")))
    }
}

/// Field paths present in `input` that did not survive decoding into `typed` (serialized
/// back): fields the model does not know, which Nomad would silently drop. `null` inputs are
/// not reported.
pub fn unknown_fields(input: &serde_json::Value, typed: &serde_json::Value) -> Vec<String> {
    fn walk(path: &str, input: &serde_json::Value, typed: &serde_json::Value, out: &mut Vec<String>) {
        use serde_json::Value;
        match (input, typed) {
            (Value::Object(i), Value::Object(t)) => {
                for (k, v) in i {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    match t.get(k) {
                        Some(tv) => walk(&p, v, tv, out),
                        None if v.is_null() => {}
                        None => out.push(p),
                    }
                }
            }
            (Value::Array(i), Value::Array(t)) => {
                for (n, (iv, tv)) in i.iter().zip(t).enumerate() {
                    walk(&format!("{path}[{n}]"), iv, tv, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", input, typed, &mut out);
    out
}

/// Decodes a job from its JSON, refusing fields the job model does not have.
pub fn strict_job(value: serde_json::Value) -> Result<crate::spec::Job, ApiError> {
    let job: crate::spec::Job = serde_json::from_value(value.clone())
        .map_err(|e| ApiError::bad_request(format!("Failed to decode job: {e}")))?;
    let back = serde_json::to_value(&job).map_err(|e| ApiError::internal(e.to_string()))?;
    let unknown = unknown_fields(&value, &back);
    if !unknown.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Failed to decode job: unknown field(s) {}; check the spelling against Nomad's JSON job specification",
            unknown.join(", ")
        )));
    }
    Ok(job)
}
