//! The webapp example end to end on a real cluster: three server agents and three client
//! agents, each its own process on 127.0.0.1, `deploy` talking to a follower (so every write is
//! forwarded to the leader). Gates are checked twice: from the NDJSON events, and from the
//! cluster's own allocation times (a dependent's first task starts only after what it waits for
//! was healthy, or finished). Run once with the built-in backend at `NOMAD_ADDR` and once with
//! the stack's `backend "nomad"` block naming the cluster; and once with the leader killed
//! during the apply. A chain of periodic jobs has the leader killed amid a burst of
//! registrations.
//!
//! Service groups get `min_healthy_time = "1s"` in the test's copy of the example, so the whole
//! run takes seconds; the example's own 10 s are measured in `apply_figures.rs`.

mod apply_support;
mod client_harness;
mod cluster_harness;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use apply_support::*;
use deploy::state::StateStore;
use serde_json::Value;

/// Per-job timeout for every apply here: far above what a loaded machine needs for 1 s gates,
/// far below the stack's 5 minutes, so a stuck gate fails the test with its report.
const TIMEOUT: &str = "90s";

/// Live jobs of the webapp, by job ID.
fn live_jobs(address: &str) -> BTreeMap<String, Value> {
    WEBAPP_JOBS
        .iter()
        .map(|(_, id)| {
            let job = get_json(address, &format!("/v1/job/{id}"))
                .unwrap_or_else(|| panic!("job {id} not on the server"));
            (id.to_string(), job)
        })
        .collect()
}

fn live_specs(address: &str) -> BTreeMap<String, Value> {
    live_jobs(address)
        .into_iter()
        .map(|(id, j)| (id, spec_of(&j)))
        .collect()
}

fn version_of(job: &Value) -> u64 {
    job["Version"].as_u64().expect("Version")
}

/// Every dependent's first task started after what it waits for was ready, per the cluster's
/// allocation times; every service allocation was healthy no sooner than 1 s after its start.
fn assert_gates_on_the_cluster(address: &str) -> BTreeMap<&'static str, AllocTimes> {
    let live = live_jobs(address);
    let mut times = BTreeMap::new();
    for (addr, id) in WEBAPP_JOBS {
        if *id == "report" {
            continue; // periodic: registered is its gate; nothing runs until its cron fires
        }
        let batch = *id == "preflight";
        let t = alloc_times(address, id, version_of(&live[*id]), batch);
        for d in &t.healthy_after {
            assert!(
                *d >= 1_000_000_000,
                "{id}: healthy {d} ns after its start, before min_healthy_time"
            );
        }
        times.insert(*addr, t);
    }
    for (from, to) in WEBAPP_EDGES {
        assert!(
            times[from].first_start > times[to].ready,
            "{from} started at {} before {to} was ready at {}",
            times[from].first_start,
            times[to].ready
        );
    }
    times
}

fn stack_state(state: &Path) -> (Vec<u64>, Vec<u8>) {
    let store = StateStore::new(state);
    let serials = store.serials().unwrap();
    let latest = serials
        .last()
        .map(|s| std::fs::read(state.join(deploy::state::revision_file_name(*s))).unwrap())
        .unwrap_or_default();
    (serials, latest)
}

