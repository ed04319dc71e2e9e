//! The runbook's day-two steps: a secret change, a broken image undone by `-atomic`, a
//! rollback, the EPYC lost, and destroy.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::apply_support::{spec_of, text, wait_until};
use crate::checks::{Ctx, task_start};
use crate::machines::{Client, gvfx_containers, remove_containers};
use crate::observe::{EventLog, allocs, get_json, one_healthy, registered, running, stopped};
use crate::stack::{BROKEN_IMAGE, FIRST_TOKEN, JOBS, second};

const SECRETS: &str = "/v1/var/nomad/jobs/gvfx/secrets";

fn api_token(address: &str) -> Option<String> {
    let v = get_json(address, SECRETS)?;
    v["Items"]["API_TOKEN"].as_str().map(str::to_owned)
}

/// A changed secret: the plan shows the item `(sensitive)` and never its value; apply
/// rewrites the variable and the API's task, whose template reads it, restarts. The same apply
/// renames the tailscale host, a new version of the egress check, the worker and the backfill.
pub fn secret_change_restarts_readers(ctx: &Ctx<'_>) {
    let a = ctx.address;
    let before = task_start(a, "gvfx-api", "api").expect("the api task");
    assert_eq!(api_token(a).as_deref(), Some(FIRST_TOKEN));
    let change = second();
    let plan = ctx
        .deploy
        .run(&ctx.vars.args(&["plan", ctx.stack], ctx.state, &change));
    let shown = text(&plan);
    assert!(
        shown.contains("~ API_TOKEN: \"(sensitive)\" => \"(sensitive)\""),
        "{shown}"
    );
    assert!(
        !shown.contains("tok-rotated-7f3a") && !shown.contains(FIRST_TOKEN),
        "{shown}"
    );
    assert!(
        shown.contains("gvfx-worker-b"),
        "the renamed tailscale host: {shown}"
    );
    let out = ctx.deploy.run(
        &ctx.vars
            .args(&["apply", ctx.stack, "-auto-approve"], ctx.state, &change),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(api_token(a).as_deref(), Some("tok-rotated-7f3a"));
    let after = wait_until(Duration::from_secs(120), "the api task restarting", || {
        task_start(a, "gvfx-api", "api").filter(|t| t.0 > before.0)
    });
    eprintln!("api task: started {before:?} then {after:?}");
    wait_until(Duration::from_secs(120), "the api healthy again", || {
        one_healthy(a, "gvfx-api")
    });
}

/// A job's version and its spec as the cluster has it (less what every registration changes).
fn job_now(address: &str, job: &str) -> (u64, Value) {
    let live = get_json(address, &format!("/v1/job/{job}")).expect("job");
    (live["Version"].as_u64().expect("Version"), spec_of(&live))
}

/// The newest revision's serial in the state directory.
fn latest_serial(state: &str) -> u64 {
    std::fs::read_dir(state)
        .expect("state dir")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("rev-")?.strip_suffix(".json")?.parse().ok()
        })
        .max()
        .expect("a revision")
}

