//! The replicated state: every table, the latest applied index, and the apply dispatch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::command::{ClientRequest, Command, CommandResponse, Outcome};
use super::eval_table::EvalTable;
use super::records::{AclState, JobRecord, KvEntry, Lease, PeriodicLaunches};
use super::requests::AppliedRequests;
use super::variable::SealedVariable;
use crate::api::{Allocation, Deployment, Evaluation, Node, SchedulingEligibility, ServiceRegistration};
use crate::cluster::keyring::KeyringTable;

/// The `table_index` entry that moves when an allocation stops holding resources (it is
/// desired to stop, or it ended on its client): the scheduler worker wakes the evaluations
/// blocked on exhausted resources when it moves.
pub const CAPACITY: &str = "capacity";

/// All replicated objects. Serialised whole as the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Latest applied Raft index (any entry, including membership and blank ones).
    pub index: u64,
    /// Per table ("jobs", "evals", "allocs", "deployments", "nodes", "vars", "kv"): the
    /// index of its last change, for blocking queries and `X-Nomad-Index`.
    pub table_index: BTreeMap<String, u64>,
    /// namespace → job ID → job with versions.
    pub jobs: BTreeMap<String, BTreeMap<String, JobRecord>>,
    /// Evaluation ID → evaluation, with the broker's pending and blocked indexes.
    pub evals: EvalTable,
    /// Allocation ID → allocation.
    pub allocs: super::alloc_table::AllocTable,
    /// Deployment ID → deployment.
    pub deployments: super::DeploymentTable,
    /// Node ID → node.
    pub nodes: BTreeMap<String, Node>,
    /// namespace → path → variable, items sealed.
    pub variables: BTreeMap<String, BTreeMap<String, SealedVariable>>,
    /// Key → entry.
    pub kv: BTreeMap<String, KvEntry>,
    /// Lease ID → lease.
    pub leases: BTreeMap<String, Lease>,
    /// Service registration ID → Nomad-native service instance.
    pub services: BTreeMap<String, ServiceRegistration>,
    /// Last launch of each periodic job.
    pub periodic_launches: PeriodicLaunches,
    /// ACL tokens.
    pub acl: AclState,
    /// Root keys, wrapped under the servers' KEK.
    pub keyring: KeyringTable,
    /// Namespaces created through the API, by name (`default` is implied).
    pub namespaces: BTreeMap<String, super::namespace::Namespace>,
    /// Recently applied client request IDs with their first response.
    pub requests: AppliedRequests,
    /// Scaling events by namespace, job and group, newest first.
    pub scaling_events: super::scaling::ScalingEvents,
    /// Jobs given a new current version or `ModifyIndex` since the event stream last took them.
    #[serde(skip)]
    pub(crate) written_jobs: WrittenJobs,
    /// Allocations by node (derived from `allocs` after each entry; not replicated).
    #[serde(skip)]
    pub node_allocs: super::node_allocs::NodeAllocIndex,
}

/// (namespace, job ID) of jobs written by apply, for the event stream, which would otherwise
/// walk every job after each write. Derived from apply, so not part of the replicated state:
/// not serialised, and equal whatever it holds.
#[derive(Debug, Clone, Default)]
pub struct WrittenJobs(Vec<(String, String)>);

impl PartialEq for WrittenJobs {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl WrittenJobs {
    /// Notes that the job `id` in `namespace` was written.
    pub(crate) fn note(&mut self, namespace: &str, id: &str) {
        self.0.push((namespace.to_owned(), id.to_owned()));
    }

    /// The jobs noted since the last call, sorted, each once.
    pub(crate) fn take(&mut self) -> Vec<(String, String)> {
        let mut jobs = std::mem::take(&mut self.0);
        jobs.sort_unstable();
        jobs.dedup();
        jobs
    }
}

impl State {
    /// Applies `cmd` written at Raft index `index`. Deterministic: depends only on its inputs.
    pub fn apply(&mut self, index: u64, cmd: Command) -> CommandResponse {
        let allocs_before = self.table_index.get("allocs").copied();
        let touched = super::node_allocs::Touched::of(&cmd);
        let resp = self.apply_command(index, cmd);
        let changed = self.table_index.get("allocs").copied() != allocs_before;
        self.node_allocs.update(&self.allocs, index, changed, &touched);
        resp
    }

