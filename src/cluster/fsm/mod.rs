//! The replicated state machine: commands, the state they change, and a shared read handle.
//!
//! ```text
//!  Command ──► State::apply(index, cmd) ──► CommandResponse { index, outcome }
//!                 │
//!                 └── every object records CreateIndex / ModifyIndex = the Raft index
//! ```
//!
//! Apply is deterministic: no clocks, no randomness. IDs and times are chosen before proposing.

pub mod allocation;
pub mod client_update;
pub mod command;
pub mod deployment;
pub mod evaluation;
pub mod handle;
pub mod job;
pub mod kv;
pub mod node;
pub mod service;
pub mod state;
pub mod variable;

#[cfg(test)]
mod tests;

pub use allocation::Allocation;
pub use client_update::{AllocClientUpdate, client_status};
pub use service::ServiceRegistration;
pub use command::{Command, CommandResponse, JobDeregister, JobRegister, Outcome};
pub use deployment::Deployment;
pub use evaluation::Evaluation;
pub use handle::StateHandle;
pub use job::{JobRecord, JobSpec, JobVersion};
pub use kv::{KvEntry, Lease};
pub use node::Node;
pub use state::State;
pub use variable::{Variable, VariableMetadata};
