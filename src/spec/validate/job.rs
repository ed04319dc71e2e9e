//! Job-level checks: identity, type, priority, datacenters, periodic and parameterized
//! settings, and the walk down into each group.

use std::collections::BTreeSet;

use super::limits::{MAX_JOB_ID_LEN, MAX_NAME_LEN, check_group_total, name_problem};
use super::placement::{check_affinity, check_constraint, check_spreads};
use super::policy::{check_reschedule, check_update};
use super::{Checker, group};
use crate::spec::job::{Job, ParameterizedJobConfig, PeriodicConfig};

const JOB_TYPES: &[&str] = &["service", "batch", "system", "sysbatch"];

/// Checks the whole job.
pub(super) fn check_job(c: &mut Checker, job: &Job) {
    check_identity(c, job);
    let job_type = job.job_type();
    if !JOB_TYPES.contains(&job_type) {
        c.push(
            Some("Type"),
            format!(
                "invalid job type {job_type:?}; expected one of {}",
                JOB_TYPES.join(", ")
            ),
        );
    }
    if let Some(p) = job.priority
        && !(1..=100).contains(&p)
    {
        c.push(Some("Priority"), format!("priority {p} is outside 1..=100"));
    }
    if let Some(dcs) = &job.datacenters
        && dcs.iter().any(|d| d.is_empty())
    {
        c.push(Some("Datacenters"), "a datacenter name is empty");
    }
    for (i, con) in job.constraints.iter().flatten().enumerate() {
        check_constraint(c, i, con);
    }
    for (i, aff) in job.affinities.iter().flatten().enumerate() {
        check_affinity(c, i, aff);
    }
    check_spreads(c, job.spreads.as_deref().unwrap_or(&[]));
    if let Some(u) = &job.update {
        c.scoped("update".into(), "Update".into(), |c| check_update(c, u));
    }
    if let Some(r) = &job.reschedule {
        c.scoped("reschedule".into(), "Reschedule".into(), |c| {
            check_reschedule(c, r)
        });
    }
    if let Some(p) = &job.periodic {
        c.scoped("periodic".into(), "Periodic".into(), |c| {
            check_periodic(c, p, job_type)
        });
    }
    if let Some(p) = &job.parameterized_job {
        c.scoped("parameterized".into(), "ParameterizedJob".into(), |c| {
            check_parameterized(c, p, job_type)
        });
    }
    check_groups(c, job, job_type);
}

/// The job's ID, name and namespace.
fn check_identity(c: &mut Checker, job: &Job) {
    let id = job.id();
    if id.is_empty() {
        c.push(Some("ID"), "job ID is missing");
    } else if id.contains(' ') {
        c.push(Some("ID"), format!("job ID {id:?} contains a space"));
    } else if let Some(problem) = name_problem("job ID", id, MAX_JOB_ID_LEN) {
        c.push(Some("ID"), problem);
    }
    if let Some(name) = job.name.as_deref()
        && let Some(problem) = name_problem("job name", name, MAX_NAME_LEN)
    {
        c.push(Some("Name"), problem);
    }
    if let Some(ns) = &job.namespace
        && ns.is_empty()
    {
        c.push(Some("Namespace"), "namespace must not be empty");
    }
}

fn check_periodic(c: &mut Checker, p: &PeriodicConfig, job_type: &str) {
    if !matches!(job_type, "batch" | "sysbatch") {
        c.push(
            None,
            format!("periodic can only be used with batch or sysbatch jobs, not {job_type}"),
        );
    }
    let specs: Vec<&str> = p
        .spec
        .iter()
        .map(String::as_str)
        .chain(p.specs.iter().flatten().map(String::as_str))
        .filter(|s| !s.is_empty())
        .collect();
    if specs.is_empty() && p.enabled != Some(false) {
        c.push(Some("Spec"), "a cron expression is required");
    }
    for spec in specs {
        if let Err(e) = crate::spec::cron::parse(spec) {
            c.push(Some("Spec"), format!("invalid cron expression {spec:?}: {e}"));
        }
    }
    if let Some(tz) = &p.time_zone
        && !tz.is_empty()
        && tz.parse::<chrono_tz::Tz>().is_err()
    {
        c.push(Some("TimeZone"), format!("unknown time zone {tz:?}"));
    }
}

fn check_parameterized(c: &mut Checker, p: &ParameterizedJobConfig, job_type: &str) {
    if !matches!(job_type, "batch" | "sysbatch") {
        c.push(
            None,
            format!("parameterized can only be used with batch or sysbatch jobs, not {job_type}"),
        );
    }
    if !matches!(p.payload.as_str(), "" | "optional" | "required" | "forbidden") {
        c.push(
            Some("Payload"),
            format!(
                "payload must be optional, required or forbidden, not {:?}",
                p.payload
            ),
        );
    }
}

/// The groups: at least one, at most the limit, names unique, each checked.
fn check_groups(c: &mut Checker, job: &Job, job_type: &str) {
    let groups = job.groups();
    if groups.is_empty() {
        c.push(Some("TaskGroups"), "a job needs at least one group");
    }
    check_group_total(c, groups.len());
    let mut seen = BTreeSet::new();
    for (i, g) in groups.iter().enumerate() {
        let name = g.name();
        let label = if name.is_empty() {
            format!("group[{i}]")
        } else {
            format!("group {name:?}")
        };
        if !name.is_empty() && !seen.insert(name) {
            c.push(None, format!("group {name:?} is defined twice"));
        }
        c.scoped(label, format!("TaskGroups[{i}]"), |c| {
            group::check_group(c, g, job_type)
        });
    }
}
