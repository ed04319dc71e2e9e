//! What a Nomad server adds to a job on registration: the implicit constraints of its
//! admission hook (`jobImplicitConstraints` in Nomad's `job_endpoint_hooks.go`), so that a
//! group lands only on nodes that can run what it uses.
//!
//! ```text
//!  task group uses ...                      constraint appended (once) to the group
//!  a `vault` block (default cluster)        ${attr.vault.version}           semver  >= 0.6.1
//!  a `vault` block in cluster C             ${attr.vault.C.version}         semver  >= 0.6.1
//!  kill_signal / signal change_mode         ${attr.os.signals}        set_contains  SIGHUP,...
//!  a service with provider = "nomad"        ${attr.nomad.service_discovery}    =    true
//!  ... with checks                          ${attr.nomad.version}           semver  >= 1.4.0
//!  a Consul service (default cluster)       ${attr.consul.version}          semver  >= 1.8.0
//!  a Consul service in cluster C            ${attr.consul.C.version}        semver  >= 1.8.0
//!  workload identities (named `identity`    ${attr.nomad.version}           semver  >= 1.7.0-a
//!    blocks of tasks, service identities)
//! ```
//!
//! The last is the client version check of Nomad's implicit-identities hook: clients before
//! 1.7 cannot use workload identities.
//!
//! [`admit`] adds them (the built-in cluster does so on register, as Nomad does);
//! [`without_admission`] takes from a live job the ones its server added to what was written,
//! so that comparing a recorded job with the live one shows only real drift.

use std::collections::BTreeSet;

use super::{Constraint, Job, Service, TaskGroup};

const SEMVER: &str = "semver";

fn constraint(l: &str, operand: &str, r: &str) -> Constraint {
    Constraint {
        l_target: l.into(),
        r_target: r.into(),
        operand: operand.into(),
    }
}

/// `${attr.NAME.version}` for the default cluster, `${attr.NAME.CLUSTER.version}` else.
fn cluster_version(name: &str, cluster: &str) -> String {
    if cluster.is_empty() || cluster == "default" {
        format!("${{attr.{name}.version}}")
    } else {
        format!("${{attr.{name}.{cluster}.version}}")
    }
}

/// The constraints Nomad's admission adds to one group, in the order it adds them.
pub fn implicit_constraints(tg: &TaskGroup) -> Vec<Constraint> {
    let tasks = tg.tasks.as_deref().unwrap_or_default();
    let mut out: Vec<Constraint> = Vec::new();
    let mut push = |c: Constraint| {
        if !out.contains(&c) {
            out.push(c);
        }
    };
    for vault in tasks.iter().filter_map(|t| t.vault.as_ref()) {
        push(constraint(
            &cluster_version("vault", &vault.cluster),
            SEMVER,
            ">= 0.6.1",
        ));
    }
    let signals = required_signals(tg);
    if !signals.is_empty() {
        let list: Vec<&str> = signals.iter().map(String::as_str).collect();
        push(constraint("${attr.os.signals}", "set_contains", &list.join(",")));
    }
    let services: Vec<&Service> = tg
        .services
        .iter()
        .flatten()
        .chain(tasks.iter().flat_map(|t| t.services.iter().flatten()))
        .collect();
    let nomad: Vec<&&Service> = services.iter().filter(|s| s.provider == "nomad").collect();
    if !nomad.is_empty() {
        push(constraint("${attr.nomad.service_discovery}", "=", "true"));
    }
    if nomad
        .iter()
        .any(|s| s.checks.as_ref().is_some_and(|c| !c.is_empty()))
    {
        push(constraint("${attr.nomad.version}", SEMVER, ">= 1.4.0"));
    }
    for s in services
        .iter()
        .filter(|s| s.provider.is_empty() || s.provider == "consul")
    {
        push(constraint(
            &cluster_version("consul", &s.cluster),
            SEMVER,
            ">= 1.8.0",
        ));
    }
    let identities = tasks
        .iter()
        .any(|t| t.identities.as_ref().is_some_and(|i| !i.is_empty()))
        || services.iter().any(|s| s.identity.is_some());
    if identities {
        push(constraint("${attr.nomad.version}", SEMVER, ">= 1.7.0-a"));
    }
    out
}

/// The signals a group's tasks need the node to deliver: kill signals, and the change signal
/// of a `vault` or `template` block whose change mode is `signal`; sorted, each once.
fn required_signals(tg: &TaskGroup) -> BTreeSet<String> {
    let mut signals = BTreeSet::new();
    for t in tg.tasks.iter().flatten() {
        if !t.kill_signal.is_empty() {
            signals.insert(t.kill_signal.clone());
        }
        if let Some(v) = &t.vault
            && v.change_mode.as_deref() == Some("signal")
        {
            signals.extend(v.change_signal.clone());
        }
        for tpl in t.templates.iter().flatten() {
            if tpl.change_mode.as_deref() == Some("signal") {
                signals.extend(tpl.change_signal.clone());
            }
        }
    }
    signals
}

/// The job as a Nomad server stores it after admission: each group's implicit constraints
/// appended where the group does not have them already.
pub fn admit(mut job: Job) -> Job {
    for tg in job.task_groups.iter_mut().flatten() {
        let add = implicit_constraints(tg);
        if add.is_empty() {
            continue;
        }
        let have = tg.constraints.get_or_insert_with(Vec::new);
        for c in add {
            if !have.contains(&c) {
                have.push(c);
            }
        }
    }
    job
}

/// The live job without what its server added on registration: per group, each implicit
/// constraint the live group implies that `written` (the job as the stack wrote it) does not
/// carry itself. A constraint the user wrote stays, and so does one nothing implies.
pub fn without_admission(mut live: Job, written: &Job) -> Job {
    let groups = written.task_groups.as_deref().unwrap_or_default();
    for tg in live.task_groups.iter_mut().flatten() {
        let w = groups.iter().find(|w| w.name == tg.name);
        let wrote = w.and_then(|w| w.constraints.as_deref()).unwrap_or_default();
        let added: Vec<Constraint> = implicit_constraints(tg)
            .into_iter()
            .filter(|c| !wrote.contains(c))
            .collect();
        if added.is_empty() {
            continue;
        }
        if let Some(have) = tg.constraints.as_mut() {
            have.retain(|c| !added.contains(c));
            if have.is_empty() && w.is_none_or(|w| w.constraints.is_none()) {
                tg.constraints = None;
            }
        }
    }
    live
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;