    fn apply_command(&mut self, index: u64, cmd: Command) -> CommandResponse {
        let outcome = match cmd {
            Command::JobRegister(reg) => self.apply_job_register(index, *reg),
            Command::JobDeregister(dereg) => self.apply_job_deregister(index, *dereg),
            Command::EvalUpsert { evals } => self.apply_eval_upsert(index, evals),
            Command::EvalDelete { ids } => self.apply_eval_delete(index, &ids),
            Command::GcCollect(gc) => self.apply_gc(index, *gc),
            Command::PlanApply(plan) => self.apply_plan(index, *plan),
            Command::AllocUpsert { allocs } => self.apply_alloc_upsert(index, allocs),
            Command::AllocClientUpdate { updates, evals } => {
                self.apply_alloc_client_update(index, updates, evals)
            }
            Command::ServiceRegister { alloc_id, services } => {
                self.apply_service_register(index, &alloc_id, services)
            }
            Command::NodeDown {
                node_id,
                updated_at,
                evals,
            } => self.apply_node_down(index, &node_id, updated_at, evals),
            Command::DeploymentUpdate(u) => self.apply_deployment_update(index, *u),
            Command::DeploymentUpsert { deployments } => self.apply_deployment_upsert(index, deployments),
            Command::JobStable {
                namespace,
                job_id,
                version,
                stable,
            } => self.apply_job_stable(index, &namespace, &job_id, version, stable),
            Command::PeriodicLaunch(launch) => self.apply_periodic_launch(index, *launch),
            Command::AllocStop { alloc_ids, eval } => self.apply_alloc_stop(index, &alloc_ids, *eval),
            Command::DeploymentAction(action) => self.apply_deployment_action(index, *action),
            Command::AclBootstrap {
                token,
                secret_hash,
                reset_index,
            } => self.apply_acl_bootstrap(index, *token, secret_hash, reset_index),
            Command::AclPolicyUpsert { policies } => self.apply_acl_policy_upsert(index, policies),
            Command::AclPolicyDelete { names } => self.apply_acl_policy_delete(index, &names),
            Command::AclTokenUpsert { token, secret_hash } => {
                self.apply_acl_token_upsert(index, *token, secret_hash)
            }
            Command::AclTokenDelete { accessors } => self.apply_acl_token_delete(index, &accessors),
            Command::KeyringAdd { key, only_if_none } => {
                if !(only_if_none && self.keyring.active().is_some()) {
                    self.keyring.add_active(index, *key);
                    self.bump_table("keyring", index);
                }
                Outcome::Done
            }
            Command::NodeUpsert { node } => self.apply_node_upsert(index, *node),
            Command::NodeStatus {
                node_id,
                status,
                updated_at,
            } => self.update_node(index, &node_id, |n| {
                n.status = status;
                n.status_updated_at = updated_at;
            }),
            Command::NodeEligibility { node_id, eligibility } => {
                self.update_node(index, &node_id, |n| n.scheduling_eligibility = eligibility)
            }
            Command::NodeDrain {
                node_id,
                strategy,
                mark_eligible,
            } => self.update_node(index, &node_id, |n| {
                n.drain = strategy.is_some();
                if strategy.is_some() {
                    n.scheduling_eligibility = SchedulingEligibility::Ineligible;
                } else if mark_eligible {
                    n.scheduling_eligibility = SchedulingEligibility::Eligible;
                }
                n.drain_strategy = strategy;
            }),
            Command::NodeDelete { node_id } => self.apply_node_delete(index, &node_id),
            Command::NodePurge { node_id, evals } => self.apply_node_purge(index, &node_id, evals),
            Command::ReconcileSummaries => self.apply_reconcile_summaries(index),
            Command::AllocHealth(req) => self.apply_alloc_health(index, *req),
            Command::ScalingEvent {
                namespace,
                job_id,
                group,
                event,
            } => self.apply_scaling_event(index, namespace, job_id, group, *event),
            Command::VarPut { var, cas, now } => self.apply_var_put(index, var, cas, now),
            Command::VarDelete { namespace, path, cas } => {
                self.apply_var_delete(index, &namespace, &path, cas)
            }
            Command::VarLockAcquire { var, keep_items, now } => {
                self.apply_var_lock_acquire(index, var, keep_items, now)
            }
            Command::VarLockRenew {
                namespace,
                path,
                id,
                expires_at_millis,
                now_millis,
            } => self.apply_var_lock_renew(&namespace, &path, &id, (expires_at_millis, now_millis)),
            Command::VarLockRelease {
                namespace,
                path,
                id,
                now,
            } => self.apply_var_lock_release(index, (&namespace, &path, &id), now),
            Command::VarLockExpire { locks, now_millis } => {
                self.apply_var_lock_expire(index, &locks, now_millis)
            }
            Command::KvPut {
                key,
                value,
                cas,
                lease,
            } => self.apply_kv_put(index, key, value, cas, lease),
            Command::KvDelete { key, cas } => self.apply_kv_delete(index, &key, cas),
            Command::LeaseGrant {
                id,
                ttl_millis,
                expires_at_millis,
            } => self.apply_lease_grant(index, id, ttl_millis, expires_at_millis),
            Command::LeaseRenew {
                id,
                expires_at_millis,
            } => self.apply_lease_renew(index, &id, expires_at_millis),
            Command::LeaseRevoke { id } => self.apply_lease_revoke(index, &id),
            Command::LeaseExpire { ids, now_millis } => self.apply_lease_expire(index, &ids, now_millis),
            Command::NamespaceUpsert { namespace } => self.apply_namespace_upsert(index, *namespace),
            Command::NamespaceDelete { name } => self.apply_namespace_delete(index, &name),
            Command::Batch(cmds) => Outcome::Batch(
                cmds.into_iter()
                    .map(|c| self.apply_command(index, c).outcome)
                    .collect(),
            ),
            Command::Request(req) => return self.apply_request(index, *req),
        };
        self.index = self.index.max(index);
        CommandResponse { index, outcome }
    }

