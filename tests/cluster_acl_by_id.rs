//! Reads and actions by ID are checked against the object's namespace, not the request's
//! `?namespace=`: with ACLs on, a token that may read namespace `a` cannot read an allocation
//! or an evaluation of a job in namespace `b` by asking with `?namespace=a` (the allocation is
//! hidden, 404, the evaluation refused, 403, as Nomad answers), while a token that may read `b`
//! reads both whatever namespace its request names.

mod client_harness;

use std::time::Duration;

use client_harness::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// A client token bound to a policy `name` with `rules`, made with the management client.
async fn client_token(authed: &reqwest::Client, server: &Agent, name: &str, rules: &str) -> String {
    let r = authed
        .post(server.url(&format!("/v1/acl/policy/{name}")))
        .json(&json!({"Name": name, "Rules": rules}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "policy {name}: {}", r.status());
    let t: Value = authed
        .post(server.url("/v1/acl/token"))
        .json(&json!({"Type": "client", "Policies": [name]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    t["SecretID"].as_str().expect("token secret").to_owned()
}

async fn status_with(token: &str, url: &str) -> u16 {
    http()
        .get(url)
        .header("X-Nomad-Token", token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The first allocation of namespace `ns` (read with the management client), once one exists.
async fn first_alloc(authed: &reqwest::Client, server: &Agent, ns: &str) -> Value {
    let url = server.url(&format!("/v1/allocations?namespace={ns}"));
    wait_for(Duration::from_secs(60), || async {
        get_json(authed, &url).await?.as_array()?.first().cloned()
    })
    .await
    .unwrap_or_else(|| panic!("no allocation in namespace {ns}; log:\n{}", server.log()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_one_namespace_cannot_read_another_namespaces_objects_by_id() {
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
    let mut headers = reqwest::header::HeaderMap::new();
    let management = bootstrap["SecretID"].as_str().unwrap();
    headers.insert("X-Nomad-Token", management.parse().unwrap());
    let authed = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    for ns in ["a", "b"] {
        let r = authed
            .post(server.url(&format!("/v1/namespace/{ns}")))
            .json(&json!({"Name": ns}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "namespace {ns}: {}", r.status());
    }
    let _client = Agent::start(
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
        "ID": "secret-b", "Namespace": "b", "Type": "batch", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec",
            "Config": {"command": "/bin/sh", "args": ["-c", "echo b"]}}]}],
    });
    let eval = register_job(&authed, &server, &job).await;
    let alloc = first_alloc(&authed, &server, "b").await;
    let alloc = alloc["ID"].as_str().unwrap();

    let reader_a = client_token(&authed, &server, "read-a", r#"namespace "a" { policy = "read" }"#).await;
    let reader_b = client_token(&authed, &server, "read-b", r#"namespace "b" { policy = "read" }"#).await;
    let cases = [
        (format!("/v1/allocation/{alloc}"), 404),
        (format!("/v1/evaluation/{eval}"), 403),
        (format!("/v1/evaluation/{eval}/allocations"), 403),
    ];
    for (path, refused) in &cases {
        for ns in ["?namespace=a", ""] {
            let url = server.url(&format!("{path}{ns}"));
            assert_eq!(
                status_with(&reader_a, &url).await,
                *refused,
                "reader of a: {path}{ns}"
            );
        }
        for ns in ["?namespace=a", "?namespace=b", ""] {
            let url = server.url(&format!("{path}{ns}"));
            assert_eq!(status_with(&reader_b, &url).await, 200, "reader of b: {path}{ns}");
        }
    }
    // What the reader of `a` was refused is what exists: the body names the allocation.
    let read = get_json(&authed, &server.url(&format!("/v1/allocation/{alloc}"))).await;
    assert_eq!(read.unwrap()["Namespace"], "b");
    // A token that does not exist is told so (403), not shown a hidden object's 404.
    let url = server.url(&format!("/v1/allocation/{alloc}"));
    assert_eq!(status_with("00000000-not-a-token", &url).await, 403);
    // An unknown ID is still checked in the request's namespace, and is not found.
    let unknown = server.url("/v1/allocation/00000000-0000-0000-0000-000000000000?namespace=a");
    assert_eq!(status_with(&reader_a, &unknown).await, 404);
}
