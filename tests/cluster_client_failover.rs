//! Client failover and client figures.
//!
//! Failover needs the scheduler integration (evaluations → placements committed through
//! Raft), which is not on this branch: the test is written against the public API and ignored
//! until it lands. The figures test prints the numbers quoted in the client's notes.

mod client_harness;

use std::time::{Duration, Instant};

use client_harness::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

async fn running_allocs(http: &reqwest::Client, server: &Agent, job: &str) -> Vec<Value> {
    let all = get_json(http, &server.url("/v1/allocations"))
        .await
        .unwrap_or_default();
    all.as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["JobID"] == job && a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the scheduler integration (evaluations to allocations), which is not on this branch"]
async fn a_killed_client_s_allocations_move_to_the_others_and_nothing_runs_twice() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let ttl = 3.0;
    let server = Agent::start(
        BIN,
        dir.path().join("s"),
        &["--server", "--bootstrap-expect", "1", "--heartbeat-ttl", "3s"],
    );
    let mut clients: Vec<Agent> = (0..3)
        .map(|i| {
            let name = format!("c{i}");
            Agent::start(
                BIN,
                dir.path().join(&name),
                &[
                    "--client",
                    "--raw-exec",
                    "--node",
                    &name,
                    "--servers",
                    &server.addr,
                ],
            )
        })
        .collect();
    wait_nodes(&http, &server, 3).await;
    let marker = format!("marker-{}", uuid::Uuid::new_v4());
    let job = json!({"Job": {"ID": "spread", "Type": "service", "Datacenters": ["dc1"], "TaskGroups": [{
        "Name": "g", "Count": 3,
        "Tasks": [{"Name": "t", "Driver": "raw_exec",
                   "Config": {"command": "/bin/sh", "args": ["-c", format!("exec sleep 600 # {marker}")]}}]}]}});
    let r = http.put(server.url("/v1/jobs")).json(&job).send().await.unwrap();
    assert!(r.status().is_success());
    let placed = wait_for(Duration::from_secs(30), || async {
        let a = running_allocs(&http, &server, "spread").await;
        (a.len() == 3).then_some(a)
    })
    .await
    .expect("3 allocations running");
    let victim_node = placed[0]["NodeID"].as_str().unwrap().to_owned();
    let victim = placed[0]["NodeName"]
        .as_str()
        .unwrap()
        .trim_start_matches('c')
        .parse::<usize>()
        .unwrap();
    clients[victim].kill();
    let killed_at = Instant::now();
    let moved = wait_for(Duration::from_secs_f64(ttl + 5.0), || async {
        let a = running_allocs(&http, &server, "spread").await;
        (a.len() == 3 && a.iter().all(|a| a["NodeID"] != victim_node.as_str())).then_some(a)
    })
    .await;
    assert!(
        moved.is_some(),
        "allocations replaced within TTL + 5 s ({:?})",
        killed_at.elapsed()
    );
    clients[victim].spawn();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(running_allocs(&http, &server, "spread").await.len(), 3);
    assert_eq!(
        pids_with(&marker).len(),
        3,
        "the returning client stopped its lost allocations"
    );
    kill_marked(&marker);
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn time_to_running(
    http: &reqwest::Client,
    agent: &Agent,
    node: &str,
    job: &Value,
    ports: &[(&str, u16)],
) -> Duration {
    let mut a = alloc(job, "g", 0, node, ports);
    if let Some(p) = a["AllocatedResources"]["Shared"]["Ports"].get_mut(0) {
        p["To"] = json!(8080);
    }
    let id = a["ID"].as_str().unwrap().to_owned();
    let start = Instant::now();
    place(http, agent, &[a], &[]).await;
    let url = agent.url(&format!("/v1/allocation/{id}"));
    loop {
        if let Some(a) = get_json(http, &url).await {
            if a["TaskStates"]["t"]["State"] == "running" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = start.elapsed();
    stop_alloc(http, agent, &id).await;
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run with --ignored --nocapture"]
async fn client_figures() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = Agent::start(BIN, dir.path().join("dev"), &["--dev", "--node", "fig"]);
    let nodes = wait_nodes(&http, &agent, 1).await;
    let node = nodes[0].1.clone();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = agent.pid().unwrap();
    println!("idle agent RSS (server + client, dev): {} KiB", rss_kb(pid));

    let raw = json!({"ID": "fig-raw", "Type": "service", "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec",
        "KillTimeout": secs(0.2), "Config": {"command": "/bin/sleep", "args": ["600"]}}]}]});
    let mut times = Vec::new();
    for _ in 0..20 {
        times.push(time_to_running(&http, &agent, &node, &raw, &[]).await);
    }
    println!(
        "raw_exec placement committed -> task running: median {:?} (n=20)",
        median(times)
    );

    let n = 50;
    let start = Instant::now();
    let allocs: Vec<Value> = (0..n).map(|i| alloc(&raw, "g", i, &node, &[])).collect();
    let ids: Vec<String> = allocs
        .iter()
        .map(|a| a["ID"].as_str().unwrap().to_owned())
        .collect();
    place(&http, &agent, &allocs, &[]).await;
    for id in &ids {
        wait_alloc(&http, &agent, id, Duration::from_secs(120), |a| {
            a["TaskStates"]["t"]["State"] == "running"
        })
        .await;
    }
    let el = start.elapsed();
    println!(
        "{n} raw_exec allocations on one client: {:?}, {:.1} allocations started/s",
        el,
        n as f64 / el.as_secs_f64()
    );
    for id in &ids {
        stop_alloc(&http, &agent, id).await;
    }

    let dock = dir.path().join("img");
    std::fs::create_dir_all(&dock).unwrap();
    let docker_ok = std::process::Command::new("docker")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if docker_ok && build_server(&dock).is_ok() {
        std::fs::write(
            dock.join("Dockerfile"),
            "FROM scratch\nCOPY server /server\nENTRYPOINT [\"/server\"]\n",
        )
        .unwrap();
        let tag = "deploy-client-figures:latest";
        let built = std::process::Command::new("docker")
            .args(["build", "-q", "-t", tag])
            .arg(&dock)
            .output()
            .unwrap();
        assert!(built.status.success());
        let job = json!({"ID": "fig-dock", "Type": "service", "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "docker",
            "KillTimeout": secs(0.5), "Config": {"image": tag, "args": ["8080"]}, "Resources": {"MemoryMB": 32}}]}]});
        let mut times = Vec::new();
        for _ in 0..20 {
            times.push(time_to_running(&http, &agent, &node, &job, &[]).await);
        }
        println!(
            "docker placement committed -> task running: median {:?} (n=20)",
            median(times)
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", tag])
            .output();
    } else {
        println!("docker figures skipped: no Docker engine");
    }
}
