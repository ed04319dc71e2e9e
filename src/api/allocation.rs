//! `Allocation`: one instance of a task group placed on a node, and its list stub.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::alloc_metric::AllocMetric;
use super::task_state::TaskState;
use crate::spec::{Job, NetworkResource, Resources};

/// What the servers want of an allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DesiredStatus {
    /// Keep it running.
    #[default]
    Run,
    /// Stop it.
    Stop,
    /// Stop it to make room (preemption).
    Evict,
    /// A value this version does not know.
    #[serde(other)]
    Unknown,
}

/// What the client reports of an allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientStatus {
    /// Not started yet.
    #[default]
    Pending,
    /// Running.
    Running,
    /// Finished successfully.
    Complete,
    /// Failed.
    Failed,
    /// Its node is down.
    Lost,
    /// Its node is disconnected.
    Unknown,
    /// A value this version does not know.
    #[serde(other)]
    Other,
}

impl ClientStatus {
    /// Complete, failed or lost: the allocation will never run again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ClientStatus::Complete | ClientStatus::Failed | ClientStatus::Lost
        )
    }
}

/// An allocation, field for field as Nomad's `GET /v1/allocation/:alloc_id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Allocation {
    /// Allocation ID (UUID).
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// Evaluation that created it.
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// `job.group[index]`.
    pub name: String,
    /// Node it runs on.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// That node's name.
    pub node_name: String,
    /// Job ID.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The job version it runs (absent in list views).
    pub job: Option<Box<Job>>,
    /// Job type (list views).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub job_type: String,
    /// The task group.
    pub task_group: String,
    /// Resources given to it.
    pub allocated_resources: Option<AllocatedResources>,
    /// Legacy total resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Legacy shared resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_resources: Option<Resources>,
    /// Legacy per-task resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_resources: Option<BTreeMap<String, Resources>>,
    /// Placement metrics.
    pub metrics: Option<AllocMetric>,
    /// What the servers want.
    pub desired_status: DesiredStatus,
    /// Why.
    pub desired_description: String,
    /// Migration / reschedule marks set by drains and operators.
    pub desired_transition: DesiredTransition,
    /// What the client reports.
    pub client_status: ClientStatus,
    /// Why.
    pub client_description: String,
    /// Task states by task name.
    pub task_states: Option<BTreeMap<String, TaskState>>,
    /// Deployment it belongs to.
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    /// Health within the deployment.
    pub deployment_status: Option<AllocDeploymentStatus>,
    /// The allocation it replaced.
    pub previous_allocation: String,
    /// The allocation that replaced it.
    pub next_allocation: String,
    /// Reschedule history.
    pub reschedule_tracker: Option<RescheduleTracker>,
    /// Follow-up evaluation (delayed reschedule).
    #[serde(rename = "FollowupEvalID")]
    pub followup_eval_id: String,
    /// Allocations it preempted.
    pub preempted_allocations: Option<Vec<String>>,
    /// Allocation that preempted it.
    pub preempted_by_allocation: String,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
    /// Raft index of the last server-side change.
    pub alloc_modify_index: u64,
    /// Unix nanoseconds of creation.
    pub create_time: i64,
    /// Unix nanoseconds of the last change.
    pub modify_time: i64,
    /// The job version it runs.
    pub job_version: u64,
}

impl Allocation {
    /// The index in `job.group[index]`, if the name has one.
    pub fn index(&self) -> Option<u32> {
        let open = self.name.rfind('[')?;
        self.name[open + 1..].strip_suffix(']')?.parse().ok()
    }

    /// Desired to stop, or finished on the client: it holds no resources.
    pub fn is_terminal(&self) -> bool {
        self.desired_status != DesiredStatus::Run || self.client_status.is_terminal()
    }

    /// The `GET /v1/allocations` view of this allocation.
    pub fn stub(&self) -> AllocListStub {
        AllocListStub {
            id: self.id.clone(),
            namespace: self.namespace.clone(),
            eval_id: self.eval_id.clone(),
            name: self.name.clone(),
            node_id: self.node_id.clone(),
            node_name: self.node_name.clone(),
            job_id: self.job_id.clone(),
            job_type: self
                .job
                .as_ref()
                .map(|j| j.job_type().to_string())
                .unwrap_or_default(),
            job_version: self.job_version,
            task_group: self.task_group.clone(),
            allocated_resources: self.allocated_resources.clone(),
            desired_status: self.desired_status,
            desired_description: self.desired_description.clone(),
            desired_transition: self.desired_transition.clone(),
            client_status: self.client_status,
            client_description: self.client_description.clone(),
            task_states: self.task_states.clone(),
            deployment_status: self.deployment_status.clone(),
            previous_allocation: self.previous_allocation.clone(),
            next_allocation: self.next_allocation.clone(),
            reschedule_tracker: self.reschedule_tracker.clone(),
            followup_eval_id: self.followup_eval_id.clone(),
            preempted_allocations: self.preempted_allocations.clone(),
            preempted_by_allocation: self.preempted_by_allocation.clone(),
            create_index: self.create_index,
            modify_index: self.modify_index,
            create_time: self.create_time,
            modify_time: self.modify_time,
        }
    }
}

/// `AllocatedResources`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocatedResources {
    /// Per task.
    pub tasks: BTreeMap<String, AllocatedTaskResources>,
    /// Shared by the group.
    pub shared: AllocatedSharedResources,
}

