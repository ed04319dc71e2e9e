//! Secrets at rest, with real agent processes: on a 3-server cluster, no Variable value and no
//! ACL token secret appears in any file of any server's data directory (Raft log, state,
//! snapshots), even after snapshots; values read back on every server; after a key rotation
//! old variables still read and new writes use the new key; a restarted server reads its
//! variables.

mod cluster_harness;

use std::path::Path;
use std::time::{Duration, Instant};

use cluster_harness::Cluster;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// Every file beneath `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Asserts that no file of any server holds any of `secrets`; the number of files read.
fn assert_nowhere_on_disk(c: &Cluster, secrets: &[&str]) -> usize {
    let mut read = 0;
    for agent in &c.agents {
        for (path, bytes) in files(agent.data_dir()) {
            read += 1;
            for secret in secrets {
                assert!(!contains(&bytes, secret), "{secret:?} found in clear in {path}");
            }
        }
    }
    read
}

/// Whether some file of agent `i` holds a sealed copy of `path` under the key `key_id`.
fn sealed_under(c: &Cluster, i: usize, path: &str, key_id: &str) -> bool {
    let pattern = regex::Regex::new(&format!(
        r#""Path":"{}"[^{{}}]*"Items":\{{"KeyID":"{}""#,
        regex::escape(path),
        regex::escape(key_id)
    ))
    .unwrap();
    files(c.agents[i].data_dir())
        .iter()
        .any(|(_, bytes)| pattern.is_match(&String::from_utf8_lossy(bytes)))
}

struct Api<'a> {
    c: &'a Cluster,
    token: String,
}

impl Api<'_> {
    async fn put_var(&self, i: usize, path: &str, items: Value) -> Value {
        let resp = self
            .c
            .http
            .put(self.c.agents[i].url(&format!("/v1/var/{path}")))
            .header("X-Nomad-Token", &self.token)
            .json(&json!({ "Items": items }))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    async fn var_items(&self, i: usize, path: &str) -> Value {
        let (status, v) = self.c.get(i, &format!("/v1/var/{path}")).await;
        assert_eq!(status, 200, "agent {i}: {v}");
        v["Items"].clone()
    }

    async fn rotate(&self, i: usize, full: bool) -> Value {
        let resp = self
            .c
            .http
            .put(self.c.agents[i].url(&format!("/v1/operator/keyring/rotate?full={full}")))
            .header("X-Nomad-Token", &self.token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// Bootstraps the ACL token through agent 0, retrying until a leader answers.
async fn bootstrap(c: &Cluster) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let resp = c
            .http
            .post(c.agents[0].url("/v1/acl/bootstrap"))
            .json(&json!({}))
            .send()
            .await;
        if let Ok(r) = resp
            && r.status() == 200
        {
            let body: Value = r.json().await.unwrap();
            return body["SecretID"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "no ACL bootstrap within 60s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until every running agent has taken a snapshot.
async fn wait_for_snapshots(c: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..c.agents.len() {
        loop {
            let snap = c.agent_self(i).await.and_then(|s| {
                s["stats"]["raft"]["snapshot_index"]
                    .as_str()
                    .and_then(|v| v.parse::<u64>().ok())
            });
            if snap.unwrap_or(0) > 0 {
                break;
            }
            assert!(Instant::now() < deadline, "agent {i}: no snapshot within 60s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn variables_and_token_secrets_are_never_in_clear_on_disk() {
    let mut c = Cluster::spawn(BIN, 3, 3, &["--acl-enabled"]);
    let token = bootstrap(&c).await;
    c.token = Some(token.clone());
    c.wait_for_leader(Duration::from_secs(30)).await;
    let api = Api {
        c: &c,
        token: token.clone(),
    };

    let value = format!("SeCrEt-{}", uuid::Uuid::new_v4().simple());
    api.put_var(1, "app/db", json!({ "password": value })).await;
    // Enough writes for every server to pass the harness's snapshot threshold (150).
    let mut filler = Vec::new();
    for n in 0..170 {
        let v = format!("filler-{n}-{}", uuid::Uuid::new_v4().simple());
        api.put_var(n % 3, &format!("fill/{n}"), json!({ "v": v })).await;
        filler.push(v);
    }
    wait_for_snapshots(&c).await;
    for i in 0..3 {
        assert_eq!(api.var_items(i, "app/db").await["password"], value.as_str());
    }
    let mut secrets: Vec<&str> = filler.iter().map(String::as_str).collect();
    secrets.push(&value);
    secrets.push(&token);
    let read = assert_nowhere_on_disk(&c, &secrets);
    assert!(read >= 9, "only {read} files read");

    // Rotation: a new active key; the old variable still reads; a new write uses the new key.
    let leader = c.wait_for_leader(Duration::from_secs(20)).await;
    let rotated = api.rotate(leader, false).await;
    let new_key = rotated["Key"]["KeyID"].as_str().unwrap().to_owned();
    assert_eq!(rotated["Key"]["State"], "active");
    let (status, keys) = c.get(0, "/v1/operator/keyring/keys").await;
    assert_eq!(status, 200, "{keys}");
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys.iter().filter(|k| k["State"] == "active").count(), 1);
    for i in 0..3 {
        assert_eq!(api.var_items(i, "app/db").await["password"], value.as_str());
    }
    let after = format!("AfTeR-{}", uuid::Uuid::new_v4().simple());
    api.put_var(2, "app/after", json!({ "k": after })).await;
    assert!(sealed_under(&c, leader, "app/after", &new_key));
    assert!(!sealed_under(&c, leader, "app/db", &new_key));

    // A full rotation re-seals every variable under the newest key.
    let full = api.rotate(leader, true).await;
    let newest = full["Key"]["KeyID"].as_str().unwrap().to_owned();
    assert_eq!(full["Rekeyed"], 172, "{full}");
    assert!(sealed_under(&c, leader, "app/db", &newest));
    assert_eq!(api.var_items(1, "app/after").await["k"], after.as_str());

    // The same through the command line, which reads NOMAD_TOKEN as Nomad's does.
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(["operator", "root", "keyring"])
            .args(args)
            .args(["-address", &c.agents[leader].url("")])
            .env("NOMAD_TOKEN", &token)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    assert!(cli(&["rotate", "-full"]).contains("Re-encrypted 172 variable(s)"));
    let listed = cli(&["list"]);
    assert_eq!(listed.lines().count(), 5, "{listed}");
    assert_eq!(listed.matches(" active ").count(), 1, "{listed}");

    // A restarted server unwraps the keys again and reads its variables.
    let follower = c.other_than(leader);
    c.agents[follower].kill();
    c.agents[follower].spawn();
    c.wait_for_http(follower, Duration::from_secs(30)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, v) = c.get(follower, "/v1/var/app/db").await;
        if status == 200 {
            assert_eq!(v["Items"]["password"], value.as_str());
            break;
        }
        assert!(Instant::now() < deadline, "restarted server: {status} {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    secrets.push(&after);
    assert_nowhere_on_disk(&c, &secrets);
}
