//! Builds the `Allocation` and `Deployment` values a plan carries.

use std::collections::BTreeMap;

use super::group_spec::GroupSpec;
use super::reconcile::{PlaceReason, PlaceRequest};
use super::rng::SchedRng;
use crate::api::{
    AllocDeploymentStatus, AllocMetric, AllocatedCpu, AllocatedMemory, AllocatedPortMapping,
    AllocatedResources, AllocatedSharedResources, AllocatedTaskResources, Allocation, ClientStatus,
    Deployment, DeploymentState, DeploymentStatus, DesiredStatus, Evaluation, Node, RescheduleEvent,
    RescheduleTracker, deployment_description,
};
use crate::spec::{Job, NetworkResource, Port};

/// Everything needed to write down one placement.
pub struct NewAlloc<'a> {
    /// The evaluation.
    pub eval: &'a Evaluation,
    /// The job.
    pub job: &'a Job,
    /// The group.
    pub spec: &'a GroupSpec,
    /// Name, index, predecessor.
    pub request: &'a PlaceRequest<'a>,
    /// The node chosen.
    pub node: &'a Node,
    /// Ports chosen.
    pub ports: Vec<AllocatedPortMapping>,
    /// Metrics of the search.
    pub metric: AllocMetric,
    /// Deployment the allocation belongs to.
    pub deployment_id: String,
}

/// The allocation, with resources and ports filled in (`Job` left for the committer).
pub fn build_alloc(a: NewAlloc<'_>, rng: &mut SchedRng) -> Allocation {
    let now = a.eval.create_time;
    let previous = a.request.previous;
    let reschedule_tracker = match (a.request.reason, previous) {
        (PlaceReason::Reschedule, Some(prev)) => {
            let mut events = prev
                .reschedule_tracker
                .as_ref()
                .and_then(|t| t.events.clone())
                .unwrap_or_default();
            events.push(RescheduleEvent {
                reschedule_time: now,
                prev_alloc_id: prev.id.clone(),
                prev_node_id: prev.node_id.clone(),
                delay: 0,
            });
            Some(RescheduleTracker { events: Some(events) })
        }
        _ => None,
    };
    Allocation {
        id: rng.uuid(),
        namespace: a.job.namespace().to_string(),
        eval_id: a.eval.id.clone(),
        name: a.request.name.clone(),
        node_id: a.node.id.clone(),
        node_name: a.node.name.clone(),
        job_id: a.job.id().to_string(),
        task_group: a.spec.name.clone(),
        allocated_resources: Some(resources(a.spec, a.ports)),
        metrics: Some(a.metric),
        desired_status: DesiredStatus::Run,
        client_status: ClientStatus::Pending,
        deployment_id: a.deployment_id,
        previous_allocation: previous.map(|p| p.id.clone()).unwrap_or_default(),
        reschedule_tracker,
        create_time: now,
        modify_time: now,
        job_version: a.job.version.unwrap_or(0),
        deployment_status: (a.request.reason == PlaceReason::Canary).then(|| AllocDeploymentStatus {
            canary: true,
            ..AllocDeploymentStatus::default()
        }),
        ..Allocation::default()
    }
}

fn resources(spec: &GroupSpec, ports: Vec<AllocatedPortMapping>) -> AllocatedResources {
    let d = &spec.demand;
    let tasks = d
        .tasks
        .iter()
        .map(|(name, cpu, mem, mem_max)| {
            let r = AllocatedTaskResources {
                cpu: AllocatedCpu {
                    cpu_shares: *cpu,
                    reserved_cores: None,
                },
                memory: AllocatedMemory {
                    memory_mb: *mem,
                    memory_max_mb: *mem_max,
                },
                networks: None,
            };
            (name.clone(), r)
        })
        .collect();
    let networks = (!ports.is_empty()).then(|| {
        let is_static = |label: &str| d.reserved_ports.iter().any(|(l, _, _)| l == label);
        let to_port = |p: &AllocatedPortMapping| Port {
            label: p.label.clone(),
            value: p.value,
            to: p.to,
            ..Port::default()
        };
        vec![NetworkResource {
            mode: if d.network_mode.is_empty() {
                "host".into()
            } else {
                d.network_mode.clone()
            },
            ip: ports[0].host_ip.clone(),
            reserved_ports: Some(
                ports
                    .iter()
                    .filter(|p| is_static(&p.label))
                    .map(to_port)
                    .collect(),
            ),
            dynamic_ports: Some(
                ports
                    .iter()
                    .filter(|p| !is_static(&p.label))
                    .map(to_port)
                    .collect(),
            ),
            ..NetworkResource::default()
        }]
    });
    AllocatedResources {
        tasks,
        shared: AllocatedSharedResources {
            disk_mb: d.disk_mb,
            networks,
            ports: (!ports.is_empty()).then_some(ports),
        },
    }
}

/// A deployment for the job's current version, one state per group; `canaries` names the
/// groups that place canaries and how many they want.
pub fn build_deployment(job: &Job, canaries: &BTreeMap<String, i64>, rng: &mut SchedRng) -> Deployment {
    let mut task_groups = BTreeMap::new();
    let mut description = deployment_description::RUNNING;
    for g in job.groups() {
        let update = g.update.as_ref().or(job.update.as_ref());
        task_groups.insert(
            g.name().to_string(),
            DeploymentState {
                auto_revert: update.and_then(|u| u.auto_revert).unwrap_or(false),
                auto_promote: update.and_then(|u| u.auto_promote).unwrap_or(false),
                progress_deadline: update
                    .and_then(|u| u.progress_deadline)
                    .map(|d| d.nanos())
                    .unwrap_or(0),
                desired_canaries: canaries.get(g.name()).copied().unwrap_or(0),
                desired_total: g.count.unwrap_or(1),
                ..DeploymentState::default()
            },
        );
    }
    let canary_groups = || task_groups.values().filter(|g| g.desired_canaries > 0);
    if canary_groups().next().is_some() {
        description = match canary_groups().all(|g| g.auto_promote) {
            true => deployment_description::AUTO_PROMOTION,
            false => deployment_description::NEEDS_PROMOTION,
        };
    }
    Deployment {
        id: rng.uuid(),
        namespace: job.namespace().to_string(),
        job_id: job.id().to_string(),
        job_version: job.version.unwrap_or(0),
        job_modify_index: job.job_modify_index.unwrap_or(0),
        job_spec_modify_index: job.job_modify_index.unwrap_or(0),
        job_create_index: job.create_index.unwrap_or(0),
        task_groups,
        status: DeploymentStatus::Running,
        status_description: description.to_string(),
        ..Deployment::default()
    }
}
