//! The job pages: jobs, a job (groups, deployment and canaries, allocations, evaluations with
//! placement failures, versions), a job's versions and the diff of two; and the helpers the
//! other pages share. Each page builds its template's context from reads through [`Caller`]
//! and names the reads a live page blocks on.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::View;
use super::fetch::{Answer, Caller, Refused, enc};
use super::shape::{
    self, entries, fact, fact_status, list, n, pairs, plural, s, s_or, short, status, u, when,
};
use crate::plan::{Painter, render_job_diff};
use crate::spec::Job;

/// A page, or the read that was refused.
pub(super) type Page = Result<View, Refused>;

/// The namespaces the caller may see (each read on its own: a policy for one namespace
/// cannot list `*`).
pub(super) async fn namespaces(c: &Caller) -> Result<Vec<String>, Refused> {
    let spaces = c.get("/v1/namespaces").await?;
    Ok(spaces
        .body
        .as_array()
        .map(|a| a.iter().map(|ns| s(ns, "Name").to_string()).collect())
        .unwrap_or_default())
}

/// `GET list?namespace=NS` in every namespace; the lists the caller may read, refused only
/// when every namespace refused. Answers the lists and the paths read.
pub(super) async fn in_each_namespace(
    c: &Caller,
    list_path: &str,
) -> Result<(Vec<Value>, Vec<String>, u64), Refused> {
    let spaces = namespaces(c).await?;
    let paths: Vec<String> = spaces
        .iter()
        .map(|ns| format!("{list_path}?namespace={}", enc(ns)))
        .collect();
    let answers = futures_util::future::join_all(paths.iter().map(|p| c.get(p))).await;
    let mut items = Vec::new();
    let mut read = Vec::new();
    let mut index = 0;
    let mut first_refusal = None;
    for (path, a) in paths.into_iter().zip(answers) {
        match a {
            Ok(Answer { body, index: i }) => {
                items.extend(body.as_array().cloned().unwrap_or_default());
                read.push(path);
                index = index.max(i);
            }
            Err(r) => {
                first_refusal.get_or_insert(r);
            }
        }
    }
    match first_refusal {
        Some(r) if read.is_empty() => Err(r),
        _ => Ok((items, read, index)),
    }
}

pub(super) fn job_href(id: &str, ns: &str) -> String {
    format!("#/job/{}?namespace={}", enc(id), enc(ns))
}

pub(super) fn ns_of(v: &Value) -> &str {
    match s(v, "Namespace") {
        "" => "default",
        ns => ns,
    }
}

/// `#/jobs`: every job the token lists.
pub async fn jobs(c: &Caller) -> Page {
    let (list, watched, index) = in_each_namespace(c, "/v1/jobs").await?;
    let rows: Vec<Value> = list
        .iter()
        .map(|j| {
            let mut sum = [0u64; 6];
            let names = ["Queued", "Starting", "Running", "Failed", "Complete", "Lost"];
            let summary = j.get("JobSummary").and_then(|x| x.get("Summary"));
            if let Some(Value::Object(groups)) = summary {
                for g in groups.values() {
                    for (i, k) in names.iter().enumerate() {
                        sum[i] += u(g, k);
                    }
                }
            }
            let allocs = names
                .iter()
                .zip(sum)
                .filter(|(_, v)| *v > 0)
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let allocs = if allocs.is_empty() {
                "none".to_string()
            } else {
                allocs
            };
            let name = s_or(j, "Name", s(j, "ID"));
            json!({
                "name": name,
                "href": job_href(s(j, "ID"), ns_of(j)),
                "namespace": ns_of(j),
                "type": s(j, "Type"),
                "status": status(s(j, "Status")),
                "version": n(j, "Version"),
                "allocs": allocs,
            })
        })
        .collect();
    Ok(View::new("jobs.html", json!({ "jobs": rows }), watched, index))
}

fn failure(group: &str, m: &Value) -> Value {
    let mut items = Vec::new();
    for (c, k) in entries(m, "ConstraintFiltered") {
        items.push(json!({"lead": "Constraint", "code": c, "rest": format!("filtered {}", plural(k.as_u64().unwrap_or(0), "node"))}));
    }
    for (c, k) in entries(m, "ClassFiltered") {
        items.push(json!({"lead": "Node class", "code": c, "rest": format!("filtered {}", plural(k.as_u64().unwrap_or(0), "node"))}));
    }
    for (d, k) in entries(m, "DimensionExhausted") {
        items.push(json!({"lead": "Resources exhausted:", "code": d, "rest": format!("on {}", plural(k.as_u64().unwrap_or(0), "node"))}));
    }
    if items.is_empty() && u(m, "NodesEvaluated") == 0 {
        items.push(
            json!({"lead": "No ready node in the job's datacenters and node pool.", "code": "", "rest": ""}),
        );
    }
    let coalesced = u(m, "CoalescedFailures");
    json!({
        "group": group,
        "more": if coalesced > 0 { format!(" ({} allocations)", coalesced + 1) } else { String::new() },
        "summary": format!("Nodes evaluated: {}, filtered: {}, exhausted: {}, available: {}",
            u(m, "NodesEvaluated"), u(m, "NodesFiltered"), u(m, "NodesExhausted"), pairs(m.get("NodesAvailable"))),
        "items": items,
    })
}

