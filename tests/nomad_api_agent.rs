//! The agent's own routes against real processes, compared with Nomad's API docs
//! (`../shared/reference/nomad-api/agent.mdx`): `/v1/agent/health`, `/v1/agent/servers`
//! (read and replace a client's servers), `/v1/agent/monitor` (framed and plain), and
//! `/v1/agent/join` / `/v1/agent/force-leave` on a three-server cluster.

mod client_harness;
mod cluster_harness;

use std::time::Duration;

use base64::Engine;
use client_harness::{Agent, get_json, http, wait_for, wait_nodes};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

async fn status_and_text(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// Reads a monitor stream until a chunk satisfies `found`, for at most `limit`.
async fn read_until(
    mut resp: reqwest::Response,
    limit: Duration,
    found: impl Fn(&str) -> bool,
) -> Option<String> {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + limit;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, resp.chunk()).await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if found(&seen) {
            return Some(seen);
        }
    }
    None
}

/// The log lines in a framed monitor stream (`{"Offset","Data","FileEvent"}` per line).
fn frames_text(stream: &str) -> String {
    let mut out = String::new();
    for line in stream.lines().filter(|l| !l.trim().is_empty()) {
        let frame: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("frame {line:?}: {e}"));
        if frame == json!({}) {
            continue;
        }
        assert_eq!(frame["Offset"], 0, "{frame}");
        assert_eq!(frame["FileEvent"], "log", "{frame}");
        let data = base64::engine::general_purpose::STANDARD
            .decode(frame["Data"].as_str().expect("Data"))
            .expect("base64 Data");
        out.push_str(&String::from_utf8_lossy(&data));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_servers_and_monitor_on_server_and_client_agents() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let server = Agent::start(
        BIN,
        dir.path().join("s"),
        &["--dev", "--node", "s", "--bootstrap-expect", "1"],
    );
    let client = Agent::start(
        BIN,
        dir.path().join("c"),
        &["--client", "--node", "c", "--servers", &server.rpc_addr],
    );
    wait_nodes(&http, &server, 2).await;

    // Health, exactly as the docs' sample: both roles on the dev agent.
    let health = get_json(&http, &server.url("/v1/agent/health"))
        .await
        .expect("health");
    assert_eq!(
        health,
        json!({"client": {"message": "ok", "ok": true}, "server": {"message": "ok", "ok": true}})
    );
    let health = get_json(&http, &client.url("/v1/agent/health"))
        .await
        .expect("health");
    assert_eq!(health, json!({"client": {"message": "ok", "ok": true}}));

    // The client's servers: a list of RPC addresses, replaced whole by POST.
    let servers = get_json(&http, &client.url("/v1/agent/servers"))
        .await
        .expect("servers");
    assert_eq!(servers, json!([server.rpc_addr]));
    let url = client.url("/v1/agent/servers?address=10.9.9.9:4647&address=") + &server.rpc_addr;
    let (status, _) = status_and_text(http.post(url).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let servers = get_json(&http, &client.url("/v1/agent/servers"))
        .await
        .expect("servers");
    let mut expected = vec!["10.9.9.9:4647".to_owned(), server.rpc_addr.clone()];
    expected.sort();
    assert_eq!(servers, json!(expected));
    let (status, text) =
        status_and_text(http.post(client.url("/v1/agent/servers")).send().await.unwrap()).await;
    assert_eq!((status, text.as_str()), (400, "missing server address"));
    let bad = client.url("/v1/agent/servers?address=a/b:1");
    let (status, text) = status_and_text(http.post(bad).send().await.unwrap()).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("invalid address"), "{text}");
    // A client-only agent cannot join servers: Nomad's 501.
    let join = client.url("/v1/agent/join?address=127.0.0.1:1");
    let (status, text) = status_and_text(http.post(join).send().await.unwrap()).await;
    assert_eq!((status, text.as_str()), (501, "Invalid method"));

    // Monitor, framed JSON lines: the line the servers change writes at info.
    let monitor = http
        .get(client.url("/v1/agent/monitor?log_level=info&log_json=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(monitor.status(), 200);
    let reader = tokio::spawn(read_until(monitor, Duration::from_secs(20), |s| {
        frames_text(s).contains("servers set to")
    }));
    let only_server = client.url("/v1/agent/servers?address=") + &server.rpc_addr;
    // The stream is attached once its headers arrived; the change may still race the
    // subscription, so repeat it until the line is seen.
    let seen = wait_for(Duration::from_secs(20), || async {
        http.post(&only_server).send().await.ok()?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        reader.is_finished().then_some(())
    })
    .await;
    assert!(seen.is_some(), "the monitor saw no line");
    let stream = reader.await.unwrap().expect("the monitor saw the servers change");
    let text = frames_text(&stream);
    let line: Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| {
            l["@message"]
                .as_str()
                .is_some_and(|m| m.contains("servers set to"))
        })
        .unwrap_or_else(|| panic!("no JSON line in {text:?}"));
    assert_eq!(line["@level"], "info");
    assert!(
        line["@timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{line}"
    );
    assert!(
        line["@module"]
            .as_str()
            .is_some_and(|m| m.starts_with("deploy::")),
        "{line}"
    );

    // Plain text on the server agent at debug.
    let plain = http
        .get(server.url("/v1/agent/monitor?log_level=debug&plain=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.headers()["content-type"], "text/plain");
    let text = read_until(plain, Duration::from_secs(10), |s| s.contains("monitor attached"))
        .await
        .expect("the plain monitor's first line");
    assert!(text.contains(" [INFO] deploy::"), "{text}");

    // Bad input is refused with a reason.
    let (status, text) = status_and_text(
        http.get(server.url("/v1/agent/monitor?log_level=loud"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, text.as_str()), (400, "unknown log level: loud"));
    let other = server.url("/v1/agent/monitor?node_id=00000000-0000-0000-0000-000000000000");
    let (status, text) = status_and_text(http.get(other).send().await.unwrap()).await;
    assert_eq!(status, 400, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_leave_and_join_change_the_servers() {
    let c = cluster_harness::Cluster::start(BIN, 3).await;
    let leader = c.wait_for_leader(Duration::from_secs(30)).await;
    let other = c.other_than(leader);
    let url = |path: &str| c.agents[leader].url(path);
    // A server-only agent has no client servers list: Nomad's 501.
    let (status, text) = status_and_text(c.http.get(url("/v1/agent/servers")).send().await.unwrap()).await;
    assert_eq!((status, text.as_str()), (501, "Invalid method"));
    let health = c.http.get(url("/v1/agent/health")).send().await.unwrap();
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"server": {"message": "ok", "ok": true}})
    );

    // Force-leave by the member name `/v1/agent/members` lists.
    let (_, members) = c.get(leader, "/v1/agent/members").await;
    let gone = &c.agents[other].rpc_addr;
    let name = members["Members"]
        .as_array()
        .and_then(|m| {
            m.iter().find(|m| {
                m["Tags"]["id"] != json!("")
                    && m["Name"].as_str().is_some_and(|n| n.starts_with(gone.as_str()))
            })
        })
        .map(|m| m["Name"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{gone} in {members}"));
    let leave = url(&format!("/v1/agent/force-leave?node={name}&prune=true"));
    let (status, text) = status_and_text(c.http.post(leave).send().await.unwrap()).await;
    assert_eq!(status, 200, "{text}");
    let (_, peers) = c.get(leader, "/v1/status/peers").await;
    assert_eq!(peers.as_array().map(Vec::len), Some(2), "{peers}");
    assert!(!peers.as_array().unwrap().contains(&json!(gone)), "{peers}");
    let unknown = url("/v1/agent/force-leave?node=nobody.global");
    let (status, _) = status_and_text(c.http.post(unknown).send().await.unwrap()).await;
    assert_eq!(status, 404);
    let (status, text) =
        status_and_text(c.http.post(url("/v1/agent/force-leave")).send().await.unwrap()).await;
    assert_eq!((status, text.as_str()), (400, "missing node to force leave"));

    // Join it back, and a dead address fails with a reason: `{"error", "num_joined"}`.
    let join = url(&format!("/v1/agent/join?address={gone}"));
    let answer: Value = c.http.post(join).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer, json!({"error": "", "num_joined": 1}));
    let (_, peers) = c.get(leader, "/v1/status/peers").await;
    assert_eq!(peers.as_array().map(Vec::len), Some(3), "{peers}");
    let dead = url("/v1/agent/join?address=127.0.0.1:1");
    let answer: Value = c.http.post(dead).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["num_joined"], 0);
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("127.0.0.1:1")),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_nomad_drives_the_agent_routes() {
    if !cluster_harness::python::python_nomad_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = Agent::start(
        BIN,
        dir.path().join("a"),
        &["--dev", "--node", "py", "--bootstrap-expect", "1"],
    );
    wait_nodes(&http, &agent, 1).await;
    let (host, port) = agent.addr.split_once(':').expect("host:port");
    let args = vec![host.to_owned(), port.to_owned(), agent.rpc_addr.clone()];
    cluster_harness::python::run_script(
        "nomad_agent.py",
        args,
        vec![],
        "every agent call answered as Nomad does",
    )
    .await;
}
