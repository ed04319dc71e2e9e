//! Applying what clients report: allocation status and task states, allocation health (which
//! moves deployments to successful or failed), service registrations, and a node going down.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::command::Outcome;
use super::evaluation::Evaluation;
use super::service::ServiceRegistration;
use super::state::State;

/// Client status strings, as Nomad spells them.
pub mod client_status {
    /// Not started yet.
    pub const PENDING: &str = "pending";
    /// Tasks are running.
    pub const RUNNING: &str = "running";
    /// Every task finished successfully.
    pub const COMPLETE: &str = "complete";
    /// A task failed.
    pub const FAILED: &str = "failed";
    /// The node went down while the allocation ran.
    pub const LOST: &str = "lost";

    /// Whether `status` is final.
    pub fn is_terminal(status: &str) -> bool {
        matches!(status, COMPLETE | FAILED | LOST)
    }
}

/// One allocation's client-side state, as a client reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocClientUpdate {
    /// Allocation ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// pending, running, complete, failed.
    pub client_status: String,
    /// Detail of the status.
    pub client_description: String,
    /// Task name → Nomad `TaskState` object.
    pub task_states: Value,
    /// Nomad `AllocDeploymentStatus` (`Healthy`, `Timestamp`), once health is known.
    pub deployment_status: Option<Value>,
    /// Time of the report, Unix nanoseconds.
    pub modify_time: i64,
}

impl State {
    pub(super) fn apply_alloc_client_update(
        &mut self,
        index: u64,
        updates: Vec<AllocClientUpdate>,
    ) -> Outcome {
        let mut deployments = Vec::new();
        for u in updates {
            let Some(alloc) = self.allocs.get_mut(&u.id) else {
                continue;
            };
            // A lost allocation stays lost: its node was declared down and it was replaced.
            if alloc.client_status == client_status::LOST {
                continue;
            }
            alloc.client_status = u.client_status;
            alloc.client_description = u.client_description;
            alloc.extra.insert("TaskStates".into(), u.task_states);
            if let Some(ds) = u.deployment_status {
                alloc.extra.insert("DeploymentStatus".into(), ds);
                if !alloc.deployment_id.is_empty() {
                    deployments.push(alloc.deployment_id.clone());
                }
            }
            alloc.modify_time = u.modify_time;
            alloc.modify_index = index;
            if client_status::is_terminal(&alloc.client_status) {
                let id = alloc.id.clone();
                self.remove_services_of(index, &id);
            }
        }
        for id in deployments {
            self.recount_deployment(index, &id);
        }
        self.bump_table("allocs", index);
        Outcome::Done
    }

    /// Recounts healthy and unhealthy allocations of a running deployment and moves it to
    /// failed (any unhealthy allocation) or successful (every group has its desired total).
    fn recount_deployment(&mut self, index: u64, id: &str) {
        let mut counts: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
        for a in self.allocs.values().filter(|a| a.deployment_id == id) {
            let healthy = a
                .extra
                .get("DeploymentStatus")
                .and_then(|d| d.get("Healthy"))
                .and_then(Value::as_bool);
            let entry = counts.entry(a.task_group.clone()).or_default();
            match healthy {
                Some(true) => entry.0 += 1,
                Some(false) => entry.1 += 1,
                None => {}
            }
        }
        let Some(d) = self.deployments.get_mut(id) else {
            return;
        };
        if d.status != "running" {
            return;
        }
        let groups = d.extra.entry("TaskGroups").or_insert_with(|| json!({}));
        let mut all_done = true;
        let mut any_unhealthy = false;
        if let Some(groups) = groups.as_object_mut() {
            for (name, (healthy, unhealthy)) in &counts {
                let g = groups.entry(name.clone()).or_insert_with(|| json!({}));
                g["HealthyAllocs"] = json!(healthy);
                g["UnhealthyAllocs"] = json!(unhealthy);
                any_unhealthy |= *unhealthy > 0;
            }
            for g in groups.values() {
                let desired = g.get("DesiredTotal").and_then(Value::as_u64).unwrap_or(1);
                let healthy = g.get("HealthyAllocs").and_then(Value::as_u64).unwrap_or(0);
                all_done &= healthy >= desired;
            }
        }
        if any_unhealthy {
            d.status = "failed".into();
            d.status_description = "Failed due to unhealthy allocations".into();
        } else if all_done {
            d.status = "successful".into();
            d.status_description = "Deployment completed successfully".into();
        }
        d.modify_index = index;
        self.bump_table("deployments", index);
    }

    pub(super) fn apply_service_register(
        &mut self,
        index: u64,
        alloc_id: &str,
        services: Vec<ServiceRegistration>,
    ) -> Outcome {
        let terminal = self
            .allocs
            .get(alloc_id)
            .is_none_or(|a| client_status::is_terminal(&a.client_status));
        self.remove_services_of(index, alloc_id);
        if terminal {
            return Outcome::Done;
        }
        for mut s in services {
            s.alloc_id = alloc_id.to_owned();
            s.create_index = index;
            s.modify_index = index;
            self.services.insert(s.id.clone(), s);
        }
        self.bump_table("services", index);
        Outcome::Done
    }

    fn remove_services_of(&mut self, index: u64, alloc_id: &str) {
        let before = self.services.len();
        self.services.retain(|_, s| s.alloc_id != alloc_id);
        if self.services.len() != before {
            self.bump_table("services", index);
        }
    }

    /// Marks a node down, its unfinished allocations lost (desired stop, so a returning client
    /// stops them), removes their services, and creates the evaluations that replace them.
    pub(super) fn apply_node_down(
        &mut self,
        index: u64,
        node_id: &str,
        updated_at: i64,
        evals: Vec<Evaluation>,
    ) -> Outcome {
        let Some(node) = self.nodes.get_mut(node_id) else {
            return Outcome::NotFound {
                message: format!("node {node_id} not found"),
            };
        };
        node.status = "down".into();
        node.status_updated_at = updated_at;
        node.modify_index = index;
        self.bump_table("nodes", index);
        let lost: Vec<String> = self
            .allocs
            .values()
            .filter(|a| a.node_id == node_id && !client_status::is_terminal(&a.client_status))
            .map(|a| a.id.clone())
            .collect();
        for id in &lost {
            if let Some(a) = self.allocs.get_mut(id) {
                a.client_status = client_status::LOST.into();
                a.client_description = "node is down".into();
                a.desired_status = "stop".into();
                a.desired_description = "alloc is lost since its node is down".into();
                a.modify_index = index;
                a.alloc_modify_index = index;
            }
            self.remove_services_of(index, id);
        }
        if !lost.is_empty() {
            self.bump_table("allocs", index);
        }
        if !evals.is_empty() {
            self.apply_eval_upsert_pub(index, evals);
        }
        Outcome::Done
    }

    /// Services whose name is `name` in `namespace`, sorted by ID.
    pub fn services_named<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a ServiceRegistration> {
        self.services
            .values()
            .filter(move |s| s.service_name == name && (namespace == "*" || s.namespace == namespace))
    }
}
