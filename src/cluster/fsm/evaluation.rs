//! Evaluations: the scheduler's unit of work, stored as Nomad's wire `Evaluation` object
//! (`crate::api::Evaluation`).

pub use crate::api::{EvalStatus, Evaluation};
