//! Nomad's client filesystem, host stats and allocation actions against real agents: a
//! server-only agent and a client-only agent running raw_exec tasks that write files. Every
//! route is asked of the client itself and of the server, which forwards it to the client;
//! python-nomad then drives the same routes through the server.

mod client_harness;
#[path = "cluster_harness/python.rs"]
mod python;

use std::time::Duration;

use base64::Engine;
use client_harness::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// A service task that writes files, records the signals it gets and appends a line a tick.
fn files_job() -> Value {
    let script = r#"printf hello > "$NOMAD_TASK_DIR/out.txt"
printf 0123456789 > "$NOMAD_ALLOC_DIR/data/digits"
ln -sf /etc/hostname "$NOMAD_TASK_DIR/escape"
ln -sf out.txt "$NOMAD_TASK_DIR/same"
trap 'echo got-usr1 >> "$NOMAD_ALLOC_DIR/data/signals"' USR1
while true; do echo tick >> "$NOMAD_ALLOC_DIR/data/ticks"; sleep 0.2; done"#;
    json!({
        "ID": "files", "Name": "files", "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "g", "Count": 1,
            "RestartPolicy": {"Attempts": 3, "Interval": secs(60.0), "Delay": secs(0.2), "Mode": "fail"},
            "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
            "Tasks": [{"Name": "app", "Driver": "raw_exec", "KillTimeout": secs(1.0),
                       "Config": {"command": "/bin/sh", "args": ["-c", script]}}],
        }],
    })
}

/// A batch task that writes one file and ends.
fn done_job() -> Value {
    json!({
        "ID": "done", "Type": "batch", "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "g", "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
            "ReschedulePolicy": {"Attempts": 0, "Unlimited": false},
            "Tasks": [{"Name": "t", "Driver": "raw_exec",
                       "Config": {"command": "/bin/sh", "args": ["-c", "printf finished-output > \"$NOMAD_ALLOC_DIR/data/result\""]}}],
        }],
    })
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, String) {
    let r = http.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The whole frames of a stream body (a frame cut at the end of what arrived so far is left
/// out), and the bytes their `Data` carried.
fn frames(body: &str) -> (Vec<Value>, Vec<u8>) {
    let frames: Vec<Value> = serde_json::Deserializer::from_str(body)
        .into_iter::<Value>()
        .map_while(Result::ok)
        .collect();
    let data = frames
        .iter()
        .filter_map(|f| f["Data"].as_str())
        .flat_map(|d| base64::engine::general_purpose::STANDARD.decode(d).unwrap())
        .collect();
    (frames, data)
}

/// ls, stat, cat, readat, stream and the refusals, asked of `agent`.
async fn check_files(http: &reqwest::Client, agent: &Agent, id: &str) {
    let at = |route: &str, query: &str| agent.url(&format!("/v1/client/fs/{route}/{id}?{query}"));
    let root: Value = serde_json::from_str(&get(http, &at("ls", "path=/")).await.1).unwrap();
    let names: Vec<&str> = root
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["Name"].as_str())
        .collect();
    assert!(names.contains(&"alloc") && names.contains(&"app"), "{root:#}");
    let local: Value = serde_json::from_str(&get(http, &at("ls", "path=/app/local")).await.1).unwrap();
    let out = local
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["Name"] == "out.txt")
        .unwrap();
    assert_eq!(
        (out["Size"].as_u64(), out["IsDir"].as_bool()),
        (Some(5), Some(false)),
        "{out}"
    );

    let (code, body) = get(http, &at("stat", "path=/alloc/data/digits")).await;
    assert_eq!(code, 200, "{body}");
    let st: Value = serde_json::from_str(&body).unwrap();
    if let Some(examples) = client_examples() {
        compare_with_example(&examples, "FileMode", &root, &[]);
        compare_with_example(&examples, "FileMode", &st, &[]);
    }
    assert_eq!(st["Name"], "digits");
    assert_eq!(st["Size"], 10);
    assert_eq!(st["IsDir"], false);
    assert_eq!(st["ContentType"], "text/plain; charset=utf-8");
    assert!(st["FileMode"].as_str().unwrap().starts_with("-rw"), "{st}");
    assert!(
        st["ModTime"]
            .as_str()
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
    );

    assert_eq!(
        get(http, &at("cat", "path=/alloc/data/digits")).await,
        (200, "0123456789".into())
    );
    assert_eq!(
        get(http, &at("cat", "path=alloc")).await.0,
        400,
        "cat refuses a directory"
    );
    assert_eq!(get(http, &at("cat", "path=/alloc/data/missing")).await.0, 404);
    let read = at("readat", "path=/alloc/data/digits&offset=3&limit=4");
    assert_eq!(get(http, &read).await, (200, "3456".into()));
    let past = at("readat", "path=/alloc/data/digits&offset=11&limit=4");
    assert_eq!(get(http, &past).await.0, 400, "an offset past the end");

    // Escapes: a symlink the task planted towards /etc, and `..`.
    let (code, body) = get(http, &at("cat", "path=/app/local/escape")).await;
    assert_eq!(code, 403, "a symlink is not followed: {body}");
    assert_eq!(get(http, &at("cat", "path=../../../etc/passwd")).await.0, 400);
    assert_eq!(get(http, &at("stat", "path=/app/local/escape")).await.0, 403);
    // A symlink that stays inside is followed, as Nomad's.
    assert_eq!(
        get(http, &at("cat", "path=/app/local/same")).await,
        (200, "hello".into())
    );

    let (code, body) = get(http, &at("stream", "path=/alloc/data/digits&follow=false")).await;
    assert_eq!(code, 200, "{body}");
    let (fr, data) = frames(&body);
    assert_eq!(data, b"0123456789");
    assert_eq!(fr.last().unwrap()["Offset"], 10);
    assert_eq!(fr[0]["File"], "alloc/data/digits");
    let end = at(
        "stream",
        "path=/alloc/data/digits&follow=false&origin=end&offset=4",
    );
    assert_eq!(frames(&get(http, &end).await.1).1, b"6789");
    let plain = at(
        "stream",
        "path=/alloc/data/digits&follow=false&plain=true&offset=8",
    );
    assert_eq!(get(http, &plain).await, (200, "89".into()));
    assert_eq!(
        get(http, &at("stream", "path=/alloc/data/digits&offset=99"))
            .await
            .0,
        400
    );
    assert_eq!(
        get(http, &at("stream", "path=/alloc/data/digits&origin=middle"))
            .await
            .0,
        400
    );
}

