//! The table and the routers cannot drift: every `.route(...)` in the routers' source has an
//! entry for each of its methods, every entry names a registered route, and the API doc lists
//! the table as [`render_markdown`] prints it.

use std::collections::BTreeSet;

use super::*;

/// The routers whose routes the ACL middleware guards, as source text.
const ROUTER_SOURCES: &[(&str, &str)] = &[
    ("src/cluster/http/mod.rs", include_str!("../http/mod.rs")),
    (
        "src/cluster/http/node_proxy.rs",
        include_str!("../http/node_proxy.rs"),
    ),
    ("src/cluster/client/http.rs", include_str!("../client/http.rs")),
    ("src/cluster/client/gc.rs", include_str!("../client/gc.rs")),
    (
        "src/cluster/client/fs_http.rs",
        include_str!("../client/fs_http.rs"),
    ),
    (
        "src/cluster/client/host_stats.rs",
        include_str!("../client/host_stats.rs"),
    ),
    (
        "src/cluster/client/actions.rs",
        include_str!("../client/actions.rs"),
    ),
    (
        "src/cluster/http/agent_control.rs",
        include_str!("../http/agent_control.rs"),
    ),
];

const METHODS: &[&str] = &["get", "post", "put", "delete", "patch"];

/// (METHOD, pattern) of every `.route("pattern", method(h).method(h)...)` in `src`.
pub(crate) fn registered(src: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let trimmed = rest.trim_start();
        let Some(lit) = trimmed.strip_prefix('"') else {
            continue;
        };
        let Some(end) = lit.find('"') else { break };
        let path = &lit[..end];
        // The method router: up to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let args = &lit[end + 1..];
        let close = args
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(args.len(), |(i, _)| i);
        let call = &args[..close];
        for m in METHODS {
            let pat = format!("{m}(");
            let found = call.match_indices(&pat).any(|(i, _)| {
                let prev = call[..i].chars().last();
                !prev.is_some_and(|p| p == ':' || p == '_' || p.is_alphanumeric())
            });
            if found {
                out.push((m.to_uppercase(), path.to_owned()));
            }
        }
    }
    out
}

#[test]
fn every_registered_route_has_an_entry() {
    let mut missing = Vec::new();
    let mut total = 0;
    for (file, src) in ROUTER_SOURCES {
        for (method, path) in registered(src) {
            total += 1;
            if need_for(&method, &path).is_none() {
                missing.push(format!("{method} {path} ({file})"));
            }
        }
    }
    assert!(total > 60, "the source scan found only {total} routes");
    assert!(
        missing.is_empty(),
        "routes without an ACL entry in src/cluster/acl/routes.rs: {missing:#?}"
    );
}

#[test]
fn every_entry_is_a_registered_route() {
    let mut seen = BTreeSet::new();
    for (_, src) in ROUTER_SOURCES {
        seen.extend(registered(src));
    }
    for e in ROUTES {
        for m in e.methods.split(' ') {
            assert!(
                seen.contains(&(m.to_owned(), e.path.to_owned())),
                "table entry {m} {} matches no registered route",
                e.path
            );
        }
    }
}

#[test]
fn the_scan_reads_method_chains() {
    let src = r#"Router::new().route("/a/{id}", get(x::get).put(kv::put).delete(h)).route(CHECK, get(c))
        .route(
            "/b",
            post(p::put),
        )"#;
    assert_eq!(
        registered(src),
        vec![
            ("GET".into(), "/a/{id}".into()),
            ("PUT".into(), "/a/{id}".into()),
            ("DELETE".into(), "/a/{id}".into()),
            ("POST".into(), "/b".into()),
        ]
    );
}

#[test]
fn the_api_doc_lists_the_table() {
    let doc = include_str!("../../../docs/cluster-api.md");
    let table = render_markdown();
    assert!(
        doc.contains(&table),
        "docs/cluster-api.md must contain the route table as `render_markdown` prints it:\n{table}"
    );
}
