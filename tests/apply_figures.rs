//! Measured runs of `deploy apply`, printed, never asserted. Ignored by default; run them with
//! a release build of the binary:
//!
//! ```text
//! cargo build --release --bin deploy
//! DEPLOY_TEST_BIN=$PWD/target/release/deploy \
//!   cargo test --test apply_figures -- --ignored --nocapture --test-threads 1
//! ```
//!
//! `DEPLOY_FIGURE_PARALLELISM=10,50,200` sets the `-parallelism` values of the batch run.
//!
//! - Overhead: the webapp example as it is (services healthy for Nomad's default 10 s
//!   `min_healthy_time`) against the sum of the gates' minimum times along its critical path,
//!   on a dev agent and on 3 servers + 3 clients.
//! - Throughput: jobs per second applied for 1,000 trivial batch jobs (each runs `/bin/true`
//!   and must complete with exit 0), and for 1,000 periodic jobs (gate: registered), on a dev
//!   agent.

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use apply_support::*;

/// Nomad's default `min_healthy_time`, which the example's services get.
const MIN_HEALTHY_MS: u64 = 10_000;

fn uptime() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// A webapp job's gate minimum time: services min_healthy_time, batch and periodic 0.
fn gate_min_ms(address: &str) -> u64 {
    match address {
        "job.preflight" | "job.report" => 0,
        _ => MIN_HEALTHY_MS,
    }
}

/// The longest path through the webapp's edges, weighting each job by its gate's minimum time.
fn critical_path_ms() -> (u64, Vec<&'static str>) {
    let min = gate_min_ms;
    fn longest(
        a: &'static str,
        min: &dyn Fn(&str) -> u64,
        memo: &mut BTreeMap<&'static str, (u64, Vec<&'static str>)>,
    ) -> (u64, Vec<&'static str>) {
        if let Some(v) = memo.get(a) {
            return v.clone();
        }
        let mut best = (0, Vec::new());
        for (from, to) in WEBAPP_EDGES {
            if *from == a {
                let p = longest(to, min, memo);
                if p.0 > best.0 || best.1.is_empty() {
                    best = p;
                }
            }
        }
        best.0 += min(a);
        best.1.push(a);
        memo.insert(a, best.clone());
        best
    }
    let mut memo = BTreeMap::new();
    WEBAPP_JOBS
        .iter()
        .map(|(a, _)| longest(a, &min, &mut memo))
        .max_by_key(|p| p.0)
        .unwrap()
}

