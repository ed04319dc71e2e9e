//! `/ui`: the web dashboard. Three public static assets, embedded in the binary: the HTML
//! shell, one CSS file and one JS file. They carry no cluster data; the page's script reads
//! everything through this same API (`/v1/...`) with the token the user enters, so a page
//! never shows what that token could not read with `curl`.
//!
//! ```text
//!  GET /ui ──► index.html ──► app.js ──fetch /v1/... + X-Nomad-Token (sessionStorage)──► API
//!                                   └─ ?index= blocking queries on the job and allocation pages
//! ```

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("ui/index.html");
const APP_CSS: &str = include_str!("ui/app.css");
const APP_JS: &str = include_str!("ui/app.js");

/// Scripts and styles only from this agent, no inline script, no framing: the token the page
/// holds stays with it.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("X-Content-Type-Options", HeaderValue::from_static("nosniff"));
    h.insert("Content-Security-Policy", HeaderValue::from_static(CSP));
    h.insert("Referrer-Policy", HeaderValue::from_static("no-referrer"));
    resp
}

/// The HTML shell (every page: the script routes on the URL's `#/...` fragment).
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// The stylesheet.
pub async fn css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

/// The script.
pub async fn js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_loads_only_its_own_assets() {
        assert!(INDEX_HTML.contains(r#"src="/ui/app.js""#));
        assert!(INDEX_HTML.contains(r#"href="/ui/app.css""#));
        // The CSP forbids inline script: the shell must not need any.
        assert!(!INDEX_HTML.contains("<script>"));
        let handler = INDEX_HTML.split(" on").skip(1).find(|rest| {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert_eq!(handler, None, "no inline event handlers");
    }

    #[test]
    fn the_token_stays_in_session_storage() {
        assert!(APP_JS.contains("sessionStorage"));
        assert!(!APP_JS.contains("localStorage"));
        assert!(!APP_JS.contains("document.cookie"));
        assert!(
            !APP_JS.contains("innerHTML"),
            "text is set as text, never parsed as HTML"
        );
    }
}