impl AllocatedResources {
    /// Sum of task CPU (MHz).
    pub fn cpu(&self) -> i64 {
        self.tasks.values().map(|t| t.cpu.cpu_shares).sum()
    }

    /// Sum of task memory (MB).
    pub fn memory_mb(&self) -> i64 {
        self.tasks.values().map(|t| t.memory.memory_mb).sum()
    }

    /// Every host port the allocation holds, once each (a port appears both in `Ports` and in
    /// the network it belongs to).
    pub fn host_ports(&self) -> std::collections::BTreeSet<i64> {
        let shared = self.shared.ports.iter().flatten().map(|p| p.value);
        let nets = self
            .shared
            .networks
            .iter()
            .flatten()
            .chain(self.tasks.values().flat_map(|t| t.networks.iter().flatten()))
            .flat_map(|n| {
                n.reserved_ports
                    .iter()
                    .flatten()
                    .chain(n.dynamic_ports.iter().flatten())
            })
            .map(|p| p.value);
        shared.chain(nets).collect()
    }
}

/// Resources of one task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocatedTaskResources {
    /// CPU.
    pub cpu: AllocatedCpu,
    /// Memory.
    pub memory: AllocatedMemory,
    /// Task networks.
    pub networks: Option<Vec<NetworkResource>>,
}

/// CPU given to a task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocatedCpu {
    /// MHz.
    pub cpu_shares: i64,
    /// Reserved cores.
    pub reserved_cores: Option<Vec<u32>>,
}

/// Memory given to a task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocatedMemory {
    /// MB.
    #[serde(rename = "MemoryMB")]
    pub memory_mb: i64,
    /// Oversubscription ceiling (MB).
    #[serde(rename = "MemoryMaxMB")]
    pub memory_max_mb: i64,
}

/// Resources shared by a group's tasks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocatedSharedResources {
    /// Ephemeral disk (MB).
    #[serde(rename = "DiskMB")]
    pub disk_mb: i64,
    /// Group networks with the ports chosen.
    pub networks: Option<Vec<NetworkResource>>,
    /// Port mappings.
    pub ports: Option<Vec<AllocatedPortMapping>>,
}

/// One port of an allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocatedPortMapping {
    /// Label.
    pub label: String,
    /// Host port.
    pub value: i64,
    /// Port inside the task's network.
    pub to: i64,
    /// Host IP.
    #[serde(rename = "HostIP")]
    pub host_ip: String,
}

/// `DesiredTransition`: marks set by drains and operators.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DesiredTransition {
    /// Move it off its node.
    pub migrate: Option<bool>,
    /// Reschedule it.
    pub reschedule: Option<bool>,
    /// Reschedule it even if the policy says no.
    pub force_reschedule: Option<bool>,
}

/// Health within a deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocDeploymentStatus {
    /// Healthy (unset until known).
    pub healthy: Option<bool>,
    /// When health was set (RFC 3339).
    pub timestamp: Option<String>,
    /// A canary.
    pub canary: bool,
    /// Raft index.
    pub modify_index: u64,
}

/// `RescheduleTracker`: earlier reschedules of this allocation's lineage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RescheduleTracker {
    /// Events, oldest first.
    pub events: Option<Vec<RescheduleEvent>>,
}

/// One reschedule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RescheduleEvent {
    /// Unix nanoseconds.
    pub reschedule_time: i64,
    /// Previous allocation.
    #[serde(rename = "PrevAllocID")]
    pub prev_alloc_id: String,
    /// Previous node.
    #[serde(rename = "PrevNodeID")]
    pub prev_node_id: String,
    /// Delay applied (nanoseconds; some Nomad versions send it as a string).
    #[serde(deserialize_with = "int_or_string")]
    pub delay: i64,
}

/// One row of `GET /v1/allocations`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocListStub {
    /// Allocation ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// Evaluation.
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    /// `job.group[index]`.
    pub name: String,
    /// Node.
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// Node name.
    pub node_name: String,
    /// Job.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Job type.
    pub job_type: String,
    /// Job version.
    pub job_version: u64,
    /// Task group.
    pub task_group: String,
    /// Resources (with `?resources=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocated_resources: Option<AllocatedResources>,
    /// Desired status.
    pub desired_status: DesiredStatus,
    /// Why.
    pub desired_description: String,
    /// Transition marks.
    pub desired_transition: DesiredTransition,
    /// Client status.
    pub client_status: ClientStatus,
    /// Why.
    pub client_description: String,
    /// Task states.
    pub task_states: Option<BTreeMap<String, TaskState>>,
    /// Deployment health.
    pub deployment_status: Option<AllocDeploymentStatus>,
    /// Replaced allocation.
    pub previous_allocation: String,
    /// Replacement.
    pub next_allocation: String,
    /// Reschedule history.
    pub reschedule_tracker: Option<RescheduleTracker>,
    /// Follow-up evaluation.
    #[serde(rename = "FollowupEvalID")]
    pub followup_eval_id: String,
    /// Preempted allocations.
    pub preempted_allocations: Option<Vec<String>>,
    /// Preempting allocation.
    pub preempted_by_allocation: String,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
    /// Unix nanoseconds.
    pub create_time: i64,
    /// Unix nanoseconds.
    pub modify_time: i64,
}

/// Decodes an integer sent either as a JSON number or as a decimal string.
fn int_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Int(i64),
        Text(String),
    }
    match Either::deserialize(d)? {
        Either::Int(i) => Ok(i),
        Either::Text(t) => t.trim().parse().map_err(serde::de::Error::custom),
    }
}
