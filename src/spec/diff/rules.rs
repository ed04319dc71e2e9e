//! Nomad's rules for what a change forces: which fields replace allocations
//! (`forces create/destroy update`) and which update them where they run
//! (`forces in-place update`), and the per-group allocation counts that follow.
//!
//! Following Nomad's scheduler (`tasksUpdated`): a task's driver, user, config, env, artifacts,
//! templates, meta, resources, vault, volume mounts, lifecycle, identity and placement
//! constraints replace its allocations; so do a group's networks, volumes, ephemeral disk,
//! meta and placement rules, and a task added to or removed from an existing group. A count
//! change, services, restart/reschedule/update policies, kill timeouts and job-level meta and
//! priority are applied in place.

use std::collections::BTreeMap;

use super::{DiffType, FORCES_CREATE, FORCES_CREATE_DESTROY, FORCES_DESTROY, FORCES_IN_PLACE};
use super::{FieldDiff, JobDiff, ObjectDiff, TaskDiff};
use crate::spec::Job;

/// Task fields and objects whose change replaces the task's allocations.
pub const DESTRUCTIVE_TASK_FIELDS: &[&str] = &[
    "Driver",
    "User",
    "Config",
    "Env",
    "Artifact",
    "Template",
    "Meta",
    "Resources",
    "Vault",
    "VolumeMount",
    "Lifecycle",
    "Identity",
    "Identities",
    "Constraint",
    "Affinity",
    "DispatchPayload",
    "CSIPluginConfig",
    "Leader",
    "Consul",
];

/// Group objects and fields whose change replaces the group's allocations.
pub const DESTRUCTIVE_GROUP_OBJECTS: &[&str] = &[
    "Network",
    "Networks",
    "Volumes",
    "EphemeralDisk",
    "Meta",
    "Constraint",
    "Affinity",
    "Spread",
    "Consul",
];

/// Job-level fields and objects whose change replaces every allocation.
pub const DESTRUCTIVE_JOB_FIELDS: &[&str] = &[
    "Type",
    "Datacenters",
    "NodePool",
    "Constraint",
    "Affinity",
    "Spread",
    "Region",
    "Namespace",
];

fn touches(fields: &[FieldDiff], objects: &[ObjectDiff], names: &[&str]) -> bool {
    fields.iter().any(|f| names.contains(&f.name.as_str()))
        || objects.iter().any(|o| names.contains(&o.name.as_str()))
}

pub(super) fn job_is_destructive(fields: &[FieldDiff], objects: &[ObjectDiff]) -> bool {
    touches(fields, objects, DESTRUCTIVE_JOB_FIELDS)
}

pub(super) fn group_is_destructive(fields: &[FieldDiff], objects: &[ObjectDiff], tasks: &[TaskDiff]) -> bool {
    touches(fields, objects, DESTRUCTIVE_GROUP_OBJECTS)
        || tasks
            .iter()
            .any(|t| t.annotations.iter().any(|a| a == FORCES_CREATE_DESTROY))
}

/// The annotation of a task by its own change and its group's.
pub(super) fn task_annotation(
    group: DiffType,
    task: DiffType,
    fields: &[FieldDiff],
    objects: &[ObjectDiff],
) -> &'static str {
    match (group, task) {
        (DiffType::Added, _) => FORCES_CREATE,
        (DiffType::Deleted, _) => FORCES_DESTROY,
        (_, DiffType::Added | DiffType::Deleted) => FORCES_CREATE_DESTROY,
        _ if touches(fields, objects, DESTRUCTIVE_TASK_FIELDS) => FORCES_CREATE_DESTROY,
        _ => FORCES_IN_PLACE,
    }
}

/// Expected allocation changes of a group.
pub(super) fn group_updates(
    group: DiffType,
    job: DiffType,
    old_count: u64,
    new_count: u64,
    destructive: bool,
) -> BTreeMap<String, u64> {
    let mut u = BTreeMap::new();
    let mut put = |k: &str, n: u64| {
        if n > 0 {
            u.insert(k.to_string(), n);
        }
    };
    match group {
        DiffType::Added => put("create", new_count),
        DiffType::Deleted => put("destroy", old_count),
        DiffType::None if job != DiffType::Edited => {}
        _ => {
            let kept = old_count.min(new_count);
            put(
                if destructive {
                    "create/destroy update"
                } else {
                    "in-place update"
                },
                kept,
            );
            put("create", new_count.saturating_sub(old_count));
            put("destroy", old_count.saturating_sub(new_count));
        }
    }
    u
}