/// The whole webapp lifecycle through `deploy` (set up to reach the cluster one way or the
/// other); `server` is where the test itself reads the cluster.
fn webapp_lifecycle(tmp: &Path, deploy: &Deploy, stack: &Path, server: &str) {
    let state = tmp.join("state");
    let (s, st) = (stack.to_str().unwrap(), state.to_str().unwrap());
    let run = |args: &[&str]| deploy.run(args);
    let plan_flags = ["-state", st];

    // First apply: gate order from the events and from the cluster.
    let first = run(&[
        "apply",
        s,
        "-state",
        st,
        "-auto-approve",
        "-json",
        "-timeout",
        TIMEOUT,
    ]);
    assert!(first.status.success(), "{}", text(&first));
    assert_gate_order(&events(&first));
    let times = assert_gates_on_the_cluster(server);
    let nodes: std::collections::BTreeSet<&String> = times.values().flat_map(|t| &t.nodes).collect();
    assert!(nodes.len() >= 2, "every allocation ran on one node: {nodes:?}");
    assert_eq!(
        deploy.planned_changes(stack, &plan_flags),
        (0, Default::default())
    );
    let at_rev1 = live_specs(server);
    let status = run(&["status", s, "-state", st]);
    assert!(
        text(&status).contains(&format!("Nomad API at {server}")) && text(&status).contains("revision 1"),
        "{}",
        text(&status)
    );

    // A change: only the api's environment.
    let change = run(&[
        "apply",
        s,
        "-state",
        st,
        "-auto-approve",
        "-json",
        "-timeout",
        TIMEOUT,
        "-var",
        "greeting=hi",
    ]);
    assert!(change.status.success(), "{}", text(&change));
    let ev = events(&change);
    assert!(
        ev.iter()
            .any(|e| e["event"] == "job_started" && e["address"] == "job.api" && e["kind"] == "update")
    );
    assert!(index_of(&ev, "gate_passed", "job.api") < index_of(&ev, "job_started", "job.preflight"));
    let api = get_json(server, "/v1/job/api").unwrap();
    assert_eq!(api["TaskGroups"][0]["Tasks"][0]["Env"]["GREETING"], "hi");
    assert_eq!(
        deploy.planned_changes(stack, &["-state", st, "-var", "greeting=hi"]),
        (0, Default::default())
    );
    let at_rev2 = live_specs(server);
    let state_at_rev2 = stack_state(&state);
    assert_eq!(state_at_rev2.0, vec![1, 2]);

    // A broken change with -atomic: the api changes (and passes), the frontend cannot start.
    let frontend = stack.join("frontend.nomad.hcl");
    let good_frontend = std::fs::read_to_string(&frontend).unwrap();
    replace_in(
        &frontend,
        "args    = [\"-m\", \"http.server\", \"${NOMAD_PORT_http}\", \"--bind\", \"127.0.0.1\"]",
        "args    = [\"-m\", \"http.server\", \"not-a-port\"]",
    );
    replace_in(
        &frontend,
        "task \"web\" {",
        "restart {\n      attempts = 0\n      mode     = \"fail\"\n    }\n\n    task \"web\" {",
    );
    // Python needs a moment to reach its argument check, over a second on a loaded machine:
    // the broken frontend must not count as healthy before it exits.
    if good_frontend.contains("min_healthy_time = \"1s\"") {
        replace_in(
            &frontend,
            "min_healthy_time = \"1s\"",
            "min_healthy_time = \"30s\"",
        );
    }
    let broken = run(&[
        "apply",
        s,
        "-state",
        st,
        "-auto-approve",
        "-atomic",
        "-timeout",
        TIMEOUT,
        "-var",
        "greeting=broken",
    ]);
    let report = text(&broken);
    println!("the broken apply said:\n{report}");
    assert_eq!(broken.status.code(), Some(1), "{report}");
    for needle in [
        "job.frontend failed:",
        "exited with code 2",
        "(frontend.web[0]) on c",
        "task web (dead, failed):",
        "Terminated",
        "last lines of stderr:",
        "| ",
        "invalid int value: 'not-a-port'",
        "-atomic: rolled back this apply's changes",
        "job.api: reverted to version",
        "job.frontend: reverted to version",
        "no new revision",
    ] {
        assert!(report.contains(needle), "no {needle:?} in:\n{report}");
    }
    assert!(report.contains("job.worker: not started"), "{report}");
    // Exactly the previous revision: the same state files, the same live specs.
    assert_eq!(stack_state(&state), state_at_rev2, "the state changed:\n{report}");
    std::fs::write(&frontend, good_frontend).unwrap();
    wait_until(
        Duration::from_secs(60),
        "the undone jobs running their old specs",
        || (live_specs(server) == at_rev2).then_some(()),
    );
    assert_eq!(
        deploy.planned_changes(stack, &["-state", st, "-var", "greeting=hi"]),
        (0, Default::default())
    );

    // Rollback to revision 1: a new revision 3 with revision 1's specs, reverting the api.
    let back = run(&[
        "rollback",
        "1",
        "-stack",
        s,
        "-state",
        st,
        "-auto-approve",
        "-json",
        "-timeout",
        TIMEOUT,
    ]);
    assert!(back.status.success(), "{}", text(&back));
    let ev = events(&back);
    assert!(
        ev.iter()
            .any(|e| e["event"] == "job_started" && e["address"] == "job.api" && e["kind"] == "revert"),
        "{ev:#?}"
    );
    let store = StateStore::new(&state);
    assert_eq!(store.serials().unwrap(), vec![1, 2, 3]);
    let (r1, r3) = (store.read(1).unwrap(), store.read(3).unwrap());
    assert_eq!(
        r1.jobs.iter().map(|j| (&j.address, &j.spec)).collect::<Vec<_>>(),
        r3.jobs.iter().map(|j| (&j.address, &j.spec)).collect::<Vec<_>>()
    );
    assert_eq!(live_specs(server), at_rev1);
    assert_eq!(
        deploy.planned_changes(stack, &plan_flags),
        (0, Default::default())
    );

    // Destroy: dependents first, then nothing of the stack runs.
    let gone = run(&[
        "destroy",
        s,
        "-state",
        st,
        "-auto-approve",
        "-json",
        "-timeout",
        TIMEOUT,
    ]);
    assert!(gone.status.success(), "{}", text(&gone));
    let ev = events(&gone);
    for (from, to) in WEBAPP_EDGES {
        assert!(
            index_of(&ev, "stopped", from) < index_of(&ev, "job_started", to),
            "{to} was stopped before its dependent {from}"
        );
    }
    for (_, id) in WEBAPP_JOBS {
        let job = get_json(server, &format!("/v1/job/{id}")).unwrap();
        assert_eq!(job["Stop"], true, "{id} not stopped");
    }
    wait_until(Duration::from_secs(60), "every allocation stopping", || {
        let running: Vec<String> = WEBAPP_JOBS
            .iter()
            .flat_map(|(_, id)| {
                get_json(server, &format!("/v1/job/{id}/allocations"))
                    .unwrap_or_default()
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|a| !matches!(a["ClientStatus"].as_str(), Some("complete" | "failed" | "lost")))
            .map(|a| a["Name"].as_str().unwrap_or_default().to_owned())
            .collect();
        running.is_empty().then_some(())
    });
    let tasks = TaskReaper::new(tmp);
    wait_until(Duration::from_secs(30), "every task process exiting", || {
        tasks.pids().is_empty().then_some(())
    });
    assert!(store.read(4).unwrap().jobs.is_empty());
}

/// The built-in backend, selected by `NOMAD_ADDR`.
#[test]
fn webapp_applies_changes_fails_atomically_rolls_back_and_destroys_on_3_servers_and_3_clients() {
    let tmp = tempfile::tempdir().unwrap();
    let _reaper = TaskReaper::new(tmp.path());
    let cluster = RealCluster::start(&tmp.path().join("agents"), 3, 3);
    let server = cluster.address(cluster.follower());
    let stack = copy_webapp(
        &tmp.path().join("src"),
        &WebappOptions {
            store_port: free_port(),
            min_healthy_time: Some("1s"),
            nomad_backend: None,
        },
    );
    let deploy = Deploy::at(&server).with_age_key();
    webapp_lifecycle(tmp.path(), &deploy, &stack, &server);
}

/// The same with the stack's `backend "nomad" { address = ... }` naming the cluster and no
/// `NOMAD_ADDR` at all.
#[test]
fn webapp_lifecycle_with_the_nomad_backend_block_pointed_at_the_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let _reaper = TaskReaper::new(tmp.path());
    let cluster = RealCluster::start(&tmp.path().join("agents"), 3, 3);
    let server = cluster.address(cluster.follower());
    let stack = copy_webapp(
        &tmp.path().join("src"),
        &WebappOptions {
            store_port: free_port(),
            min_healthy_time: Some("1s"),
            nomad_backend: Some(server.clone()),
        },
    );
    // No NOMAD_ADDR: the address comes from the block alone.
    let deploy = Deploy::without_address().with_age_key();
    webapp_lifecycle(tmp.path(), &deploy, &stack, &server);
}

