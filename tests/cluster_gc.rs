//! Garbage collection against a real dev agent: a per-second periodic job stops adding
//! evaluations, allocations, child jobs and allocation directories once its thresholds pass;
//! a purged job leaves nothing behind; `PUT /v1/system/gc` collects a stopped job at once.
//! An ignored measurement run samples memory, storage and counts under churn.

mod client_harness;

use std::path::Path;
use std::time::{Duration, Instant};

use client_harness::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// Short GC settings, as an agent HCL file.
const SHORT_GC: &str = r#"
server {
  job_gc_interval         = "1s"
  job_gc_threshold        = "3s"
  eval_gc_threshold       = "2s"
  batch_eval_gc_threshold = "2s"
  deployment_gc_threshold = "2s"
}
client {
  gc_interval   = "1s"
  gc_max_allocs = 5
}
"#;

fn agent(dir: &Path, gc: Option<&str>) -> Agent {
    let mut args = vec!["--dev", "--node", "gc"];
    let config = dir.join("gc.hcl");
    if let Some(text) = gc {
        std::fs::write(&config, text).unwrap();
        args.extend(["--config", config.to_str().unwrap()]);
    }
    Agent::start(BIN, dir.join("agent"), &args)
}

fn batch_job(id: &str, script: &str) -> Value {
    json!({
        "ID": id, "Name": id, "Type": "batch", "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "g", "Count": 1,
            "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
            "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
            "Tasks": [{"Name": "t", "Driver": "raw_exec",
                       "Config": {"command": "/bin/sh", "args": ["-c", script]}}],
        }],
    })
}

fn cron_job(id: &str) -> Value {
    let mut job = batch_job(id, "true");
    job["Periodic"] =
        json!({"Enabled": true, "Spec": "* * * * * * *", "SpecType": "cron", "ProhibitOverlap": false});
    job
}

async fn count(http: &reqwest::Client, a: &Agent, path: &str) -> usize {
    get_json(http, &a.url(path))
        .await
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(usize::MAX)
}

fn alloc_dirs(a: &Agent) -> usize {
    std::fs::read_dir(a.data_dir.join("client/allocs")).map_or(0, |d| d.count())
}

/// Evaluations, allocations, child jobs of `parent`, allocation directories.
async fn counts(http: &reqwest::Client, a: &Agent, parent: &str) -> [usize; 4] {
    [
        count(http, a, "/v1/evaluations").await,
        count(http, a, "/v1/allocations").await,
        count(http, a, &format!("/v1/jobs?prefix={parent}/periodic-")).await,
        alloc_dirs(a),
    ]
}

