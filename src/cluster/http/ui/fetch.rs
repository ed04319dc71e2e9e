//! A page's reads: requests to this agent's own `/v1` router, in-process, carrying the
//! caller's token. Each passes the ACL middleware exactly as the same request over HTTP, so a
//! page holds nothing that token could not read with `curl`.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, Method, Request, StatusCode};
use futures_util::future::select_all;
use serde_json::Value;
use tower::ServiceExt;

/// Largest answer a page reads (a revision list can be several MiB).
const MAX_ANSWER: usize = 32 << 20;

/// Longest a blocking read behind a live page waits, as Nomad's UI asks.
pub const WAIT: &str = "60s";

/// A read the API refused (or that failed): its status, message and path.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The API's status.
    pub status: StatusCode,
    /// The API's message.
    pub message: String,
    /// The path read, without its query.
    pub path: String,
}

/// A read's JSON and its `X-Nomad-Index`.
#[derive(Debug)]
pub struct Answer {
    /// The body.
    pub body: Value,
    /// The index it reflects.
    pub index: u64,
}

/// Reads on behalf of one request.
#[derive(Clone)]
pub struct Caller {
    api: Router,
    token: Option<HeaderValue>,
}

impl Caller {
    /// Reads `api` with `token` (none: anonymous).
    pub fn new(api: Router, token: Option<HeaderValue>) -> Self {
        Caller { api, token }
    }

    /// `GET path` (with its query), as JSON.
    pub async fn get(&self, path: &str) -> Result<Answer, Refused> {
        let bare = path.split('?').next().unwrap_or(path).to_string();
        let refused = |status: StatusCode, message: String| Refused {
            status,
            message,
            path: bare.clone(),
        };
        let mut req = Request::builder().method(Method::GET).uri(path);
        if let Some(t) = &self.token {
            req = req.header("X-Nomad-Token", t.clone());
        }
        let req = req
            .body(Body::empty())
            .map_err(|e| refused(StatusCode::BAD_REQUEST, format!("bad path: {e}")))?;
        let resp = match self.api.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = resp.status();
        let index = resp
            .headers()
            .get("X-Nomad-Index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let bytes = to_bytes(resp.into_body(), MAX_ANSWER).await.map_err(|e| {
            refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading the answer: {e}"),
            )
        })?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(refused(status, text.trim().chars().take(400).collect()));
        }
        let body = serde_json::from_slice(&bytes).map_err(|e| {
            refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the answer is not JSON: {e}"),
            )
        })?;
        Ok(Answer { body, index })
    }

    /// Waits until one of `paths` answers past `index` (a blocking read on each), or the wait
    /// ends. Index 0 answers at once.
    pub async fn wait_any(&self, paths: &[String], index: u64) {
        if index == 0 || paths.is_empty() {
            return;
        }
        let reads = paths.iter().map(|p| {
            let path = with_query(p, &format!("index={index}&wait={WAIT}"));
            Box::pin(async move { self.get(&path).await })
        });
        let _ = select_all(reads).await;
    }
}

/// `path` with `query` appended.
pub fn with_query(path: &str, query: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{query}")
}

/// Percent-encodes `s` for a path segment or a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Like [`enc`], keeping `/` (a variable's path).
pub fn enc_path(s: &str) -> String {
    s.split('/').map(enc).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_what_a_url_would_misread() {
        assert_eq!(enc("a b/c?d&e"), "a%20b%2Fc%3Fd%26e");
        assert_eq!(enc_path("app/my var"), "app/my%20var");
        assert_eq!(with_query("/v1/jobs", "index=3"), "/v1/jobs?index=3");
        assert_eq!(
            with_query("/v1/jobs?namespace=a", "index=3"),
            "/v1/jobs?namespace=a&index=3"
        );
    }
}
