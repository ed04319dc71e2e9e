//! Operations: what a command does to a stack, as one library call each, so that every
//! front end (the CLI today) only parses flags and renders.
//!
//! ```text
//!  SessionRequest ─► StackSession::open: load ─► graph ─► lock ─► recover journal ─► state
//!                                        └─► connect (backend, local cluster if none)
//!  plan_stack ─────────────────────────► Plan
//!  plan_apply | plan_destroy | plan_rollback ─► Change ─(shown, approved)─► run_change ─► report
//! ```
//!
//! This layer may use everything below `cluster`: it is where the front end, state, plan,
//! backend and apply meet.

mod change;
mod connect;
mod dispatch;
mod error;
mod import;
mod input;
mod plan;
mod refresh;
mod session;
mod state_store;
mod task_log;
mod unplaced;
mod variables;

pub use change::{
    Change, RunOptions, plan_apply, plan_destroy, plan_refresh_only, plan_rollback, run_change,
};
pub use connect::{client_config, connect, state_root};
pub use dispatch::{MAX_PAYLOAD_BYTES, dispatch};
pub use error::OperationError;
pub use import::{ImportReport, import_job};
pub use input::{VarInput, age_identity, frontend_inputs, load_stack, parse_duration, state_dir};
pub use plan::{Refresh, plan_stack};
pub use refresh::record_live;
pub use session::{
    DEFAULT_PARALLELISM, DEFAULT_TIMEOUT, Notice, SessionRequest, StackSession, sealer, stack_values,
};
pub use state_store::{cluster_store, nomad_store, state_store};
pub use task_log::{MAX_TAIL_BYTES, last_lines, open_log, pick_allocation, pick_task, stack_job, take_lines};
pub use unplaced::refuse_unplaced;

/// A tokio runtime for one operation.
pub fn runtime() -> Result<tokio::runtime::Runtime, OperationError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| OperationError::File {
            message: "starting the async runtime".into(),
            detail: e.to_string(),
        })
}