/// A followed stream of a growing file yields more than one data frame, offsets increasing.
async fn check_follow(http: &reqwest::Client, agent: &Agent, id: &str) {
    let url = agent.url(&format!(
        "/v1/client/fs/stream/{id}?path=/alloc/data/ticks&origin=end&offset=0"
    ));
    let mut r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut body = String::new();
    let mut offsets = Vec::new();
    while offsets.len() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(10), r.chunk())
            .await
            .expect("a followed file keeps sending")
            .unwrap()
            .expect("the stream stays open");
        body.push_str(&String::from_utf8_lossy(&chunk));
        offsets = frames(&body)
            .0
            .iter()
            .filter(|f| f.get("Data").is_some())
            .filter_map(|f| f["Offset"].as_u64())
            .collect();
    }
    assert!(offsets[1] > offsets[0], "{offsets:?}");
    assert!(frames(&body).1.starts_with(b"tick\n"), "{body}");
    // A file that does not grow: its data, then heartbeats `{}` keep the stream alive.
    let url = agent.url(&format!("/v1/client/fs/stream/{id}?path=/alloc/data/digits"));
    let mut r = http.get(url).send().await.unwrap();
    let mut body = String::new();
    while !frames(&body).0.iter().any(|f| f == &json!({})) {
        let chunk = tokio::time::timeout(Duration::from_secs(10), r.chunk())
            .await
            .expect("an idle followed stream sends heartbeats")
            .unwrap()
            .expect("the stream stays open");
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(frames(&body).1, b"0123456789");
}

