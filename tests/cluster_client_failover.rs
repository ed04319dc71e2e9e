//! Client failover with real agents: three clients, one is killed with `kill -9`; its service
//! allocations run on the others within the heartbeat TTL plus 5 s, and when it comes back it
//! stops what was replaced, so nothing runs twice. The ignored figures test prints the
//! numbers quoted in the client's notes (run with `--ignored --nocapture`).

mod client_harness;

use std::time::{Duration, Instant};

use client_harness::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

async fn running_allocs(http: &reqwest::Client, server: &Agent, job: &str) -> Vec<Value> {
    job_allocs(http, server, job)
        .await
        .into_iter()
        .filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .collect()
}

/// Task processes per node: the marker is followed by the node's name in each command line.
fn pids_on(marker: &str, node: &str) -> usize {
    pids_with(&format!("{marker}-{node}")).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_client_s_allocations_move_to_the_others_and_nothing_runs_twice() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let ttl = Duration::from_secs(2);
    let server = Agent::start(
        BIN,
        dir.path().join("s"),
        &["--server", "--bootstrap-expect", "1", "--heartbeat-ttl", "2s"],
    );
    let mut clients: Vec<Agent> = (0..3)
        .map(|i| {
            let name = format!("c{i}");
            let args = [
                "--client",
                "--raw-exec",
                "--node",
                &name,
                "--servers",
                &server.rpc_addr,
            ];
            Agent::start(BIN, dir.path().join(&name), &args)
        })
        .collect();
    wait_nodes(&http, &server, 3).await;
    let marker = format!("marker-{}", uuid::Uuid::new_v4());
    let job = json!({"ID": "spread", "Type": "service", "Datacenters": ["dc1"], "TaskGroups": [{
        "Name": "g", "Count": 3,
        "Tasks": [{"Name": "t", "Driver": "raw_exec", "KillTimeout": secs(1.0),
                   "Config": {"command": "/bin/sh",
                              "args": ["-c", "while :; do sleep 1; done", format!("{marker}-${{node.unique.name}}")]}}]}]});
    register_job(&http, &server, &job).await;
    let placed = wait_for(Duration::from_secs(30), || async {
        let a = running_allocs(&http, &server, "spread").await;
        (a.len() == 3).then_some(a)
    })
    .await
    .expect("3 allocations running");
    assert_eq!(pids_with(&marker).len(), 3, "{placed:#?}");
    let victim_node = placed[0]["NodeID"].as_str().unwrap().to_owned();
    let victim_name = placed[0]["NodeName"].as_str().unwrap().to_owned();
    let victim = victim_name.trim_start_matches('c').parse::<usize>().unwrap();

    let on_victim = placed
        .iter()
        .filter(|a| a["NodeID"] == victim_node.as_str())
        .count();

    clients[victim].kill();
    let killed_at = Instant::now();
    let moved = wait_for(ttl + Duration::from_secs(5), || async {
        let a = running_allocs(&http, &server, "spread").await;
        (a.len() == 3 && a.iter().all(|a| a["NodeID"] != victim_node.as_str())).then_some(a)
    })
    .await;
    let took = killed_at.elapsed();
    assert!(
        moved.is_some(),
        "allocations replaced within TTL + 5 s ({took:?}); allocations:\n{:#?}\nlog:\n{}",
        job_allocs(&http, &server, "spread").await,
        server.log()
    );
    eprintln!("killed client's allocations running elsewhere after {took:?}");
    let lost: Vec<Value> = job_allocs(&http, &server, "spread")
        .await
        .into_iter()
        .filter(|a| a["NodeID"] == victim_node.as_str())
        .collect();
    assert!(
        !lost.is_empty()
            && lost
                .iter()
                .all(|a| a["ClientStatus"] == "lost" && a["DesiredStatus"] == "stop"),
        "{lost:#?}"
    );
    let node = get_json(&http, &server.url(&format!("/v1/node/{victim_node}")))
        .await
        .unwrap();
    assert_eq!(node["Status"], "down");
    // Its tasks outlive the killed agent until it returns.
    assert_eq!(pids_on(&marker, &victim_name), on_victim);

    clients[victim].spawn();
    let stopped = wait_for(Duration::from_secs(15), || async {
        (pids_on(&marker, &victim_name) == 0).then_some(())
    })
    .await;
    assert!(
        stopped.is_some(),
        "the returning client stopped its replaced allocations"
    );
    let ready = wait_for(Duration::from_secs(10), || async {
        let n = get_json(&http, &server.url(&format!("/v1/node/{victim_node}"))).await?;
        (n["Status"] == "ready").then_some(())
    })
    .await;
    assert!(ready.is_some(), "the returning client is ready again");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(running_allocs(&http, &server, "spread").await.len(), 3);
    assert_eq!(pids_with(&marker).len(), 3, "nothing runs twice");

    // Any client agent answers for an allocation another one runs, by forwarding to it.
    let a = &running_allocs(&http, &server, "spread").await[0];
    let owner = a["NodeName"]
        .as_str()
        .unwrap()
        .trim_start_matches('c')
        .parse::<usize>()
        .unwrap();
    let other = &clients[(owner + 1) % 3];
    let path = format!("/v1/client/allocation/{}/stats", a["ID"].as_str().unwrap());
    let stats = get_json(&http, &other.url(&path)).await;
    assert!(
        stats.is_some_and(|s| s["ResourceUsage"]["MemoryStats"]["RSS"].as_u64().unwrap_or(0) > 0),
        "stats of a task on {} read through c{}",
        a["NodeName"],
        (owner + 1) % 3
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

/// Registration → the task reported running; the job is stopped afterwards.
async fn time_to_running(http: &reqwest::Client, agent: &Agent, job: &Value) -> Duration {
    let id = job["ID"].as_str().unwrap().to_owned();
    let start = Instant::now();
    register_job(http, agent, job).await;
    wait_job_alloc(http, agent, &id, Duration::from_secs(60), |a| {
        a["TaskStates"]["t"]["State"] == "running"
    })
    .await;
    let took = start.elapsed();
    stop_job(http, agent, &id).await;
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run with --ignored --nocapture"]
async fn client_figures() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let agent = Agent::start(BIN, dir.path().join("dev"), &["--dev", "--node", "fig"]);
    wait_nodes(&http, &agent, 1).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = agent.pid().unwrap();
    println!("idle dev agent RSS (server + client): {} KiB", rss_kb(pid));
    let client = Agent::start(
        BIN,
        dir.path().join("client-only"),
        &[
            "--client",
            "--node",
            "fig-client",
            "--dc",
            "elsewhere",
            "--servers",
            &agent.rpc_addr,
        ],
    );
    wait_nodes(&http, &agent, 2).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "idle client-only agent RSS: {} KiB",
        rss_kb(client.pid().unwrap())
    );
    drop(client);

    let raw = |id: String| {
        json!({"ID": id, "Type": "service", "Datacenters": ["dc1"], "TaskGroups": [{"Name": "g",
            "Tasks": [{"Name": "t", "Driver": "raw_exec", "KillTimeout": secs(0.2),
                       "Resources": {"CPU": 20, "MemoryMB": 16},
                       "Config": {"command": "/bin/sleep", "args": ["600"]}}]}]})
    };
    let mut times = Vec::new();
    for i in 0..20 {
        times.push(time_to_running(&http, &agent, &raw(format!("fig-raw-{i}"))).await);
    }
    println!(
        "raw_exec registration -> task running: median {:?} (n=20)",
        median(times)
    );

    let n = 50;
    let mut many = raw("fig-many".into());
    many["TaskGroups"][0]["Count"] = json!(n);
    let start = Instant::now();
    register_job(&http, &agent, &many).await;
    let all_running = wait_for(Duration::from_secs(180), || async {
        let allocs = job_allocs(&http, &agent, "fig-many").await;
        let running = allocs
            .iter()
            .filter(|a| a["TaskStates"]["t"]["State"] == "running")
            .count();
        (running == n).then_some(())
    })
    .await;
    assert!(all_running.is_some(), "{n} allocations running");
    let el = start.elapsed();
    println!(
        "{n} raw_exec allocations on one client: {el:?} from registration, {:.1} allocations started/s",
        n as f64 / el.as_secs_f64()
    );
    stop_job(&http, &agent, "fig-many").await;

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
        let mut times = Vec::new();
        for i in 0..20 {
            let job = json!({"ID": format!("fig-dock-{i}"), "Type": "service", "Datacenters": ["dc1"],
                "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "docker", "KillTimeout": secs(0.5),
                    "Config": {"image": tag, "args": ["8080"]}, "Resources": {"CPU": 20, "MemoryMB": 32}}]}]});
            times.push(time_to_running(&http, &agent, &job).await);
        }
        println!(
            "docker registration -> task running: median {:?} (n=20)",
            median(times)
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", tag])
            .output();
    } else {
        println!("docker figures skipped: no Docker engine");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!("dev agent RSS after the runs: {} KiB", rss_kb(pid));
}
