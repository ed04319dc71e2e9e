//! The scheduler wired into the servers, with real agent processes: a registered job's
//! evaluation completes with placements on registered nodes, a placement failure is reported
//! and blocks until a fitting node arrives, and evaluations left pending by a killed leader
//! complete on the next one.

mod cluster_harness;

use std::time::{Duration, Instant};

use cluster_harness::Cluster;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// A ready docker node in dc1 with 4000 MHz and 8 GB, and `meta`.
fn node(name: &str, meta: Value) -> Value {
    json!({
        "ID": format!("00000000-0000-0000-0000-{:0>12}", name.len().to_string() + name),
        "Name": name, "Datacenter": "dc1", "NodePool": "default", "Status": "ready",
        "SchedulingEligibility": "eligible",
        "Attributes": {"kernel.name": "linux", "unique.network.ip-address": "127.0.0.1"},
        "Meta": meta,
        "Drivers": {"docker": {"Detected": true, "Healthy": true}},
        "NodeResources": {"Cpu": {"CpuShares": 4000}, "Memory": {"MemoryMB": 8192},
                          "Disk": {"DiskMB": 100000}, "MinDynamicPort": 20000, "MaxDynamicPort": 32000},
    })
}

async fn put(c: &Cluster, i: usize, path: &str, body: &Value) -> (u16, Value) {
    let resp = c
        .http
        .put(c.agents[i].url(path))
        .json(body)
        .send()
        .await
        .expect("PUT");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn register_node(c: &Cluster, i: usize, n: Value) {
    let body = json!({ "Node": n });
    let (status, body) = c
        .rpc(i, reqwest::Method::PUT, "/v1/internal/node/register", Some(&body))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A service job of `count` in dc1 with 100 MHz / 64 MB tasks and `constraints`.
fn job(id: &str, count: u64, constraints: Value) -> Value {
    json!({
        "ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"], "Priority": 50,
        "TaskGroups": [{"Name": "web", "Count": count, "Constraints": constraints,
            "Tasks": [{"Name": "app", "Driver": "docker", "Config": {"image": "nginx:1"},
                       "Resources": {"CPU": 100, "MemoryMB": 64}}]}],
    })
}

/// Registers `job` through agent `i`; returns the evaluation ID.
async fn register(c: &Cluster, i: usize, job: Value) -> String {
    let (status, body) = put(c, i, "/v1/jobs", &json!({ "Job": job })).await;
    assert_eq!(status, 200, "{body}");
    body["EvalID"].as_str().expect("EvalID").to_owned()
}

/// Polls the evaluation until it leaves `pending`.
async fn wait_eval(c: &Cluster, i: usize, eval_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, eval) = c.get(i, &format!("/v1/evaluation/{eval_id}")).await;
        if status == 200 && eval["Status"] != "pending" {
            return eval;
        }
        assert!(
            Instant::now() < deadline,
            "evaluation {eval_id} still pending: {eval}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn live_allocs(c: &Cluster, i: usize, job_id: &str) -> Vec<Value> {
    let (status, list) = c.get(i, &format!("/v1/job/{job_id}/allocations")).await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .expect("array")
        .iter()
        .filter(|a| a["DesiredStatus"] == "run")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registered_job_is_placed_and_failures_block_until_a_node_fits() {
    let c = Cluster::start(BIN, 3).await;
    let leader = c.wait_for_leader(Duration::from_secs(20)).await;
    let follower = c.other_than(leader);
    for name in ["a", "b", "c"] {
        register_node(&c, follower, node(name, json!({"rack": "r1"}))).await;
    }
    let (status, nodes) = c.get(follower, "/v1/nodes").await;
    assert_eq!(status, 200);
    assert_eq!(nodes.as_array().map(Vec::len), Some(3), "{nodes}");

    // Placement: three allocations, the eval complete without failures.
    let eval_id = register(&c, follower, job("web", 3, json!([]))).await;
    let eval = wait_eval(&c, follower, &eval_id).await;
    assert_eq!(eval["Status"], "complete", "{eval}");
    assert!(eval["FailedTGAllocs"].is_null(), "{eval}");
    let allocs = live_allocs(&c, follower, "web").await;
    assert_eq!(allocs.len(), 3, "{allocs:?}");
    for a in &allocs {
        assert_eq!(a["EvalID"], eval_id.as_str());
        assert_eq!(a["JobType"], "service");
        assert_eq!(a["ClientStatus"], "pending");
        let (status, full) = c
            .get(leader, &format!("/v1/allocation/{}", a["ID"].as_str().unwrap()))
            .await;
        assert_eq!(status, 200);
        assert_eq!(full["Job"]["ID"], "web", "an allocation read carries its job");
        assert!(full["NodeID"].as_str().is_some_and(|n| !n.is_empty()));
    }
    let (_, by_eval) = c
        .get(leader, &format!("/v1/evaluation/{eval_id}/allocations"))
        .await;
    assert_eq!(by_eval.as_array().map(Vec::len), Some(3));
    let (_, web) = c.get(leader, "/v1/job/web").await;
    assert_eq!(web["Status"], "running");

    // Plan dry run of a count change: a diff, annotations, nothing committed.
    let before = c.applied_index(leader).await.expect("index");
    let (status, plan) = put(
        &c,
        follower,
        "/v1/job/web/plan",
        &json!({"Job": job("web", 5, json!([])), "Diff": true}),
    )
    .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(
        plan["Annotations"]["DesiredTGUpdates"]["web"]["Place"], 2,
        "{plan}"
    );
    assert_eq!(
        plan["Annotations"]["DesiredTGUpdates"]["web"]["InPlaceUpdate"], 3,
        "{plan}"
    );
    assert_eq!(
        plan["Diff"]["Fields"],
        json!([]),
        "only the count differs: {plan}"
    );
    assert_eq!(plan["Diff"]["Type"], "Edited", "{plan}");
    assert!(plan["JobModifyIndex"].as_u64().is_some_and(|i| i > 0), "{plan}");
    assert_eq!(plan["NextPeriodicLaunch"], "0001-01-01T00:00:00Z");
    assert_eq!(
        live_allocs(&c, leader, "web").await.len(),
        3,
        "a plan places nothing"
    );
    let (_, versions) = c.get(leader, "/v1/job/web/versions").await;
    assert_eq!(
        versions["Versions"].as_array().map(Vec::len),
        Some(1),
        "a plan registers nothing"
    );
    assert!(c.applied_index(leader).await.expect("index") >= before);

    // A constraint no node meets: the plan and the evaluation report it, and a blocked eval
    // waits for a fitting node.
    let gpu_constraint = json!([{"LTarget": "${meta.rack}", "RTarget": "gpu", "Operand": "="}]);
    let (status, plan) = put(
        &c,
        leader,
        "/v1/job/gpu/plan",
        &json!({"Job": job("gpu", 1, gpu_constraint.clone())}),
    )
    .await;
    assert_eq!(status, 200, "{plan}");
    let metric = &plan["FailedTGAllocs"]["web"];
    assert_eq!(metric["NodesFiltered"], 3, "{plan}");
    assert_eq!(
        metric["NodeReasons"].as_object().map(|m| m.len()),
        Some(3),
        "{plan}"
    );
    assert!(plan["Diff"].is_null(), "no diff unless asked");
    let eval_id = register(&c, leader, job("gpu", 1, gpu_constraint)).await;
    let eval = wait_eval(&c, leader, &eval_id).await;
    assert_eq!(eval["Status"], "complete", "{eval}");
    let metric = &eval["FailedTGAllocs"]["web"];
    assert_eq!(metric["NodesEvaluated"], 3, "{eval}");
    assert_eq!(metric["NodesFiltered"], 3, "{eval}");
    let blocked = eval["BlockedEval"].as_str().expect("BlockedEval").to_owned();
    assert!(!blocked.is_empty(), "{eval}");
    let (_, b) = c.get(leader, &format!("/v1/evaluation/{blocked}")).await;
    assert_eq!(b["Status"], "blocked", "{b}");
    assert!(live_allocs(&c, leader, "gpu").await.is_empty());

    register_node(&c, leader, node("gpu1", json!({"rack": "gpu"}))).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let placed = loop {
        let allocs = live_allocs(&c, follower, "gpu").await;
        if !allocs.is_empty() || Instant::now() > deadline {
            break allocs;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        placed.len(),
        1,
        "the blocked evaluation placed the group once a node fit"
    );
    let (_, b) = c.get(leader, &format!("/v1/evaluation/{blocked}")).await;
    assert_eq!(b["Status"], "complete", "{b}");

    // Stopping the job stops its allocations.
    let resp = c
        .http
        .delete(c.agents[follower].url("/v1/job/web"))
        .send()
        .await
        .expect("DELETE");
    let body: Value = resp.json().await.expect("json");
    let eval = wait_eval(&c, follower, body["EvalID"].as_str().expect("EvalID")).await;
    assert_eq!(eval["Status"], "complete");
    assert!(live_allocs(&c, follower, "web").await.is_empty());
    let (_, web) = c.get(leader, "/v1/job/web").await;
    assert_eq!(web["Status"], "dead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn evaluations_pending_at_leader_kill_complete_on_the_new_leader() {
    let mut c = Cluster::start(BIN, 3).await;
    let leader = c.wait_for_leader(Duration::from_secs(20)).await;
    for name in ["a", "b", "c"] {
        register_node(&c, leader, node(name, json!({}))).await;
    }
    let mut evals = Vec::new();
    for n in 0..20 {
        evals.push((
            format!("f{n:02}"),
            register(&c, leader, job(&format!("f{n:02}"), 2, json!([]))).await,
        ));
    }
    c.agents[leader].kill();
    let survivor = c.other_than(leader);
    c.wait_for_leader(Duration::from_secs(20)).await;
    for (job_id, eval_id) in &evals {
        let eval = wait_eval(&c, survivor, eval_id).await;
        assert_eq!(eval["Status"], "complete", "{eval}");
        assert_eq!(live_allocs(&c, survivor, job_id).await.len(), 2, "{job_id}");
    }
}

/// A measured run, not a test: `cargo test --release --test cluster_scheduler -- --ignored
/// --nocapture measure`. Prints committed registrations per second through the full path
/// (register → evaluation → allocations committed) and the median time from register to
/// allocations placed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "measurement run"]
async fn measure_register_to_placement() {
    let c = Cluster::start(BIN, 3).await;
    let leader = c.wait_for_leader(Duration::from_secs(20)).await;
    for name in ["a", "b", "c", "d", "e"] {
        register_node(&c, leader, node(name, json!({}))).await;
    }
    // Latency: one registration at a time, until its allocation is committed.
    let mut lat = Vec::new();
    for n in 0..30 {
        let start = Instant::now();
        let eval_id = register(&c, leader, job(&format!("lat{n:02}"), 1, json!([]))).await;
        wait_eval(&c, leader, &eval_id).await;
        lat.push(start.elapsed());
    }
    lat.sort();
    // Throughput: 300 registrations, 16 in flight, until every evaluation is complete.
    let total = 300;
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut evals = Vec::new();
    for n in 0..total {
        while set.len() >= 16 {
            evals.push(set.join_next().await.expect("task").expect("join"));
        }
        let (http, url) = (c.http.clone(), c.agents[leader].url("/v1/jobs"));
        let body = json!({ "Job": job(&format!("tp{n:03}"), 1, json!([])) });
        set.spawn(async move {
            let v: Value = http
                .put(url)
                .json(&body)
                .send()
                .await
                .expect("PUT")
                .json()
                .await
                .expect("json");
            v["EvalID"].as_str().expect("EvalID").to_owned()
        });
    }
    while let Some(r) = set.join_next().await {
        evals.push(r.expect("join"));
    }
    for e in &evals {
        wait_eval(&c, leader, e).await;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "register→placed median {:?} (p90 {:?}); {total} registrations fully scheduled in {secs:.2}s = {:.0}/s",
        lat[lat.len() / 2],
        lat[lat.len() * 9 / 10],
        total as f64 / secs
    );
}
