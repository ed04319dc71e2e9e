//! No input may panic or hang the front end (random bytes and mutated corpus files), and no
//! job may stop the cluster: sizes beyond the limits and names that are paths are refused by
//! `deploy validate` and the API, a job just under the limits leaves the scheduler free for
//! the next one, and SIGTERM stops a busy agent within 5 s.

mod cluster_harness;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cluster_harness::Cluster;
use proptest::prelude::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// Parses in a thread; fails on a panic or when it takes longer than the limit.
fn parse_bounded(text: String) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let r = deploy::frontend::parse_job_text(Path::new("fuzz.nomad.hcl"), &text);
        let _ = tx.send(r.is_ok());
    });
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(_) => handle.join().map_err(|_| "panicked".to_string()),
        Err(mpsc::RecvTimeoutError::Timeout) => Err("took longer than 5 s".into()),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("panicked".into()),
    }
}

fn corpus_texts() -> Vec<String> {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("corpus {CORPUS} is missing and CI=true");
        }
        println!("skipping corpus mutations: {CORPUS} not found");
        return Vec::new();
    }
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![
        root.join("seeds"),
        root.join("nomad/hashicorp+nomad/command/asset"),
    ];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "hcl" || x == "nomad") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert_eq!(parse_bounded(text), Ok(()));
    }

    #[test]
    fn hcl_shaped_noise_never_panics(parts in proptest::collection::vec(
        prop_oneof![
            Just("job \"a\" {".to_string()), Just("group \"g\" {".to_string()), Just("task \"t\" {".to_string()),
            Just("}".to_string()), Just("\n".to_string()), Just("x = ".to_string()), Just("\"${".to_string()),
            Just("%{ for x in var.l }".to_string()), Just("%{ endfor }".to_string()), Just("<<-EOT\n".to_string()),
            Just("EOT\n".to_string()), Just("var.".to_string()), Just("[1, 2]".to_string()), Just("{ a = 1 }".to_string()),
            Just("variable \"v\" { default = 1 }".to_string()), Just("format(\"%d\", 1)".to_string()), "[a-z_]{1,8}".prop_map(|s| s),
        ], 0..40)) {
        prop_assert_eq!(parse_bounded(parts.concat()), Ok(()));
    }
}

