//! Built-in cluster benchmarks on a 3-server loopback cluster of real `deploy agent` processes:
//! committed job registrations per second (1 and 32 in flight), and leader failover time
//! (leader killed → a write through a surviving server is acknowledged). Each runs twice: plain,
//! and (`_tls` groups) with `tls { http = true, rpc = true, verify_server_hostname = true,
//! verify_https_client = true }`, certificates from `deploy tls`, to show what mutual TLS costs.
//!
//! Besides criterion's estimates, each registration group prints plain figures to stderr (the
//! issue's targets are stated in them): the median and p99 latency of one writer's commits, and
//! committed registrations per second with 1 and with 32 writers (`register figures: ...`).
//!
//! Servers run with the default Raft timing (multiplier 1) unless `DEPLOY_TEST_RAFT_MULTIPLIER`
//! says otherwise. `DEPLOY_BENCH_BIN` names another `deploy` binary to run instead of this
//! build's, for back-to-back comparisons with an earlier build on the same machine load.

#[path = "../tests/cluster_harness/mod.rs"]
mod cluster_harness;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cluster_harness::Cluster;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

/// The `deploy` binary under test: `DEPLOY_BENCH_BIN`, or this build's.
fn bin() -> String {
    std::env::var("DEPLOY_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_deploy").to_owned())
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Registers `n` new jobs through agent `via` with `in_flight` requests at once.
async fn register_many(c: &Cluster, via: usize, n: u64, in_flight: usize) {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        while set.len() >= in_flight {
            set.join_next().await.unwrap().unwrap();
        }
        let (http, url) = (c.http.clone(), c.agents[via].url("/v1/jobs"));
        let id = format!("bench-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        set.spawn(async move {
            let body = serde_json::json!({"Job": cluster_harness::job(&id, "1")});
            let resp = http.put(url).json(&body).send().await.expect("register");
            assert!(resp.status().is_success(), "{}", resp.status());
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}

/// Registers `n` new jobs one at a time through agent `via`; each commit's latency.
async fn latencies(c: &Cluster, via: usize, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        register_many(c, via, 1, 1).await;
        out.push(start.elapsed());
    }
    out.sort();
    out
}

/// Committed registrations per second over `n` registrations with `in_flight` writers.
async fn rate(c: &Cluster, via: usize, n: u64, in_flight: usize) -> f64 {
    let start = Instant::now();
    register_many(c, via, n, in_flight).await;
    n as f64 / start.elapsed().as_secs_f64()
}