async fn put(http: &reqwest::Client, a: &Agent, path: &str) {
    let r = http.put(a.url(path)).send().await.expect("put");
    assert!(r.status().is_success(), "PUT {path}: {}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_second_periodic_job_stops_growing_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path(), Some(SHORT_GC));
    let http = http();
    wait_nodes(&http, &a, 1).await;
    register_job(&http, &a, &cron_job("tick")).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    let first = counts(&http, &a, "tick").await;
    let mut peak = first;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = counts(&http, &a, "tick").await;
        for (p, n) in peak.iter_mut().zip(now) {
            *p = (*p).max(n);
        }
    }
    let last = counts(&http, &a, "tick").await;
    println!("evals, allocs, children, dirs: first {first:?} peak {peak:?} last {last:?}");
    // A child a second, kept for the job threshold plus an interval and its run time: the
    // numbers level off near ten whatever the run length, where without GC they would be 24+.
    for (i, what) in ["evaluations", "allocations", "child jobs", "alloc dirs"]
        .iter()
        .enumerate()
    {
        assert!(
            peak[i] <= 16,
            "{what}: first {first:?} peak {peak:?} last {last:?}"
        );
    }
    assert!(last[2] >= 1, "children are still launched: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purged_job_leaves_no_allocations_and_no_directories() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path(), None);
    let http = http();
    wait_nodes(&http, &a, 1).await;
    register_job(&http, &a, &batch_job("once", "echo done")).await;
    let alloc = wait_job_alloc(&http, &a, "once", Duration::from_secs(30), |al| {
        al["ClientStatus"] == "complete"
    })
    .await;
    let id = alloc["ID"].as_str().unwrap().to_owned();
    assert!(a.data_dir.join("client/allocs").join(&id).exists());
    let r = http
        .delete(a.url("/v1/job/once?purge=true"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let eval = r.json::<Value>().await.unwrap()["EvalID"]
        .as_str()
        .unwrap()
        .to_owned();
    // The purge's own evaluation is collected once the scheduler has finished with it.
    wait_for(Duration::from_secs(30), || async {
        let e = get_json(&http, &a.url(&format!("/v1/evaluation/{eval}"))).await?;
        (e["Status"] == "complete").then_some(())
    })
    .await
    .expect("the purge evaluation completes");
    put(&http, &a, "/v1/system/gc").await;
    put(&http, &a, "/v1/client/gc").await;
    let allocs = get_json(&http, &a.url("/v1/allocations")).await.unwrap();
    assert!(!allocs.to_string().contains(&id), "{allocs}");
    let evals = get_json(&http, &a.url("/v1/evaluations")).await.unwrap();
    assert!(!evals.to_string().contains("\"once\""), "{evals}");
    assert!(!a.data_dir.join("client/allocs").join(&id).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_gc_collects_a_stopped_job_at_once_and_spares_running_ones() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path(), None);
    let http = http();
    wait_nodes(&http, &a, 1).await;
    let mut stopped = batch_job("stopped", "sleep 600");
    stopped["Type"] = json!("service");
    let mut running = stopped.clone();
    running["ID"] = json!("running");
    running["Name"] = json!("running");
    register_job(&http, &a, &stopped).await;
    register_job(&http, &a, &running).await;
    let run = |job: &'static str| {
        let (http, a) = (&http, &a);
        async move {
            wait_job_alloc(http, a, job, Duration::from_secs(30), |al| {
                al["ClientStatus"] == "running"
            })
            .await
        }
    };
    let live = run("running").await;
    let gone = run("stopped").await;
    stop_job(&http, &a, "stopped").await;
    wait_job_alloc(&http, &a, "stopped", Duration::from_secs(30), |al| {
        al["ClientStatus"] == "complete"
    })
    .await;
    put(&http, &a, "/v1/system/gc").await;
    put(&http, &a, "/v1/client/gc").await;
    let r = http.get(a.url("/v1/job/stopped")).send().await.unwrap();
    assert_eq!(r.status(), 404, "the stopped job is collected");
    assert!(job_allocs(&http, &a, "stopped").await.is_empty());
    let gone_dir = a
        .data_dir
        .join("client/allocs")
        .join(gone["ID"].as_str().unwrap());
    assert!(!gone_dir.exists());
    let live_id = live["ID"].as_str().unwrap();
    assert!(a.data_dir.join("client/allocs").join(live_id).exists());
    let r = http
        .put(a.url(&format!("/v1/client/allocation/{live_id}/gc")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a running allocation's directory stays");
    assert_eq!(job_allocs(&http, &a, "running").await.len(), 1);
    stop_job(&http, &a, "running").await;
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn du_kib(path: &Path) -> u64 {
    fn walk(p: &Path) -> u64 {
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            return 0;
        };
        if !meta.is_dir() {
            return meta.len();
        }
        std::fs::read_dir(p)
            .map(|d| d.flatten().map(|e| walk(&e.path())).sum())
            .unwrap_or(0)
    }
    walk(path) / 1024
}

/// The measurement run: a per-second cron job plus register/stop churn with short GC
/// thresholds, sampled every minute. `DEPLOY_GC_MINUTES` sets the length (default 30).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a long measurement run; prints figures"]
async fn measure_state_growth_under_churn() {
    let minutes: u64 = std::env::var("DEPLOY_GC_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let gc = SHORT_GC.replace("\"3s\"", "\"60s\"").replace("\"2s\"", "\"30s\"");
    let a = agent(dir.path(), Some(&gc));
    let http = http();
    wait_nodes(&http, &a, 1).await;
    register_job(&http, &a, &cron_job("tick")).await;
    let start = Instant::now();
    let mut next_sample = start;
    let mut n = 0u64;
    println!("minute  rss_kib  redb_kib  evals  allocs  children  alloc_dirs  client_kib");
    while start.elapsed() < Duration::from_secs(minutes * 60) {
        if Instant::now() >= next_sample {
            let [evals, allocs, children, dirs] = counts(&http, &a, "tick").await;
            let redb = du_kib(&a.data_dir.join("server"));
            let client = du_kib(&a.data_dir.join("client"));
            let rss = a.pid().map_or(0, rss_kib);
            let minute = start.elapsed().as_secs() / 60;
            println!(
                "{minute:>6} {rss:>8} {redb:>9} {evals:>6} {allocs:>7} {children:>9} {dirs:>11} {client:>11}"
            );
            next_sample += Duration::from_secs(60);
        }
        let id = format!("churn-{}", n % 5);
        register_job(&http, &a, &batch_job(&id, "true")).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop_job(&http, &a, &id).await;
        n += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
