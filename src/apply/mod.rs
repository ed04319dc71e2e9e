//! Apply: making a plan so, job by job in dependency order, gated on health, journalled.
//!
//! ```text
//!  Plan + Stack ─► build_steps ─► [Step] ─► execute ─┬─► engine: what to do next (pure)
//!   (rollback: stack_at(rev))                        ├─► run_step (≤ parallelism at once)
//!                                                    │     register → evaluation → gate
//!                                                    │     (woken by one event stream: job_watch)
//!                                                    ├─► Journal (apply-journal.ndjson, per job)
//!                                                    ├─► Event stream ─► views (bars, lines, NDJSON)
//!                                                    └─► undo (-atomic) ─► new revision
//! ```
//!
//! Every decision of the walk (what starts, what a failure stops, what `-atomic` undoes) is
//! made by the engine, a synchronous state machine tested with plain input sequences.
//! Everything that talks to a cluster goes through [`crate::backend::Backend`], so the tests
//! drive the executor against an in-memory backend with a paused clock.

mod engine;
mod evaluation;
mod event;
mod executor;
mod follow;
mod gate;
mod job_watch;
mod journal;
mod live_source;
mod report;
mod rollback;
mod step;
mod steps;
mod undo;

pub use event::{Event, EventSink, StepKind};
pub use executor::{ApplyError, ApplyOptions, ApplyReport, execute};
pub use follow::{BLOCKING_WAIT, Progress, run_step};
pub use gate::{AllocCounts, Applied, GateStatus, desired_allocs, evaluate, nonzero_exit, short};
pub use journal::Journal;
pub use report::{AllocReport, FailureReport, TaskReport, inspect_alloc, last_lines};
pub use rollback::{current_edges, stack_at};
pub use step::{Landed, Operation, Outcome, Prior, Step, StepResult};
pub use steps::{StepError, StepOptions, build_steps};
pub use undo::find_version;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;
