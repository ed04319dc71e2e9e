//! The gvfx runbook's validation checklist (seed `gvfx/README.md`) as a test: `deploy apply` of
//! `examples/gvfx` with the images `examples/gvfx/images/build.sh` builds, on three servers and
//! four docker clients tagged as the runbook's machines (OptiPlex, EPYC, Mac mini, witness).
//!
//! ```text
//!  apply        phases in order (allocation times), api/rl/worker/convex healthy, one worker,
//!               egress check exit 0, a forced backfill's rows in PostgreSQL, the API's
//!               health endpoints, nothing on the witness; apply time vs the gates' minimum
//!  restart      the data plane's allocations replaced: the rows are still there
//!  secret       plan shows (sensitive), apply rewrites the variable, its readers restart;
//!               the same apply renames the tailscale host (egress check, worker, backfill)
//!  -atomic      a broken backend image: the API's gate fails, the API is reverted, every
//!               job's spec and the state's latest revision are the previous ones
//!  rollback     back to the first revision: backfill, worker, then egress check reverted
//!               (the event stream), the first secret, the API restarted on it
//!  EPYC down    the RL service and the worker move to the Mac mini
//!  destroy      gvfx-worker stops first (the event stream)
//! ```
//!
//! The cluster runs under TLS with ACLs on (`deploy tls` certificates, `deploy acl
//! bootstrap`, a management token made with it), and every `deploy` command reaches it through
//! the stack's `backend "nomad"` block (a copy of the example with the block added).
//!
//! Needs a Docker engine and what build.sh needs; without them it skips with the reason, and
//! fails when `CI=true`.

mod apply_support;
mod client_harness;
mod cluster_harness;
mod seed_support;

#[path = "seed_gvfx_runbook/checks.rs"]
mod checks;
#[path = "seed_gvfx_runbook/later.rs"]
mod later;
#[path = "seed_gvfx_runbook/machines.rs"]
mod machines;
#[path = "seed_gvfx_runbook/observe.rs"]
mod observe;
#[path = "seed_gvfx_runbook/stack.rs"]
mod stack;

use std::process::Command;
use std::time::Instant;

use apply_support::{Deploy, bin, text};
use cluster_harness::Cluster;
use cluster_harness::tls::{Certs, Role};
use machines::{Client, ContainerReaper, MACHINES};
use stack::{API_PORT, OBJECTSTORE_PORT, Vars};

fn tools() -> bool {
    seed_support::tools_present(
        "gvfx_runbook_checklist_on_the_runbooks_machines",
        &[
            ("no running Docker engine", &["docker", "info"]),
            ("no static busybox at /bin/busybox", &["/bin/busybox", "true"]),
            ("no gcc", &["gcc", "--version"]),
            (
                "no PostgreSQL server package",
                &["test", "-d", "/usr/lib/postgresql"],
            ),
            (
                "no /dev/net/tun for the tailscale task",
                &["test", "-c", "/dev/net/tun"],
            ),
            ("curl is missing", &["curl", "--version"]),
            (
                "no docker0 bridge (ip -4 addr show docker0)",
                &["ip", "-4", "addr", "show", "docker0"],
            ),
        ],
    )
}

#[test]
fn gvfx_runbook_checklist_on_the_runbooks_machines() {
    if !tools() {
        return;
    }
    let whole = Instant::now();
    let build = Command::new("sh")
        .arg(stack::stack_dir().join("images/build.sh"))
        .arg("local")
        .output()
        .expect("running build.sh");
    assert!(build.status.success(), "build.sh: {}", text(&build));
    let bridge = machines::docker_bridge_ip().expect("docker0's IPv4 address");
    for port in [API_PORT, OBJECTSTORE_PORT] {
        assert!(
            std::net::TcpListener::bind(("0.0.0.0", port)).is_ok(),
            "port {port} (a seed default the test keeps) is taken on this host"
        );
    }
    let _containers = ContainerReaper;
    let dir = tempfile::tempdir().expect("temp dir");
    let certs = Certs::create(&bin(), &dir.path().join("certs"));
    let servers =
        Cluster::spawn_tls_with_args(&bin(), 3, 1, &certs, &["--heartbeat-ttl", "5s", "--acl-enabled"]);
    let server_rpc: Vec<String> = servers.agents.iter().map(|a| a.rpc_addr.clone()).collect();
    let address = format!("https://{}", servers.agents[0].addr);
    let cli = certs
        .nomad_env()
        .into_iter()
        .fold(Deploy::without_address(), |d, (k, v)| d.with(k, &v));
    let token = machines::acl_token(&cli, &address);
    observe::use_cluster(dir.path(), &certs, &token);
    let client_tls = certs.agent_config(Role::Client);
    let mut clients: Vec<Client> = MACHINES
        .iter()
        .map(|m| Client::start(dir.path(), m, &bridge, &server_rpc, &client_tls))
        .collect();
    let nodes = machines::wait_ready(&address, 4);
    eprintln!("nodes: {nodes:?}");

    // Every command reaches the cluster through the stack's `backend "nomad"` block alone.
    let deploy = Deploy::without_address().with_age_key();
    let vars = Vars::new(dir.path(), &bridge);
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let stack_dir = stack::with_nomad_backend(dir.path(), &address, &token, &certs);
    let stack_path = stack_dir.to_str().unwrap();

    let started = Instant::now();
    let out = deploy.run(&vars.args(&["apply", stack_path, "-auto-approve"], state, &[]));
    let apply_secs = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "apply failed:\n{}\n{}",
        text(&out),
        checks::diagnose(&address, &clients)
    );
    eprintln!("apply took {apply_secs:.1} s");

    let ctx = checks::Ctx {
        address: &address,
        bridge: &bridge,
        vars: &vars,
        deploy: &deploy,
        state,
        stack: stack_path,
    };
    let step = |name: &str, t: Instant| eprintln!("STEP {name}: {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    checks::phase_order_and_overhead(&ctx, apply_secs);
    checks::checklist(&ctx);
    step("checklist", t);
    let t = Instant::now();
    checks::data_plane_restart_keeps_data(&ctx);
    step("data plane restart", t);
    let t = Instant::now();
    checks::secret_change_restarts_readers(&ctx);
    step("secret change", t);
    let t = Instant::now();
    checks::broken_image_is_undone_exactly(&ctx);
    step("broken image under -atomic", t);
    let t = Instant::now();
    checks::rollback_goes_back_dependents_first(&ctx);
    step("rollback", t);
    let t = Instant::now();
    let epyc = clients.iter_mut().find(|c| c.name == "epyc").unwrap();
    checks::epyc_down(&ctx, epyc, &nodes);
    step("EPYC down", t);
    let t = Instant::now();
    checks::destroy_stops_the_worker_first(&ctx, dir.path());
    step("destroy", t);
    eprintln!("STEP whole test: {:.1} s", whole.elapsed().as_secs_f64());
    drop(clients);
}
