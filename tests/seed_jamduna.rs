//! The JAM DUNA seed as a runnable stack (`examples/jamduna`), end to end on real agent
//! processes: three servers and seven clients, each client in its own UTS namespace with its
//! own host name (`jam-13` … `jam-19`), six of them tagged `meta.jamduna = "true"`.
//!
//! ```text
//!  5 tagged + 1 untagged:  plan explains the sixth validator per node; apply -atomic fails
//!                          at once with that explanation, and undoes what it started
//!  6 tagged + 1 untagged:  apply: file server healthy → 6 validators, one per tagged host,
//!                          INDEX from the host name → they find each other, agree on a
//!                          first block, exit 0 → the batch job's `complete` gate passes
//! ```
//!
//! Needs `unshare` (with the right to make a UTS namespace), `python3` and `curl`; without
//! them it skips with the reason, and fails when `CI=true`.

mod apply_support;
mod client_harness;
mod cluster_harness;
mod seed_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apply_support::{Deploy, TaskReaper, bin, free_port, get_json, repo_root, text, wait_until};
use cluster_harness::Cluster;
use seed_support::{assert_valid, offline_plan, snapshot_settings, tools_present};
use serde_json::Value;

/// Host names end in 13…19; the seed subtracts 2 from the suffix, this test 13, so the six
/// tagged hosts are validators 0…5.
const HOST_INDEX_OFFSET: u32 = 13;

/// A client agent in its own UTS namespace, so `hostname -s` in its tasks is its node name.
struct HostClient {
    child: Child,
}

impl HostClient {
    fn start(dir: &Path, name: &str, servers: &[String], tagged: bool) -> Self {
        let data = dir.join(name);
        std::fs::create_dir_all(&data).expect("client data dir");
        let log = std::fs::File::create(data.join("agent.log")).expect("client log");
        let port = free_port().to_string();
        let mut cmd = Command::new("unshare");
        cmd.args(["--uts", "sh", "-c"])
            .arg(format!("hostname {name} && exec \"$0\" \"$@\""))
            .arg(bin())
            .args(["agent", "--client", "--raw-exec", "--bind", "127.0.0.1"])
            .args(["--http-port", &port, "--node", name, "--data-dir"])
            .arg(&data);
        for s in servers {
            cmd.args(["--servers", s]);
        }
        if tagged {
            cmd.args(["--meta", "jamduna=true"]);
        }
        let child = cmd
            .env("DEPLOY_LOG", "info,openraft=error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting a client in a UTS namespace");
        HostClient { child }
    }
}

impl Drop for HostClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stack_dir() -> PathBuf {
    repo_root().join("examples/jamduna")
}

/// Six consecutive free ports (validator N listens on base + N).
fn free_port_block() -> u16 {
    loop {
        let base = free_port();
        if base < 60000 && (1..6).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
}

fn wait_ready_nodes(address: &str, n: usize) {
    wait_until(
        Duration::from_secs(90),
        "client nodes registering as ready",
        || {
            let nodes = get_json(address, "/v1/nodes")?;
            let ready = nodes
                .as_array()?
                .iter()
                .filter(|n| n["Status"] == "ready")
                .count();
            (ready >= n).then_some(())
        },
    );
}

/// The stack's variables for this test: the local file server, small memory, data disks under
/// the test's directory, ports of its own.
fn variables(dir: &Path) -> Vec<String> {
    let chain_port = free_port();
    vec![
        format!("jam_url=http://127.0.0.1:{chain_port}"),
        format!("chain_port={chain_port}"),
        format!("validator_base_port={}", free_port_block()),
        "memory=64".into(),
        format!("host_index_offset={HOST_INDEX_OFFSET}"),
        format!("disk_root={}", dir.join("disks").display()),
    ]
}

fn args<'a>(cmd: &[&'a str], state: &'a str, vars: &'a [String]) -> Vec<&'a str> {
    let mut a: Vec<&str> = cmd.to_vec();
    a.extend(["-state", state]);
    for v in vars {
        a.extend(["-var", v.as_str()]);
    }
    a
}

/// The allocations of the job's current version: node name → allocation.
fn current_allocations(address: &str, job: &str) -> BTreeMap<String, Value> {
    let version = get_json(address, &format!("/v1/job/{job}")).expect("job")["Version"].clone();
    let allocs = get_json(address, &format!("/v1/job/{job}/allocations")).expect("allocations");
    let mut by_node = BTreeMap::new();
    for a in allocs.as_array().unwrap() {
        if a["JobVersion"] == version {
            let node = a["NodeName"].as_str().unwrap_or_default().to_owned();
            assert!(
                by_node.insert(node.clone(), a.clone()).is_none(),
                "two validators on {node}"
            );
        }
    }
    by_node
}