    /// Applies a client request once: a known ID gets its first response and changes nothing
    /// (but the applied index). A request nested in a request is applied as its inner write.
    fn apply_request(&mut self, index: u64, req: ClientRequest) -> CommandResponse {
        if let Some(first) = self.requests.get(&req.id) {
            let first = first.clone();
            self.index = self.index.max(index);
            return first;
        }
        let ClientRequest { id, at_millis, cmd } = req;
        let resp = self.apply_command(index, cmd);
        self.requests.record(id, at_millis, resp.clone());
        resp
    }

    /// Records a log entry that carries no command (blank or membership).
    pub fn note_index(&mut self, index: u64) {
        self.index = self.index.max(index);
    }

    /// The index of the last change to `table` (at least 1, as Nomad never reports 0).
    pub fn table_index(&self, table: &str) -> u64 {
        self.table_index.get(table).copied().unwrap_or(0).max(1)
    }

    pub(super) fn bump_table(&mut self, table: &str, index: u64) {
        let entry = self.table_index.entry(table.to_owned()).or_default();
        *entry = (*entry).max(index);
    }

    pub(super) fn apply_eval_upsert(&mut self, index: u64, evals: Vec<Evaluation>) -> Outcome {
        let jobs: Vec<(String, String)> = evals
            .iter()
            .map(|e| (e.namespace.clone(), e.job_id.clone()))
            .collect();
        for mut eval in evals {
            eval.create_index = self.evals.get(&eval.id).map_or(index, |e| e.create_index);
            eval.modify_index = index;
            self.evals.insert(eval.id.clone(), eval);
        }
        self.bump_table("evals", index);
        self.refresh_statuses_of(index, jobs);
        Outcome::Done
    }

    fn apply_eval_delete(&mut self, index: u64, ids: &[String]) -> Outcome {
        for id in ids {
            self.evals.remove(id);
        }
        self.bump_table("evals", index);
        Outcome::Done
    }

    fn apply_alloc_upsert(&mut self, index: u64, allocs: Vec<Allocation>) -> Outcome {
        let jobs: Vec<(String, String)> = allocs
            .iter()
            .map(|a| (a.namespace.clone(), a.job_id.clone()))
            .collect();
        for mut alloc in allocs {
            match self.allocs.get(&alloc.id) {
                Some(old) => {
                    alloc.create_index = old.create_index;
                    if alloc.desired_status == old.desired_status {
                        alloc.alloc_modify_index = old.alloc_modify_index;
                    } else {
                        alloc.alloc_modify_index = index;
                    }
                }
                None => {
                    alloc.create_index = index;
                    alloc.alloc_modify_index = index;
                }
            }
            alloc.modify_index = index;
            self.allocs.insert(alloc.id.clone(), alloc);
        }
        self.bump_table("allocs", index);
        self.refresh_statuses_of(index, jobs);
        Outcome::Done
    }

    fn apply_deployment_upsert(&mut self, index: u64, deployments: Vec<Deployment>) -> Outcome {
        for mut d in deployments {
            d.create_index = self.deployments.get(&d.id).map_or(index, |o| o.create_index);
            d.modify_index = index;
            self.deployments.insert(d.id.clone(), d);
        }
        self.bump_table("deployments", index);
        Outcome::Done
    }

    fn apply_node_upsert(&mut self, index: u64, mut node: Node) -> Outcome {
        // The first registration records the node's secret; another secret for the same node
        // ID is someone else's node (Nomad's `Node.SecretID` check).
        if let Some(old) = self.nodes.get(&node.id)
            && !old.secret_id.is_empty()
            && old.secret_id != node.secret_id
        {
            return Outcome::Refused {
                message: format!("node {} is registered with another secret", node.id),
            };
        }
        node.create_index = self.nodes.get(&node.id).map_or(index, |o| o.create_index);
        node.modify_index = index;
        // Computed here, not taken from the client: every server derives the same class from
        // the same fields, and a re-registration with other attributes gets a new one.
        node.compute_class();
        self.nodes.insert(node.id.clone(), node);
        self.bump_table("nodes", index);
        Outcome::Done
    }

    fn update_node(&mut self, index: u64, node_id: &str, change: impl FnOnce(&mut Node)) -> Outcome {
        let Some(node) = self.nodes.get_mut(node_id) else {
            return Outcome::NotFound {
                message: format!("node {node_id} not found"),
            };
        };
        change(node);
        node.modify_index = index;
        self.bump_table("nodes", index);
        Outcome::Done
    }

    fn apply_node_delete(&mut self, index: u64, node_id: &str) -> Outcome {
        if self.nodes.remove(node_id).is_none() {
            return Outcome::NotFound {
                message: format!("node {node_id} not found"),
            };
        }
        self.bump_table("nodes", index);
        Outcome::Done
    }
}
