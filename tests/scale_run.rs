//! A C1M-style scale run, printed, never asserted on time: 3 real server agents and many
//! simulated client nodes in this process (`scale_sim`: the real client protocol, each node
//! authenticated by its own ID and secret), then many batch jobs of many allocations each
//! registered at once; how long until every allocation is placed and reported running, and
//! the servers' RSS at the end. Ignored by default; run it with a release build:
//!
//! ```text
//! cargo build --release --bin deploy
//! DEPLOY_TEST_BIN=$PWD/target/release/deploy \
//!   cargo test --release --test scale_run -- --ignored --nocapture
//! ```
//!
//! Scale: `DEPLOY_SCALE_NODES` (5,000), `DEPLOY_SCALE_JOBS` (1,000), `DEPLOY_SCALE_COUNT`
//! (allocations per job, 100); start small, e.g. 500 nodes and 100 jobs of 100.

mod cluster_harness;
mod scale_sim;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cluster_harness::Cluster;
use futures_util::StreamExt;
use serde_json::json;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Resident memory of process `pid` in MiB, from /proc.
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// A batch job of `count` allocations of one small raw_exec task.
fn batch_job(id: &str, count: usize) -> serde_json::Value {
    json!({
        "ID": id, "Name": id, "Type": "batch", "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "g", "Count": count,
            "Tasks": [{
                "Name": "t", "Driver": "raw_exec",
                "Config": {"command": "/bin/true"},
                "Resources": {"CPU": 10, "MemoryMB": 10},
            }],
        }],
    })
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn scale_run_places_and_runs_every_allocation() {
    let (nodes, jobs, count) = (
        env_or("DEPLOY_SCALE_NODES", 5_000),
        env_or("DEPLOY_SCALE_JOBS", 1_000),
        env_or("DEPLOY_SCALE_COUNT", 100),
    );
    let total = (jobs * count) as u64;
    let bin = std::env::var("DEPLOY_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_deploy").to_owned());
    // The servers' own snapshot thresholds, not the small ones other tests use to exercise
    // snapshots: with 100,000 allocations the state is ~160 MB of JSON, and a snapshot every
    // 150 entries (each follower 20 entries behind installing one) is all the servers would do.
    let (threshold, trailing) = (
        deploy::cluster::raft::SNAPSHOT_THRESHOLD.to_string(),
        deploy::cluster::raft::TRAILING_LOGS.to_string(),
    );
    let compaction = [
        "--raft-snapshot-threshold",
        threshold.as_str(),
        "--raft-trailing-logs",
        trailing.as_str(),
    ];
    let cluster = Cluster::start_with_args(&bin, 3, 3, &compaction).await;
    let servers: Vec<String> = cluster.agents.iter().map(|a| a.rpc_addr.clone()).collect();
    println!(
        "\n== scale run: 3 servers, {nodes} simulated nodes, {jobs} jobs x {count} allocations (load before: {})",
        loadavg()
    );

    let tally = Arc::new(scale_sim::Tally::default());
    let started = Instant::now();
    let sims: Vec<_> = (0..nodes)
        .map(|i| tokio::spawn(scale_sim::sim_node(i, &servers).run(Arc::clone(&tally))))
        .collect();
    while tally.registered.load(Ordering::Relaxed) < nodes as u64 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "only {} of {nodes} nodes registered in 10 minutes",
            tally.registered.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "{nodes} nodes registered in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let http = cluster.http.clone();
    let urls: Vec<String> = cluster.agents.iter().map(|a| a.url("/v1/jobs")).collect();
    let started = Instant::now();
    let registered = futures_util::stream::iter(0..jobs)
        .map(|j| {
            let (http, url) = (http.clone(), urls[j % urls.len()].clone());
            async move {
                let body = json!({"Job": batch_job(&format!("scale-{j:05}"), count)});
                let deadline = Instant::now() + Duration::from_secs(120);
                loop {
                    let why = match http.put(&url).json(&body).send().await {
                        Ok(r) if r.status().is_success() => return true,
                        Ok(r) => format!("{}: {}", r.status(), r.text().await.unwrap_or_default()),
                        Err(e) => cluster_harness::error_chain(&e),
                    };
                    if Instant::now() > deadline {
                        eprintln!("registering job {j}: {why}");
                        return false;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        })
        .buffer_unordered(64)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    let registered_in = started.elapsed();
    assert_eq!(registered, jobs, "every job registered");
    println!("{jobs} jobs registered in {:.1} s", registered_in.as_secs_f64());

    let mut placed_at = None;
    let mut last_print = Instant::now();
    let limit = Duration::from_secs(env_or("DEPLOY_SCALE_LIMIT_SECS", 900) as u64);
    loop {
        let (seen, running) = (
            tally.seen.load(Ordering::Relaxed),
            tally.running.load(Ordering::Relaxed),
        );
        if placed_at.is_none() && seen >= total {
            placed_at = Some(started.elapsed());
        }
        if running >= total {
            break;
        }
        if last_print.elapsed() >= Duration::from_secs(5) {
            last_print = Instant::now();
            println!(
                "  {:>5.1} s: {seen} placed and seen, {running} reported running (load {})",
                started.elapsed().as_secs_f64(),
                loadavg()
            );
        }
        assert!(
            started.elapsed() < limit,
            "only {running} of {total} running after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_running = started.elapsed();
    let placed = placed_at.unwrap_or(all_running);
    println!(
        "all {total} placed (seen by their nodes) {:.1} s and reported running {:.1} s after the registrations began: {:.0} allocations/s",
        placed.as_secs_f64(),
        all_running.as_secs_f64(),
        total as f64 / all_running.as_secs_f64()
    );
    for (i, a) in cluster.agents.iter().enumerate() {
        let rss = a
            .pid()
            .and_then(rss_mib)
            .map_or("?".into(), |m| format!("{m:.0} MiB"));
        println!("server {i}: RSS {rss}");
    }
    println!(
        "errors retried: {}; load after: {}",
        tally.errors.load(Ordering::Relaxed),
        loadavg()
    );
    for s in sims {
        s.abort();
    }
}
