//! The runbook's day-two steps: a secret change, a rollback, the EPYC lost, and destroy.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::apply_support::{get_json, text, wait_until};
use crate::checks::{Ctx, task_start};
use crate::machines::{Client, gvfx_containers, remove_containers};
use crate::observe::{EventLog, allocs, one_healthy, running};
use crate::stack::{FIRST_TOKEN, JOBS};

const SECRETS: &str = "/v1/var/nomad/jobs/gvfx/secrets";

fn api_token(address: &str) -> Option<String> {
    let v = get_json(address, SECRETS)?;
    v["Items"]["API_TOKEN"].as_str().map(str::to_owned)
}

/// A changed secret: the plan shows the item `(sensitive)` and never its value; apply
/// rewrites the variable and the API's task, whose template reads it, restarts.
pub fn secret_change_restarts_readers(ctx: &Ctx<'_>) {
    let a = ctx.address;
    let before = task_start(a, "gvfx-api", "api").expect("the api task");
    assert_eq!(api_token(a).as_deref(), Some(FIRST_TOKEN));
    let change = ["api_token=tok-rotated-7f3a".to_owned()];
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

/// `deploy rollback 1` returns the secrets variable to the first apply's items, and the
/// API, which reads it, is healthy on the first token.
pub fn rollback_restores_the_first_secret(ctx: &Ctx<'_>) {
    let a = ctx.address;
    let before = task_start(a, "gvfx-api", "api").expect("the api task");
    let log = EventLog::start(a, Path::new(ctx.state), "rollback-events.ndjson");
    let back = ctx.deploy.run(&ctx.vars.args(
        &["rollback", "1", "-stack", ctx.stack, "-auto-approve"],
        ctx.state,
        &[],
    ));
    let stopped = log.stopped_order();
    assert!(back.status.success(), "{}", text(&back));
    eprintln!("rollback stopped, in order: {stopped:?}\n{}", text(&back));
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
