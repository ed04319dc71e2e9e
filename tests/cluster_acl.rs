//! ACLs on a real `deploy agent -dev -acl-enabled`: every route of the one route table refuses
//! requests without a token or with a forged one (except the exempt list); client tokens get
//! exactly what their policies say; expired tokens are refused; `deploy acl` round-trips; and
//! python-nomad drives the ACL API and works with a client token.

#[path = "cluster_harness/python.rs"]
mod python;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use deploy::cluster::acl::{Need, ROUTES};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// A dev agent with ACLs on, bootstrapped through the CLI.
struct AclAgent {
    child: Child,
    base: String,
    http: reqwest::Client,
    management: String,
    _dir: tempfile::TempDir,
}

impl Drop for AclAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn deploy(args: &[&str], token: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("NOMAD_TOKEN").env_remove("NOMAD_ADDR");
    if let Some(t) = token {
        cmd.env("NOMAD_TOKEN", t);
    }
    cmd.output().expect("run deploy")
}

fn json_out(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "deploy failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

async fn start() -> AclAgent {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(BIN)
        .args([
            "agent",
            "-dev",
            "-acl-enabled",
            "-bind",
            "127.0.0.1",
            "-http-port",
            &port.to_string(),
        ])
        .arg("-data-dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn agent");
    let base = format!("http://127.0.0.1:{port}");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    for _ in 0..120 {
        let leader = match http.get(format!("{base}/v1/status/leader")).send().await {
            Ok(r) => r.json::<String>().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if !leader.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let token = json_out(&deploy(&["acl", "bootstrap", "-json", "-address", &base], None));
    let management = token["SecretID"].as_str().expect("SecretID").to_owned();
    AclAgent {
        child,
        base,
        http,
        management,
        _dir: dir,
    }
}

impl AclAgent {
    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, String) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("X-Nomad-Token", t);
        }
        if let Some(b) = body {
            req = req.json(b);
        } else if method != "GET" {
            req = req.json(&json!({}));
        }
        let resp = req.send().await.expect("request");
        (resp.status().as_u16(), resp.text().await.unwrap_or_default())
    }

    async fn policy(&self, name: &str, rules: &str) {
        let body = json!({"Name": name, "Rules": rules});
        let (s, t) = self
            .send(
                "POST",
                &format!("/v1/acl/policy/{name}"),
                Some(&self.management),
                Some(&body),
            )
            .await;
        assert_eq!(s, 200, "policy {name}: {t}");
    }

    async fn token(&self, policies: &[&str], ttl: Option<&str>) -> Value {
        let mut body = json!({"Name": "t", "Type": "client", "Policies": policies});
        if let Some(ttl) = ttl {
            body["ExpirationTTL"] = json!(ttl);
        }
        let (s, t) = self
            .send("POST", "/v1/acl/token", Some(&self.management), Some(&body))
            .await;
        assert_eq!(s, 200, "token: {t}");
        serde_json::from_str(&t).unwrap()
    }
}