pub(super) fn alloc_row(a: &Value) -> Value {
    let healthy = a
        .get("DeploymentStatus")
        .and_then(|d| d.get("Healthy"))
        .and_then(Value::as_bool)
        .map(|h| status(if h { "healthy" } else { "unhealthy" }));
    let node = if s(a, "NodeName").is_empty() {
        short(s(a, "NodeID"))
    } else {
        s(a, "NodeName").to_string()
    };
    json!({
        "id": short(s(a, "ID")),
        "href": format!("#/allocation/{}", enc(s(a, "ID"))),
        "job": s(a, "JobID"),
        "job_href": job_href(s(a, "JobID"), ns_of(a)),
        "group": s(a, "TaskGroup"),
        "node": node,
        "node_href": format!("#/node/{}", enc(s(a, "NodeID"))),
        "desired": s(a, "DesiredStatus"),
        "status": status(s(a, "ClientStatus")),
        "healthy": healthy,
        "version": n(a, "JobVersion"),
        "modified": when(a.get("ModifyTime")),
    })
}

fn deployment(d: &Value) -> Value {
    let groups: Vec<Value> = entries(d, "TaskGroups")
        .into_iter()
        .map(|(name, g)| {
            let desired_canaries = u(g, "DesiredCanaries");
            json!({
                "name": name,
                "desired": u(g, "DesiredTotal"),
                "placed": u(g, "PlacedAllocs"),
                "healthy": u(g, "HealthyAllocs"),
                "unhealthy": u(g, "UnhealthyAllocs"),
                "canaries": desired_canaries > 0,
                "desired_canaries": desired_canaries,
                "placed_canaries": list(g, "PlacedCanaries").len(),
                "promoted": if desired_canaries == 0 { status("none") }
                    else if g.get("Promoted").and_then(Value::as_bool).unwrap_or(false) { status("promoted") }
                    else { status("waiting") },
                "auto_promote": g.get("AutoPromote").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect();
    json!({
        "id": short(s(d, "ID")),
        "status": status(s(d, "Status")),
        "description": s(d, "StatusDescription"),
        "version": n(d, "JobVersion"),
        "groups": groups,
    })
}

/// `#/job/ID?namespace=NS`.
pub async fn job(c: &Caller, id: &str, ns: &str) -> Page {
    let base = format!("/v1/job/{}", enc(id));
    let q = format!("?namespace={}", enc(ns));
    let paths = [
        format!("{base}{q}"),
        format!("{base}/allocations{q}"),
        format!("{base}/evaluations{q}"),
        format!("{base}/deployments{q}"),
        format!("{base}/versions{q}"),
    ];
    let (j, allocs, evals, deps, versions) = tokio::join!(
        c.get(&paths[0]),
        c.get(&paths[1]),
        c.get(&paths[2]),
        c.get(&paths[3]),
        c.get(&paths[4]),
    );
    let (j, allocs, evals, deps, versions) = (j?, allocs?, evals?, deps?, versions?);
    let index = [&j, &allocs, &evals, &deps, &versions]
        .iter()
        .map(|a| a.index)
        .max()
        .unwrap_or(0);
    let job = &j.body;
    let groups: Vec<Value> = list(job, "TaskGroups")
        .iter()
        .map(|g| {
            let tasks = list(g, "Tasks")
                .iter()
                .map(|t| format!("{} ({})", s(t, "Name"), s(t, "Driver")))
                .collect::<Vec<_>>()
                .join(", ");
            let count = if n(g, "Count").is_empty() {
                "1".into()
            } else {
                n(g, "Count")
            };
            json!({"name": s(g, "Name"), "count": count, "tasks": tasks})
        })
        .collect();
    let dcs = list(job, "Datacenters")
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let facts = vec![
        fact_status("Status", s(job, "Status")),
        fact("Type", s(job, "Type")),
        fact("Version", n(job, "Version")),
        fact("Namespace", ns_of(job)),
        fact("Datacenters", dcs),
        fact("Node pool", s_or(job, "NodePool", "default")),
    ];
    let mut alloc_list: Vec<&Value> = allocs
        .body
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    alloc_list.sort_by_key(|a| std::cmp::Reverse(u(a, "CreateIndex")));
    let eval_list: Vec<&Value> = evals
        .body
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    // The newest evaluation that failed a placement says why the job is short now.
    let failed = eval_list
        .iter()
        .filter(|e| s(e, "Status") != "canceled" && !entries(e, "FailedTGAllocs").is_empty())
        .max_by_key(|e| u(e, "ModifyIndex"));
    let failures = failed.map(|e| {
        json!({
            "eval": short(s(e, "ID")),
            "status": s(e, "Status"),
            "groups": entries(e, "FailedTGAllocs").into_iter().map(|(g, m)| failure(g, m)).collect::<Vec<_>>(),
        })
    });
    let mut eval_rows: Vec<&Value> = eval_list.clone();
    eval_rows.sort_by_key(|e| std::cmp::Reverse(u(e, "ModifyIndex")));
    let eval_rows: Vec<Value> = eval_rows
        .iter()
        .take(20)
        .map(|e| {
            json!({
                "id": short(s(e, "ID")),
                "triggered_by": s(e, "TriggeredBy"),
                "status": status(s(e, "Status")),
                "description": s(e, "StatusDescription"),
                "modified": when(e.get("ModifyTime")),
            })
        })
        .collect();
    let latest_deployment = deps
        .body
        .as_array()
        .and_then(|d| d.iter().max_by_key(|x| u(x, "CreateIndex")))
        .map(deployment);
    let version_rows = version_rows(id, ns, &versions.body);
    let ctx = json!({
        "id": id,
        "namespace": ns,
        "facts": facts,
        "groups": groups,
        "deployment": latest_deployment,
        "allocs": alloc_list.iter().take(200).map(|a| alloc_row(a)).collect::<Vec<_>>(),
        "alloc_count": alloc_list.len(),
        "failures": failures,
        "evals": eval_rows,
        "versions": version_rows,
        "versions_href": format!("#/job/{}/versions?namespace={}", enc(id), enc(ns)),
    });
    let watched = paths.to_vec();
    Ok(View::new("job.html", ctx, watched, index))
}

fn versions_of(body: &Value) -> Vec<&Value> {
    list(body, "Versions").iter().collect()
}

fn version_rows(id: &str, ns: &str, body: &Value) -> Vec<Value> {
    let versions = versions_of(body);
    versions
        .iter()
        .map(|v| {
            let this = u(v, "Version");
            let compare = (this > 0 && versions.iter().any(|o| u(o, "Version") == this - 1)).then(|| {
                format!(
                    "#/job/{}/versions?namespace={}&a={}&b={this}",
                    enc(id),
                    enc(ns),
                    this - 1
                )
            });
            json!({
                "version": this,
                "stable": if v.get("Stable").and_then(Value::as_bool).unwrap_or(false) { status("stable") } else { status("not stable") },
                "submitted": when(v.get("SubmitTime")),
                "compare": compare,
            })
        })
        .collect()
}

/// Diff lines of two versions, each with the class its marker gives it.
fn version_diff(old: &Value, new: &Value) -> Result<Vec<Value>, String> {
    let old: Job =
        serde_json::from_value(old.clone()).map_err(|e| format!("reading the older version: {e}"))?;
    let new: Job =
        serde_json::from_value(new.clone()).map_err(|e| format!("reading the newer version: {e}"))?;
    let d = crate::spec::diff::diff(Some(&old), Some(&new), &HashSet::new());
    let mut out = String::new();
    render_job_diff(&mut out, &d, 0, false, &Painter { color: false });
    Ok(shape::diff_lines(&out))
}

/// `#/job/ID/versions?namespace=NS&a=N&b=M`: the retained versions and the diff of two.
pub async fn versions(c: &Caller, id: &str, ns: &str, a: Option<u64>, b: Option<u64>) -> Page {
    let path = format!("/v1/job/{}/versions?namespace={}", enc(id), enc(ns));
    let answer = c.get(&path).await?;
    let all = versions_of(&answer.body);
    let numbers: Vec<u64> = all.iter().map(|v| u(v, "Version")).collect();
    let newest = numbers.iter().copied().max().unwrap_or(0);
    let b = b.unwrap_or(newest);
    let a = a.unwrap_or(b.saturating_sub(1));
    let find = |n: u64| all.iter().find(|v| u(v, "Version") == n).copied();
    let (diff, problem) = match (find(a), find(b)) {
        (Some(x), Some(y)) => match version_diff(x, y) {
            Ok(lines) => (lines, None),
            Err(e) => (Vec::new(), Some(e)),
        },
        _ => (
            Vec::new(),
            Some(format!(
                "version {a} or {b} is not retained; retained: {}",
                numbers.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
            )),
        ),
    };
    let ctx = json!({
        "id": id,
        "namespace": ns,
        "job_href": job_href(id, ns),
        "form_hash": format!("/job/{}/versions", enc(id)),
        "numbers": numbers,
        "a": a,
        "b": b,
        "diff": diff,
        "unchanged": problem.is_none() && diff.len() <= 1,
        "problem": problem,
        "versions": version_rows(id, ns, &answer.body),
    });
    Ok(View::new("versions.html", ctx, vec![path], answer.index))
}
