//! The PyPI client python-nomad drives a running agent: register, plan, versions, revert,
//! deregister, allocations, evaluations and variables (`tests/python/nomad_client.py`).
//! Skips with a reason when python-nomad is not installed, unless `CI=true`.

mod cluster_harness;

use std::time::Duration;

use cluster_harness::Cluster;

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_nomad_drives_the_agent() {
    if !cluster_harness::python::python_nomad_available() {
        return;
    }
    let c = Cluster::start(BIN, 1).await;
    c.wait_for_leader(Duration::from_secs(20)).await;
    let (host, port) = c.agents[0].addr.split_once(':').expect("host:port");
    let (_, rpc_port) = c.agents[0].rpc_addr.split_once(':').expect("host:port");
    let args = [host, port, rpc_port, cluster_harness::CLUSTER_KEY].map(str::to_owned);
    let expect = "every call answered as Nomad does";
    cluster_harness::python::run_script("nomad_client.py", args.to_vec(), vec![], expect).await;
}