async fn post(http: &reqwest::Client, url: &str, body: Option<Value>) -> (u16, String) {
    let mut req = http.post(url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn events(a: &Value) -> Vec<String> {
    a["TaskStates"]["app"]["Events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["Type"].as_str().map(str::to_owned))
        .collect()
}

/// Signal and restart, the first asked of the server, the second of the client.
async fn check_actions(http: &reqwest::Client, server: &Agent, client: &Agent, id: &str) {
    let url = |a: &Agent, action: &str| a.url(&format!("/v1/client/allocation/{id}/{action}"));
    let sig = json!({"Signal": "SIGUSR1", "Task": "app"});
    assert_eq!(
        post(http, &url(server, "signal"), Some(sig)).await,
        (200, "{}".into())
    );
    let signals = client.url(&format!("/v1/client/fs/cat/{id}?path=/alloc/data/signals"));
    let got = wait_for(Duration::from_secs(10), || async {
        let (code, body) = get(http, &signals).await;
        (code == 200 && body.contains("got-usr1")).then_some(())
    })
    .await;
    assert!(got.is_some(), "the task got SIGUSR1");
    let bad = json!({"Signal": "SIGBOGUS", "Task": "app"});
    assert_eq!(post(http, &url(client, "signal"), Some(bad)).await.0, 400);
    let nobody = json!({"Signal": "SIGUSR1", "Task": "nobody"});
    assert_eq!(post(http, &url(server, "signal"), Some(nobody)).await.0, 404);

    let restart = json!({"TaskName": "app"});
    assert_eq!(
        post(http, &url(client, "restart"), Some(restart)).await,
        (200, "{}".into())
    );
    let restarted = |n: u64| {
        move |a: &Value| {
            let t = &a["TaskStates"]["app"];
            t["Restarts"] == n
                && t["State"] == "running"
                && events(a).last().map(String::as_str) == Some("Started")
        }
    };
    let a = wait_alloc(http, server, id, Duration::from_secs(20), restarted(1)).await;
    let ev = events(&a);
    assert!(
        ev.contains(&"Restart Signaled".to_owned()) && ev.contains(&"Restarting".to_owned()),
        "{ev:?}"
    );
    // No body: every running task, as python-nomad asks it.
    assert_eq!(
        post(http, &url(server, "restart"), None).await,
        (200, "{}".into())
    );
    wait_alloc(http, server, id, Duration::from_secs(20), restarted(2)).await;
    let both = json!({"TaskName": "app", "AllTasks": true});
    assert_eq!(post(http, &url(server, "restart"), Some(both)).await.0, 400);
}

/// The JSON examples of Nomad's client API page, or `None` (printed) where the reference is
/// absent; absent under `CI=true` fails.
fn client_examples() -> Option<Vec<Value>> {
    let page = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/reference/nomad-api/client.mdx"
    );
    let Ok(text) = std::fs::read_to_string(page) else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{page} is missing and CI=true"
        );
        eprintln!("skipping the comparison with Nomad's examples: {page} is absent");
        return None;
    };
    let mut out = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        match (&mut block, line.trim()) {
            (None, "```json") => block = Some(String::new()),
            (Some(_), "```") => out.extend(block.take().and_then(|b| serde_json::from_str(&b).ok())),
            (Some(b), _) => b.push_str(line),
            (None, _) => {}
        }
    }
    Some(out)
}

/// Every field path of `v` (`CPU[].User`), leaving out those under `skip`.
fn field_paths(v: &Value, prefix: &str, skip: &[&str], out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let path = format!("{prefix}{k}");
                if !skip.contains(&path.as_str()) {
                    out.insert(path.clone());
                    field_paths(v, &format!("{path}."), skip, out);
                }
            }
        }
        Value::Array(a) => a
            .iter()
            .for_each(|e| field_paths(e, &format!("{prefix}[]."), skip, out)),
        _ => {}
    }
}

/// Every field the reference example with field `marker` has, `ours` has too.
fn compare_with_example(examples: &[Value], marker: &str, ours: &Value, skip: &[&str]) {
    let has = |e: &Value| e.get(marker).is_some() || e.get(0).is_some_and(|f| f.get(marker).is_some());
    let example = examples
        .iter()
        .find(|e| has(e) && e.is_array() == ours.is_array())
        .unwrap_or_else(|| panic!("no example with {marker}"));
    let (mut want, mut got) = Default::default();
    field_paths(example, "", skip, &mut want);
    field_paths(ours, "", skip, &mut got);
    let missing: Vec<&String> = want.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "fields of Nomad's example missing: {missing:?}\n{ours:#}"
    );
}

