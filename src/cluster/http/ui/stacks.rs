//! The stacks pages, from shared state in this cluster's KV (`deploy/stacks/<stack>/...`,
//! see [`crate::state::ClusterStorage`]): the stacks, a stack's revisions, the jobs of its
//! latest one and an apply in progress (its lock and journal), and one revision's plan as
//! `deploy plan` prints it (the change from the revision before it).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::View;
use super::fetch::{Caller, Refused, enc, enc_path};
use super::shape::{diff_lines, s, status};
use crate::graph::StackGraph;
use crate::plan::{PlanOptions, TextOptions, plan, render_text};
use crate::stack::Stack;
use crate::state::{JOURNAL_FILE, JournalEntry, JournalHeader, Revision, default_prefix};

type Page = Result<View, Refused>;

/// Where stacks keep their state unless their state block sets another prefix.
const ROOT: &str = "deploy/stacks/";

/// The lock's key under a stack's prefix (as `state::cluster` writes it).
const LOCK_KEY: &str = "lock";

/// Most revisions a stack page lists (newest first).
const MAX_LISTED: usize = 100;

/// One stack's keys: revisions by serial (their text), the lock holder, the journal.
#[derive(Default)]
struct Keys {
    revisions: BTreeMap<u64, String>,
    lock: Option<String>,
    journal: Option<String>,
}

fn serial_of(name: &str) -> Option<u64> {
    name.strip_prefix("rev-")?.strip_suffix(".json")?.parse().ok()
}

/// The KV entries under `prefix`, grouped by stack name.
async fn read_keys(c: &Caller, prefix: &str) -> Result<(BTreeMap<String, Keys>, String, u64), Refused> {
    let path = format!("/v1/deploy/kv?prefix={}", enc(prefix));
    let answer = c.get(&path).await?;
    let mut stacks: BTreeMap<String, Keys> = BTreeMap::new();
    for e in answer.body.as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(rest) = s(e, "Key").strip_prefix(ROOT) else {
            continue;
        };
        let Some((stack, name)) = rest.split_once('/') else {
            continue;
        };
        let keys = stacks.entry(stack.to_string()).or_default();
        let value = s(e, "Value").to_string();
        if let Some(serial) = serial_of(name) {
            keys.revisions.insert(serial, value);
        } else if name == LOCK_KEY {
            keys.lock = Some(value);
        } else if name == JOURNAL_FILE {
            keys.journal = Some(value);
        }
    }
    Ok((stacks, path, answer.index))
}

fn parse(stack: &str, serial: u64, text: &str) -> Result<Revision, String> {
    let at = format!(
        "{}/{}",
        default_prefix(stack),
        crate::state::revision_file_name(serial)
    );
    Revision::from_bytes(Path::new(&at), text.as_bytes()).map_err(|e| e.to_string())
}

fn stack_href(name: &str) -> String {
    format!("#/stack/{}", enc(name))
}

