//! The pages of what runs where: an allocation (task states and events, its log), nodes, a
//! node (resources used and free, its allocations) and the servers.

use serde_json::{Value, json};

use super::View;
use super::fetch::{Caller, enc};
use super::pages::{Page, alloc_row, job_href, ns_of};
use super::shape::{entries, fact, fact_link, fact_status, list, n, s, s_or, short, status, u, when};

/// `#/allocation/ID?task=T&type=stdout|stderr`.
pub async fn allocation(c: &Caller, id: &str, task: Option<&str>, kind: Option<&str>) -> Page {
    let path = format!("/v1/allocation/{}", enc(id));
    let answer = c.get(&path).await?;
    let a = &answer.body;
    let job = a.get("Job").cloned().unwrap_or(Value::Null);
    let version = if n(&job, "Version").is_empty() {
        n(a, "JobVersion")
    } else {
        n(&job, "Version")
    };
    let node = s_or(a, "NodeName", s(a, "NodeID"));
    let mut facts = vec![
        fact("ID", s(a, "ID")),
        fact_link("Job", s(a, "JobID"), &job_href(s(a, "JobID"), ns_of(a))),
        fact("Group", s(a, "TaskGroup")),
        fact_link("Node", node, &format!("#/node/{}", enc(s(a, "NodeID")))),
        fact_status("Client status", s(a, "ClientStatus")),
        fact("Desired", s(a, "DesiredStatus")),
        fact("Job version", version),
    ];
    if let Some(h) = a
        .get("DeploymentStatus")
        .and_then(|d| d.get("Healthy"))
        .and_then(Value::as_bool)
    {
        facts.push(fact_status("Health", if h { "healthy" } else { "unhealthy" }));
    }
    if !s(a, "ClientDescription").is_empty() {
        facts.push(fact("Description", s(a, "ClientDescription")));
    }
    let states = entries(a, "TaskStates");
    let tasks: Vec<Value> = states
        .iter()
        .map(|(name, t)| {
            let mut events: Vec<Value> = list(t, "Events")
                .iter()
                .map(|e| {
                    let msg = s_or(e, "DisplayMessage", s(e, "Message"));
                    json!({"time": when(e.get("Time")), "type": s(e, "Type"), "message": msg})
                })
                .collect();
            events.reverse();
            json!({
                "name": name,
                "state": status(s(t, "State")),
                "failed": t.get("Failed").and_then(Value::as_bool).unwrap_or(false),
                "restarts": u(t, "Restarts"),
                "started": when(t.get("StartedAt")),
                "finished": when(t.get("FinishedAt")),
                "events": events,
            })
        })
        .collect();
    let names: Vec<&str> = states.iter().map(|(k, _)| k.as_str()).collect();
    let log_task = task.filter(|t| names.contains(t)).or(names.first().copied());
    let kind = if kind == Some("stderr") {
        "stderr"
    } else {
        "stdout"
    };
    let log_links: Vec<Value> = names
        .iter()
        .flat_map(|t| {
            ["stdout", "stderr"].map(|k| {
                json!({
                    "label": format!("{t} {k}"),
                    "href": format!("#/allocation/{}?task={}&type={k}", enc(s(a, "ID")), enc(t)),
                    "current": Some(*t) == log_task && k == kind,
                })
            })
        })
        .collect();
    let ctx = json!({
        "short": short(s(a, "ID")),
        "id": s(a, "ID"),
        "facts": facts,
        "tasks": tasks,
        "log_task": log_task,
        "log_type": kind,
        "log_links": log_links,
    });
    Ok(View::new("allocation.html", ctx, vec![path], answer.index))
}

