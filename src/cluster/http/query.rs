//! Query parameters shared by read endpoints (blocking queries, namespace, prefix) and the
//! response headers every answer carries.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::ApiError;

/// Default wait of a blocking query, as Nomad's.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(300);
/// Longest wait a blocking query may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(600);

/// Query-string options of read endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct QueryParams {
    /// Block until the index passes this value.
    pub index: Option<String>,
    /// How long to block (`5s`, `100ms`, `2m`).
    pub wait: Option<String>,
    /// Namespace (`default` when absent; `*` for all where lists allow it).
    pub namespace: Option<String>,
    /// ID or path prefix for lists.
    pub prefix: Option<String>,
    /// Serve from the local state without a linearizable barrier.
    pub stale: Option<String>,
}

/// Parsed blocking-query options.
#[derive(Debug, Clone)]
pub struct Blocking {
    /// Minimum index (0 = do not block).
    pub min_index: u64,
    /// Wait.
    pub wait: Duration,
}

impl QueryParams {
    /// The blocking options.
    pub fn blocking(&self) -> Result<Blocking, ApiError> {
        let min_index = match self.index.as_deref() {
            None | Some("") => 0,
            Some(s) => s
                .parse()
                .map_err(|_| ApiError::bad_request(format!("Invalid index: {s:?}")))?,
        };
        let wait = match self.wait.as_deref() {
            None | Some("") => DEFAULT_WAIT,
            Some(s) => {
                parse_duration(s).ok_or_else(|| ApiError::bad_request(format!("Invalid wait time: {s:?}")))?
            }
        };
        Ok(Blocking {
            min_index,
            wait: wait.min(MAX_WAIT),
        })
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        self.namespace
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("default")
    }

    /// The prefix ("" for all).
    pub fn prefix(&self) -> &str {
        self.prefix.as_deref().unwrap_or("")
    }

    /// Whether `?stale` was given (any value but `false`).
    pub fn stale(&self) -> bool {
        self.stale.as_deref().is_some_and(|v| v != "false")
    }
}

/// Parses a Go-style duration: `250ms`, `5s`, `1m30s`, `1h`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let (num, tail) = rest.split_at(digits);
        let value: f64 = num.parse().ok()?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += Duration::try_from_secs_f64(value * scale).ok()?;
        rest = next;
    }
    Some(total)
}

/// A JSON answer with `X-Nomad-Index` set to `index`.
pub fn indexed_json<T: Serialize>(index: u64, value: &T) -> Response {
    let mut resp = match serde_json::to_vec(value) {
        Ok(body) => ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => return ApiError::internal(e.to_string()).into_response(),
    };
    set_index(resp.headers_mut(), index);
    resp
}

/// Sets `X-Nomad-Index`.
pub fn set_index(headers: &mut HeaderMap, index: u64) {
    headers.insert("X-Nomad-Index", HeaderValue::from(index.max(1)));
}

/// A boolean query parameter as Nomad reads it (Go's `strconv.ParseBool`: `1`, `t`, `true`,
/// `TRUE`, ...); absent or empty is false, anything else a 400 with Nomad's text.
pub fn query_bool(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("") => Ok(false),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(v) => Err(ApiError::bad_request(format!(
            "Failed to parse value of \"{name}\" ({v}) as a bool: strconv.ParseBool: parsing {v:?}: invalid syntax"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("abc"), None);
        assert_eq!(parse_duration("5x"), None);
    }
}