/// `kill -9` of the leader while the apply registers the api and the frontend: the apply, talking
/// to a follower, still completes; every job was registered exactly once; the state records
/// what is live.
#[test]
fn killing_the_leader_during_an_apply_still_completes_it_and_registers_nothing_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let _reaper = TaskReaper::new(tmp.path());
    let mut cluster = RealCluster::start(&tmp.path().join("agents"), 3, 3);
    let leader = cluster.leader();
    let via = cluster.servers.other_than(leader);
    let server = cluster.address(via);
    let stack = copy_webapp(
        &tmp.path().join("src"),
        &WebappOptions {
            store_port: free_port(),
            min_healthy_time: Some("1s"),
            nomad_backend: None,
        },
    );
    let deploy = Deploy::at(&server).with_age_key();
    let state = tmp.path().join("state");
    let (s, st) = (stack.to_str().unwrap(), state.to_str().unwrap());
    let run = apply_killing_the_leader(
        tmp.path(),
        &deploy,
        &mut cluster,
        leader,
        &[
            "apply",
            s,
            "-state",
            st,
            "-auto-approve",
            "-json",
            "-timeout",
            TIMEOUT,
        ],
        |line| line.contains("\"job_started\"") && line.contains("\"job.api\""),
    );
    let (ev, all) = (run.events, run.all);
    assert_gate_order(&ev);
    let new_leader = cluster.leader();
    assert_ne!(new_leader, leader);
    assert_gates_on_the_cluster(&server);
    // Registered once each: one version on the server, and the state records it.
    let rev = StateStore::new(&state).latest().unwrap().expect("a revision");
    assert_eq!(rev.serial, 1);
    for (addr, _) in WEBAPP_JOBS {
        assert!(
            rev.jobs.iter().any(|j| j.address.0 == *addr),
            "{addr} not recorded"
        );
    }
    assert_registered_once_as_recorded(&server, &rev, &all);
    assert_eq!(
        deploy.planned_changes(&stack, &["-state", st]),
        (0, Default::default())
    );
}

