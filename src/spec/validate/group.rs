//! Group-level checks: name, count, policies, ephemeral disk, networks, volumes, services,
//! and the walk down into each task.

use std::collections::BTreeSet;

use super::limits::{MAX_NAME_LEN, check_count, check_task_total, name_problem};
use super::placement::{check_affinity, check_constraint, check_spreads};
use super::policy::{check_reschedule, check_restart, check_update};
use super::service::check_service;
use super::{Checker, task};
use crate::spec::group::TaskGroup;
use crate::spec::network::NetworkResource;

/// Checks one group of a job of type `job_type`.
pub(super) fn check_group(c: &mut Checker, group: &TaskGroup, job_type: &str) {
    let name = group.name();
    if name.is_empty() {
        c.push(Some("Name"), "group name is missing");
    } else if let Some(problem) = name_problem("group name", name, MAX_NAME_LEN) {
        c.push(Some("Name"), problem);
    }
    if let Some(count) = group.count {
        if count < 0 {
            c.push(Some("Count"), format!("count {count} is negative"));
        }
        if job_type == "system" && count > 1 {
            c.push(
                Some("Count"),
                "system jobs run one allocation per node: count must be 0 or 1",
            );
        }
        check_count(c, count);
    }
    for (i, con) in group.constraints.iter().flatten().enumerate() {
        check_constraint(c, i, con);
    }
    for (i, aff) in group.affinities.iter().flatten().enumerate() {
        check_affinity(c, i, aff);
    }
    check_spreads(c, group.spreads.as_deref().unwrap_or(&[]));
    check_policies(c, group);
    if let Some(d) = &group.ephemeral_disk
        && d.size_mb.is_some_and(|s| s <= 0)
    {
        // Said at the group level, as Nomad does, but located at the `size` attribute.
        c.json.push("EphemeralDisk".into());
        c.push(Some("SizeMB"), "ephemeral_disk size must be positive");
        c.json.pop();
    }
    check_networks(c, group.networks.as_deref().unwrap_or(&[]));
    check_volumes(c, group);
    for (i, service) in group.services.iter().flatten().enumerate() {
        check_service(c, i, service);
    }
    check_tasks(c, group);
}

fn check_policies(c: &mut Checker, group: &TaskGroup) {
    if let Some(r) = &group.restart_policy {
        c.scoped("restart".into(), "RestartPolicy".into(), |c| check_restart(c, r));
    }
    if let Some(r) = &group.reschedule_policy {
        c.scoped("reschedule".into(), "ReschedulePolicy".into(), |c| {
            check_reschedule(c, r)
        });
    }
    if let Some(u) = &group.update {
        c.scoped("update".into(), "Update".into(), |c| check_update(c, u));
    }
}

/// Port labels are unique across the group's networks; values fit a port.
fn check_networks(c: &mut Checker, networks: &[NetworkResource]) {
    let mut labels = BTreeSet::new();
    for (i, network) in networks.iter().enumerate() {
        c.scoped("network".into(), format!("Networks[{i}]"), |c| {
            for port in network
                .reserved_ports
                .iter()
                .flatten()
                .chain(network.dynamic_ports.iter().flatten())
            {
                if !labels.insert(port.label.clone()) {
                    c.push(None, format!("port label {:?} is used twice", port.label));
                }
                if !(0..=65535).contains(&port.value) {
                    c.push(
                        None,
                        format!(
                            "port {:?}: static value {} is outside 0..=65535",
                            port.label, port.value
                        ),
                    );
                }
                if !(-1..=65535).contains(&port.to) {
                    c.push(
                        None,
                        format!("port {:?}: to = {} is outside 0..=65535", port.label, port.to),
                    );
                }
            }
        });
    }
}

fn check_volumes(c: &mut Checker, group: &TaskGroup) {
    for (name, vol) in group.volumes.iter().flatten() {
        c.scoped(format!("volume {name:?}"), format!("Volumes.{name}"), |c| {
            if !matches!(vol.r#type.as_str(), "host" | "csi") {
                c.push(
                    Some("Type"),
                    format!("volume type must be host or csi, not {:?}", vol.r#type),
                );
            }
            if vol.source.is_empty() {
                c.push(Some("Source"), "volume source is missing");
            }
        });
    }
}

/// The tasks: at least one, at most the limit, names unique, one leader at most.
fn check_tasks(c: &mut Checker, group: &TaskGroup) {
    let tasks = group.tasks();
    if tasks.is_empty() {
        c.push(Some("Tasks"), "a group needs at least one task");
    }
    check_task_total(c, tasks.len());
    let mut seen = BTreeSet::new();
    let mut leaders = 0;
    for (i, t) in tasks.iter().enumerate() {
        if !t.name.is_empty() && !seen.insert(t.name.as_str()) {
            c.push(None, format!("task {:?} is defined twice", t.name));
        }
        leaders += usize::from(t.leader);
        c.scoped(format!("task {:?}", t.name), format!("Tasks[{i}]"), |c| {
            task::check_task(c, t, group)
        });
    }
    if leaders > 1 {
        c.push(None, "only one task may be the leader");
    }
}
