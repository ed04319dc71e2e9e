//! `/ui`: the web dashboard. Three public static assets, embedded in the binary (the HTML
//! shell, one CSS file, one small JS file), and the pages, rendered here with tera from
//! templates embedded beside them. A page's data is read in-process from this agent's own
//! `/v1` router with the caller's token, so each read passes the same ACL check as over HTTP
//! and a page never shows what that token could not read with `curl`.
//!
//! ```text
//!  GET /ui ──► index.html ──► app.js ── GET /ui/page/<route>?... + X-Nomad-Token ──► page()
//!                                        (token in sessionStorage; no cookie)           │
//!                  HTML fragment, X-Nomad-Index ◄── tera (autoescape) ◄── /v1 reads ◄───┘
//!  live pages: app.js asks again with ?index=N; page() blocks on the page's /v1 reads
//!  (?index=N&wait=60s) until one moves, then renders again
//! ```

mod cluster_pages;
mod fetch;
mod pages;
mod shape;
mod stacks;
mod var_pages;

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use fetch::{Caller, Refused};

const INDEX_HTML: &str = include_str!("ui/index.html");
const APP_CSS: &str = include_str!("ui/app.css");
const APP_JS: &str = include_str!("ui/app.js");

/// Scripts and styles only from this agent, no inline script, no framing: the token the page
/// holds stays with it.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    asset_response(content_type, body)
}

fn asset_response(content_type: &'static str, body: impl IntoResponse) -> Response {
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

/// Longest page route and query value accepted.
const MAX_ROUTE: usize = 1024;
const MAX_PARAM: usize = 512;
const MAX_PARAMS: usize = 16;

/// The templates, by name. Names end in `.html`, so tera escapes every value printed.
const TEMPLATES: &[(&str, &str)] = &[
    ("_status.html", include_str!("ui/templates/_status.html")),
    ("_facts.html", include_str!("ui/templates/_facts.html")),
    ("_allocs.html", include_str!("ui/templates/_allocs.html")),
    ("_versions.html", include_str!("ui/templates/_versions.html")),
    ("error.html", include_str!("ui/templates/error.html")),
    ("jobs.html", include_str!("ui/templates/jobs.html")),
    ("job.html", include_str!("ui/templates/job.html")),
    ("versions.html", include_str!("ui/templates/versions.html")),
    ("allocation.html", include_str!("ui/templates/allocation.html")),
    ("nodes.html", include_str!("ui/templates/nodes.html")),
    ("node.html", include_str!("ui/templates/node.html")),
    ("servers.html", include_str!("ui/templates/servers.html")),
    ("vars.html", include_str!("ui/templates/vars.html")),
    ("var.html", include_str!("ui/templates/var.html")),
    ("stacks.html", include_str!("ui/templates/stacks.html")),
    ("stack.html", include_str!("ui/templates/stack.html")),
    ("revision.html", include_str!("ui/templates/revision.html")),
];

static TERA: LazyLock<Result<tera::Tera, String>> = LazyLock::new(|| {
    let mut t = tera::Tera::new();
    t.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| format!("the dashboard's templates do not build: {e}"))?;
    Ok(t)
});

/// What a page renders: its template and context, the reads a live page blocks on, and the
/// index its data reflects.
pub struct View {
    template: &'static str,
    ctx: Value,
    watched: Vec<String>,
    index: u64,
}

impl View {
    /// A page; `watched` empty: not live.
    pub fn new(template: &'static str, ctx: Value, watched: Vec<String>, index: u64) -> Self {
        View {
            template,
            ctx,
            watched,
            index,
        }
    }
}

/// The pages' state: the API router they read.
#[derive(Clone)]
pub struct Pages {
    api: Router,
}

impl Pages {
    /// Pages reading `api`.
    pub fn new(api: Router) -> Self {
        Pages { api }
    }
}

/// The caller's token, as the API reads it (`X-Nomad-Token`, or `Authorization: Bearer`).
fn token_of(headers: &HeaderMap) -> Option<HeaderValue> {
    if let Some(t) = headers.get("X-Nomad-Token") {
        return Some(t.clone());
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| HeaderValue::from_str(t.trim()).ok())
}

fn bad(message: String) -> Refused {
    Refused {
        status: StatusCode::BAD_REQUEST,
        message,
        path: "/ui/page".into(),
    }
}

fn param<'a>(q: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    q.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

fn number(q: &HashMap<String, String>, key: &str) -> Result<Option<u64>, Refused> {
    param(q, key)
        .map(|v| {
            v.parse().map_err(|_| {
                bad(format!(
                    "{key}={v:?} is not a number: give a whole number, e.g. {key}=3"
                ))
            })
        })
        .transpose()
}