/// `kill -9` of the leader in the middle of a burst of registrations (a chain of 30 periodic
/// jobs, each registered as soon as the one before is): the apply completes, each job has one
/// version, and the state records what is live.
#[test]
fn killing_the_leader_amid_a_burst_of_registrations_loses_and_doubles_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cluster = RealCluster::start(&tmp.path().join("agents"), 3, 0);
    let leader = cluster.leader();
    let server = cluster.address(cluster.servers.other_than(leader));
    let n = 30;
    let stack = write_chain_stack(tmp.path(), n);
    let state = tmp.path().join("state");
    let (s, st) = (stack.to_str().unwrap(), state.to_str().unwrap());
    let deploy = Deploy::at(&server);
    let run = apply_killing_the_leader(
        tmp.path(),
        &deploy,
        &mut cluster,
        leader,
        &[
            "apply",
            s,
            "-state",
            st,
            "-auto-approve",
            // Servers only: the periodic jobs' children have no node, which is beside the
            // point here (the test counts registrations).
            "-allow-unplaced",
            "-json",
            "-parallelism",
            "2",
            "-timeout",
            TIMEOUT,
        ],
        |line| line.contains("\"gate_passed\"") && line.contains("\"job.j09\""),
    );
    let (ev, all) = (run.events, run.all);
    let registered_after_kill = ev[ev
        .iter()
        .position(|e| e["event"] == "gate_passed" && e["address"] == "job.j09")
        .unwrap()..]
        .iter()
        .filter(|e| e["event"] == "registered")
        .count();
    assert!(
        registered_after_kill >= 20,
        "{registered_after_kill} registrations after the kill:\n{all}"
    );
    let times: Vec<u64> = ev
        .iter()
        .filter(|e| e["event"] == "registered")
        .filter_map(|e| e["elapsed_ms"].as_u64())
        .collect();
    let longest = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    println!("longest pause between two registrations (the election): {longest} ms");
    for i in 1..n {
        assert!(
            index_of(&ev, "gate_passed", &format!("job.j{:02}", i - 1))
                < index_of(&ev, "job_started", &format!("job.j{i:02}"))
        );
    }
    let rev = StateStore::new(&state).latest().unwrap().expect("a revision");
    assert_eq!(rev.jobs.len(), n + 1);
    assert_registered_once_as_recorded(&server, &rev, &all);
    assert_eq!(
        deploy.planned_changes(&stack, &["-state", st, "-var", "gen=1"]),
        (0, Default::default())
    );
}

/// What an apply said while its cluster's leader was killed.
struct KilledRun {
    /// Its NDJSON events.
    events: Vec<Value>,
    /// Its standard output and error, for failure messages.
    all: String,
}

/// Runs `deploy args` (an apply with `-json`), kills the cluster's `leader` with `kill -9` at
/// the first output line for which `kill_at` holds, and checks that the apply got there and
/// then succeeded.
fn apply_killing_the_leader(
    dir: &Path,
    deploy: &Deploy,
    cluster: &mut RealCluster,
    leader: usize,
    args: &[&str],
    kill_at: impl Fn(&str) -> bool,
) -> KilledRun {
    let stderr = dir.join("apply.stderr");
    let mut child = deploy.spawn(args, &stderr);
    let mut lines = Vec::new();
    let mut killed = false;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if !killed && kill_at(&line) {
            assert_eq!(cluster.leader(), leader, "the leader changed before the kill");
            cluster.kill_server(leader);
            killed = true;
        }
        lines.push(line);
    }
    let status = child.wait().unwrap();
    let out = lines.join("\n");
    let all = format!("{out}\n{}", std::fs::read_to_string(&stderr).unwrap_or_default());
    assert!(killed, "the apply never reached the moment of the kill:\n{all}");
    assert!(status.success(), "{all}");
    KilledRun {
        events: parse_events(&out),
        all,
    }
}

/// Every recorded job has exactly one version on the server, and the state holds its live
/// version and modify index.
fn assert_registered_once_as_recorded(server: &str, rev: &deploy::state::Revision, all: &str) {
    for record in &rev.jobs {
        let id = record.address.job_id();
        let versions = get_json(server, &format!("/v1/job/{id}/versions")).unwrap();
        let count = versions["Versions"].as_array().map_or(0, Vec::len);
        assert_eq!(count, 1, "{id} registered {count} times:\n{all}");
        let live = get_json(server, &format!("/v1/job/{id}")).unwrap();
        assert_eq!(record.job_version, live["Version"].as_u64(), "{id}");
        assert_eq!(record.job_modify_index, live["JobModifyIndex"].as_u64(), "{id}");
    }
}
