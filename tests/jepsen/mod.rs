//! Fault testing in the manner of Jepsen: server agents in their own network namespaces
//! ([`netns`], [`nodes`]), a nemesis that kills, pauses and partitions them on a random
//! [`schedule`], clients that record a [`history`], and a linearizability [`checker`].
#![allow(dead_code)]

pub mod checker;
pub mod history;
pub mod netns;
pub mod nodes;
pub mod schedule;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use checker::Violation;
use history::{Counts, Recorder};
use nodes::NetCluster;
use schedule::{Fault, Rng};

/// Keys (variable paths) the workers share.
pub const KEYS: usize = 4;

/// Concurrent workers.
pub const WORKERS: usize = 6;

/// Search steps the checker may take per key.
const MAX_STEPS: u64 = 20_000_000;

/// What one schedule found.
#[derive(Debug)]
pub struct Report {
    /// The seed that replays it.
    pub seed: u64,
    /// Faults injected, in order.
    pub faults: Vec<String>,
    /// Outcome counts of the register operations.
    pub counts: Counts,
    /// Jobs acknowledged.
    pub acked_jobs: usize,
    /// Linearizability violations by key.
    pub violations: Vec<(String, Violation)>,
    /// Acknowledged jobs missing from a server at the end, with that server.
    pub lost_jobs: Vec<(usize, String)>,
}

/// Runs one random fault schedule of about `secs` against `n` servers.
pub async fn run_schedule(bin: &str, n: usize, seed: u64, secs: u64, multiplier: u32) -> Report {
    let mut c = NetCluster::start(bin, n, multiplier).expect("cluster in namespaces");
    let probe = reqwest::Client::new();
    if let Err(e) = c.wait_for_leader(&probe, Duration::from_secs(30)).await {
        panic!("{e}\n{}", c.log_tail(0));
    }
    let servers = (0..n).map(|i| c.addr(i)).collect();
    let rec = Recorder::new(servers, &format!("jepsen-{seed}-"));
    let keys: Vec<String> = (0..KEYS).map(|k| format!("jepsen/k{k}")).collect();
    let until = Instant::now() + Duration::from_secs(secs);
    let workers: Vec<_> = (0..WORKERS)
        .map(|p| {
            tokio::spawn(history::worker(
                rec.clone(),
                p,
                keys.clone(),
                seed ^ (p as u64 + 1) << 32,
                until,
            ))
        })
        .collect();
    let mut rng = Rng::new(seed);
    let mut faults = Vec::new();
    loop {
        tokio::time::sleep(rng.millis(300, 1200)).await;
        if Instant::now() + Duration::from_millis(1500) > until {
            break;
        }
        let leader = c.leader(&probe).await;
        let fault = Fault::random(&mut rng, n);
        faults.push(fault.apply(&mut c, leader, &mut rng));
        tokio::time::sleep(rng.millis(500, 2500)).await;
        c.heal_all();
    }
    c.heal_all();
    for w in workers {
        w.await.expect("worker");
    }
    c.wait_for_leader(&probe, Duration::from_secs(30))
        .await
        .expect("leader after healing");
    final_reads(&rec, &keys, n).await;
    let history = rec.take();
    let lost_jobs = lost_jobs(&c, &probe, &rec.job_prefix, &history.acked_jobs).await;
    Report {
        seed,
        faults,
        counts: history.counts(),
        acked_jobs: history.acked_jobs.len(),
        violations: checker::check_all(&history.ops, MAX_STEPS),
        lost_jobs,
    }
}

/// Reads every key through every server once the cluster is whole again.
async fn final_reads(rec: &Recorder, keys: &[String], n: usize) {
    for key in keys {
        for via in 0..n {
            let deadline = Instant::now() + Duration::from_secs(20);
            while rec.read(WORKERS + via, via, key).await.is_none() {
                assert!(Instant::now() < deadline, "server {via} answers no read of {key}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Acknowledged jobs each server does not list (a consistent read) at the end.
async fn lost_jobs(
    c: &NetCluster,
    http: &reqwest::Client,
    prefix: &str,
    acked: &BTreeSet<String>,
) -> Vec<(usize, String)> {
    let mut lost = Vec::new();
    for i in 0..c.len() {
        let url = c.url(i, &format!("/v1/jobs?prefix={prefix}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        let listed: BTreeSet<String> = loop {
            let resp = http.get(&url).timeout(Duration::from_secs(5)).send().await;
            if let Ok(r) = resp
                && r.status().is_success()
                && let Ok(serde_json::Value::Array(jobs)) = r.json().await
            {
                break jobs
                    .iter()
                    .filter_map(|j| j["ID"].as_str().map(str::to_owned))
                    .collect();
            }
            assert!(Instant::now() < deadline, "server {i} does not list jobs");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        lost.extend(acked.difference(&listed).map(|id| (i, id.clone())));
    }
    lost
}

/// The Raft multiplier: `DEPLOY_TEST_RAFT_MULTIPLIER`, else `default`.
pub fn multiplier(default: u32) -> u32 {
    std::env::var("DEPLOY_TEST_RAFT_MULTIPLIER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether the test can run; prints why not, and fails when `CI=true`.
pub fn can_run() -> bool {
    match netns::unavailable() {
        None => true,
        Some(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "fault tests cannot run under CI: {why}"
            );
            eprintln!("skipping: {why}");
            false
        }
    }
}
