//! The replicated state machine: commands, the state they change, and a shared read handle.
//!
//! ```text
//!  Command ──► State::apply(index, cmd) ──► CommandResponse { index, outcome }
//!                 │
//!                 └── every object records CreateIndex / ModifyIndex = the Raft index
//! ```
//!
//! Apply is deterministic: no clocks, no randomness. IDs and times are chosen before proposing.

pub mod acl;
pub mod acl_objects;
pub mod actions;
pub mod alloc_health;
pub mod alloc_table;
pub mod client_update;
pub mod command;
pub mod deployment;
pub mod deployment_table;
pub mod eval_table;
pub mod gc;
pub mod handle;
pub mod job;
pub mod job_status;
pub mod job_versions;
pub mod kv;
pub mod namespace;
pub mod node_allocs;
pub mod node_purge;
pub mod payload;
pub mod plan_apply;
pub mod records;
pub mod requests;
pub mod scaling;
pub mod state;
pub mod summary;
pub mod table_index;
pub mod variable;

#[cfg(test)]
mod gc_tests;
#[cfg(test)]
mod tests;

pub use acl::secret_hash;
pub use command::{ClientRequest, Command, CommandResponse, Outcome};
pub use deployment_table::DeploymentTable;
pub use eval_table::EvalTable;
pub use gc::{GcCollect, GcCutoffs, GcJob};
pub use handle::StateHandle;
pub use job_status::derive_job_status;
pub use namespace::{DEFAULT_NAMESPACE, Namespace};
pub use payload::{
    AllocClientUpdate, AllocHealth, DeploymentAction, DeploymentUpdate, JobDeregister, JobRegister,
    PeriodicLaunch, PlanApply, PlanStop,
};
pub use records::{AclPolicy, AclState, AclToken, JobRecord, JobVersion, KvEntry, Lease, PeriodicLaunches};
pub use requests::AppliedRequests;
pub use state::State;
pub use summary::{SummaryIndex, job_summary};
pub use variable::{ExpiredLock, SealedVariable, VariableLock, variable_aad, variable_metadata};

pub use crate::api::{
    Allocation, Deployment, Evaluation, Node, ServiceRegistration, Variable, VariableMetadata,
};
pub use crate::spec::Job;
