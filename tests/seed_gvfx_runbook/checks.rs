//! The runbook's checks after the first apply: phase order from the cluster's allocation
//! times, the validation checklist, and the data plane's restart.

use std::time::Duration;

use serde_json::Value;

use crate::apply_support::{Deploy, alloc_times_in, nanos, wait_until};
use crate::machines::Client;
use crate::observe::{allocs, get_json, http_get, one_healthy, post, running, sql, version};
use crate::stack::{APP_DB, CRITICAL_PATH, EDGES, JOBS, Vars};

pub use crate::later::{
    broken_image_is_undone_exactly, destroy_stops_the_worker_first, epyc_down,
    rollback_goes_back_dependents_first, secret_change_restarts_readers,
};

/// What every check needs.
pub struct Ctx<'a> {
    pub address: &'a str,
    pub bridge: &'a str,
    pub vars: &'a Vars,
    pub deploy: &'a Deploy,
    pub state: &'a str,
    pub stack: &'a str,
}

/// Every allocation with its tasks' last events, and the clients' log tails: what a failed
/// step prints.
pub fn diagnose(address: &str, clients: &[Client]) -> String {
    let mut out = String::new();
    for job in JOBS {
        for a in allocs(address, job) {
            out.push_str(&format!(
                "{job} {} on {} v{}: {} / {}\n",
                a["ID"], a["NodeName"], a["JobVersion"], a["ClientStatus"], a["DesiredStatus"]
            ));
            for (task, s) in a["TaskStates"].as_object().into_iter().flatten() {
                let events: Vec<String> = s["Events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| format!("{} {}", e["Type"], e["DisplayMessage"]))
                    .collect();
                out.push_str(&format!("  {task}: {} {events:?}\n", s["State"]));
            }
        }
    }
    for c in clients {
        let log = std::fs::read_to_string(&c.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        out.push_str(&format!("--- {} log tail:\n", c.name));
        for l in tail.into_iter().rev() {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// Each dependent's first task started after what it waits for was ready (healthy or
/// complete), and the backfill was registered after the worker was healthy; prints the apply
/// time against the sum of the gates' least times on the critical path.
pub fn phase_order_and_overhead(ctx: &Ctx<'_>, apply_secs: f64) {
    let times = |job: &str| {
        let batch = job == "gvfx-worker-egress-check";
        let all = get_json(ctx.address, &format!("/v1/job/{job}/allocations")).expect("allocations");
        alloc_times_in(&all, job, version(ctx.address, job), batch)
    };
    for (dependent, on) in EDGES {
        let ready = times(on).ready;
        let start = if dependent == "gvfx-bingx-full-backfill" {
            let job = get_json(ctx.address, &format!("/v1/job/{dependent}")).expect("job");
            job["SubmitTime"].as_i64().expect("SubmitTime")
        } else {
            times(dependent).first_start
        };
        assert!(
            start >= ready,
            "{dependent} started {} ms before {on} passed its gate",
            (ready - start) / 1_000_000
        );
    }
    let floor: u64 = CRITICAL_PATH.iter().map(|(_, s)| s).sum();
    let measured: f64 = CRITICAL_PATH
        .iter()
        .map(|(job, _)| {
            let t = times(job);
            (t.ready - t.first_start) as f64 / 1e9
        })
        .sum();
    eprintln!(
        "FIGURE apply {apply_secs:.1} s; critical path gates' least time {floor} s; \
         the same jobs' start-to-ready on the cluster {measured:.1} s; \
         overhead over the least time {:.1} s",
        apply_secs - floor as f64
    );
}

/// The runbook's validation checklist, items 1 to 5, and nothing on the witness.
pub fn checklist(ctx: &Ctx<'_>) {
    let a = ctx.address;
    for job in ["gvfx-api", "gvfx-rl-service", "gvfx-worker", "gvfx-convex"] {
        assert!(
            one_healthy(a, job).is_some(),
            "{job} not healthy: {:#?}",
            allocs(a, job)
        );
    }
    assert_eq!(
        running(a, "gvfx-worker").len(),
        1,
        "gvfx-worker: one running allocation"
    );
    let check: Vec<Value> = allocs(a, "gvfx-worker-egress-check");
    assert_eq!(check.len(), 1, "{check:#?}");
    assert_eq!(check[0]["ClientStatus"], "complete", "{:#}", check[0]);
    assert_eq!(check[0]["TaskStates"]["check"]["Failed"], false, "{:#}", check[0]);

    let forced = post(a, "/v1/job/gvfx-bingx-full-backfill/periodic/force");
    eprintln!("periodic/force: {forced}");
    let child = wait_until(
        Duration::from_secs(180),
        "the forced backfill to complete",
        || {
            let jobs = get_json(a, "/v1/jobs?prefix=gvfx-bingx-full-backfill/periodic-")?;
            let id = jobs.as_array()?.first()?["ID"].as_str()?.to_owned();
            let done = allocs(a, &id.replace('/', "%2F"));
            (done.len() == 1 && done[0]["ClientStatus"] != "pending" && done[0]["ClientStatus"] != "running")
                .then(|| done[0].clone())
        },
    );
    assert_eq!(child["ClientStatus"], "complete", "{child:#}");
    let pairs = 8 * 10;
    let candles: u64 = sql(a, APP_DB, "SELECT count(*) FROM market_candles")
        .and_then(|s| s.parse().ok())
        .expect("the candles table");
    assert!(candles >= pairs, "{candles} candles, want at least {pairs}");

    let api = |path: &str| http_get(ctx.bridge, crate::stack::API_PORT, path);
    let gaps = wait_until(
        Duration::from_secs(30),
        "/ops/gaps/health with the candles",
        || {
            api("/ops/gaps/health")
                .filter(|(c, b)| *c == 200 && b.contains(&format!("\"candles\":{candles}")))
        },
    );
    eprintln!("/ops/gaps/health: {gaps:?}");
    assert_eq!(api("/health").map(|r| r.0), Some(200));
    let alerts = api("/ops/alerts").expect("/ops/alerts");
    assert_eq!(alerts.0, 200, "{alerts:?}");
    assert!(alerts.1.contains("\"heartbeats\":"), "{alerts:?}");

    for job in JOBS {
        for al in allocs(a, job) {
            assert_ne!(al["NodeName"], "witness", "{job} placed on the witness");
        }
    }
}

/// Stops each data-plane allocation (the scheduler replaces it) and checks that the rows, the
/// object store's and Convex's files are still there once the replacements are healthy.
pub fn data_plane_restart_keeps_data(ctx: &Ctx<'_>) {
    let a = ctx.address;
    let count = || sql(a, APP_DB, "SELECT count(*) FROM market_candles");
    let before = count().expect("candles before");
    let data = &ctx.vars.data;
    assert!(
        data.join("objectstore/.minio.sys").is_dir(),
        "the object store's marker"
    );
    // All three at once, as a machine's restart would: Convex's replacement may start before
    // PostgreSQL's and is restarted by its policy until the database answers.
    let plane = ["gvfx-postgres", "gvfx-objectstore", "gvfx-convex"];
    let old: Vec<String> = plane
        .iter()
        .map(|job| {
            let al = one_healthy(a, job).unwrap_or_else(|| panic!("{job} not healthy"));
            al["ID"].as_str().unwrap().to_owned()
        })
        .collect();
    for id in &old {
        post(a, &format!("/v1/allocation/{id}/stop"));
    }
    for (job, old_id) in plane.iter().zip(&old) {
        wait_until(
            Duration::from_secs(180),
            &format!("{job} replaced and healthy"),
            || one_healthy(a, job).filter(|n| n["ID"] != old_id.as_str()),
        );
    }
    let after = wait_until(Duration::from_secs(60), "PostgreSQL answering again", count);
    assert_eq!(before, after, "candles before and after the restart");
    assert!(
        data.join("objectstore/.minio.sys").is_dir(),
        "the object store's marker"
    );
    assert!(
        std::fs::read_dir(data.join("postgres")).is_ok_and(|mut d| d.next().is_some()),
        "PostgreSQL's data directory"
    );
}

/// The latest task start of `task` in the job's running allocation (nanoseconds), and its
/// restart count.
pub fn task_start(address: &str, job: &str, task: &str) -> Option<(i64, u64)> {
    let al = running(address, job).into_iter().next()?;
    let s = &al["TaskStates"][task];
    Some((nanos(&s["StartedAt"])?, s["Restarts"].as_u64().unwrap_or(0)))
}
