//! The built-in cluster's Raft core, with real agent processes: nothing acknowledged is lost
//! when the leader is killed, a full restart keeps everything and elects a new term, a
//! restarted follower catches up at once, and any server accepts writes.

mod cluster_harness;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cluster_harness::Cluster;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

async fn job_ids(c: &Cluster, via: usize, prefix: &str) -> BTreeSet<String> {
    let (status, list) = c.get(via, &format!("/v1/jobs?prefix={prefix}")).await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|j| j["ID"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_kill_loses_no_acknowledged_write() {
    let mut c = Cluster::start(BIN, 3).await;
    for trial in 0..20 {
        let leader = c.wait_for_leader(Duration::from_secs(20)).await;
        let mut acked = BTreeSet::new();
        let mut pending = tokio::task::JoinSet::new();
        let ids: Vec<String> = (0..50).map(|n| format!("t{trial:02}-job{n:02}")).collect();
        // Registrations go to the leader, up to 8 in flight.
        let url = c.agents[leader].url("/v1/jobs");
        for id in ids {
            while pending.len() >= 8 {
                if let Some(Ok(Some(id))) = pending.join_next().await {
                    acked.insert(id);
                }
            }
            let (http, url) = (c.http.clone(), url.clone());
            pending.spawn(async move {
                let body = json!({"Job": cluster_harness::job(&id, "1")});
                let resp = http.put(url).json(&body).send().await.ok()?;
                resp.status().is_success().then_some(id)
            });
        }
        while let Some(r) = pending.join_next().await {
            if let Ok(Some(id)) = r {
                acked.insert(id);
            }
        }
        c.agents[leader].kill();
        assert_eq!(
            acked.len(),
            50,
            "trial {trial}: every registration to a healthy leader is acknowledged"
        );

        let survivor = c.other_than(leader);
        let present = job_ids(&c, survivor, &format!("t{trial:02}-")).await;
        let lost: Vec<_> = acked.difference(&present).collect();
        assert!(
            lost.is_empty(),
            "trial {trial}: acknowledged jobs lost after leader kill: {lost:?}"
        );

        c.agents[leader].spawn();
        c.wait_for_http(leader, Duration::from_secs(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_restart_keeps_jobs_versions_and_variables() {
    let mut c = Cluster::start(BIN, 3).await;
    for n in 0..10 {
        for tag in ["1", "2", "3"] {
            c.register(n % 3, &format!("web{n}"), tag).await.unwrap();
        }
    }
    for n in 0..5 {
        let resp = c
            .http
            .put(c.agents[n % 3].url(&format!("/v1/var/app/cfg{n}")))
            .json(&json!({"Items": {"user": format!("u{n}")}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    for a in &mut c.agents {
        a.kill();
    }
    for a in &mut c.agents {
        a.spawn();
    }
    c.wait_for_leader(Duration::from_secs(30)).await;
    for via in 0..3 {
        let ids = job_ids(&c, via, "web").await;
        assert_eq!(ids.len(), 10);
        for n in 0..10 {
            let (status, v) = c.get(via, &format!("/v1/job/web{n}/versions")).await;
            assert_eq!(status, 200);
            let versions: Vec<u64> = v["Versions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["Version"].as_u64().unwrap())
                .collect();
            assert_eq!(versions, vec![2, 1, 0], "job web{n}");
        }
        for n in 0..5 {
            let (status, v) = c.get(via, &format!("/v1/var/app/cfg{n}")).await;
            assert_eq!(status, 200);
            assert_eq!(v["Items"]["user"], format!("u{n}"));
        }
    }
}

/// The term agent `i` reports.
async fn term(c: &Cluster, i: usize) -> u64 {
    let s = c.agent_self(i).await.expect("agent answers");
    s["stats"]["raft"]["term"].as_str().unwrap().parse().unwrap()
}

/// After every server is killed at once, the old leader must not lead again in its old term:
/// it would answer read indexes from the committed index it saved (lazily, so behind what it
/// acknowledged) and serve stale reads (found by the fault tests). It is restarted first and
/// alone, so it could not have lost an election; the others join it later.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_cluster_kill_elects_a_new_term_and_reads_see_acknowledged_writes() {
    let mut c = Cluster::start(BIN, 3).await;
    for round in 0..3u64 {
        let leader = c.wait_for_leader(Duration::from_secs(30)).await;
        let before = term(&c, leader).await;
        for n in 0..5 {
            let resp = c
                .http
                .put(c.agents[leader].url("/v1/var/restart/k"))
                .json(&json!({"Items": {"v": format!("{round}-{n}")}}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "write {round}-{n}");
        }
        for a in &mut c.agents {
            a.kill();
        }
        c.agents[leader].spawn();
        c.wait_for_http(leader, Duration::from_secs(20)).await;
        let reader = {
            let (http, url) = (c.http.clone(), c.agents[leader].url("/v1/var/restart/k"));
            tokio::spawn(async move { http.get(url).send().await?.json::<Value>().await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        for i in (0..3).filter(|i| *i != leader) {
            c.agents[i].spawn();
        }
        let read = reader.await.unwrap().expect("read through the old leader");
        assert_eq!(read["Items"]["v"], format!("{round}-4"), "round {round}: {read}");
        let now = c.wait_for_leader(Duration::from_secs(30)).await;
        let after = term(&c, now).await;
        assert!(
            after > before,
            "round {round}: leader in term {after}, was {before}"
        );
        for via in 0..3 {
            let (status, v) = c.get(via, "/v1/var/restart/k").await;
            assert_eq!(status, 200, "{v}");
            assert_eq!(v["Items"]["v"], format!("{round}-4"), "round {round} via {via}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarted_follower_catches_up_within_a_second() {
    let mut c = Cluster::start(BIN, 3).await;
    let leader = c.wait_for_leader(Duration::from_secs(20)).await;
    let follower = c.other_than(leader);
    for n in 0..20 {
        c.register(leader, &format!("before{n}"), "1").await.unwrap();
    }
    c.agents[follower].kill();
    for n in 0..50 {
        c.register(leader, &format!("while-down{n}"), "1").await.unwrap();
    }
    c.agents[follower].spawn();
    c.wait_for_http(follower, Duration::from_secs(20)).await;
    let started = Instant::now();
    loop {
        let (f, l) = (c.applied_index(follower).await, c.applied_index(leader).await);
        if f.is_some() && f == l {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "follower at {f:?}, leader at {l:?} after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The caught-up state is served locally, without a barrier.
    let (status, v) = c.get(follower, "/v1/job/while-down49?stale").await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn follower_accepts_writes_and_api_answers_like_nomad() {
    let c = Cluster::start(BIN, 3).await;
    let leader = c.wait_for_leader(Duration::from_secs(20)).await;
    let follower = c.other_than(leader);

    // A write sent to a follower is forwarded and acknowledged after commit.
    let jmi = c.register(follower, "fwd", "1").await.unwrap();
    let (status, job) = c.get(leader, "/v1/job/fwd").await;
    assert_eq!(status, 200);
    assert_eq!(job["JobModifyIndex"], jmi);
    assert_eq!(job["Version"], 0);

    // Check-index: a stale JobModifyIndex is refused with Nomad's message.
    let body =
        json!({"Job": cluster_harness::job("fwd", "2"), "EnforceIndex": true, "JobModifyIndex": jmi + 100});
    let resp = c
        .http
        .put(c.agents[follower].url("/v1/jobs"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let text = resp.text().await.unwrap();
    assert!(text.starts_with("Enforcing job modify index"), "{text}");
    let body = json!({"Job": cluster_harness::job("fwd", "2"), "EnforceIndex": true, "JobModifyIndex": jmi});
    let resp = c
        .http
        .put(c.agents[follower].url("/v1/jobs"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Headers on every answer.
    let resp = c
        .http
        .get(c.agents[follower].url("/v1/jobs"))
        .send()
        .await
        .unwrap();
    for h in ["X-Nomad-Index", "X-Nomad-KnownLeader", "X-Nomad-LastContact"] {
        assert!(resp.headers().contains_key(h), "missing {h}");
    }
    let index: u64 = resp.headers()["X-Nomad-Index"].to_str().unwrap().parse().unwrap();

    // A blocking query returns when the jobs table passes the index.
    let (http, url) = (
        c.http.clone(),
        c.agents[follower].url(&format!("/v1/jobs?index={index}&wait=10s")),
    );
    let blocked = tokio::spawn(async move {
        let resp = http.get(url).send().await.unwrap();
        resp.headers()["X-Nomad-Index"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !blocked.is_finished(),
        "blocking query returned before any change"
    );
    c.register(leader, "wake", "1").await.unwrap();
    let woke = tokio::time::timeout(Duration::from_secs(5), blocked)
        .await
        .unwrap()
        .unwrap();
    assert!(woke > index);

    // Variables: check-and-set conflict is a 409 carrying the current variable.
    let put = |cas: &str, user: &str| {
        c.http
            .put(c.agents[follower].url(&format!("/v1/var/stack/db?cas={cas}")))
            .json(&json!({"Items": {"user": user}}))
            .send()
    };
    let first: Value = put("0", "a").await.unwrap().json().await.unwrap();
    let resp = put("0", "b").await.unwrap();
    assert_eq!(resp.status(), 409);
    let current: Value = resp.json().await.unwrap();
    assert_eq!(current["Items"]["user"], "a");
    assert_eq!(current["ModifyIndex"], first["ModifyIndex"]);
    let (_, list) = c.get(leader, "/v1/vars?prefix=stack/").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("Items").is_none());

    // Status endpoints.
    let (_, l) = c.get(follower, "/v1/status/leader").await;
    // Server addresses are RPC addresses, as Nomad's.
    assert_eq!(l, Value::String(c.agents[leader].rpc_addr.clone()));
    let (_, peers) = c.get(follower, "/v1/status/peers").await;
    assert_eq!(peers.as_array().unwrap().len(), 3);

    // Bad input is a 400 with a plain-text reason.
    for body in [
        "{not json",
        r#"{"Job": 5}"#,
        r#"{"Job": {"ID": 7}}"#,
        r#"{"EnforceIndex": "yes"}"#,
    ] {
        let resp = c
            .http
            .put(c.agents[follower].url("/v1/jobs"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{body}");
    }
    let huge = vec![b'x'; 17 * 1024 * 1024];
    // The server answers before reading a body over its limit and then closes that connection,
    // so it is sent on a connection of its own: a pooled one could be picked for the next
    // request while it is closing.
    let once = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let resp = once
        .put(c.agents[follower].url("/v1/jobs"))
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // Stop then purge.
    let resp = c
        .http
        .delete(c.agents[follower].url("/v1/job/fwd"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, job) = c.get(follower, "/v1/job/fwd").await;
    assert_eq!(job["Stop"], true);
    let resp = c
        .http
        .delete(c.agents[follower].url("/v1/job/fwd?purge=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (status, _) = c.get(follower, "/v1/job/fwd").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_can_be_removed_and_added() {
    let c = Cluster::start(BIN, 3).await;
    let leader = c.wait_for_leader(Duration::from_secs(20)).await;
    let follower = c.other_than(leader);
    let addr = c.agents[follower].rpc_addr.clone();
    let resp = c
        .http
        .delete(c.agents[leader].url(&format!("/v1/operator/raft/peer?address={addr}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let (_, peers) = c.get(leader, "/v1/status/peers").await;
    assert_eq!(peers.as_array().unwrap().len(), 2);
    let resp = c
        .http
        .put(c.agents[leader].url(&format!("/v1/operator/raft/peer?address={addr}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    // The leader answers once the change is committed on a majority; the re-added server learns
    // it with the next replication round.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, peers) = c.get(follower, "/v1/status/peers").await;
        let n = peers.as_array().map_or(0, Vec::len);
        if n == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "re-added server still sees {n} peers: {peers}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.register(follower, "after-rejoin", "1").await.unwrap();
}

/// Concurrent writes are committed in shared log entries (group commit), yet each is answered
/// on its own: its own evaluation, every job present, through the leader and a follower alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_share_log_entries_and_keep_their_own_answers() {
    let c = Cluster::start(BIN, 3).await;
    let leader = c.wait_for_leader(Duration::from_secs(20)).await;
    let follower = c.other_than(leader);
    let mut pending = tokio::task::JoinSet::new();
    for n in 0..96 {
        let via = if n % 3 == 0 { follower } else { leader };
        let (http, url) = (c.http.clone(), c.agents[via].url("/v1/jobs"));
        pending.spawn(async move {
            let id = format!("group{n:02}");
            let body = json!({"Job": cluster_harness::job(&id, "1")});
            let resp = http.put(url).json(&body).send().await.unwrap();
            assert!(resp.status().is_success(), "{id}: {}", resp.status());
            let v: Value = resp.json().await.unwrap();
            (
                v["JobModifyIndex"].as_u64().unwrap(),
                v["EvalID"].as_str().unwrap().to_owned(),
            )
        });
    }
    let answers: Vec<(u64, String)> = pending.join_all().await;
    let indexes: BTreeSet<u64> = answers.iter().map(|a| a.0).collect();
    let evals: BTreeSet<&str> = answers.iter().map(|a| a.1.as_str()).collect();
    assert_eq!(evals.len(), 96, "each write has its own evaluation");
    assert!(
        indexes.len() < 96,
        "96 concurrent registrations took 96 log entries: no write shared an entry"
    );
    assert_eq!(job_ids(&c, follower, "group").await.len(), 96);
    for (index, eval) in answers.iter().take(3) {
        let (status, v) = c.get(leader, &format!("/v1/evaluation/{eval}")).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["CreateIndex"].as_u64(), Some(*index));
    }
}
