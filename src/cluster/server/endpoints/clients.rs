//! What client nodes ask of servers: heartbeats, allocation status and health reports, and
//! service registrations. Every write goes through Raft; allocations themselves come only
//! from the scheduler.

use serde::{Deserialize, Serialize};

use crate::api::{
    ClientStatus, DesiredStatus, Evaluation, ServiceRegistration, namespace_or_default, triggered_by,
};
use crate::cluster::fsm::{AllocClientUpdate, Command, State};
use crate::cluster::server::evals::new_eval;
use crate::cluster::server::{Beat, ClusterNode};

use super::{EndpointError, Indexed};

/// What registration and heartbeats answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HeartbeatResponse {
    /// Beat again within this long (nanoseconds, as Nomad's `HeartbeatTTL`).
    #[serde(rename = "HeartbeatTTL")]
    pub heartbeat_ttl: u64,
    /// Raft index of the write, if one happened.
    pub index: u64,
}

/// One `alloc-failure` evaluation per job with an allocation newly reported failed.
fn failure_evals(state: &State, updates: &[AllocClientUpdate]) -> Vec<Evaluation> {
    let mut jobs: Vec<(String, String)> = updates
        .iter()
        .filter(|u| u.client_status == ClientStatus::Failed)
        .filter_map(|u| state.allocs.get(&u.id))
        .filter(|a| a.desired_status == DesiredStatus::Run && !a.client_status.is_terminal())
        .map(|a| (a.namespace.clone(), a.job_id.clone()))
        .collect();
    jobs.sort();
    jobs.dedup();
    jobs.into_iter()
        .filter_map(|(namespace, job_id)| {
            let ns = namespace_or_default(&namespace);
            let job = state.job(ns, &job_id)?.current();
            Some(new_eval(job, triggered_by::ALLOC_FAILURE, 0))
        })
        .collect()
}

impl ClusterNode {
    /// A client's heartbeat: the TTL to beat within.
    pub async fn client_heartbeat(&self, node_id: &str) -> Result<Indexed<HeartbeatResponse>, EndpointError> {
        match self.heartbeat(node_id).await? {
            Beat::Ok => Ok(Indexed {
                index: self.state().index(),
                value: HeartbeatResponse {
                    heartbeat_ttl: self.heartbeat_ttl().as_nanos() as u64,
                    index: 0,
                },
            }),
            Beat::UnknownNode => Err(EndpointError::NotFound(format!("node {node_id} not registered"))),
        }
    }

    /// Allocation status, task states and health from a client. An allocation that fails
    /// while it should run gets an `alloc-failure` evaluation, so the scheduler reschedules
    /// it under its policy. Answers the write's index.
    pub async fn client_alloc_update(&self, updates: Vec<AllocClientUpdate>) -> Result<u64, EndpointError> {
        let evals = failure_evals(&self.state().read(), &updates);
        let resp = self.write(Command::AllocClientUpdate { updates, evals }).await?;
        Ok(resp.index)
    }

    /// An allocation's services now. Answers the write's index.
    pub async fn client_services(
        &self,
        alloc_id: String,
        services: Vec<ServiceRegistration>,
    ) -> Result<u64, EndpointError> {
        let resp = self
            .write(Command::ServiceRegister { alloc_id, services })
            .await?;
        Ok(resp.index)
    }
}
