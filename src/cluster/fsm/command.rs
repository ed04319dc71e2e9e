//! The replicated commands (one variant per mutation) and what applying one returns.
//!
//! Everything that varies between replicas (IDs, timestamps, clock readings) is chosen by the
//! proposer and carried in the command, so apply is a pure function of state and command.

use serde::{Deserialize, Serialize};

use super::gc::GcCollect;
use super::payload::{
    AllocClientUpdate, AllocHealth, DeploymentAction, DeploymentUpdate, JobDeregister, JobRegister,
    PeriodicLaunch, PlanApply,
};
use super::records::{AclPolicy, AclToken, KvEntry, Lease};
use super::variable::{ExpiredLock, SealedVariable};
use crate::api::{
    Allocation, Deployment, DrainStrategy, Evaluation, Node, NodeStatus, SchedulingEligibility,
    ServiceRegistration,
};
use crate::cluster::keyring::WrappedKey;

/// A state mutation, replicated through Raft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Register a job (new version unless unchanged) and create its evaluation.
    JobRegister(Box<JobRegister>),
    /// Stop or purge a job and create its evaluation.
    JobDeregister(Box<JobDeregister>),
    /// Create or replace evaluations.
    EvalUpsert {
        /// The evaluations.
        evals: Vec<Evaluation>,
    },
    /// Delete evaluations (garbage collection).
    EvalDelete {
        /// Evaluation IDs.
        ids: Vec<String>,
    },
    /// Remove finished jobs, evaluations, allocations and deployments (garbage collection).
    GcCollect(Box<GcCollect>),
    /// Commit a verified scheduler plan for one evaluation.
    PlanApply(Box<PlanApply>),
    /// Create or replace allocations.
    AllocUpsert {
        /// The allocations.
        allocs: Vec<Allocation>,
    },
    /// Client reports: allocation status, task states and health.
    AllocClientUpdate {
        /// The reports.
        updates: Vec<AllocClientUpdate>,
        /// Evaluations to create with them (`alloc-failure` for allocations that failed).
        evals: Vec<Evaluation>,
    },
    /// Replace the Nomad-native service registrations of one allocation.
    ServiceRegister {
        /// The allocation.
        alloc_id: String,
        /// Its services now (empty to deregister).
        services: Vec<ServiceRegistration>,
    },
    /// A node missed its heartbeat TTL: mark it down, its allocations lost, and create the
    /// evaluations that replace them.
    NodeDown {
        /// Node ID.
        node_id: String,
        /// Time of the change, Unix seconds.
        updated_at: i64,
        /// One `node-update` evaluation per affected job.
        evals: Vec<Evaluation>,
    },
    /// The deployment watcher's verdict on one deployment.
    DeploymentUpdate(Box<DeploymentUpdate>),
    /// Create or replace deployments.
    DeploymentUpsert {
        /// The deployments.
        deployments: Vec<Deployment>,
    },
    /// Set `Stable` on a job version.
    JobStable {
        /// Namespace.
        namespace: String,
        /// Job ID.
        job_id: String,
        /// The version.
        version: u64,
        /// Stable or not.
        stable: bool,
    },
    /// Launch a periodic job's child and record the launch.
    PeriodicLaunch(Box<PeriodicLaunch>),
    /// Mark allocations to migrate and create the evaluation that replaces them.
    AllocStop {
        /// Allocation IDs.
        alloc_ids: Vec<String>,
        /// The evaluation.
        eval: Box<Evaluation>,
    },
    /// Fail, pause, resume or promote a deployment.
    DeploymentAction(Box<DeploymentAction>),
    /// Create the bootstrap management token (once).
    AclBootstrap {
        /// The token, without its secret (`SecretID` empty).
        token: Box<AclToken>,
        /// SHA-256 (hex) of the secret the proposer chose: the secret itself never enters Raft.
        secret_hash: String,
        /// Bootstrap again although it was done at this index (the operator's
        /// `acl-bootstrap-reset` file); 0: only if never done.
        #[serde(default)]
        reset_index: u64,
    },
    /// Create or replace ACL policies (rules already checked by the proposer).
    AclPolicyUpsert {
        /// The policies.
        policies: Vec<AclPolicy>,
    },
    /// Delete ACL policies by name.
    AclPolicyDelete {
        /// Policy names.
        names: Vec<String>,
    },
    /// Create a token (with `secret_hash`) or update the token with its accessor ID (without).
    AclTokenUpsert {
        /// The token, without its secret.
        token: Box<AclToken>,
        /// SHA-256 (hex) of a new token's secret; none to update an existing token.
        secret_hash: Option<String>,
    },
    /// Delete tokens by accessor ID.
    AclTokenDelete {
        /// Accessor IDs.
        accessors: Vec<String>,
    },
    /// Add a root key (wrapped under the KEK) and make it the active one.
    KeyringAdd {
        /// The wrapped key.
        key: Box<WrappedKey>,
        /// Add it only if there is no active key yet (the first key, proposed on demand).
        only_if_none: bool,
    },
    /// Register or re-register a client node.
    NodeUpsert {
        /// The node.
        node: Box<Node>,
    },
    /// Set a node's status (ready, down, ...).
    NodeStatus {
        /// Node ID.
        node_id: String,
        /// New status.
        status: NodeStatus,
        /// Time of the change, Unix seconds.
        updated_at: i64,
    },
    /// Set a node's scheduling eligibility.
    NodeEligibility {
        /// Node ID.
        node_id: String,
        /// `eligible` or `ineligible`.
        eligibility: SchedulingEligibility,
    },
    /// Start (Some) or stop (None) draining a node.
    NodeDrain {
        /// Node ID.
        node_id: String,
        /// Nomad's DrainStrategy object.
        strategy: Option<DrainStrategy>,
        /// When stopping a drain, make the node eligible again.
        mark_eligible: bool,
    },
    /// Remove a node.
    NodeDelete {
        /// Node ID.
        node_id: String,
    },
    /// Purge a node: remove it, mark its live allocations lost, create the evaluations that
    /// replace them.
    NodePurge {
        /// Node ID.
        node_id: String,
        /// One `node-update` evaluation per affected job.
        evals: Vec<Evaluation>,
    },
    /// Re-derive every job's status from its allocations and evaluations.
    ReconcileSummaries,
    /// An operator's verdict on the health of a deployment's allocations.
    AllocHealth(Box<AllocHealth>),
    /// Record a scaling event of a job's task group.
    ScalingEvent {
        /// Namespace.
        namespace: String,
        /// Job ID.
        job_id: String,
        /// Task group.
        group: String,
        /// The event (its index is set by apply).
        event: Box<crate::api::ScalingEvent>,
    },
    /// Create or update a variable (check-and-set when `cas` is given).
    VarPut {
        /// The variable, items sealed (indexes and times are set by apply).
        var: SealedVariable,
        /// Required current ModifyIndex; 0 = must not exist.
        cas: Option<u64>,
        /// Time of the write, Unix nanoseconds.
        now: i64,
    },
    /// Delete a variable (check-and-set when `cas` is given).
    VarDelete {
        /// Namespace.
        namespace: String,
        /// Path.
        path: String,
        /// Required current ModifyIndex.
        cas: Option<u64>,
    },
    /// Take a variable's lock (`var.lock`), creating the variable when missing.
    VarLockAcquire {
        /// The variable with its lock, items sealed (indexes and times are set by apply).
        var: SealedVariable,
        /// The request carried no items: keep the current ones.
        keep_items: bool,
        /// Time of the write, Unix nanoseconds.
        now: i64,
    },
    /// Extend a variable lock's time.
    VarLockRenew {
        /// Namespace.
        namespace: String,
        /// Path.
        path: String,
        /// The lock's ID.
        id: String,
        /// The new end of the holder's time, Unix milliseconds.
        expires_at_millis: i64,
        /// The proposer's clock, Unix milliseconds (a lock already past its time stays so).
        now_millis: i64,
    },
    /// Release a variable's lock.
    VarLockRelease {
        /// Namespace.
        namespace: String,
        /// Path.
        path: String,
        /// The lock's ID.
        id: String,
        /// Time of the write, Unix nanoseconds.
        now: i64,
    },
    /// Free the listed variable locks whose time and delay have passed at the leader's clock
    /// reading `now_millis`.
    VarLockExpire {
        /// Candidate locks.
        locks: Vec<ExpiredLock>,
        /// The leader's clock, Unix milliseconds.
        now_millis: i64,
    },
    /// Set a key (check-and-set when `cas` is given; 0 = must not exist).
    KvPut {
        /// Key.
        key: String,
        /// Value.
        value: String,
        /// Required current ModifyIndex.
        cas: Option<u64>,
        /// Lease to attach the key to.
        lease: Option<String>,
    },
    /// Delete a key.
    KvDelete {
        /// Key.
        key: String,
        /// Required current ModifyIndex.
        cas: Option<u64>,
    },
    /// Create a lease.
    LeaseGrant {
        /// Lease ID.
        id: String,
        /// Time to live, milliseconds.
        ttl_millis: u64,
        /// Expiry, Unix milliseconds.
        expires_at_millis: i64,
    },
    /// Extend a lease.
    LeaseRenew {
        /// Lease ID.
        id: String,
        /// New expiry, Unix milliseconds.
        expires_at_millis: i64,
    },
    /// Remove a lease and its keys now.
    LeaseRevoke {
        /// Lease ID.
        id: String,
    },
    /// Create or update a namespace.
    NamespaceUpsert {
        /// The namespace (indexes are set by apply).
        namespace: Box<super::namespace::Namespace>,
    },
    /// Delete a namespace that holds no jobs and no variables.
    NamespaceDelete {
        /// Its name.
        name: String,
    },
    /// Remove the listed leases that are expired at the leader's clock reading `now_millis`.
    LeaseExpire {
        /// Candidate lease IDs.
        ids: Vec<String>,
        /// The leader's clock, Unix milliseconds.
        now_millis: i64,
    },
    /// Several client writes committed as one log entry (group commit), applied in order at
    /// the entry's index; each keeps its own outcome. Never nested by the proposer.
    Batch(Vec<Command>),
    /// A client write with the ID it entered the cluster with: applied once, however often it
    /// is proposed (see [`AppliedRequests`](super::requests::AppliedRequests)).
    Request(Box<ClientRequest>),
}