/// Node name → node ID.
fn node_ids(address: &str) -> BTreeMap<String, String> {
    let nodes = get_json(address, "/v1/nodes").expect("nodes");
    nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["Name"].as_str().unwrap().to_owned(),
                n["ID"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn stdout_of(address: &str, alloc: &Value) -> String {
    let id = alloc["ID"].as_str().unwrap();
    let url = format!("{address}/v1/client/fs/logs/{id}?task=jamduna-task&type=stdout&plain=true");
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "20", &url])
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn example_validates_and_plans_offline() {
    assert_valid(&bin(), &stack_dir());
    let plan = offline_plan(&bin(), &stack_dir(), &[]);
    snapshot_settings().bind(|| insta::assert_snapshot!("plan_example_jamduna", plan));
}

#[test]
fn jamduna_validators_bring_the_chain_up_one_per_tagged_host() {
    if !tools_present(
        "jamduna_validators_bring_the_chain_up_one_per_tagged_host",
        &[
            (
                "unshare cannot make a UTS namespace",
                &["unshare", "--uts", "true"],
            ),
            ("python3 is missing", &["python3", "--version"]),
            ("curl is missing", &["curl", "--version"]),
        ],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let _reaper = TaskReaper::new(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let servers = rt.block_on(Cluster::start(&bin(), 3));
    let server_addrs: Vec<String> = servers.agents.iter().map(|a| a.rpc_addr.clone()).collect();
    let address = format!("http://{}", servers.agents[0].addr);
    let mut clients: Vec<HostClient> = (13..=17)
        .map(|n| HostClient::start(dir.path(), &format!("jam-{n}"), &server_addrs, true))
        .collect();
    clients.push(HostClient::start(dir.path(), "jam-19", &server_addrs, false));
    wait_ready_nodes(&address, 6);

    let node_ids = node_ids(&address);
    let deploy = Deploy::at(&address);
    let stack = stack_dir();
    let stack = stack.to_str().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let vars = variables(dir.path());

    // Five tagged hosts for six validators: the plan says why the sixth has no place.
    let plan = deploy.run(&args(&["plan", stack], state, &vars));
    let plan = text(&plan);
    eprintln!("{plan}");
    assert!(plan.contains("5 of 6 allocations placed"), "{plan}");
    assert!(
        plan.contains("Constraint \"distinct_hosts\": 5 nodes excluded by filter"),
        "{plan}"
    );
    assert!(
        plan.contains("Constraint \"${meta.jamduna} = true\": 1 nodes excluded by filter"),
        "{plan}"
    );
    let reason = |host: &str| {
        let id = &node_ids[host];
        plan.lines()
            .find(|l| l.contains(&format!("node {id}:")))
            .unwrap_or_else(|| panic!("no reason for {host} ({id}):\n{plan}"))
            .to_owned()
    };
    for n in 13..=17 {
        let line = reason(&format!("jam-{n}"));
        assert!(
            line.ends_with("node already runs an allocation of this group"),
            "{line}"
        );
    }
    let untagged = reason("jam-19");
    assert!(
        untagged.contains("`${meta.jamduna} = true` not satisfied"),
        "{untagged}"
    );

    // ... and apply fails as soon as the scheduler says so, not at the gate's timeout.
    let started = Instant::now();
    let out = deploy.run(&args(&["apply", stack, "-auto-approve", "-atomic"], state, &vars));
    let took = started.elapsed();
    let failed = text(&out);
    eprintln!("{failed}\n(apply took {took:?})");
    assert!(
        !out.status.success(),
        "apply passed with five tagged hosts:\n{failed}"
    );
    assert!(took < Duration::from_secs(120), "apply took {took:?}:\n{failed}");
    assert!(failed.contains("distinct_hosts"), "{failed}");
    assert!(failed.contains("${meta.jamduna}"), "{failed}");

    // The sixth tagged host: the chain comes up.
    clients.push(HostClient::start(dir.path(), "jam-18", &server_addrs, true));
    wait_ready_nodes(&address, 7);
    let started = Instant::now();
    let out = deploy.run(&args(&["apply", stack, "-auto-approve"], state, &vars));
    let applied = text(&out);
    eprintln!("{applied}\n(apply took {:?})", started.elapsed());
    assert!(out.status.success(), "apply failed:\n{applied}");

    let jam_url = vars[0].trim_start_matches("jam_url=");
    let allocs = current_allocations(&address, "jamduna");
    let hosts: Vec<&str> = allocs.keys().map(String::as_str).collect();
    assert_eq!(
        hosts,
        ["jam-13", "jam-14", "jam-15", "jam-16", "jam-17", "jam-18"]
    );
    for (host, alloc) in &allocs {
        assert_eq!(alloc["ClientStatus"], "complete", "{host}: {alloc:#}");
        let suffix: u32 = host.trim_start_matches("jam-").parse().unwrap();
        let index = suffix - HOST_INDEX_OFFSET;
        let stdout = stdout_of(&address, alloc);
        assert!(
            stdout.contains(&format!("Detected HOST: {host}")),
            "{host}:\n{stdout}"
        );
        assert!(
            stdout.contains(&format!("Computed INDEX from hostname: {index}\n")),
            "{host}:\n{stdout}"
        );
        // The group's meta reaches the task as NOMAD_META_*: the group index, and the seed
        // URL built from jam_url and chain_name.
        assert!(stdout.contains("Computed GROUP INDEX: 1\n"), "{host}:\n{stdout}");
        assert!(
            stdout.contains(&format!("Seed URL: {jam_url}/jamduna/keys/seed_{index}\n")),
            "{host}:\n{stdout}"
        );
        assert!(
            stdout.contains(&format!("validator {index}: all 6 validators agree")),
            "{host}:\n{stdout}"
        );
    }
    let job = get_json(&address, "/v1/job/jamduna").expect("job");
    assert_eq!(job["Status"], "dead", "{job:#}");
    drop(clients);
}
