//! TLS everywhere with real agent processes and certificates made by `deploy tls`: three
//! servers and three clients under `tls { http = true, rpc = true, verify_server_hostname =
//! true, verify_https_client = true }` run the webapp example through `deploy apply` over
//! HTTPS with a client certificate (jobs placed on the clients over mutual-TLS RPC); a server
//! and a client whose certificates come from another CA never join; plain HTTP to a TLS agent
//! fails; python-nomad works with `verify=` and `cert=`.

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use apply_support::*;
use cluster_harness::Cluster;
use cluster_harness::tls::{Certs, Role};
use serde_json::Value;

/// The tests here run one at a time: each starts several agents.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Client agents under TLS (raw_exec on), each knowing every server.
fn tls_clients(dir: &Path, certs: &Certs, servers: &Cluster, n: usize) -> Vec<client_harness::Agent> {
    let config = certs.agent_config(Role::Client);
    let mut args: Vec<String> = vec!["--client".into(), "--raw-exec".into()];
    args.extend(["--config".into(), config.to_string_lossy().into_owned()]);
    for a in &servers.agents {
        args.extend(["--servers".into(), a.rpc_addr.clone()]);
    }
    (1..=n)
        .map(|i| {
            let name = format!("c{i}");
            let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
            a.extend(["--node", &name]);
            client_harness::Agent::start(&bin(), dir.join(&name), &a)
        })
        .collect()
}

/// Ready nodes the servers know, through agent 0's HTTPS API.
async fn ready_nodes(c: &Cluster) -> usize {
    let (_, nodes) = c.get(0, "/v1/nodes").await;
    nodes
        .as_array()
        .map_or(0, |ns| ns.iter().filter(|n| n["Status"] == "ready").count())
}