/// `{id}`, `{*path}` → a dummy value.
fn fill(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "00000000-0000-0000-0000-00000000dead"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_missing_and_forged_tokens() {
    let a = start().await;
    let mut checked = 0;
    for entry in ROUTES {
        for method in entry.methods.split(' ') {
            let path = fill(entry.path);
            for token in [None, Some("forged-0000")] {
                let (status, body) = a.send(method, &path, token, None).await;
                if entry.need == Need::None {
                    assert_ne!(status, 403, "{method} {path} is exempt: {body}");
                } else {
                    assert_eq!(status, 403, "{method} {path} with {token:?}: {body}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 150, "walked {checked} requests");
    // The management token passes the check on a read of every kind.
    for path in [
        "/v1/jobs",
        "/v1/nodes",
        "/v1/agent/self",
        "/v1/acl/tokens",
        "/v1/operator/raft/configuration",
    ] {
        let (s, t) = a.send("GET", path, Some(&a.management), None).await;
        assert_eq!(s, 200, "{path}: {t}");
    }
}

fn job(id: &str, namespace: &str) -> Value {
    json!({"Job": {
        "ID": id, "Name": id, "Namespace": namespace, "Type": "batch", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}],
    }})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_tokens_get_what_their_policies_grant() {
    let a = start().await;
    a.policy("readonly", r#"namespace "default" { policy = "read" }"#)
        .await;
    a.policy("writer", r#"namespace "default" { policy = "write" }"#)
        .await;
    a.policy(
        "most",
        "namespace \"*\" { policy = \"write\" }\nnamespace \"prod-*\" { policy = \"deny\" }\n",
    )
    .await;
    let (s, t) = a
        .send(
            "POST",
            "/v1/acl/policy/bad",
            Some(&a.management),
            Some(&json!({"Rules": "namespace \"x\" {\n  policy = \"admin\"\n}"})),
        )
        .await;
    assert_eq!(s, 400, "{t}");
    assert!(t.contains("2:3") && t.contains("admin"), "{t}");

    let (s, t) = a
        .send(
            "PUT",
            "/v1/jobs",
            Some(&a.management),
            Some(&job("seed", "default")),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let reader = a.token(&["readonly"], None).await;
    let reader = reader["SecretID"].as_str().unwrap();
    assert_eq!(a.send("GET", "/v1/jobs", Some(reader), None).await.0, 200);
    assert_eq!(a.send("GET", "/v1/job/seed", Some(reader), None).await.0, 200);
    let (s, t) = a
        .send("PUT", "/v1/jobs", Some(reader), Some(&job("r", "default")))
        .await;
    assert_eq!((s, t.as_str()), (403, "Permission denied"));
    assert_eq!(
        a.send("GET", "/v1/nodes", Some(reader), None).await.0,
        403,
        "no node block"
    );
    assert_eq!(a.send("GET", "/v1/acl/tokens", Some(reader), None).await.0, 403);
    let (s, t) = a.send("GET", "/v1/acl/token/self", Some(reader), None).await;
    assert_eq!(s, 200, "{t}");
    let own: Value = serde_json::from_str(&t).unwrap();
    assert_eq!(
        (own["Type"].as_str(), own["SecretID"].as_str()),
        (Some("client"), Some(reader))
    );

    let writer = a.token(&["writer"], None).await;
    let writer = writer["SecretID"].as_str().unwrap();
    let (s, t) = a
        .send("PUT", "/v1/jobs", Some(writer), Some(&job("w", "default")))
        .await;
    assert_eq!(s, 200, "{t}");
    // The job's own namespace is checked too, whatever the query says.
    assert_eq!(
        a.send("PUT", "/v1/jobs", Some(writer), Some(&job("x", "prod-api")))
            .await
            .0,
        403
    );

    let most = a.token(&["most"], None).await;
    let most = most["SecretID"].as_str().unwrap();
    assert_eq!(
        a.send("GET", "/v1/jobs?namespace=dev", Some(most), None).await.0,
        200
    );
    assert_eq!(
        a.send("GET", "/v1/jobs?namespace=prod-api", Some(most), None)
            .await
            .0,
        403,
        "deny wins"
    );

    let brief = a.token(&["readonly"], Some("1s")).await;
    assert!(brief["ExpirationTime"].is_string(), "{brief}");
    let brief = brief["SecretID"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (s, t) = a.send("GET", "/v1/jobs", Some(brief), None).await;
    assert_eq!((s, t.as_str()), (403, "ACL token expired"));
    let (s, t) = a.send("PUT", "/v1/system/gc", Some(&a.management), None).await;
    assert_eq!(s, 200, "{t}");
    let (_, list) = a.send("GET", "/v1/acl/tokens", Some(&a.management), None).await;
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        4,
        "the expired token is collected: {list}"
    );

    // The anonymous policy: none by default, then what it grants.
    assert_eq!(a.send("GET", "/v1/jobs", None, None).await.0, 403);
    a.policy("anonymous", r#"namespace "default" { policy = "read" }"#)
        .await;
    assert_eq!(a.send("GET", "/v1/jobs", None, None).await.0, 200);
    assert_eq!(
        a.send("GET", "/v1/jobs", Some("forged"), None).await.0,
        403,
        "a forged token is not anonymous"
    );
    assert_eq!(a.send("GET", "/v1/acl/token/self", None, None).await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_acl_commands_round_trip() {
    let a = start().await;
    let m = Some(a.management.as_str());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ops.hcl");
    std::fs::write(
        &file,
        "namespace \"default\" {\n  policy = \"read\"\n}\nnode {\n  policy = \"read\"\n}\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let addr = ["-address", a.base.as_str()];
    let run = |args: &[&str], token| deploy(&[args, &addr[..]].concat(), token);
    let out = run(
        &["acl", "policy", "apply", "-description", "operators", "ops", file],
        m,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = json_out(&run(&["acl", "policy", "list", "-json"], m));
    assert_eq!(list[0]["Name"], "ops");
    assert_eq!(list[0]["Description"], "operators");
    let info = json_out(&run(&["acl", "policy", "info", "ops", "-json"], m));
    assert!(info["Rules"].as_str().unwrap().contains("node"));

    let token = json_out(&run(
        &[
            "acl", "token", "create", "-name", "ci", "-policy", "ops", "-ttl", "1h", "-json",
        ],
        m,
    ));
    let (accessor, secret) = (
        token["AccessorID"].as_str().unwrap(),
        token["SecretID"].as_str().unwrap(),
    );
    let own = json_out(&run(&["acl", "token", "self", "-json"], Some(secret)));
    assert_eq!(own["AccessorID"], accessor);
    assert_eq!(own["Policies"], json!(["ops"]));
    let text = run(&["acl", "token", "self"], Some(secret));
    assert!(String::from_utf8_lossy(&text.stdout).contains("Policies     = ops"));
    let tokens = json_out(&run(&["acl", "token", "list", "-json"], m));
    assert!(
        tokens
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["AccessorID"] == accessor)
    );
    assert!(
        tokens
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("SecretID").is_none()),
        "{tokens}"
    );
    assert!(
        !run(&["acl", "token", "list"], Some(secret)).status.success(),
        "a client token may not list"
    );
    assert!(run(&["acl", "token", "delete", accessor], m).status.success());
    assert!(
        !run(&["acl", "token", "self"], Some(secret)).status.success(),
        "deleted"
    );
    assert!(run(&["acl", "policy", "delete", "ops"], m).status.success());
    assert_eq!(json_out(&run(&["acl", "policy", "list", "-json"], m)), json!([]));

    // Bootstrap again only after the operator writes the reset index where the error says.
    let again = run(&["acl", "bootstrap"], None);
    let err = String::from_utf8_lossy(&again.stderr).to_string();
    assert!(!again.status.success() && err.contains("reset index"), "{err}");
    let index: String = err
        .split("reset index: ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let path = err
        .split("write that index into ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim();
    std::fs::write(Path::new(path), &index).unwrap();
    let fresh = json_out(&run(&["acl", "bootstrap", "-json"], None));
    assert_eq!(fresh["Type"], "management");
    assert!(
        !run(&["acl", "bootstrap"], None).status.success(),
        "the reset is used up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_nomad_uses_the_acl_api() {
    if !python::python_nomad_available() {
        return;
    }
    let a = start().await;
    let port = a.base.rsplit(':').next().unwrap().to_owned();
    let args = vec!["127.0.0.1".to_owned(), port, a.management.clone()];
    python::run_script("nomad_acl.py", args, vec![], "ACL calls answered as Nomad does").await;
}