async fn check_host_stats(http: &reqwest::Client, server: &Agent, client: &Agent, node: &str) {
    for url in [
        client.url("/v1/client/stats"),
        server.url(&format!("/v1/client/stats?node_id={node}")),
    ] {
        let s = get_json(http, &url).await.unwrap_or_else(|| panic!("{url}"));
        assert!(s["Memory"]["Total"].as_u64().unwrap_or(0) > 0, "{s:#}");
        assert!(s["Memory"]["Available"].as_u64().unwrap_or(0) > 0, "{s:#}");
        assert!(
            s["CPU"][0]["CPU"].as_str().is_some_and(|c| c.starts_with("cpu")),
            "{s:#}"
        );
        assert!(s["AllocDirStats"]["Size"].as_u64().unwrap_or(0) > 0, "{s:#}");
        assert!(s["Uptime"].as_u64().unwrap_or(0) > 0 && s["Timestamp"].as_i64().unwrap_or(0) > 0);
        assert!(
            s["DiskStats"].is_array() && s["CPUTicksConsumed"].is_number(),
            "{s:#}"
        );
    }
    assert_eq!(
        get(http, &server.url("/v1/client/stats")).await.0,
        400,
        "a server needs node_id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_files_stats_and_actions_through_the_client_and_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    let server = Agent::start(
        BIN,
        dir.path().join("s"),
        &["--server", "--bootstrap-expect", "1", "--heartbeat-ttl", "3s"],
    );
    let client = Agent::start(
        BIN,
        dir.path().join("c"),
        &[
            "--client",
            "--raw-exec",
            "--node",
            "fs1",
            "--servers",
            &server.rpc_addr,
        ],
    );
    let node = wait_nodes(&http, &server, 1).await[0].1.clone();
    register_job(&http, &server, &files_job()).await;
    register_job(&http, &server, &done_job()).await;
    let a = wait_job_alloc(&http, &server, "files", Duration::from_secs(60), |a| {
        a["TaskStates"]["app"]["State"] == "running"
    })
    .await;
    let id = a["ID"].as_str().unwrap().to_owned();
    let digits = client.url(&format!("/v1/client/fs/stat/{id}?path=/alloc/data/digits"));
    let ready = wait_for(Duration::from_secs(10), || async {
        let link = client.url(&format!("/v1/client/fs/ls/{id}?path=/app/local"));
        let l = get_json(&http, &link).await?;
        let has_link = l.as_array()?.iter().any(|f| f["Name"] == "same");
        (get_json(&http, &digits).await.is_some() && has_link).then_some(())
    })
    .await;
    assert!(
        ready.is_some(),
        "the task wrote its files; log:\n{}",
        client.log()
    );

    for agent in [&client, &server] {
        check_files(&http, agent, &id).await;
        check_follow(&http, agent, &id).await;
    }
    let unknown = server.url("/v1/client/fs/ls/00000000-0000-0000-0000-000000000000?path=/");
    assert_eq!(get(&http, &unknown).await.0, 404);
    check_host_stats(&http, &server, &client, &node).await;
    check_actions(&http, &server, &client, &id).await;

    let done = wait_job_alloc(&http, &server, "done", Duration::from_secs(60), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    let done_id = done["ID"].as_str().unwrap().to_owned();
    // A finished allocation's file is read to its end, then the followed stream ends.
    let follow = server.url(&format!("/v1/client/fs/stream/{done_id}?path=/alloc/data/result"));
    let (code, body) = get(&http, &follow).await;
    assert_eq!((code, frames(&body).1), (200, b"finished-output".to_vec()));

    if python::python_nomad_available() {
        let args = vec![
            "127.0.0.1".into(),
            server.addr.rsplit(':').next().unwrap().to_owned(),
            id.clone(),
            done_id.clone(),
            node.clone(),
        ];
        python::run_script(
            "nomad_client_fs.py",
            args,
            Vec::new(),
            "python-nomad: client routes answered",
        )
        .await;
    }
    check_gc(&http, &server, &id, &done_id, &node).await;
    stop_job(&http, &server, "files").await;
    wait_alloc(&http, &server, &id, Duration::from_secs(20), |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
}

/// Garbage collection asked of the server, which forwards it to the client: `GET` as Nomad's
/// docs and python-nomad, `PUT` as the Nomad CLI.
async fn check_gc(http: &reqwest::Client, server: &Agent, running: &str, done: &str, node: &str) {
    let gc = |id: &str| server.url(&format!("/v1/client/allocation/{id}/gc"));
    assert_eq!(
        get(http, &gc(running)).await.0,
        404,
        "a running allocation is not collected"
    );
    assert_eq!(get(http, &gc(done)).await.0, 200);
    let listed = server.url(&format!("/v1/client/fs/ls/{done}?path=/"));
    assert_eq!(get(http, &listed).await.0, 404, "its directory is gone");
    assert_eq!(get(http, &gc(done)).await.0, 404, "collected once");
    let all = server.url("/v1/client/gc");
    assert_eq!(
        http.put(&all).send().await.unwrap().status(),
        400,
        "a server needs node_id"
    );
    let all = server.url(&format!("/v1/client/gc?node_id={node}"));
    assert_eq!(http.put(&all).send().await.unwrap().status(), 200);
}
