//! The PyPI client python-nomad drives a running agent: register, plan, versions, revert,
//! deregister, allocations, evaluations and variables (`tests/python/nomad_client.py`).
//! Skips with a reason when python-nomad is not installed, unless `CI=true`.

mod cluster_harness;

use std::process::Command;
use std::time::Duration;

use cluster_harness::Cluster;

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

fn python_nomad_available() -> bool {
    Command::new("python3")
        .args(["-c", "import nomad"])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_nomad_drives_the_agent() {
    if !python_nomad_available() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "python-nomad is required in CI (pip install python-nomad)"
        );
        eprintln!("skipping: python3 cannot import nomad (pip install python-nomad)");
        return;
    }
    let c = Cluster::start(BIN, 1).await;
    c.wait_for_leader(Duration::from_secs(20)).await;
    let (host, port) = c.agents[0].addr.split_once(':').expect("host:port");
    let (_, rpc_port) = c.agents[0].rpc_addr.split_once(':').expect("host:port");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/nomad_client.py");
    let args = [host, port, rpc_port, cluster_harness::CLUSTER_KEY].map(str::to_owned);
    let script = script.to_owned();
    let out = tokio::task::spawn_blocking(move || Command::new("python3").arg(script).args(args).output())
        .await
        .expect("join")
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python-nomad script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("every call answered as Nomad does"), "{stdout}");
}
