//! The RPC listener against real agents: the exploits that worked when the cluster's own routes
//! hung on the HTTP API (a forged FSM write, a fake server joining, a snapshot replacing the
//! state, a node registered, logs and stats read without a token) are replayed against the HTTP
//! port and against the RPC port without the cluster key: each is refused and the state stays
//! as it was. Then node secrets (a node ID cannot be taken over) and a client running a job on
//! a cluster with ACLs on.

mod client_harness;
mod cluster_harness;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// A forged FSM command: register a job with no evaluation.
fn forged_write() -> Value {
    json!({"JobRegister": {"Job": cluster_harness::job("forged", "1"), "Submission": null,
        "EnforceIndex": null, "Eval": null, "SubmitTime": 1}})
}

/// The exploit requests: method, path, body.
fn exploits() -> Vec<(Method, &'static str, Value)> {
    let node = json!({"Node": {"ID": "rogue", "Name": "rogue", "Datacenter": "dc1", "SecretID": "s"}});
    vec![
        (Method::POST, "/v1/internal/cluster/write", forged_write()),
        (
            Method::POST,
            "/v1/internal/cluster/join",
            json!({"id": 42, "addr": "127.0.0.1:1"}),
        ),
        (Method::POST, "/v1/internal/cluster/leave", json!({"id": 42})),
        (
            Method::POST,
            "/v1/internal/raft/snapshot",
            json!({"vote": {}, "meta": {}, "data": ""}),
        ),
        (Method::POST, "/v1/internal/raft/append", json!({})),
        (Method::POST, "/v1/internal/raft/vote", json!({})),
        (Method::PUT, "/v1/internal/node/register", node),
        (Method::PUT, "/v1/internal/client/heartbeat/rogue", Value::Null),
        (
            Method::GET,
            "/v1/client/fs/logs/some-alloc?task=t&type=stdout",
            Value::Null,
        ),
        (Method::GET, "/v1/client/allocation/some-alloc/stats", Value::Null),
    ]
}

