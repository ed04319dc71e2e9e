//! Applying what clients report and what the leader's heartbeat tracker decides: allocation
//! status, task states and health; Nomad-native service registrations; a node going down.
//!
//! Deployment status is not decided here: the leader's deployment watcher reads the health
//! recorded here and commits its verdict as a command of its own.

use super::command::Outcome;
use super::payload::AllocClientUpdate;
use super::state::{CAPACITY, State};
use crate::api::{ClientStatus, DesiredStatus, Evaluation, NodeStatus, ServiceRegistration};

impl State {
    /// Records client reports. `evals` (chosen by the proposer, e.g. `alloc-failure` for
    /// allocations that just failed) are created with them.
    pub(super) fn apply_alloc_client_update(
        &mut self,
        index: u64,
        updates: Vec<AllocClientUpdate>,
        evals: Vec<Evaluation>,
    ) -> Outcome {
        let mut jobs = Vec::new();
        let mut health_changed = false;
        let mut freed = false;
        for u in updates {
            let Some(alloc) = self.allocs.get_mut(&u.id) else {
                continue;
            };
            // A lost allocation stays lost: its node was declared down and it was replaced.
            if alloc.client_status == ClientStatus::Lost {
                continue;
            }
            let held = !alloc.is_terminal();
            alloc.client_status = u.client_status;
            if held && alloc.is_terminal() {
                freed = true;
            }
            alloc.client_description = u.client_description;
            alloc.task_states = Some(u.task_states);
            if let Some(mut ds) = u.deployment_status {
                // Health is decided once per allocation; a later report cannot flip it.
                let known = alloc.deployment_status.as_ref().and_then(|d| d.healthy);
                if known.is_none() {
                    // Whether it is a canary is the scheduler's to say, not the client's.
                    ds.canary = alloc.deployment_status.as_ref().is_some_and(|d| d.canary);
                    ds.modify_index = index;
                    alloc.deployment_status = Some(ds);
                    health_changed = true;
                }
            }
            alloc.modify_time = u.modify_time;
            alloc.modify_index = index;
            let terminal = alloc.client_status.is_terminal();
            let (id, ns, job) = (alloc.id.clone(), alloc.namespace.clone(), alloc.job_id.clone());
            if terminal {
                self.remove_services_of(index, &id);
            }
            jobs.push((ns, job));
        }
        self.bump_table("allocs", index);
        if freed {
            self.bump_table(CAPACITY, index);
        }
        if health_changed {
            self.bump_table("deployments", index);
        }
        if !evals.is_empty() {
            self.apply_eval_upsert(index, evals);
        }
        jobs.sort();
        jobs.dedup();
        for (ns, job) in jobs {
            self.refresh_job_status(index, &ns, &job);
        }
        Outcome::Done
    }

    /// Replaces the service registrations of `alloc_id` (none once it is terminal).
    pub(super) fn apply_service_register(
        &mut self,
        index: u64,
        alloc_id: &str,
        services: Vec<ServiceRegistration>,
    ) -> Outcome {
        let terminal = self
            .allocs
            .get(alloc_id)
            .is_none_or(|a| a.client_status.is_terminal() || a.desired_status != DesiredStatus::Run);
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

    pub(super) fn remove_services_of(&mut self, index: u64, alloc_id: &str) {
        let before = self.services.len();
        self.services.retain(|_, s| s.alloc_id != alloc_id);
        if self.services.len() != before {
            self.bump_table("services", index);
        }
    }

    /// Marks a node down and its unfinished allocations lost (their services go), and creates
    /// the `node-update` evaluations through which the scheduler stops and replaces them.
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
        node.status = NodeStatus::Down;
        node.status_description = "node missed its heartbeat TTL".into();
        node.status_updated_at = updated_at;
        node.modify_index = index;
        self.bump_table("nodes", index);
        self.mark_allocs_lost(index, node_id, "alloc is lost since its node is down");
        if !evals.is_empty() {
            self.apply_eval_upsert(index, evals);
        }
        Outcome::Done
    }

