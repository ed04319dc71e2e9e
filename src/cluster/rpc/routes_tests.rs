//! The RPC table and the RPC routers cannot drift: every `.route(...)` of the RPC listener's
//! routers has an entry, every entry is registered, the middleware's rule for server-only
//! paths agrees with the table, and the doc lists the table.

use std::collections::BTreeSet;

use super::*;
use crate::cluster::acl::routes::tests::registered;

/// The RPC listener's routers as source text: the listener's own, Raft's, and the API reads
/// served to clients (the `client_reads` function of `http/mod.rs` only).
fn router_sources() -> Vec<(&'static str, String)> {
    let http = include_str!("../http/mod.rs");
    let start = http
        .find("pub fn client_reads")
        .expect("client_reads in http/mod.rs");
    let end = http[start..].find("\n}\n").map_or(http.len(), |e| start + e);
    vec![
        ("src/cluster/rpc/mod.rs", include_str!("mod.rs").to_owned()),
        (
            "src/cluster/raft/rpc.rs",
            include_str!("../raft/rpc.rs").to_owned(),
        ),
        ("src/cluster/http/mod.rs", http[start..end].to_owned()),
    ]
}

/// `src` with the path constants the routers use written out as literals, so the scan sees
/// them; a constant missing here leaves its route unseen, and the count check below fails.
fn with_constants(src: &str) -> String {
    let consts = [
        ("cluster::INFO", cluster::INFO),
        ("cluster::WRITE", cluster::WRITE),
        ("cluster::READ_INDEX", cluster::READ_INDEX),
        ("cluster::JOIN", cluster::JOIN),
        ("cluster::LEAVE", cluster::LEAVE),
        ("clients::REGISTER", clients::REGISTER),
        ("clients::HEARTBEAT", clients::HEARTBEAT),
        ("clients::ALLOC_UPDATE", clients::ALLOC_UPDATE),
        ("clients::SERVICES", clients::SERVICES),
        ("clients::NODE_ALLOCS", clients::NODE_ALLOCS),
        ("clients::ALLOCS_GET", clients::ALLOCS_GET),
        ("acl::CHECK", CHECK),
    ];
    consts.iter().fold(src.to_owned(), |s, (name, value)| {
        s.replace(name, &format!("{value:?}"))
    })
}

fn registered_rpc() -> Vec<(String, String, &'static str)> {
    let mut out = Vec::new();
    for (file, src) in router_sources() {
        let src = with_constants(&src);
        assert!(
            src.matches(".route(").count()
                == registered(&src)
                    .iter()
                    .map(|(_, p)| p)
                    .collect::<BTreeSet<_>>()
                    .len(),
            "{file}: a `.route(` whose path is neither a literal nor a known constant"
        );
        out.extend(registered(&src).into_iter().map(|(m, p)| (m, p, file)));
    }
    out
}

#[test]
fn every_rpc_route_has_one_entry_and_every_entry_is_registered() {
    let seen = registered_rpc();
    assert!(
        seen.len() >= 20,
        "the source scan found only {} RPC routes",
        seen.len()
    );
    for (method, path, file) in &seen {
        let n = RPC_ROUTES
            .iter()
            .filter(|e| e.path == path && e.methods.split(' ').any(|m| m == method))
            .count();
        assert_eq!(
            n, 1,
            "{method} {path} ({file}) has {n} entries in src/cluster/rpc/routes.rs"
        );
    }
    let seen: BTreeSet<(String, String)> = seen.into_iter().map(|(m, p, _)| (m, p)).collect();
    for e in RPC_ROUTES {
        for m in e.methods.split(' ') {
            assert!(
                seen.contains(&(m.to_owned(), e.path.to_owned())),
                "RPC table entry {m} {} matches no registered route",
                e.path
            );
        }
    }
}

#[test]
fn the_middleware_admits_what_the_table_says() {
    for e in RPC_ROUTES {
        assert_eq!(
            super::super::auth::servers_only(e.path),
            e.callers == Callers::Servers,
            "{}: the middleware's server-only rule disagrees with the table",
            e.path
        );
        assert_eq!(
            e.path == clients::REGISTER,
            e.callers == Callers::Registration,
            "{}: only registration admits unregistered nodes",
            e.path
        );
    }
}

#[test]
fn the_api_doc_lists_the_rpc_table() {
    let doc = include_str!("../../../docs/cluster-api.md");
    let table = render_markdown();
    assert!(
        doc.contains(&table),
        "docs/cluster-api.md must contain the RPC route table as `render_markdown` prints it:\n{table}"
    );
}