fn drivers(n: &Value) -> String {
    entries(n, "Drivers")
        .into_iter()
        .filter(|(_, d)| d.get("Detected").and_then(Value::as_bool).unwrap_or(false))
        .map(|(k, d)| {
            if d.get("Healthy").and_then(Value::as_bool).unwrap_or(false) {
                k.clone()
            } else {
                format!("{k} (unhealthy)")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `#/nodes`.
pub async fn nodes(c: &Caller) -> Page {
    let path = "/v1/nodes".to_string();
    let answer = c.get(&path).await?;
    let rows: Vec<Value> = answer
        .body
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|x| {
            json!({
                "name": s(x, "Name"),
                "href": format!("#/node/{}", enc(s(x, "ID"))),
                "id": short(s(x, "ID")),
                "status": status(s(x, "Status")),
                "eligibility": status(s(x, "SchedulingEligibility")),
                "drain": if x.get("Drain").and_then(Value::as_bool).unwrap_or(false) { status("draining") } else { status("no") },
                "datacenter": s(x, "Datacenter"),
                "class": s(x, "NodeClass"),
                "pool": s_or(x, "NodePool", "default"),
                "address": s(x, "Address"),
                "drivers": drivers(x),
            })
        })
        .collect();
    Ok(View::new(
        "nodes.html",
        json!({ "nodes": rows }),
        vec![path],
        answer.index,
    ))
}

/// Used resources of the allocations still on a node: (CPU MHz, memory MiB, disk MiB).
fn used(allocs: &[Value]) -> (u64, u64, u64) {
    let live = allocs.iter().filter(|a| {
        s(a, "DesiredStatus") == "run" && !matches!(s(a, "ClientStatus"), "complete" | "failed" | "lost")
    });
    let mut out = (0, 0, 0);
    for a in live {
        let r = a.get("AllocatedResources").cloned().unwrap_or(Value::Null);
        for (_, t) in entries(&r, "Tasks") {
            out.0 += t.get("Cpu").map_or(0, |c| u(c, "CpuShares"));
            out.1 += t.get("Memory").map_or(0, |m| u(m, "MemoryMB"));
        }
        out.2 += r.get("Shared").map_or(0, |sh| u(sh, "DiskMB"));
    }
    out
}

/// `#/node/ID`.
pub async fn node(c: &Caller, id: &str) -> Page {
    let paths = [
        format!("/v1/node/{}", enc(id)),
        format!("/v1/node/{}/allocations", enc(id)),
    ];
    let (node, allocs) = tokio::join!(c.get(&paths[0]), c.get(&paths[1]));
    let (node, allocs) = (node?, allocs?);
    let x = &node.body;
    let alloc_list = allocs.body.as_array().cloned().unwrap_or_default();
    let res = x.get("NodeResources").cloned().unwrap_or(Value::Null);
    let reserved = x.get("ReservedResources").cloned().unwrap_or(Value::Null);
    let pick = |v: &Value, a: &str, b: &str| v.get(a).map_or(0, |o| u(o, b));
    let total = (
        pick(&res, "Cpu", "CpuShares"),
        pick(&res, "Memory", "MemoryMB"),
        pick(&res, "Disk", "DiskMB"),
    );
    let held = (
        pick(&reserved, "Cpu", "CpuShares"),
        pick(&reserved, "Memory", "MemoryMB"),
        pick(&reserved, "Disk", "DiskMB"),
    );
    let use_ = used(&alloc_list);
    let row = |name: &str, unit: &str, t: u64, r: u64, used: u64| {
        json!({
            "name": name, "unit": unit, "total": t, "reserved": r, "used": used,
            "free": t.saturating_sub(r).saturating_sub(used),
            "percent": if t > r { (used * 100 / (t - r)).min(100) } else { 0 },
        })
    };
    let resources = vec![
        row("CPU", "MHz", total.0, held.0, use_.0),
        row("Memory", "MiB", total.1, held.1, use_.1),
        row("Disk", "MiB", total.2, held.2, use_.2),
    ];
    let facts = vec![
        fact("ID", s(x, "ID")),
        fact_status("Status", s(x, "Status")),
        fact_status("Eligibility", s(x, "SchedulingEligibility")),
        fact_status(
            "Drain",
            if x.get("Drain").and_then(Value::as_bool).unwrap_or(false) {
                "draining"
            } else {
                "no"
            },
        ),
        fact("Datacenter", s(x, "Datacenter")),
        fact("Class", s_or(x, "NodeClass", "(none)")),
        fact("Node pool", s_or(x, "NodePool", "default")),
        fact("Address", s(x, "HTTPAddr")),
        fact("Drivers", drivers(x)),
    ];
    let meta: Vec<Value> = entries(x, "Meta")
        .into_iter()
        .map(|(k, v)| json!({"k": k, "v": v.as_str().map_or_else(|| v.to_string(), str::to_string)}))
        .collect();
    let mut sorted: Vec<&Value> = alloc_list.iter().collect();
    sorted.sort_by_key(|a| std::cmp::Reverse(u(a, "CreateIndex")));
    let ctx = json!({
        "name": s(x, "Name"),
        "facts": facts,
        "meta": meta,
        "resources": resources,
        "allocs": sorted.iter().take(200).map(|a| alloc_row(a)).collect::<Vec<_>>(),
    });
    let index = node.index.max(allocs.index);
    Ok(View::new("node.html", ctx, paths.to_vec(), index))
}

/// `#/servers`.
pub async fn servers(c: &Caller) -> Page {
    let (raft, me) = tokio::join!(c.get("/v1/operator/raft/configuration"), c.get("/v1/agent/self"));
    let (raft, me) = (raft?, me?);
    let stats = me.body.get("stats").cloned().unwrap_or(Value::Null);
    let r = stats.get("raft").cloned().unwrap_or(Value::Null);
    let nomad = stats.get("nomad").cloned().unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let name = me
        .body
        .get("config")
        .map(|c| s(c, "NodeName").to_string())
        .unwrap_or_default();
    let leader = text(&nomad, "leader_addr");
    let facts = vec![
        fact("Name", name),
        fact_status("Raft role", &text(&r, "state").to_lowercase()),
        fact("Term", text(&r, "term")),
        fact("Last log index", text(&r, "last_log_index")),
        fact("Applied index", text(&r, "applied_index")),
        fact("Peers", text(&r, "num_peers")),
        fact(
            "Leader",
            if leader.is_empty() {
                "(none known)".into()
            } else {
                leader
            },
        ),
    ];
    let servers: Vec<Value> = list(&raft.body, "Servers")
        .iter()
        .map(|x| {
            let leads = x.get("Leader").and_then(Value::as_bool).unwrap_or(false);
            json!({
                "id": s(x, "ID"),
                "address": s(x, "Address"),
                "role": status(if leads { "leader" } else { "follower" }),
                "voter": if x.get("Voter").and_then(Value::as_bool).unwrap_or(false) { "yes" } else { "no" },
            })
        })
        .collect();
    Ok(View::new(
        "servers.html",
        json!({"facts": facts, "servers": servers}),
        Vec::new(),
        0,
    ))
}