fn measure_webapp(tmp: &Path, deploy: &Deploy, label: &str) {
    let stack = copy_webapp(
        &tmp.join("src"),
        &WebappOptions {
            store_port: free_port(),
            min_healthy_time: None,
            nomad_backend: None,
        },
    );
    let state = tmp.join("state");
    let load_before = uptime();
    let started = Instant::now();
    let out = deploy.run(&[
        "apply",
        stack.to_str().unwrap(),
        "-state",
        state.to_str().unwrap(),
        "-auto-approve",
        "-json",
    ]);
    let wall = started.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    let ev = events(&out);
    let finished = finished_ms(&ev);
    let (critical, path) = critical_path_ms();
    println!(
        "\n== webapp on {label} (load before: {load_before}; after: {})",
        uptime()
    );
    println!(
        "critical path {} = {critical} ms of gate minimum times",
        path.join(" -> ")
    );
    println!(
        "deploy apply wall time {} ms (process), {finished} ms (executor); overhead {} ms process, {} ms executor",
        wall.as_millis(),
        wall.as_millis() as i64 - critical as i64,
        finished as i64 - critical as i64
    );
    for (addr, _) in WEBAPP_JOBS {
        let start = elapsed_of(&ev, "job_started", addr);
        let passed = elapsed_of(&ev, "gate_passed", addr);
        let min = gate_min_ms(addr);
        println!(
            "  {addr:<24} started {start:>6} ms, gate passed {passed:>6} ms: {:>5} ms (minimum {min} ms, over it {} ms)",
            passed - start,
            (passed - start) as i64 - min as i64
        );
    }
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn figure_webapp_apply_overhead_on_a_dev_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let _tasks = TaskReaper::new(tmp.path());
    let agent = DevAgent::start(tmp.path());
    measure_webapp(tmp.path(), &agent.deploy().with_age_key(), "a dev agent");
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn figure_webapp_apply_overhead_on_3_servers_and_3_clients() {
    let tmp = tempfile::tempdir().unwrap();
    let _tasks = TaskReaper::new(tmp.path());
    let cluster = RealCluster::start(&tmp.path().join("agents"), 3, 3);
    let server = cluster.address(cluster.follower());
    measure_webapp(
        tmp.path(),
        &Deploy::at(&server).with_age_key(),
        "3 servers + 3 clients (via a follower)",
    );
}

/// A stack of `n` independent jobs: batch jobs running `/bin/true`, or periodic ones. Each asks
/// for 10 MB of disk, not Nomad's default 300 MB: at `-parallelism 200` the default would ask
/// the dev node for more disk than it has, and the placements would fail for capacity.
fn write_many(dir: &Path, n: usize, periodic: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let mut jobs = String::new();
    for i in 0..n {
        let periodic = if periodic {
            "  periodic {\n    crons = [\"0 0 1 1 *\"]\n  }\n"
        } else {
            ""
        };
        jobs.push_str(&format!(
            "job \"b{i:04}\" {{\n  type = \"batch\"\n{periodic}  group \"g\" {{\n    ephemeral_disk {{\n      size = 10\n    }}\n\n    task \"t\" {{\n      driver = \"raw_exec\"\n      \
             config {{\n        command = \"/bin/true\"\n      }}\n      resources {{\n        cpu    = 10\n        memory = 10\n      }}\n    }}\n  }}\n}}\n"
        ));
    }
    std::fs::write(dir.join("jobs.hcl"), jobs).unwrap();
    std::fs::write(dir.join("stack.hcl"), "stack {\n  name = \"many\"\n}\n").unwrap();
}

fn measure_many(periodic: bool, parallelism: &[usize]) {
    let n = 1000;
    for &p in parallelism {
        let tmp = tempfile::tempdir().unwrap();
        let _tasks = TaskReaper::new(tmp.path());
        let agent = DevAgent::start(tmp.path());
        let stack = tmp.path().join("many");
        write_many(&stack, n, periodic);
        let load_before = uptime();
        let (cpu0, agent0) = (children_cpu_secs(), process_cpu_secs(agent.pid()));
        let started = Instant::now();
        let out = agent.deploy().run(&[
            "apply",
            stack.to_str().unwrap(),
            "-auto-approve",
            "-json",
            "-parallelism",
            &p.to_string(),
            "-timeout",
            "10m",
        ]);
        let wall = started.elapsed();
        let (cpu, agent_cpu) = (children_cpu_secs() - cpu0, process_cpu_secs(agent.pid()) - agent0);
        assert!(out.status.success(), "{}", text(&out));
        let ev = events(&out);
        let finished = finished_ms(&ev);
        let passed = ev.iter().filter(|e| e["event"] == "gate_passed").count();
        assert_eq!(passed, n);
        let kind = if periodic {
            "periodic (gate: registered)"
        } else {
            "batch /bin/true (gate: complete, exit 0)"
        };
        println!(
            "\n== {n} {kind} jobs on a dev agent, -parallelism {p} (load before: {load_before}; after: {})",
            uptime()
        );
        println!(
            "deploy apply wall time {:.1} s (process), {:.1} s (executor): {:.1} jobs/s (process), {:.1} jobs/s (executor)",
            wall.as_secs_f64(),
            finished as f64 / 1000.0,
            n as f64 / wall.as_secs_f64(),
            n as f64 / (finished as f64 / 1000.0)
        );
        println!("CPU: deploy {cpu:.2} s, the agent {agent_cpu:.2} s (its task processes not included)");
        print_phases(&ev);
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn figure_1000_batch_jobs_per_second_on_a_dev_agent() {
    measure_many(false, &parallelism_or(&[10, 50]));
}

/// The `-parallelism` values to measure: `DEPLOY_FIGURE_PARALLELISM` (comma-separated) when
/// set, else `default`.
fn parallelism_or(default: &[usize]) -> Vec<usize> {
    std::env::var("DEPLOY_FIGURE_PARALLELISM")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|p| p.trim().parse().ok())
                .collect::<Vec<_>>()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn figure_1000_periodic_jobs_per_second_on_a_dev_agent() {
    measure_many(true, &[10]);
}

/// Per job, when each phase was first reached (ms after the job started; `journaled` carries
/// no time of its own and takes the last event's): the median and 90th percentile over the
/// jobs, to show where a job's time goes.
fn print_phases(events: &[serde_json::Value]) {
    type Reached = fn(&serde_json::Value) -> bool;
    let phases: [(&str, Reached); 5] = [
        ("registered", |e| e["event"] == "registered"),
        ("placed", |e| {
            e["event"] == "allocs_update" && e["placed"].as_u64() > Some(0)
        }),
        ("running", |e| {
            e["event"] == "allocs_update" && e["running"].as_u64() > Some(0)
        }),
        ("gate passed", |e| e["event"] == "gate_passed"),
        ("journaled", |e| e["event"] == "journaled"),
    ];
    let mut started: BTreeMap<String, u64> = BTreeMap::new();
    let mut reached: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); phases.len()];
    let mut last_ms = 0;
    for e in events {
        let ms = e["elapsed_ms"].as_u64().unwrap_or(last_ms);
        last_ms = ms;
        let Some(address) = e["address"].as_str() else {
            continue;
        };
        if e["event"] == "job_started" {
            started.entry(address.to_owned()).or_insert(ms);
        }
        for (i, (_, is)) in phases.iter().enumerate() {
            if is(e) {
                reached[i].entry(address.to_owned()).or_insert(ms);
            }
        }
    }
    for ((name, _), at) in phases.iter().zip(&reached) {
        let mut after: Vec<u64> = at
            .iter()
            .filter_map(|(a, ms)| Some(ms.saturating_sub(*started.get(a)?)))
            .collect();
        after.sort_unstable();
        if after.is_empty() {
            println!("  {name:<16} never seen");
            continue;
        }
        let pick = |q: f64| after[((after.len() - 1) as f64 * q) as usize];
        println!(
            "  {name:<16} {:>6} ms median, {:>6} ms p90 after the job started ({} jobs)",
            pick(0.5),
            pick(0.9),
            after.len()
        );
    }
}

/// When the apply said it finished (its `apply_finished` event), in ms since it began.
fn finished_ms(events: &[serde_json::Value]) -> u64 {
    events
        .iter()
        .find(|e| e["event"] == "apply_finished")
        .and_then(|e| e["elapsed_ms"].as_u64())
        .expect("an apply_finished event")
}