#[test]
fn mutated_corpus_files_never_panic() {
    let texts = corpus_texts();
    if texts.is_empty() {
        return;
    }
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 1000,
        ..ProptestConfig::default()
    });
    let strategy = (0..texts.len(), any::<u64>(), 0u8..4, any::<u8>());
    let result = runner.run(&strategy, |(idx, pos, op, byte)| {
        let mut bytes = texts[idx].clone().into_bytes();
        if bytes.is_empty() {
            return Ok(());
        }
        let at = (pos % bytes.len() as u64) as usize;
        match op {
            0 => bytes[at] ^= byte | 1,
            1 => bytes.truncate(at),
            2 => {
                let end = (at + (byte as usize % 32) + 1).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => bytes.insert(at, byte),
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert_eq!(parse_bounded(text), Ok(()));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    for open in ["[", "{", "(", "\"${", "-", "!"] {
        let text = format!("job \"a\" {{\n  meta = {}\n}}\n", open.repeat(20_000));
        assert_eq!(parse_bounded(text), Ok(()), "nesting with {open}");
    }
    for (open, close) in [("[", "]"), ("(", ")"), ("{ a = ", " }")] {
        let text = format!(
            "job \"a\" {{\n  meta = {}1{}\n}}\n",
            open.repeat(5_000),
            close.repeat(5_000)
        );
        assert_eq!(parse_bounded(text), Ok(()), "balanced nesting with {open}");
    }
}

/// A service job of `groups` groups of `count`, each task 100 MHz / 64 MB, the first group
/// with `tasks` tasks, held to nodes whose `rack` is `rack`.
fn sized_job(id: &str, groups: usize, count: u64, tasks: usize, rack: &str) -> Value {
    let task = |i: usize| {
        json!({"Name": format!("t{i}"), "Driver": "docker", "Config": {"image": "app:1"},
               "Resources": {"CPU": 100, "MemoryMB": 64}})
    };
    let groups: Vec<Value> = (0..groups)
        .map(|g| {
            let n = if g == 0 { tasks } else { 1 };
            json!({"Name": format!("g{g}"), "Count": count,
                   "Constraints": [{"LTarget": "${meta.rack}", "RTarget": rack, "Operand": "="}],
                   "Tasks": (0..n).map(task).collect::<Vec<_>>()})
        })
        .collect();
    json!({"ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"], "TaskGroups": groups})
}

/// A ready docker node in dc1 (4000 MHz, 8 GB) with `meta.rack`.
fn node(name: &str, rack: &str) -> Value {
    json!({
        "ID": format!("00000000-0000-0000-0000-{name:0>12}"),
        "Name": name, "Datacenter": "dc1", "NodePool": "default", "Status": "ready",
        "SchedulingEligibility": "eligible",
        "Attributes": {"kernel.name": "linux", "unique.network.ip-address": "127.0.0.1"},
        "Meta": {"rack": rack},
        "Drivers": {"docker": {"Detected": true, "Healthy": true}},
        "NodeResources": {"Cpu": {"CpuShares": 4000}, "Memory": {"MemoryMB": 8192},
                          "Disk": {"DiskMB": 100000}, "MinDynamicPort": 20000, "MaxDynamicPort": 32000},
    })
}

async fn put(c: &Cluster, path: &str, body: &Value) -> (u16, String) {
    let resp = c
        .http
        .put(c.agents[0].url(path))
        .json(body)
        .send()
        .await
        .expect("PUT");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// Polls the evaluation until it leaves `pending`.
async fn wait_eval(c: &Cluster, eval_id: &str, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let (status, eval) = c.get(0, &format!("/v1/evaluation/{eval_id}")).await;
        if status == 200 && eval["Status"] != "pending" {
            return eval;
        }
        assert!(
            Instant::now() < deadline,
            "evaluation {eval_id} still pending: {eval}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn register(c: &Cluster, job: Value) -> String {
    let (status, body) = put(c, "/v1/jobs", &json!({ "Job": job })).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["EvalID"].as_str().expect("EvalID").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sizes_beyond_the_limits_and_path_names_are_refused_with_400() {
    let c = Cluster::start(BIN, 1).await;
    let (status, body) = put(
        &c,
        "/v1/jobs",
        &json!({"Job": sized_job("huge", 1, 1_000_000_000, 1, "a")}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("count 1000000000 exceeds the limit of 10000"),
        "{body}"
    );
    assert!(body.contains("max_group_count"), "{body}");
    let (status, body) = put(&c, "/v1/jobs", &json!({"Job": sized_job("wide", 101, 1, 1, "a")})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("101 groups, more than the limit of 100"), "{body}");
    for name in ["../x", "/etc", "/tmp/x/escaped-task"] {
        let mut job = sized_job("named", 1, 1, 1, "a");
        job["TaskGroups"][0]["Tasks"][0]["Name"] = json!(name);
        let (status, body) = put(&c, "/v1/jobs", &json!({ "Job": job })).await;
        assert_eq!(status, 400, "{name}: {body}");
        assert!(body.contains("must not contain a slash"), "{name}: {body}");
        let (status, body) = put(&c, "/v1/job/named/plan", &json!({ "Job": job })).await;
        assert_eq!(status, 400, "{name}: {body}");
    }
    let (_, jobs) = c.get(0, "/v1/jobs").await;
    assert_eq!(jobs, json!([]), "nothing refused was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_just_under_the_limits_leaves_the_scheduler_free() {
    let c = Cluster::start(BIN, 1).await;
    for (name, rack) in [("a", "huge"), ("b", "small")] {
        let (status, body) = c
            .rpc(
                0,
                reqwest::Method::PUT,
                "/v1/internal/node/register",
                Some(&json!({"Node": node(name, rack)})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // 100 groups of 10,000 (the first with 100 tasks): a million allocations asked for.
    let huge = register(&c, sized_job("huge", 100, 10_000, 100, "huge")).await;
    let small = register(&c, sized_job("small", 1, 2, 1, "small")).await;
    let eval = wait_eval(&c, &small, Duration::from_secs(60)).await;
    assert_eq!(eval["Status"], "complete", "{eval}");
    assert!(eval["FailedTGAllocs"].is_null(), "{eval}");
    let (_, allocs) = c.get(0, "/v1/job/small/allocations").await;
    assert_eq!(allocs.as_array().map(Vec::len), Some(2), "{allocs}");
    // The huge job was planned too: what fits on its node, the rest reported as queued.
    let eval = wait_eval(&c, &huge, Duration::from_secs(60)).await;
    assert_eq!(eval["Status"], "complete", "{eval}");
    assert_eq!(eval["FailedTGAllocs"]["g0"]["CoalescedFailures"], 9_999, "{eval}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_stops_an_agent_busy_with_the_largest_jobs_within_5_s() {
    let mut c = Cluster::start(BIN, 1).await;
    let (status, body) = c
        .rpc(
            0,
            reqwest::Method::PUT,
            "/v1/internal/node/register",
            Some(&json!({"Node": node("a", "huge")})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = put(
        &c,
        "/v1/jobs",
        &json!({"Job": sized_job("refused", 1, 1_000_000_000, 1, "huge")}),
    )
    .await;
    assert_eq!(status, 400);
    for i in 0..3 {
        register(&c, sized_job(&format!("huge{i}"), 100, 10_000, 100, "huge")).await;
    }
    // A blocking query stays open across the signal: it must not hold the shutdown.
    let (_, jobs) = c.get(0, "/v1/jobs").await;
    assert_eq!(jobs.as_array().map(Vec::len), Some(3), "{jobs}");
    let watcher = c
        .http
        .get(c.agents[0].url("/v1/jobs?index=1000000&wait=5m"))
        .send();
    let watching = tokio::spawn(async move {
        let _ = watcher.await;
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let status = tokio::task::block_in_place(|| c.agents[0].terminate(Duration::from_secs(5)));
    assert!(status.is_some(), "the agent still ran 5 s after SIGTERM");
    watching.abort();

    // Restarted on the same data, it plans what was left and then a new job.
    c.agents[0].spawn();
    c.wait_for_leader(Duration::from_secs(30)).await;
    let (status, body) = c
        .rpc(
            0,
            reqwest::Method::PUT,
            "/v1/internal/node/register",
            Some(&json!({"Node": node("b", "small")})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let small = register(&c, sized_job("small", 1, 1, 1, "small")).await;
    let eval = wait_eval(&c, &small, Duration::from_secs(60)).await;
    assert_eq!(eval["Status"], "complete", "{eval}");
    // The node registered above also wakes the blocked evaluations of the large jobs, which
    // the worker plans again after the small one: wait until it has.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pending = json!(null);
    while pending != json!([]) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        pending = c.get(0, "/v1/evaluations?status=pending").await.1;
    }
    let (_, failed) = c.get(0, "/v1/evaluations?status=failed").await;
    assert_eq!(failed, json!([]), "no evaluation failed");
    assert_eq!(pending, json!([]), "every evaluation was planned");
    let (status, _) = c.get(0, "/v1/evaluations?status=bogus").await;
    assert_eq!(status, 400);
}

#[test]
fn deploy_validate_refuses_path_names_where_they_are() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.nomad.hcl");
    let text = "job \"x\" {\n  group \"g\" {\n    task \"../x\" {\n      driver = \"exec\"\n    }\n    task \"/etc\" {\n      driver = \"exec\"\n    }\n  }\n}\n";
    std::fs::write(&file, text).expect("write");
    let out = std::process::Command::new(BIN)
        .arg("validate")
        .arg(&file)
        .env("NO_COLOR", "1")
        .output()
        .expect("run deploy validate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("task name \"../x\" must not contain a slash"),
        "{stderr}"
    );
    assert!(
        stderr.contains("task name \"/etc\" must not contain a slash"),
        "{stderr}"
    );
    assert!(stderr.contains("bad.nomad.hcl:3:5"), "{stderr}");
    assert!(stderr.contains("bad.nomad.hcl:6:5"), "{stderr}");
}
