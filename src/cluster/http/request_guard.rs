//! What every agent refuses before any route sees the request: the two ways a web page the
//! user opens could reach an agent on their machine.
//!
//! - A "simple" cross-site request (a form, or `fetch` with `text/plain`) needs no CORS
//!   preflight, so a page can POST a job to `127.0.0.1:4646` blind. Every state-changing
//!   request (POST, PUT, DELETE) must therefore say its body is JSON, which a page can only
//!   send after a preflight that the agent never grants. A write with no body and no
//!   `Content-Type` still passes: Nomad clients send bodiless PUTs for some actions.
//! - DNS rebinding: a page's own host name re-pointed at 127.0.0.1 makes the browser send
//!   same-origin requests to the agent, carrying the page's name in `Host`. An agent bound to
//!   a loopback address answers only requests whose `Host` is a loopback name or address.

use std::net::IpAddr;

use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What the guard checks on this listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestGuard {
    /// Whether the listener is bound to a loopback address (then `Host` must be loopback too).
    pub loopback_bind: bool,
}

impl RequestGuard {
    /// The guard for a listener bound to `ip`.
    pub fn for_bind(ip: IpAddr) -> Self {
        RequestGuard {
            loopback_bind: ip.is_loopback(),
        }
    }

    /// Why `req` is refused, as a status and a sentence; `None` lets it through.
    pub fn verdict(&self, req: &Request) -> Option<(StatusCode, String)> {
        if self.loopback_bind {
            let host = request_host(req);
            if !host.is_some_and(is_loopback_host) {
                let shown = host.unwrap_or("(none)");
                return Some((
                    StatusCode::FORBIDDEN,
                    format!(
                        "Host {shown:?} refused: this agent listens on loopback and answers only loopback host names"
                    ),
                ));
            }
        }
        if is_write(req.method()) && !json_or_empty(req) {
            return Some((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "writes must send Content-Type: application/json".to_owned(),
            ));
        }
        None
    }
}

/// The middleware: refuses what [`RequestGuard::verdict`] refuses, before the route runs.
pub async fn refuse_unsafe(State(guard): State<RequestGuard>, req: Request, next: Next) -> Response {
    match guard.verdict(&req) {
        Some((status, message)) => (status, message).into_response(),
        None => next.run(req).await,
    }
}

fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    )
}

/// A JSON media type (`application/json`, `application/merge-patch+json`, with any
/// parameters), or no `Content-Type` at all on a request that surely has no body.
fn json_or_empty(req: &Request) -> bool {
    match req.headers().get(header::CONTENT_TYPE) {
        Some(value) => value.to_str().is_ok_and(is_json_media_type),
        None => req.body().size_hint().exact() == Some(0),
    }
}

fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The `Host` header, or the URI's authority (HTTP/2 sends `:authority` instead).
fn request_host(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
}

/// `localhost`, a name under `.localhost`, or a loopback IP, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = strip_port(host.trim());
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // `[::1]:4646`: the port follows the bracket.
        return host
            .split_once(']')
            .map_or(host, |(addr, _)| &host[..=addr.len()]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(
        method: Method,
        host: Option<&str>,
        content_type: Option<&str>,
        body: &'static str,
    ) -> Request {
        let mut b = axum::http::Request::builder().method(method).uri("/v1/jobs");
        if let Some(h) = host {
            b = b.header(header::HOST, h);
        }
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        b.body(Body::from(body)).expect("request")
    }

    const LOOPBACK: RequestGuard = RequestGuard { loopback_bind: true };
    const WIDE: RequestGuard = RequestGuard { loopback_bind: false };

    #[test]
    fn writes_need_json() {
        let ok = |ct: Option<&str>, body| {
            LOOPBACK.verdict(&request(Method::POST, Some("127.0.0.1:4646"), ct, body))
        };
        assert_eq!(ok(Some("application/json"), "{}"), None);
        assert_eq!(ok(Some("Application/JSON; charset=utf-8"), "{}"), None);
        assert_eq!(ok(Some("application/merge-patch+json"), "{}"), None);
        assert_eq!(ok(None, ""), None);
        for refused in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let v = ok(Some(refused), "{}").expect(refused);
            assert_eq!(v.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
        assert!(ok(None, "{}").is_some(), "a body without a type is refused");
        assert!(
            ok(Some("text/plain"), "").is_some(),
            "a declared non-JSON type is refused even when empty"
        );
    }

    #[test]
    fn reads_need_no_content_type() {
        assert_eq!(
            LOOPBACK.verdict(&request(Method::GET, Some("localhost"), Some("text/plain"), "")),
            None
        );
    }

    #[test]
    fn loopback_binds_need_loopback_hosts() {
        for host in [
            "127.0.0.1:4646",
            "127.0.0.2",
            "localhost:4646",
            "LOCALHOST",
            "api.localhost",
            "[::1]:4646",
            "::1",
        ] {
            assert_eq!(
                LOOPBACK.verdict(&request(Method::GET, Some(host), None, "")),
                None,
                "{host}"
            );
        }
        for host in [
            "evil.example",
            "evil.example:4646",
            "127.0.0.1.evil.example",
            "10.0.0.1:4646",
            "localhost.evil",
        ] {
            let v = LOOPBACK
                .verdict(&request(Method::GET, Some(host), None, ""))
                .expect(host);
            assert_eq!(v.0, StatusCode::FORBIDDEN);
        }
        assert!(LOOPBACK.verdict(&request(Method::GET, None, None, "")).is_some());
    }

    #[test]
    fn wide_binds_take_any_host() {
        assert_eq!(
            WIDE.verdict(&request(Method::GET, Some("nomad.example:4646"), None, "")),
            None
        );
        assert!(
            WIDE.verdict(&request(
                Method::PUT,
                Some("nomad.example"),
                Some("text/plain"),
                "x"
            ))
            .is_some()
        );
    }

    #[test]
    fn guard_follows_the_bind() {
        assert!(RequestGuard::for_bind("127.0.0.1".parse().unwrap()).loopback_bind);
        assert!(!RequestGuard::for_bind("0.0.0.0".parse().unwrap()).loopback_bind);
    }
}
