//! From a group's `service` blocks to Nomad-native registrations and runnable check plans,
//! resolved against the allocation's ports and tasks.

use super::env::{PortMapping, alloc_ports};
use super::health::{CheckPlan, ScriptPlace};
use super::task_runner::AllocInfo;
use crate::cluster::fsm::ServiceRegistration;
use crate::spec::Service;

/// Every service of the group and its tasks, with the task it belongs to ("" for the group).
pub fn all_services(info: &AllocInfo) -> Vec<(String, Service)> {
    let mut out: Vec<(String, Service)> = info
        .group
        .services
        .iter()
        .flatten()
        .map(|s| (s.task_name.clone(), s.clone()))
        .collect();
    for t in info.group.tasks.iter().flatten() {
        out.extend(t.services.iter().flatten().map(|s| (t.name.clone(), s.clone())));
    }
    // Consul is not part of the built-in cluster: every service is registered natively.
    out
}

fn port<'a>(ports: &'a [PortMapping], label: &str) -> Option<&'a PortMapping> {
    ports.iter().find(|p| p.label == label)
}

/// The registrations of the allocation's services.
pub fn registrations(info: &AllocInfo, node_id: &str, datacenter: &str) -> Vec<ServiceRegistration> {
    let ports = alloc_ports(&info.alloc);
    all_services(info)
        .into_iter()
        .map(|(task, s)| {
            let p = port(&ports, &s.port_label);
            let (address, port_value) = match (p, s.port_label.parse::<u16>()) {
                (Some(p), _) => (p.host_ip.clone(), p.value),
                (None, Ok(n)) => ("127.0.0.1".to_owned(), n),
                (None, Err(_)) => ("127.0.0.1".to_owned(), 0),
            };
            let owner = if task.is_empty() {
                info.alloc.task_group.clone()
            } else {
                task
            };
            ServiceRegistration {
                id: format!(
                    "_nomad-task-{}-{owner}-{}-{}",
                    info.alloc.id, s.name, s.port_label
                ),
                service_name: s.name.clone(),
                namespace: info.namespace().to_owned(),
                node_id: node_id.to_owned(),
                datacenter: datacenter.to_owned(),
                job_id: info.alloc.job_id.clone(),
                alloc_id: info.alloc.id.clone(),
                tags: s.tags.clone().unwrap_or_default(),
                address: if s.address.is_empty() {
                    address
                } else {
                    s.address.clone()
                },
                port: port_value,
                ..Default::default()
            }
        })
        .collect()
}

/// The checks to run, with `script_env` and `script_place` given by `env_of(task)`.
pub fn check_plans(
    info: &AllocInfo,
    env_of: impl Fn(&str) -> (Vec<(String, String)>, ScriptPlace),
) -> Vec<CheckPlan> {
    let ports = alloc_ports(&info.alloc);
    let mut out = Vec::new();
    for (task, s) in all_services(info) {
        for (i, c) in s.checks.iter().flatten().enumerate() {
            let label = if c.port_label.is_empty() {
                &s.port_label
            } else {
                &c.port_label
            };
            let address = match port(&ports, label) {
                Some(p) => format!("{}:{}", p.host_ip, p.value),
                None => format!("127.0.0.1:{label}"),
            };
            let check_task = if c.task_name.is_empty() {
                task.clone()
            } else {
                c.task_name.clone()
            };
            let (script_env, script_place) = env_of(&check_task);
            let name = if c.name.is_empty() {
                format!("{}.check{i}", s.name)
            } else {
                format!("{}.{}", s.name, c.name)
            };
            out.push(CheckPlan {
                name,
                task: check_task,
                check: c.clone(),
                address,
                restart: c.check_restart.clone().or_else(|| s.check_restart.clone()),
                script_env,
                script_place,
            });
        }
    }
    out
}