async fn wait_ready_nodes(c: &Cluster, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while ready_nodes(c).await < n {
        assert!(
            std::time::Instant::now() < deadline,
            "{n} TLS clients not ready in 60s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn python_nomad_over_https(certs: &Certs, addr: &str) {
    if !cluster_harness::python::python_nomad_available() {
        return;
    }
    let (host, port) = addr.split_once(':').expect("host:port");
    let (cert, key) = certs.pair("cli");
    let script = r#"
import sys, nomad
host, port, ca, cert, key = sys.argv[1:6]
n = nomad.Nomad(host=host, port=int(port), secure=True, verify=ca, cert=(cert, key), timeout=10)
jobs = n.jobs.get_jobs()
leader = n.status.leader.get_leader()
assert isinstance(jobs, list), jobs
assert leader, leader
print("python-nomad over HTTPS: %d jobs, leader %s" % (len(jobs), leader))
"#;
    let out = Command::new("python3")
        .args(["-c", script, host, port])
        .arg(certs.ca())
        .args([cert, key])
        .output()
        .expect("python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("python-nomad over HTTPS"),
        "{text}"
    );
}

/// Plain HTTP to an HTTPS API and to a mutual-TLS RPC listener gets no answer; python-nomad
/// with `verify=` and `cert=` does.
fn plain_http_fails_and_python_nomad_works(rt: &tokio::runtime::Runtime, servers: &Cluster, certs: &Certs) {
    let plain_get = |url: String| {
        rt.block_on(async move {
            let req = reqwest::Client::new().get(url).timeout(Duration::from_secs(5));
            let req = req.header("X-Deploy-Cluster-Key", cluster_harness::CLUSTER_KEY);
            req.send().await
        })
    };
    let plain = plain_get(format!("http://{}/v1/jobs", servers.agents[0].addr));
    assert!(
        plain.is_err(),
        "plain HTTP to an HTTPS agent got an answer: {plain:?}"
    );
    let plain_rpc = plain_get(format!(
        "http://{}/v1/internal/cluster/info",
        servers.agents[0].rpc_addr
    ));
    assert!(
        plain_rpc.is_err(),
        "plain HTTP to mutual-TLS RPC got an answer: {plain_rpc:?}"
    );
    python_nomad_over_https(certs, &servers.agents[0].addr);
}

#[test]
fn webapp_applies_over_https_and_mutual_tls_rpc_on_3_servers_and_3_clients() {
    let _serial = one_at_a_time();
    let mut tmp = tempfile::tempdir().unwrap();
    if std::env::var_os("DEPLOY_TEST_KEEP").is_some() {
        tmp.disable_cleanup(true);
        eprintln!("kept in {}", tmp.path().display());
    }
    let _reaper = TaskReaper::new(tmp.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let certs = Certs::create(&bin(), &tmp.path().join("certs"));
    let servers = rt.block_on(Cluster::start_tls(&bin(), 3, &certs));
    let _clients = tls_clients(&tmp.path().join("agents"), &certs, &servers, 3);
    rt.block_on(wait_ready_nodes(&servers, 3));

    let follower = servers.other_than(rt.block_on(servers.wait_for_leader(Duration::from_secs(30))));
    let address = format!("https://{}", servers.agents[follower].addr);
    let stack = copy_webapp(
        &tmp.path().join("src"),
        &WebappOptions {
            store_port: free_port(),
            min_healthy_time: Some("1s"),
            nomad_backend: None,
        },
    );
    let mut deploy = Deploy::at(&address).with_age_key();
    for (k, v) in certs.nomad_env() {
        deploy = deploy.with(k, &v);
    }
    let state = tmp.path().join("state");
    let (s, st) = (stack.to_str().unwrap(), state.to_str().unwrap());
    let out = deploy.run(&[
        "apply",
        s,
        "-state",
        st,
        "-auto-approve",
        "-json",
        "-timeout",
        "90s",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_gate_order(&events(&out));

    // The jobs run on the TLS clients, spread over more than one.
    let (_, allocs) = rt.block_on(servers.get(follower, "/v1/allocations"));
    let allocs = allocs.as_array().cloned().unwrap_or_default();
    let running: Vec<&Value> = allocs.iter().filter(|a| a["ClientStatus"] == "running").collect();
    let nodes: std::collections::BTreeSet<&str> =
        running.iter().filter_map(|a| a["NodeID"].as_str()).collect();
    assert!(running.len() >= 4 && nodes.len() >= 2, "allocations: {allocs:?}");

    // Without the client certificate, nothing is answered.
    let no_cert = deploy
        .clone()
        .with("NOMAD_CLIENT_CERT", "")
        .with("NOMAD_CLIENT_KEY", "");
    let refused = no_cert.run(&["plan", s, "-state", st]);
    assert!(
        !refused.status.success(),
        "plan without a client certificate: {}",
        text(&refused)
    );

    let destroy = deploy.run(&["destroy", s, "-state", st, "-auto-approve", "-timeout", "90s"]);
    assert!(destroy.status.success(), "{}", text(&destroy));
}

#[test]
fn a_server_and_a_client_with_certificates_from_another_ca_cannot_join() {
    let _serial = one_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let certs = Certs::create(&bin(), &tmp.path().join("certs"));
    let foreign = Certs::create(&bin(), &tmp.path().join("foreign"));
    let servers = rt.block_on(Cluster::start_tls(&bin(), 1, &certs));

    // A server with a foreign CA's certificate that asks to join the cluster.
    let config = foreign.agent_config(Role::Server);
    let mut intruder = client_harness::Agent::start(
        &bin(),
        tmp.path().join("intruder"),
        &[
            "--server",
            "--bootstrap-expect",
            "2",
            "--encrypt",
            cluster_harness::CLUSTER_KEY,
            "--join",
            &servers.agents[0].rpc_addr,
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let _foreign_client = tls_clients(&tmp.path().join("foreign-agents"), &foreign, &servers, 1);
    // The positive control: a client with the cluster's CA joins.
    let _client = tls_clients(&tmp.path().join("agents"), &certs, &servers, 1);
    rt.block_on(wait_ready_nodes(&servers, 1));
    std::thread::sleep(Duration::from_secs(5));

    assert_eq!(
        rt.block_on(ready_nodes(&servers)),
        1,
        "only the cluster's own client"
    );
    let (_, peers) = rt.block_on(servers.get(0, "/v1/status/peers"));
    assert_eq!(peers.as_array().map(Vec::len), Some(1), "peers: {peers}");
    intruder.kill();
    plain_http_fails_and_python_nomad_works(&rt, &servers, &certs);
}

/// Item (d) over HTTPS: with `tls { http = true ... }` and ACLs on, python-nomad with `verify=`,
/// `cert=` and a client token bound to a read-only namespace policy lists and reads jobs and
/// gets 403 on register; the management token registers.
#[test]
fn python_nomad_over_https_with_acl_tokens() {
    let _one = one_at_a_time();
    if !cluster_harness::python::python_nomad_available() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::create(&bin(), &dir.path().join("certs"));
    let c = Cluster::spawn_tls_with_args(&bin(), 1, 3, &certs, &["--acl-enabled"]);
    let management = rt.block_on(async {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let r = c.http.post(c.agents[0].url("/v1/acl/bootstrap")).send().await;
            if let Ok(r) = r
                && r.status().is_success()
            {
                let v: Value = r.json().await.expect("bootstrap JSON");
                break v["SecretID"].as_str().expect("SecretID").to_owned();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no ACL bootstrap over HTTPS"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let (host, port) = c.agents[0].addr.split_once(':').expect("host:port");
    let (cert, key) = certs.pair("cli");
    let s = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    let args = vec![
        host.to_owned(),
        port.to_owned(),
        s(certs.ca()),
        s(cert),
        s(key),
        management,
    ];
    rt.block_on(cluster_harness::python::run_script(
        "nomad_tls_acl.py",
        args,
        vec![],
        "read allowed, register refused",
    ));
}
