//! Job versions through a real server: the versions API, stability and revert answer as when
//! every version was kept whole, also after a restart; an ignored measurement run reports the
//! server's memory after re-registering the largest job the limits allow.

mod cluster_harness;

use std::time::Duration;

use cluster_harness::Cluster;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// A job of `groups` groups of `tasks` tasks each, every task running `image`.
fn job(id: &str, groups: usize, tasks: usize, image: &str) -> Value {
    let task = |i: usize| {
        json!({"Name": format!("t{i}"), "Driver": "docker", "Config": {"image": image},
               "Resources": {"CPU": 100, "MemoryMB": 64}})
    };
    let groups: Vec<Value> = (0..groups)
        .map(|g| json!({"Name": format!("g{g}"), "Count": 1, "Tasks": (0..tasks).map(task).collect::<Vec<_>>()}))
        .collect();
    json!({"ID": id, "Name": id, "Type": "service", "Datacenters": ["dc1"], "TaskGroups": groups})
}

async fn send(c: &Cluster, path: &str, body: &Value) -> Value {
    let resp = c
        .http
        .put(c.agents[0].url(path))
        .json(body)
        .send()
        .await
        .expect("PUT");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert!(status.is_success(), "{path}: {status}: {text}");
    serde_json::from_str(&text).expect("JSON answer")
}

/// The image of every task of `job`, in order.
fn images(job: &Value) -> Vec<String> {
    job["TaskGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["Tasks"].as_array().unwrap().iter())
        .map(|t| t["Config"]["image"].as_str().unwrap().to_owned())
        .collect()
}

/// (Version, Stable, the first task's image) of each version `/versions` lists.
async fn listed(c: &Cluster) -> Vec<(u64, bool, String)> {
    let (status, v) = c.get(0, "/v1/job/web/versions").await;
    assert_eq!(status, 200, "{v}");
    v["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let imgs = images(j);
            assert!(imgs.iter().all(|i| *i == imgs[0]), "one image per version");
            (
                j["Version"].as_u64().unwrap(),
                j["Stable"].as_bool().unwrap(),
                imgs[0].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn versions_stability_and_revert_answer_as_before_also_after_a_restart() {
    let mut c = Cluster::start(BIN, 1).await;
    for n in 0..12 {
        let body = json!({"Job": job("web", 3, 2, &format!("app:{n}"))});
        send(&c, "/v1/jobs", &body).await;
    }
    let expected: Vec<(u64, bool, String)> = (2..12).rev().map(|n| (n, false, format!("app:{n}"))).collect();
    assert_eq!(listed(&c).await, expected, "ten versions, newest first");

    // Stability of an older version, then a revert to it: a new version with its spec.
    send(
        &c,
        "/v1/job/web/stable",
        &json!({"JobVersion": 4, "Stable": true}),
    )
    .await;
    let mut expected = expected;
    expected[7].1 = true;
    assert_eq!(listed(&c).await, expected);
    send(&c, "/v1/job/web/revert", &json!({"JobVersion": 4})).await;
    let (status, cur) = c.get(0, "/v1/job/web").await;
    assert_eq!(status, 200, "{cur}");
    assert_eq!(cur["Version"], 12);
    assert_eq!(images(&cur), vec!["app:4".to_owned(); 6]);
    expected.insert(0, (12, false, "app:4".into()));
    expected.pop();
    assert_eq!(listed(&c).await, expected);
    let (_, before) = c.get(0, "/v1/job/web/versions").await;

    c.agents[0].kill();
    c.agents[0].spawn();
    c.wait_for_leader(Duration::from_secs(30)).await;
    let (status, after) = c.get(0, "/v1/job/web/versions").await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after, before, "the same versions after a restart");
}

/// Resident memory of `pid`, KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("proc status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Measurement: RSS of a server after the largest job the limits allow (100 groups of 100
/// tasks) is registered and then re-registered five times with a new image.
/// `DEPLOY_VERSIONS_BIN` measures another build of `deploy` (e.g. one from before a change).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "measurement run; prints figures"]
async fn measure_memory_of_large_job_versions() {
    let bin = std::env::var("DEPLOY_VERSIONS_BIN").unwrap_or_else(|_| BIN.to_owned());
    let c = Cluster::start(&bin, 1).await;
    let pid = c.agents[0].pid().expect("running");
    let body = |n: usize| json!({"Job": job("huge", 100, 100, &format!("app:{n}"))});
    eprintln!(
        "job JSON: {} bytes; RSS before: {} KiB",
        body(0).to_string().len(),
        rss_kib(pid)
    );
    for n in 0..6 {
        send(&c, "/v1/jobs", &body(n)).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        eprintln!("after registration {n}: RSS {} KiB", rss_kib(pid));
    }
    let (status, v) = c.get(0, "/v1/job/huge/versions").await;
    assert_eq!(status, 200);
    assert_eq!(v["Versions"].as_array().map(Vec::len), Some(6));
    eprintln!("after reading the versions: RSS {} KiB", rss_kib(pid));
}