/// Prints the figures the targets are stated in (see the header).
fn print_figures(rt: &Runtime, c: &Cluster, via: usize, tls: bool) {
    // Fewer with a slow (debug) build: DEPLOY_BENCH_WRITES registrations at 32 writers.
    let many_n: u64 = std::env::var("DEPLOY_BENCH_WRITES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8000);
    let one_n = (many_n / 20).max(50);
    let lat = rt.block_on(latencies(c, via, one_n as usize));
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    let one = rt.block_on(rate(c, via, one_n, 1));
    let many = rt.block_on(rate(c, via, many_n, 32));
    eprintln!(
        "register figures{}: single writer median {:?} p99 {:?}; {one:.0}/s with 1 writer, \
         {many:.0}/s with 32 writers",
        if tls { " (TLS)" } else { "" },
        pct(0.5),
        pct(0.99),
    );
}

/// The agent's own snapshot threshold and trailing logs (`src/cluster/raft/mod.rs`), named so
/// that the harness does not put in the small ones its tests use to make snapshots happen: a
/// snapshot every 150 entries serializes the whole state that often, which is no figure of
/// what a user's cluster does.
fn default_compaction() -> [String; 4] {
    [
        "--raft-snapshot-threshold".into(),
        deploy::cluster::raft::SNAPSHOT_THRESHOLD.to_string(),
        "--raft-trailing-logs".into(),
        deploy::cluster::raft::TRAILING_LOGS.to_string(),
    ]
}

/// A 3-server cluster, plain or under TLS (the certificates' directory is kept with it).
fn start(rt: &Runtime, tls: bool) -> (Cluster, Option<tempfile::TempDir>) {
    let bin = bin();
    let owned = default_compaction();
    let compaction: Vec<&str> = owned.iter().map(String::as_str).collect();
    if !tls {
        let cluster = Cluster::start_with_args(&bin, 3, 1, &compaction);
        return (rt.block_on(cluster), None);
    }
    let dir = tempfile::tempdir().unwrap();
    let certs = cluster_harness::tls::Certs::create(&bin, dir.path());
    let cluster = Cluster::spawn_tls_with_args(&bin, 3, 1, &certs, &compaction);
    rt.block_on(cluster.wait_for_leader(Duration::from_secs(30)));
    (cluster, Some(dir))
}

fn group_name(base: &str, tls: bool) -> String {
    match tls {
        true => format!("{base}_tls"),
        false => base.to_owned(),
    }
}

fn registrations(c: &mut Criterion) {
    for tls in [false, true] {
        registrations_over(c, tls);
    }
}

/// Whether criterion's command-line filters (if any) select benchmarks named `name`.
fn selected(name: &str) -> bool {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

fn registrations_over(c: &mut Criterion, tls: bool) {
    if !selected(&group_name("cluster_register", tls)) {
        return;
    }
    let rt = Runtime::new().unwrap();
    let (cluster, _certs) = start(&rt, tls);
    let leader = rt.block_on(cluster.wait_for_leader(Duration::from_secs(20)));
    let mut group = c.benchmark_group(group_name("cluster_register", tls));
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(1));
    for in_flight in [1usize, 32] {
        group.bench_function(format!("in_flight_{in_flight}"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                rt.block_on(register_many(&cluster, leader, iters, in_flight));
                start.elapsed()
            })
        });
    }
    group.finish();
    print_figures(&rt, &cluster, leader, tls);
}

fn failover(c: &mut Criterion) {
    for tls in [false, true] {
        failover_over(c, tls);
    }
}

fn failover_over(c: &mut Criterion, tls: bool) {
    if !selected(&group_name("cluster_failover", tls)) {
        return;
    }
    let rt = Runtime::new().unwrap();
    let (mut cluster, _certs) = start(&rt, tls);
    let mut samples = Vec::new();
    let mut group = c.benchmark_group(group_name("cluster_failover", tls));
    group
        .sample_size(20)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1));
    group.bench_function("leader_kill_to_acknowledged_write", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let took = rt.block_on(one_failover(&mut cluster));
                samples.push(took);
                total += took;
            }
            total
        })
    });
    group.finish();
    samples.sort();
    if let Some(median) = samples.get(samples.len() / 2) {
        eprintln!(
            "failover{}: median {median:?} over {} trials (min {:?}, max {:?})",
            if tls { " (TLS)" } else { "" },
            samples.len(),
            samples[0],
            samples[samples.len() - 1]
        );
    }
}

/// Kills the leader and times until a write through a survivor is acknowledged; then restarts
/// the killed server and lets it catch up (untimed).
async fn one_failover(c: &mut Cluster) -> Duration {
    let leader = c.wait_for_leader(Duration::from_secs(20)).await;
    let survivor = c.other_than(leader);
    c.register(
        survivor,
        "warm",
        &NEXT.fetch_add(1, Ordering::Relaxed).to_string(),
    )
    .await
    .unwrap();
    c.agents[leader].kill();
    let start = Instant::now();
    let id = format!("failover-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    c.register(survivor, &id, "1")
        .await
        .expect("write after failover");
    let took = start.elapsed();
    c.agents[leader].spawn();
    c.wait_for_http(leader, Duration::from_secs(20)).await;
    let target = c.applied_index(survivor).await.unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.applied_index(leader).await.unwrap_or(0) < target && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    took
}

criterion_group!(benches, registrations, failover);
criterion_main!(benches);