/// What a revision says the stack is: each job's address and spec, each Nomad Variable's
/// items (sensitive ones by name: their ciphertexts differ at every write) and the variables'
/// names. Serial, times, versions and indexes left out.
fn revision_content(state: &str, serial: u64) -> Value {
    let path = Path::new(state).join(format!("rev-{serial:06}.json"));
    let rev: Value = serde_json::from_slice(&std::fs::read(&path).expect("revision")).expect("JSON");
    let jobs: Vec<Value> = rev["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| serde_json::json!([j["address"], j["spec"]]))
        .collect();
    let variables: Vec<Value> = rev["nomad_variables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| serde_json::json!([v["path"], v["items"], v["sensitive_items"]]))
        .collect();
    let values: Vec<&Value> = rev["variables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| &v["name"])
        .collect();
    serde_json::json!({"jobs": jobs, "nomad_variables": variables, "values": values})
}

/// A broken backend image applied with `-atomic`: the API's task exits 3 until its restart
/// policy gives up for the interval, the gate fails (without waiting for healthy_deadline),
/// and the API is reverted; every job's spec is the one before, the jobs the apply never
/// reached keep their versions, and the state's latest revision holds the previous content.
pub fn broken_image_is_undone_exactly(ctx: &Ctx<'_>) {
    let a = ctx.address;
    let before: Vec<(u64, Value)> = JOBS.iter().map(|j| job_now(a, j)).collect();
    let serial = latest_serial(ctx.state);
    let mut change = second();
    change.push(format!("backend_image={BROKEN_IMAGE}"));
    let started = std::time::Instant::now();
    let out = ctx.deploy.run(&ctx.vars.args(
        &["apply", ctx.stack, "-auto-approve", "-atomic"],
        ctx.state,
        &change,
    ));
    let shown = text(&out);
    eprintln!(
        "the broken apply ended after {:.1} s:\n{shown}",
        started.elapsed().as_secs_f64()
    );
    assert!(!out.status.success(), "the broken apply succeeded: {shown}");
    assert!(
        shown.contains("healthy_deadline") && shown.contains("exited with code 3"),
        "{shown}"
    );
    assert!(shown.contains("rolled back"), "{shown}");
    for (job, (version, spec)) in JOBS.iter().zip(&before) {
        let (now, live) = job_now(a, job);
        assert_eq!(&live, spec, "{job}: its spec after the undo");
        if *job != "gvfx-api" {
            assert_eq!(now, *version, "{job}: the apply never reached it");
        }
    }
    let latest = latest_serial(ctx.state);
    assert!(latest >= serial, "revision {latest} after {serial}");
    assert_eq!(
        revision_content(ctx.state, latest),
        revision_content(ctx.state, serial),
        "the latest revision ({latest}) is the one before the broken apply ({serial})"
    );
    let image = |al: &Value| {
        let id = al["ID"].as_str().unwrap_or_default().to_owned();
        get_json(a, &format!("/v1/allocation/{id}"))
            .and_then(|full| {
                full["Job"]["TaskGroups"][0]["Tasks"][0]["Config"]["image"]
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    };
    wait_until(
        Duration::from_secs(120),
        "the api healthy again on the good image",
        || one_healthy(a, "gvfx-api").filter(|al| image(al) != BROKEN_IMAGE),
    );
}

/// `deploy rollback 1` goes back dependents first: the backfill, then the worker, then the
/// egress check return to their first versions (the event stream), nothing else is registered
/// or stopped; the secrets variable holds the first items again and the API, which reads it,
/// is healthy on them.
pub fn rollback_goes_back_dependents_first(ctx: &Ctx<'_>) {
    let a = ctx.address;
    let before = task_start(a, "gvfx-api", "api").expect("the api task");
    let versions: BTreeMap<String, u64> = JOBS.iter().map(|j| ((*j).to_owned(), job_now(a, j).0)).collect();
    let log = EventLog::start(a, Path::new(ctx.state), "rollback-events.ndjson");
    let back = ctx.deploy.run(&ctx.vars.args(
        &["rollback", "1", "-stack", ctx.stack, "-auto-approve"],
        ctx.state,
        &[],
    ));
    let events = log.events();
    assert!(back.status.success(), "{}", text(&back));
    let ours = |order: Vec<String>| -> Vec<String> {
        order.into_iter().filter(|j| JOBS.contains(&j.as_str())).collect()
    };
    let (registered, stopped) = (ours(registered(&events, &versions)), ours(stopped(&events)));
    eprintln!(
        "rollback registered, in order: {registered:?}; stopped: {stopped:?}\n{}",
        text(&back)
    );
    assert_eq!(
        registered,
        [
            "gvfx-bingx-full-backfill",
            "gvfx-worker",
            "gvfx-worker-egress-check"
        ],
        "rollback goes back dependents first"
    );
    assert!(stopped.is_empty(), "rollback stopped {stopped:?}");
    assert_eq!(
        api_token(a).as_deref(),
        Some(FIRST_TOKEN),
        "rollback restores the secret"
    );
    wait_until(Duration::from_secs(120), "the api task restarting", || {
        task_start(a, "gvfx-api", "api").filter(|t| t.0 > before.0)
    });
    wait_until(Duration::from_secs(120), "the api healthy again", || {
        one_healthy(a, "gvfx-api")
    });
}

/// The EPYC goes down (agent killed, its containers gone): the RL service moves to the Mac
/// mini and so does the worker; the stateful jobs have nowhere to go.
pub fn epyc_down(ctx: &Ctx<'_>, epyc: &mut Client, nodes: &BTreeMap<String, String>) {
    let a = ctx.address;
    let on_epyc: Vec<String> = JOBS
        .iter()
        .flat_map(|j| running(a, j))
        .filter(|al| al["NodeName"] == "epyc")
        .map(|al| al["ID"].as_str().unwrap().to_owned())
        .collect();
    eprintln!("on the EPYC: {on_epyc:?}");
    epyc.kill();
    for id in &on_epyc {
        remove_containers(&gvfx_containers(Some(id)));
    }
    let id = &nodes["epyc"];
    wait_until(Duration::from_secs(60), "the EPYC marked down", || {
        let n = get_json(a, &format!("/v1/node/{id}"))?;
        (n["Status"] == "down").then_some(())
    });
    for job in ["gvfx-rl-service", "gvfx-worker"] {
        let al = wait_until(
            Duration::from_secs(240),
            &format!("{job} healthy elsewhere"),
            || one_healthy(a, job).filter(|al| al["NodeName"] != "epyc"),
        );
        assert_eq!(al["NodeName"], "macmini", "{job}: {al:#}");
    }
    // The seed's data-plane jobs also require `${meta.role} = standby`, which of the stateful
    // machines only the EPYC has: they fit nowhere now, and must not land on a node their
    // constraints exclude (the OptiPlex is role=primary, the Mac mini not stateful).
    for job in ["gvfx-postgres", "gvfx-objectstore", "gvfx-convex"] {
        let live: Vec<String> = running(a, job)
            .iter()
            .map(|al| al["NodeName"].as_str().unwrap_or_default().to_owned())
            .collect();
        eprintln!("{job} after the EPYC went down: running on {live:?}");
        assert!(live.is_empty(), "{job} placed against its constraints: {live:?}");
    }
}

/// Destroy stops the backfill and gvfx-worker (its only dependent) before anything else.
pub fn destroy_stops_the_worker_first(ctx: &Ctx<'_>, dir: &Path) {
    let a = ctx.address;
    let log = EventLog::start(a, dir, "destroy-events.ndjson");
    let out = ctx.deploy.run(
        &ctx.vars
            .args(&["destroy", ctx.stack, "-auto-approve"], ctx.state, &[]),
    );
    let order = log.stopped_order();
    assert!(out.status.success(), "{}", text(&out));
    eprintln!("destroy stopped, in order: {order:?}");
    let worker = order
        .iter()
        .position(|j| j == "gvfx-worker")
        .unwrap_or_else(|| panic!("gvfx-worker never stopped: {order:?}"));
    let before: Vec<&String> = order[..worker]
        .iter()
        .filter(|j| !j.starts_with("gvfx-bingx-full-backfill"))
        .collect();
    assert!(
        before.is_empty(),
        "stopped before gvfx-worker: {before:?} ({order:?})"
    );
    for job in JOBS {
        assert!(order.iter().any(|j| j == job), "{job} not stopped: {order:?}");
        let live: Vec<Value> = allocs(a, job)
            .into_iter()
            .filter(|al| matches!(al["ClientStatus"].as_str(), Some("running" | "pending")))
            .collect();
        assert!(live.is_empty(), "{job} still runs: {live:#?}");
    }
}
