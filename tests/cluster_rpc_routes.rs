//! Every route of the RPC listener, from the table in `src/cluster/rpc/routes.rs`, called on a
//! real server with no credentials, a wrong cluster key, a registered node's wrong secret and
//! an unregistered node's made-up secret: each is refused (401 without credentials, 403
//! otherwise) before its body is read — the request announces a 1 MiB body and sends none, so
//! a server that waited for it would never answer. The one documented exception: a node not
//! registered yet may call registration (that is how a node joins). With the right cluster
//! key every route is served (not the router's 404), so the walk covers real routes.

mod cluster_harness;

use std::time::Duration;

use deploy::cluster::rpc::routes::{Callers, RPC_ROUTES};
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// The node the walk registers, and its secret.
const NODE: &str = "walk-node";
const SECRET: &str = "walk-secret";

/// What a call presents, the headers it sends, and the status it must get.
type Case = (&'static str, &'static [(&'static str, &'static str)], u16);

/// `pattern` with every `{...}` segment filled in.
fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|s| match s {
            s if s.starts_with("{*") => "some/path",
            s if s.starts_with('{') => NODE,
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Sends `method path` to `addr` over a raw connection with `headers` and a 1 MiB body
/// announced but never sent; the status of the answer. Panics if none comes: the server then
/// waited for the body.
async fn status_without_body(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> u16 {
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).await.expect("write head");
    let mut buf = [0u8; 64];
    // A liveness guard, not a measurement: an answer that needs the body never comes.
    let n = tokio::time::timeout(Duration::from_secs(30), conn.read(&mut buf))
        .await
        .unwrap_or_else(|_| panic!("{method} {path} with {headers:?}: no answer without the body"))
        .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: not an HTTP answer: {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_route_refuses_missing_and_garbage_credentials_before_the_body() {
    let c = cluster_harness::Cluster::start(BIN, 1).await;
    let rpc = c.agents[0].rpc_addr.clone();
    let node = json!({"Node": {"ID": NODE, "Name": NODE, "Datacenter": "dc1", "SecretID": SECRET, "Status": "ready"}});
    let registered = c
        .http
        .put(c.agents[0].rpc_url("/v1/internal/node/register"))
        .header("X-Deploy-Node-ID", NODE)
        .header("X-Deploy-Node-Secret", SECRET)
        .json(&node)
        .send()
        .await
        .expect("register the walk's node");
    assert_eq!(registered.status(), 200, "registering {NODE}");

    let cases: [Case; 4] = [
        ("no credentials", &[], 401),
        (
            "a wrong cluster key",
            &[("X-Deploy-Cluster-Key", "not-the-key")],
            403,
        ),
        (
            "a registered node's wrong secret",
            &[("X-Deploy-Node-ID", NODE), ("X-Deploy-Node-Secret", "garbage")],
            403,
        ),
        (
            "an unregistered node's made-up secret",
            &[("X-Deploy-Node-ID", "ghost"), ("X-Deploy-Node-Secret", "garbage")],
            403,
        ),
    ];
    let mut walked = 0;
    for route in RPC_ROUTES {
        let path = concrete(route.path);
        for method in route.methods.split(' ') {
            for (what, headers, want) in &cases {
                if route.callers == Callers::Registration && headers.iter().any(|(_, v)| *v == "ghost") {
                    continue; // documented: a new node may register
                }
                let got = status_without_body(&rpc, method, &path, headers).await;
                assert_eq!(got, *want, "{method} {path} with {what}");
            }
            // With the cluster key the route is served: not the router's empty 404 or a 405.
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let resp = c
                .http
                .request(m, c.agents[0].rpc_url(&path))
                .header("X-Deploy-Cluster-Key", cluster_harness::CLUSTER_KEY)
                .json(&json!({}))
                .send()
                .await
                .expect("RPC with the cluster key");
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            assert!(
                status != 405 && !(status == 404 && body.is_empty()),
                "{method} {path} with the cluster key: {status} {body:?}: not a registered route"
            );
            walked += 1;
        }
    }
    assert!(walked >= 20, "walked only {walked} RPC routes");
}