    /// Services named `name` in `namespace` (`*` = every namespace).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AllocDeploymentStatus, Allocation, Node, NodeStatus};
    use crate::cluster::fsm::Command;

    fn state() -> State {
        let mut s = State::default();
        let node = Node {
            id: "n1".into(),
            status: NodeStatus::Ready,
            ..Default::default()
        };
        s.apply(1, Command::NodeUpsert { node: Box::new(node) });
        for id in ["a1", "a2"] {
            let a = Allocation {
                id: id.into(),
                namespace: "default".into(),
                job_id: "web".into(),
                node_id: "n1".into(),
                client_status: ClientStatus::Running,
                ..Default::default()
            };
            s.allocs.insert(id.into(), a);
        }
        s
    }

    fn report(id: &str, status: ClientStatus, healthy: Option<bool>) -> AllocClientUpdate {
        AllocClientUpdate {
            id: id.into(),
            client_status: status,
            deployment_status: healthy.map(|h| AllocDeploymentStatus {
                healthy: Some(h),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn service(id: &str, alloc: &str) -> ServiceRegistration {
        ServiceRegistration {
            id: id.into(),
            service_name: "web".into(),
            namespace: "default".into(),
            alloc_id: alloc.into(),
            ..Default::default()
        }
    }

    #[test]
    fn node_down_loses_its_allocations_and_their_services_and_creates_evals() {
        let mut s = state();
        s.apply(
            2,
            Command::ServiceRegister {
                alloc_id: "a1".into(),
                services: vec![service("s1", "a1")],
            },
        );
        assert_eq!(s.services_named("default", "web").count(), 1);
        let eval = Evaluation {
            id: "e1".into(),
            job_id: "web".into(),
            ..Default::default()
        };
        s.apply(
            3,
            Command::NodeDown {
                node_id: "n1".into(),
                updated_at: 10,
                evals: vec![eval],
            },
        );
        assert_eq!(s.nodes["n1"].status, NodeStatus::Down);
        assert!(s.allocs.values().all(|a| a.client_status == ClientStatus::Lost));
        assert_eq!(s.services_named("default", "web").count(), 0);
        assert_eq!(s.evals["e1"].create_index, 3);

        // A report from the node after it was declared down changes nothing.
        s.apply(
            4,
            Command::AllocClientUpdate {
                updates: vec![report("a1", ClientStatus::Running, None)],
                evals: vec![],
            },
        );
        assert_eq!(s.allocs["a1"].client_status, ClientStatus::Lost);
    }

    #[test]
    fn health_is_recorded_once_and_terminal_allocations_lose_their_services() {
        let mut s = state();
        s.apply(
            2,
            Command::AllocClientUpdate {
                updates: vec![report("a1", ClientStatus::Running, Some(true))],
                evals: vec![],
            },
        );
        let ds = s.allocs["a1"].deployment_status.clone().unwrap();
        assert_eq!((ds.healthy, ds.modify_index), (Some(true), 2));
        assert_eq!(s.table_index("deployments"), 2);
        s.apply(
            3,
            Command::AllocClientUpdate {
                updates: vec![report("a1", ClientStatus::Running, Some(false))],
                evals: vec![],
            },
        );
        assert_eq!(
            s.allocs["a1"].deployment_status.as_ref().unwrap().healthy,
            Some(true)
        );

        s.apply(
            4,
            Command::ServiceRegister {
                alloc_id: "a2".into(),
                services: vec![service("s2", "a2")],
            },
        );
        s.apply(
            5,
            Command::AllocClientUpdate {
                updates: vec![report("a2", ClientStatus::Failed, None)],
                evals: vec![],
            },
        );
        assert_eq!(s.services_named("*", "web").count(), 0);
        // A terminal allocation cannot register services again.
        s.apply(
            6,
            Command::ServiceRegister {
                alloc_id: "a2".into(),
                services: vec![service("s2", "a2")],
            },
        );
        assert_eq!(s.services_named("*", "web").count(), 0);
    }
}