impl Command {
    /// About how many allocation-sized records the command carries (an allocation placed,
    /// updated or stopped, or a client's report on one; 1 for any other write). The proposer
    /// bounds a log entry by it, and the scheduler worker its groups of plans.
    pub fn weight(&self) -> usize {
        match self {
            Command::PlanApply(p) => p.place.len() + p.in_place.len() + p.stop.len(),
            Command::AllocUpsert { allocs } => allocs.len().max(1),
            Command::AllocClientUpdate { updates, .. } => updates.len().max(1),
            Command::Batch(cmds) => cmds.iter().map(Command::weight).sum(),
            Command::Request(req) => req.cmd.weight(),
            _ => 1,
        }
    }
}

/// A client-originated write and its request ID, chosen once where the write entered the
/// cluster and kept across every retry and forward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRequest {
    /// Request ID (a UUID).
    pub id: String,
    /// The proposer's clock when the write entered the cluster, Unix milliseconds.
    pub at_millis: i64,
    /// The write itself.
    pub cmd: Command,
}

/// What applying a command produced. Conflicts are results, not errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// Applied; nothing to report beyond the index.
    Done,
    /// A job was registered or deregistered.
    JobWritten {
        /// The job's JobModifyIndex after the write.
        job_modify_index: u64,
        /// The evaluation created ("" if none).
        eval_id: String,
        /// Index that created the evaluation (0 if none).
        eval_create_index: u64,
    },
    /// Check-index failed; `message` is Nomad's text.
    JobIndexConflict {
        /// Nomad's error text.
        message: String,
    },
    /// The variable as stored.
    Variable(SealedVariable),
    /// Check-and-set failed; the current variable, if any.
    VariableConflict {
        /// The variable as it is.
        current: Option<SealedVariable>,
    },
    /// The key as stored.
    Kv(KvEntry),
    /// Check-and-set failed; the current key, if any.
    KvConflict {
        /// The key as it is.
        current: Option<KvEntry>,
    },
    /// The lease as stored.
    Lease(Lease),
    /// An ACL token as stored.
    AclToken(Box<AclToken>),
    /// The change is not allowed in the current state (a 400 with Nomad's text).
    Refused {
        /// Nomad's error text.
        message: String,
    },
    /// The object to change does not exist.
    NotFound {
        /// What was missing.
        message: String,
    },
    /// The outcomes of a [`Command::Batch`], in its order.
    Batch(Vec<Outcome>),
}

/// The result of one applied log entry: its Raft index and the outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandResponse {
    /// Raft log index of the entry.
    pub index: u64,
    /// What happened.
    pub outcome: Outcome,
}