/// Builds the view of page `route` (`jobs`, `job/ID`, ...).
async fn build(c: &Caller, route: &str, q: &HashMap<String, String>) -> Result<View, Refused> {
    let ns = param(q, "namespace").unwrap_or("default");
    let parts: Vec<&str> = route.split('/').filter(|p| !p.is_empty()).collect();
    // No dot segments: every part names an object, never a step up a path.
    let dots = parts.iter().any(|p| *p == "." || *p == "..");
    match parts.as_slice() {
        _ if dots => Err(Refused {
            status: StatusCode::NOT_FOUND,
            message: "a page address has no `.` or `..` parts".into(),
            path: format!("/ui/page/{route}"),
        }),
        [] | ["jobs"] => pages::jobs(c).await,
        ["job", id] => pages::job(c, id, ns).await,
        ["job", id, "versions"] => pages::versions(c, id, ns, number(q, "a")?, number(q, "b")?).await,
        ["allocation", id] => cluster_pages::allocation(c, id, param(q, "task"), param(q, "type")).await,
        ["nodes"] => cluster_pages::nodes(c).await,
        ["node", id] => cluster_pages::node(c, id).await,
        ["servers"] => cluster_pages::servers(c).await,
        ["vars"] => var_pages::vars(c).await,
        ["var", path @ ..] if !path.is_empty() => {
            var_pages::var(c, &path.join("/"), ns, param(q, "reveal") == Some("1")).await
        }
        ["stacks"] => stacks::stacks(c).await,
        ["stack", name] => stacks::stack(c, name).await,
        ["stack", name, "rev", serial] => {
            let serial = serial
                .parse()
                .map_err(|_| bad(format!("revision {serial:?} is not a number")))?;
            stacks::revision(c, name, serial).await
        }
        _ => Err(Refused {
            status: StatusCode::NOT_FOUND,
            message: "no such page: try #/jobs, #/nodes, #/servers, #/vars or #/stacks".into(),
            path: format!("/ui/page/{route}"),
        }),
    }
}

fn render(view: Result<View, Refused>, has_token: bool) -> Response {
    let (status, template, ctx, live, index) = match view {
        Ok(v) => (StatusCode::OK, v.template, v.ctx, !v.watched.is_empty(), v.index),
        Err(r) => {
            let denied = r.status == StatusCode::FORBIDDEN;
            let ctx = json!({
                "denied": denied, "has_token": has_token, "path": r.path, "message": r.message,
            });
            (r.status, "error.html", ctx, false, 0)
        }
    };
    let html = match &*TERA {
        Ok(t) => tera::Context::from_serialize(&ctx).and_then(|c| t.render(template, &c)),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.clone()).into_response(),
    };
    let html = match html {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(template, error = %e, "rendering a dashboard page failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("rendering {template} failed: {e}"),
            )
                .into_response();
        }
    };
    let mut resp = asset_response("text/html; charset=utf-8", html);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("X-Nomad-Index", HeaderValue::from(index));
    h.insert(
        "X-Deploy-Live",
        HeaderValue::from_static(if live { "1" } else { "0" }),
    );
    resp
}

/// `GET /ui/page/{*route}?...[&index=N]`: one page as an HTML fragment. With `index`, waits
/// (a blocking read on each of the page's reads) until its data moves past `index` or the
/// wait ends, then renders.
pub async fn page(
    State(pages): State<Pages>,
    Path(route): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let token = token_of(&headers);
    let has_token = token.is_some();
    if route.len() > MAX_ROUTE
        || q.len() > MAX_PARAMS
        || q.iter().any(|(k, v)| k.len() > 64 || v.len() > MAX_PARAM)
    {
        let limits = format!(
            "the page address is too long: at most {MAX_ROUTE} bytes of route and {MAX_PARAMS} parameters of {MAX_PARAM} bytes"
        );
        return render(Err(bad(limits)), has_token);
    }
    let index = match number(&q, "index") {
        Ok(i) => i.unwrap_or(0),
        Err(r) => return render(Err(r), has_token),
    };
    let caller = Caller::new(pages.api, token);
    let mut view = build(&caller, &route, &q).await;
    if let Ok(v) = &view
        && index > 0
        && v.index <= index
        && !v.watched.is_empty()
    {
        caller.wait_any(&v.watched, index).await;
        view = build(&caller, &route, &q).await;
    }
    render(view, has_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_build_and_escape_what_they_print() {
        let t = TERA.as_ref().expect("templates");
        let ctx = json!({"jobs": [{
            "name": "<script>alert(1)</script>", "href": "#/job/x\"onclick=\"y", "namespace": "default",
            "type": "service", "status": shape::status("running"), "version": "0", "allocs": "",
        }]});
        let html = t
            .render("jobs.html", &tera::Context::from_serialize(&ctx).unwrap())
            .unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("\"onclick"), "{html}");
    }

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
        // Pages arrive rendered and escaped by the agent; the script parses them with
        // DOMParser (which runs no script) and never writes markup of its own.
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!APP_JS.contains(sink), "app.js uses {sink}");
        }
    }
}