async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> u16 {
    let mut req = http.request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if !body.is_null() {
        req = req.json(body);
    }
    req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

/// What the exploits could change (jobs, nodes, peers), read through agent `i` once it knows
/// the token (a follower learns it with replication).
async fn snapshot_of_state(c: &cluster_harness::Cluster, i: usize, token: &str) -> Value {
    let mut out = json!({});
    for path in ["/v1/jobs", "/v1/nodes", "/v1/status/peers"] {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let resp = c
                .http
                .get(c.agents[i].url(path))
                .header("X-Nomad-Token", token)
                .send()
                .await
                .expect("read");
            if resp.status() == 200 {
                out[path] = resp.json().await.unwrap();
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{path}: {}", resp.status());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exploits_are_refused_on_the_http_port_and_without_the_cluster_key() {
    let c = cluster_harness::Cluster::start_with_args(BIN, 3, 3, &["--acl-enabled"]).await;
    let leader = c.wait_for_leader(Duration::from_secs(30)).await;
    let resp = c
        .http
        .post(c.agents[leader].url("/v1/acl/bootstrap"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let token: Value = resp.json().await.unwrap();
    let token = token["SecretID"].as_str().unwrap().to_owned();
    let before = snapshot_of_state(&c, leader, &token).await;
    assert_eq!(before["/v1/status/peers"].as_array().map(Vec::len), Some(3));

    for i in 0..3 {
        for (method, path, body) in exploits() {
            // Without a token the ACL check refuses first; the routes are not there anyway.
            let on_http = send(&c.http, method.clone(), &c.agents[i].url(path), &body, &[]).await;
            assert_eq!(on_http, 403, "{method} {path} on the HTTP port of agent {i}");
            // A token does not open the cluster's own routes on the HTTP port either.
            let with_token = [("X-Nomad-Token", token.as_str())];
            if !path.starts_with("/v1/client/") {
                let s = send(
                    &c.http,
                    method.clone(),
                    &c.agents[i].url(path),
                    &body,
                    &with_token,
                )
                .await;
                assert_eq!(
                    s, 404,
                    "{method} {path} with a token on the HTTP port of agent {i}"
                );
            }
            let url = c.agents[i].rpc_url(path);
            let bare = send(&c.http, method.clone(), &url, &body, &[]).await;
            assert_eq!(bare, 401, "{method} {path} on the RPC port without credentials");
            let wrong = [("X-Deploy-Cluster-Key", "not-the-cluster-key-at-all")];
            let s = send(&c.http, method.clone(), &url, &body, &wrong).await;
            assert_eq!(s, 403, "{method} {path} on the RPC port with a wrong key");
            let token_only = send(&c.http, method.clone(), &url, &body, &with_token).await;
            assert_eq!(
                token_only, 401,
                "{method} {path} on the RPC port with an ACL token only"
            );
        }
        // A client's credentials do not reach the servers' own routes.
        let as_node = [("X-Deploy-Node-ID", "rogue"), ("X-Deploy-Node-Secret", "s")];
        for (method, path, body) in exploits()
            .into_iter()
            .filter(|(_, p, _)| p.contains("/cluster/") || p.contains("/raft/"))
        {
            let s = send(
                &c.http,
                method.clone(),
                &c.agents[i].rpc_url(path),
                &body,
                &as_node,
            )
            .await;
            assert_eq!(s, 403, "{method} {path} on the RPC port as a node");
        }
    }
    // Let anything that slipped through commit before comparing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..3 {
        assert_eq!(
            snapshot_of_state(&c, i, &token).await,
            before,
            "state seen by agent {i}"
        );
    }

    // The cluster still works: a write through a follower is forwarded to the leader over RPC.
    let follower = c.other_than(leader);
    let resp = c
        .http
        .put(c.agents[follower].url("/v1/jobs"))
        .header("X-Nomad-Token", &token)
        .json(&json!({"Job": cluster_harness::job("legit", "1")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_id_cannot_be_taken_over_with_another_secret() {
    let c = cluster_harness::Cluster::start(BIN, 1).await;
    let http = &c.http;
    let url = |p: &str| c.agents[0].rpc_url(p);
    let node = |secret: &str| json!({"Node": {"ID": "n1", "Name": "n1", "Datacenter": "dc1", "SecretID": secret, "Status": "ready"}});
    let as_node = |secret: &'static str| [("X-Deploy-Node-ID", "n1"), ("X-Deploy-Node-Secret", secret)];
    let register = "/v1/internal/node/register";
    let beat = "/v1/internal/client/heartbeat/n1";

    assert_eq!(
        send(http, Method::PUT, &url(register), &node("a"), &as_node("a")).await,
        200
    );
    // Registering again with the same secret is fine; with another, refused.
    assert_eq!(
        send(http, Method::PUT, &url(register), &node("a"), &as_node("a")).await,
        200
    );
    assert_eq!(
        send(http, Method::PUT, &url(register), &node("b"), &as_node("b")).await,
        403
    );
    // Presenting one secret and registering another is refused too.
    assert_eq!(
        send(http, Method::PUT, &url(register), &node("b"), &as_node("a")).await,
        403
    );
    // Even a server (with the cluster key) cannot replace the node's secret.
    let (s, _) = c.rpc(0, Method::PUT, register, Some(&node("b"))).await;
    assert_eq!(s, 403);
    assert_eq!(
        send(http, Method::PUT, &url(beat), &Value::Null, &as_node("b")).await,
        403
    );
    assert_eq!(
        send(http, Method::PUT, &url(beat), &Value::Null, &as_node("a")).await,
        200
    );
    // A node speaks for itself only.
    let other = "/v1/internal/client/heartbeat/n2";
    assert_eq!(
        send(http, Method::PUT, &url(other), &Value::Null, &as_node("a")).await,
        403
    );
    // A node not registered yet may only register.
    let fresh = [("X-Deploy-Node-ID", "n3"), ("X-Deploy-Node-Secret", "c")];
    let allocs = "/v1/internal/client/allocs";
    assert_eq!(
        send(http, Method::POST, &url(allocs), &json!([]), &fresh).await,
        403
    );
    // The stored secret is never shown.
    let (_, n) = c.get(0, "/v1/node/n1").await;
    assert_eq!(n["SecretID"], "", "{n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_runs_a_job_on_a_cluster_with_acls_on() {
    use client_harness::*;
    let dir = tempfile::tempdir().unwrap();
    let server = Agent::start(
        BIN,
        dir.path().join("server"),
        &["--server", "--bootstrap-expect", "1", "--acl-enabled"],
    );
    let plain = http();
    let bootstrap = wait_for(Duration::from_secs(30), || async {
        let r = plain.post(server.url("/v1/acl/bootstrap")).send().await.ok()?;
        r.status().is_success().then_some(())?;
        r.json::<Value>().await.ok()
    })
    .await
    .unwrap_or_else(|| panic!("no ACL bootstrap; log:\n{}", server.log()));
    let token = bootstrap["SecretID"].as_str().unwrap().to_owned();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("X-Nomad-Token", token.parse().unwrap());
    let authed = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let client = Agent::start(
        BIN,
        dir.path().join("client"),
        &[
            "--client",
            "--raw-exec",
            "--node",
            "c1",
            "--servers",
            &server.rpc_addr,
        ],
    );
    wait_nodes(&authed, &server, 1).await;
    let job = json!({
        "ID": "hello", "Type": "batch", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
            "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
            "Tasks": [{"Name": "t", "Driver": "raw_exec",
                       "Config": {"command": "/bin/sh", "args": ["-c", "echo hello-from-acl"]}}]}],
    });
    register_job(&authed, &server, &job).await;
    let alloc = wait_job_alloc(&authed, &server, "hello", Duration::from_secs(60), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    let id = alloc["ID"].as_str().unwrap();
    let logs = format!("/v1/client/fs/logs/{id}?task=t&type=stdout&plain=true");
    // The client's own routes, and the server's forwarding of them, want a token.
    for agent in [&client, &server] {
        let r = plain.get(agent.url(&logs)).send().await.unwrap();
        assert_eq!(r.status(), 403, "logs without a token via {}", agent.addr);
        let r = authed.get(agent.url(&logs)).send().await.unwrap();
        assert_eq!(r.status(), 200, "logs with a token via {}", agent.addr);
        assert!(r.text().await.unwrap().contains("hello-from-acl"));
    }
    // A client token's capabilities decide, on the client-only agent too: reading jobs is
    // not reading logs, and reading logs is not reading the allocation's files.
    let cat = format!("/v1/client/fs/cat/{id}?path=/alloc/logs/t.stdout.0");
    for (name, rules, want, want_fs) in [
        (
            "jobs-only",
            r#"namespace "default" { policy = "read" }"#,
            403,
            403,
        ),
        (
            "logs",
            r#"namespace "default" { capabilities = ["read-logs"] }"#,
            200,
            403,
        ),
        (
            "files",
            r#"namespace "default" { capabilities = ["read-fs"] }"#,
            200,
            200,
        ),
    ] {
        let r = authed
            .post(server.url(&format!("/v1/acl/policy/{name}")))
            .json(&json!({"Rules": rules}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "policy {name}");
        let t: Value = authed
            .post(server.url("/v1/acl/token"))
            .json(&json!({"Type": "client", "Policies": [name]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = t["SecretID"].as_str().unwrap();
        for agent in [&client, &server] {
            let r = plain
                .get(agent.url(&logs))
                .header("X-Nomad-Token", secret)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), want, "logs with policy {name} via {}", agent.addr);
            let r = plain
                .get(agent.url(&cat))
                .header("X-Nomad-Token", secret)
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                want_fs,
                "fs/cat with policy {name} via {}",
                agent.addr
            );
        }
    }
    // The node secret is kept 0600 beside the node ID.
    let secret = dir.path().join("client/client/client-state/node-secret");
    let meta = std::fs::metadata(&secret).unwrap_or_else(|e| panic!("{}: {e}", secret.display()));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}