/// `Count` up forces creates, down forces destroys (Nomad's annotation).
pub(super) fn annotate_count(fields: &mut [FieldDiff]) {
    for f in fields
        .iter_mut()
        .filter(|f| f.name == "Count" && f.r#type == DiffType::Edited)
    {
        let (o, n) = (
            f.old.parse::<i64>().unwrap_or(0),
            f.new.parse::<i64>().unwrap_or(0),
        );
        let a = if n > o { FORCES_CREATE } else { FORCES_DESTROY };
        f.annotations = Some(vec![a.to_string()]);
    }
}

/// The job without what servers set (indexes, version, status, times, tokens), so that a
/// live job and a recorded spec compare on what the user wrote.
pub(crate) fn without_server_fields(job: &Job) -> Job {
    let mut j = job.clone();
    j.status = None;
    j.status_description = None;
    j.stable = None;
    j.version = None;
    j.submit_time = None;
    j.create_index = None;
    j.modify_index = None;
    j.job_modify_index = None;
    j.nomad_token_id = None;
    j.consul_token = None;
    j.vault_token = None;
    j.version_tag = None;
    j
}

fn names(fields: &[FieldDiff], objects: &[ObjectDiff]) -> Vec<String> {
    let mut v: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    v.extend(objects.iter().map(|o| o.name.clone()));
    v.dedup();
    v
}

/// One sentence saying why: the first thing that forces replacement, else what changed.
pub(super) fn reason(diff: &JobDiff) -> String {
    match diff.r#type {
        DiffType::Added => return "not in the recorded state".into(),
        DiffType::Deleted => return "no longer in the stack".into(),
        DiffType::None => return "no changes".into(),
        DiffType::Edited => {}
    }
    let job_destructive: Vec<String> = names(&diff.fields, &diff.objects)
        .into_iter()
        .filter(|n| DESTRUCTIVE_JOB_FIELDS.contains(&n.as_str()))
        .collect();
    if !job_destructive.is_empty() {
        return format!(
            "job {} changed (forces create/destroy update)",
            job_destructive.join(", ")
        );
    }
    for g in &diff.task_groups {
        for t in &g.tasks {
            if t.annotations.iter().any(|a| a == FORCES_CREATE_DESTROY) {
                let what = match t.r#type {
                    DiffType::Added => "added".to_string(),
                    DiffType::Deleted => "removed".to_string(),
                    _ => format!("{} changed", names(&t.fields, &t.objects).join(", ")),
                };
                return format!(
                    "task \"{}\" in group \"{}\": {what} (forces create/destroy update)",
                    t.name, g.name
                );
            }
        }
        let gd: Vec<String> = names(&g.fields, &g.objects)
            .into_iter()
            .filter(|n| DESTRUCTIVE_GROUP_OBJECTS.contains(&n.as_str()))
            .collect();
        if !gd.is_empty() {
            return format!(
                "group \"{}\": {} changed (forces create/destroy update)",
                g.name,
                gd.join(", ")
            );
        }
    }
    let mut parts = Vec::new();
    let top = names(&diff.fields, &diff.objects);
    if !top.is_empty() {
        parts.push(format!("job {}", top.join(", ")));
    }
    for g in &diff.task_groups {
        match g.r#type {
            DiffType::Added => parts.push(format!("group \"{}\" added", g.name)),
            DiffType::Deleted => parts.push(format!("group \"{}\" removed", g.name)),
            DiffType::Edited => {
                let mut n = names(&g.fields, &g.objects);
                n.extend(
                    g.tasks
                        .iter()
                        .map(|t| format!("task \"{}\" {}", t.name, names(&t.fields, &t.objects).join(", "))),
                );
                parts.push(format!("group \"{}\": {}", g.name, n.join(", ")));
            }
            DiffType::None => {}
        }
    }
    format!("{} changed (in-place update)", parts.join("; "))
}
