//! Server identity survives an address change: a server restarted with its data on another
//! port keeps its Raft ID (kept 0600 in its data directory) and the cluster records its new
//! address, alone (it updates its own membership) or among three (through the leader).

mod client_harness;
mod cluster_harness;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

async fn eventually<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} within {secs}s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_server_restarted_on_another_port_leads_again_with_its_state() {
    use client_harness::{Agent, get_json, http, register_job};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("one");
    let args = ["--dev", "--node", "one"];
    let mut first = Agent::start(BIN, data.clone(), &args);
    let http = http();
    let job = serde_json::json!({
        "ID": "kept", "Name": "kept", "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": 0,
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}],
    });
    eventually("a leader", 30, || async {
        get_json(&http, &first.url("/v1/status/leader"))
            .await
            .filter(|l| l != "")
    })
    .await;
    register_job(&http, &first, &job).await;
    let id_file = data.join("server/server-id");
    let id = std::fs::read_to_string(&id_file).unwrap();
    assert_eq!(
        std::fs::metadata(&id_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    first.terminate();

    let moved = Agent::start(BIN, data.clone(), &args);
    assert_ne!(moved.rpc_addr, first.rpc_addr);
    let leader = eventually("a leader at the new address", 30, || async {
        let l = get_json(&http, &moved.url("/v1/status/leader")).await?;
        (l == Value::String(moved.rpc_addr.clone())).then_some(l)
    })
    .await;
    assert_eq!(leader, moved.rpc_addr.as_str());
    assert_eq!(std::fs::read_to_string(&id_file).unwrap(), id, "same identity");
    let kept = get_json(&http, &moved.url("/v1/job/kept"))
        .await
        .expect("the job survives");
    assert_eq!(kept["ID"], "kept");
    let peers = get_json(&http, &moved.url("/v1/status/peers")).await.unwrap();
    assert_eq!(peers, serde_json::json!([moved.rpc_addr]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_restarted_on_a_new_port_rejoins_and_the_cluster_keeps_quorum() {
    let mut c = cluster_harness::Cluster::start(BIN, 3).await;
    let leader = c.wait_for_leader(Duration::from_secs(30)).await;
    c.register(leader, "before", "1").await.expect("register");
    let i = c.other_than(leader);
    // A server's address in Raft is its RPC address.
    let old = c.agents[i].rpc_addr.clone();
    c.agents[i].kill();
    c.agents[i].change_port();
    c.agents[i].spawn();
    let new = c.agents[i].rpc_addr.clone();

    // The two others keep a quorum throughout: writes go on while the third comes back.
    let l = c.wait_for_leader(Duration::from_secs(30)).await;
    c.register(l, "during", "1").await.expect("register while moving");

    let c = &c;
    eventually("the new address in the configuration", 60, || async {
        let l = c.leader().await?;
        let (_, conf) = c.get(l, "/v1/operator/raft/configuration").await;
        let addrs: Vec<String> = conf["Servers"]
            .as_array()?
            .iter()
            .filter_map(|s| s["Address"].as_str().map(str::to_owned))
            .collect();
        (addrs.len() == 3 && addrs.contains(&new) && !addrs.contains(&old)).then_some(())
    })
    .await;
    // The moved server catches up: it serves what was written while it was away.
    eventually("the moved server caught up", 60, || async {
        let (status, job) = c.get(i, "/v1/job/during?stale").await;
        (status == 200 && job["ID"] == "during").then_some(())
    })
    .await;
    let l = c.wait_for_leader(Duration::from_secs(30)).await;
    c.register(l, "after", "1")
        .await
        .expect("register after the move");
}
