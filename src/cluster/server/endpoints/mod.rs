//! The server's service layer: what the API can ask of a [`ClusterNode`], as methods over the
//! node, in Nomad's terms (register a job, dispatch, summaries, drain a node, ...).
//!
//! ```text
//!  http handler ─► wire format → arguments ─► ClusterNode::<endpoint>() ─► Raft write / state read
//!       ▲                                              │
//!       └──────── typed answer or EndpointError ◄──────┘
//! ```
//!
//! The HTTP layer maps the wire format to a call and the answer back; only this layer builds
//! FSM commands and reads the FSM state. Reads take [`ReadOptions`] (blocking index, wait,
//! stale) and answer [`Indexed`] values.

mod acl;
mod acl_policies;
mod alloc_health;
mod allocations;
mod clients;
mod cluster;
mod deployments;
mod error;
mod job_launch;
mod job_reads;
mod jobs;
mod keyring;
mod kv;
mod namespaces;
mod node_actions;
mod nodes;
mod plan;
mod scaling;
mod variables;

use std::time::Duration;

use super::ClusterNode;
use crate::cluster::fsm::State;

pub use crate::cluster::fsm::{
    AclToken, AllocClientUpdate, Command, CommandResponse, KvEntry, Lease, Outcome,
};
pub use acl::{BOOTSTRAP_RESET_FILE, Resolved, TokenRequest, expired};
pub use acl_policies::valid_policy_name;
pub use alloc_health::AllocHealthDone;
pub use allocations::{ClientAllocStub, ClientAllocs};
pub use clients::HeartbeatResponse;
pub use cluster::{ForwardedRead, ForwardedWrite};
pub use deployments::{DeploymentActionDone, PromoteRequest};
pub use error::EndpointError;
pub use job_launch::{DispatchRequest, Dispatched, LaunchedEval};
pub use jobs::{JobRegistration, JobWritten, RevertRequest, job_errors, multierror};
pub use keyring::Rotated;
pub use kv::KvAnswer;
pub use node_actions::{NodeEvalsDone, node_evals};
pub use nodes::{DrainDone, DrainRequest, NodeWritten};
pub use scaling::ScaleRequest;
pub use variables::VariableAnswer;

/// How a read is served: blocking on an index, for how long, and whether a stale local read
/// is acceptable (no linearizable barrier first).
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Block until the index passes this value (0 = answer at once).
    pub min_index: u64,
    /// Longest wait of a blocking read.
    pub wait: Duration,
    /// Serve from the local state without a read barrier.
    pub stale: bool,
}

/// A value read at a Raft index (`X-Nomad-Index`).
#[derive(Debug, Clone)]
pub struct Indexed<T> {
    /// The index the answer reflects.
    pub index: u64,
    /// The answer.
    pub value: T,
}

/// Whether an object in namespace `ns` is listed for a request in namespace `want`
/// (`*` = every namespace; an object without one is in `default`).
pub fn in_namespace(want: &str, ns: &str) -> bool {
    want == "*" || want == ns || (ns.is_empty() && want == "default")
}

impl ClusterNode {
    /// Waits for a linearizable read point unless the read may be stale.
    pub async fn barrier_unless_stale(&self, opts: &ReadOptions) -> Result<(), EndpointError> {
        if !opts.stale {
            self.read_barrier().await?;
        }
        Ok(())
    }

    /// A blocking read: `query` answers (index, value) and is asked again as the state moves,
    /// until its index passes `opts.min_index` or the wait ends.
    pub(crate) async fn blocking_read<T>(
        &self,
        opts: &ReadOptions,
        query: impl FnMut(&State) -> (u64, T),
    ) -> Result<Indexed<T>, EndpointError> {
        self.barrier_unless_stale(opts).await?;
        let (index, value) = self
            .state()
            .blocking_query(opts.min_index, opts.wait, query)
            .await;
        Ok(Indexed { index, value })
    }

    /// A blocking read over one table's index; `None` is [`EndpointError::NotFound`] with
    /// `missing`.
    pub(crate) async fn table_read<T>(
        &self,
        opts: &ReadOptions,
        table: &str,
        missing: &str,
        query: impl FnOnce(&State) -> Option<T>,
    ) -> Result<Indexed<T>, EndpointError> {
        self.barrier_unless_stale(opts).await?;
        let (index, found) = self
            .state()
            .blocking_query_by(opts.min_index, opts.wait, |s| s.table_index(table), query)
            .await;
        match found {
            Some(value) => Ok(Indexed { index, value }),
            None => Err(EndpointError::NotFound(missing.to_owned())),
        }
    }

    /// A read of the current state after a linearizable barrier.
    pub(crate) async fn read_now<T>(
        &self,
        read: impl FnOnce(&State) -> Result<T, EndpointError>,
    ) -> Result<T, EndpointError> {
        self.read_barrier().await?;
        read(&self.state().read())
    }
}
