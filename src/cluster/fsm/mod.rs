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
pub mod actions;
pub mod client_update;
pub mod command;
pub mod deployment;
pub mod eval_table;
pub mod handle;
pub mod job;
pub mod kv;
pub mod plan_apply;
pub mod state;
pub mod variable;

#[cfg(test)]
mod tests;

pub use acl::AclToken;
pub use actions::{DeploymentAction, PeriodicLaunch};
pub use client_update::AllocClientUpdate;
pub use command::{Command, CommandResponse, JobDeregister, JobRegister, Outcome};
pub use deployment::DeploymentUpdate;
pub use eval_table::EvalTable;
pub use handle::StateHandle;
pub use job::{JobRecord, JobVersion};
pub use kv::{KvEntry, Lease};
pub use plan_apply::{PlanApply, PlanStop};
pub use state::State;
pub use variable::variable_metadata;

pub use crate::api::{
    Allocation, Deployment, Evaluation, Node, ServiceRegistration, Variable, VariableMetadata,
};
pub use crate::spec::Job;