/// `#/stacks`.
pub async fn stacks(c: &Caller) -> Page {
    let (all, path, index) = read_keys(c, ROOT).await?;
    let rows: Vec<Value> = all
        .iter()
        .map(|(name, k)| {
            let latest = k.revisions.iter().next_back();
            let created = latest
                .and_then(|(serial, text)| parse(name, *serial, text).ok())
                .map(|r| r.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default();
            json!({
                "name": name,
                "href": stack_href(name),
                "revisions": k.revisions.len(),
                "latest": latest.map(|(s, _)| *s),
                "created": created,
                "state": activity(k),
            })
        })
        .collect();
    Ok(View::new(
        "stacks.html",
        json!({"stacks": rows}),
        vec![path],
        index,
    ))
}

fn activity(k: &Keys) -> Value {
    match (&k.journal, &k.lock) {
        (Some(_), _) => status("applying"),
        (None, Some(_)) => status("locked"),
        (None, None) => status("idle"),
    }
}

/// The journal of an apply in progress: its base, and each job's outcome so far.
fn journal_view(text: &str) -> Value {
    let mut lines = text.lines();
    let header: Option<JournalHeader> = lines.next().and_then(|l| serde_json::from_str(l).ok());
    let outcomes: Vec<Value> = lines
        .filter_map(|l| serde_json::from_str::<JournalEntry>(l).ok())
        .map(|e| match e {
            JournalEntry::Record(r) => json!({
                "address": r.address.to_string(),
                "outcome": r.gate.as_ref().map_or_else(|| "applied".to_string(), |g| g.detail.clone()),
                "status": status(if r.gate.as_ref().is_none_or(|g| g.passed) { "complete" } else { "failed" }),
            }),
            JournalEntry::Remove(a) => json!({
                "address": a.to_string(), "outcome": "removed", "status": status("stopped"),
            }),
        })
        .collect();
    json!({
        "base": header.as_ref().and_then(|h| h.base_serial),
        "serial": header.as_ref().map(|h| h.revision.serial),
        "outcomes": outcomes,
    })
}

/// `#/stack/NAME`.
pub async fn stack(c: &Caller, name: &str) -> Page {
    let (mut all, path, index) = read_keys(c, &format!("{ROOT}{name}/")).await?;
    let keys = all.remove(name).unwrap_or_default();
    if keys.revisions.is_empty() && keys.lock.is_none() && keys.journal.is_none() {
        return Err(Refused {
            status: axum::http::StatusCode::NOT_FOUND,
            message: format!("no stack {name:?} keeps its state under {ROOT}"),
            path: format!("{ROOT}{name}"),
        });
    }
    let mut problems = Vec::new();
    let mut revisions = Vec::new();
    let mut latest: Option<Revision> = None;
    for (serial, text) in keys.revisions.iter().rev().take(MAX_LISTED) {
        match parse(name, *serial, text) {
            Ok(r) => {
                revisions.push(json!({
                    "serial": serial,
                    "href": format!("#/stack/{}/rev/{serial}", enc(name)),
                    "created": r.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    "jobs": r.jobs.len(),
                    "lineage": r.lineage.chars().take(8).collect::<String>(),
                }));
                if latest.is_none() {
                    latest = Some(r);
                }
            }
            Err(e) => problems.push(format!("revision {serial}: {e}")),
        }
    }
    let jobs: Vec<Value> = latest
        .as_ref()
        .map(|r| {
            r.jobs
                .iter()
                .map(|j| {
                    let ns = j.spec.namespace();
                    json!({
                        "address": j.address.to_string(),
                        "id": j.spec.id(),
                        "href": format!("#/job/{}?namespace={}", enc(j.spec.id()), enc(ns)),
                        "namespace": ns,
                        "version": j.job_version,
                        "gate": j.gate.as_ref().map(|g| g.detail.clone()).unwrap_or_default(),
                        "applied": j.applied_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let ctx = json!({
        "name": name,
        "state": activity(&keys),
        "lock": keys.lock,
        "journal": keys.journal.as_deref().map(journal_view),
        "revisions": revisions,
        "count": keys.revisions.len(),
        "latest": latest.as_ref().map(|r| r.serial),
        "jobs": jobs,
        "problems": problems,
    });
    Ok(View::new("stack.html", ctx, vec![path], index))
}

/// The plan from `before` (none: the first apply) to `after`, as `deploy plan` prints it.
fn plan_text(before: Option<&Revision>, after: &Revision) -> Result<String, String> {
    let base = Stack {
        settings: crate::stack::StackSettings {
            name: after.stack.clone(),
            ..Default::default()
        },
        ..Default::default()
    };
    let target = crate::apply::stack_at(after, &base);
    let graph = StackGraph::build(&target).map_err(|e| format!("{e:?}"))?;
    let p = plan(&target, &graph, before, None, &PlanOptions::default()).map_err(|e| e.to_string())?;
    Ok(render_text(&p, &TextOptions::default()))
}

/// `#/stack/NAME/rev/N`: what revision N changed, as a plan.
pub async fn revision(c: &Caller, name: &str, serial: u64) -> Page {
    let key = |n: u64| {
        format!(
            "/v1/deploy/kv/{}",
            enc_path(&format!("{ROOT}{name}/{}", crate::state::revision_file_name(n)))
        )
    };
    let this = c.get(&key(serial)).await?;
    let after = parse(name, serial, s(&this.body, "Value")).map_err(|e| Refused {
        status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        message: e,
        path: format!("{ROOT}{name}/rev-{serial:06}.json"),
    })?;
    let before = if serial > 1 {
        match c.get(&key(serial - 1)).await {
            Ok(a) => parse(name, serial - 1, s(&a.body, "Value")).ok(),
            Err(_) => None,
        }
    } else {
        None
    };
    let (text, problem) = match plan_text(before.as_ref(), &after) {
        Ok(t) => (t, None),
        Err(e) => (String::new(), Some(e)),
    };
    let lines = diff_lines(&text);
    let ctx = json!({
        "name": name,
        "stack_href": stack_href(name),
        "serial": serial,
        "before": before.as_ref().map(|b| b.serial),
        "created": after.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        "lines": lines,
        "problem": problem,
    });
    Ok(View::new("revision.html", ctx, Vec::new(), this.index))
}
