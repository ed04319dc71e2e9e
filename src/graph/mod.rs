//! The stack's dependency graph: jobs are nodes, "waits for" relations are edges.
//!
//! ```text
//!  Stack.jobs ──────────┐
//!  Stack.dependencies ──┼─► StackGraph::build ─► edges with gates ─► waves ─► DOT / text
//!  Stack.job_options ───┘        │
//!                                └─► GraphErrors (missing job, cycle named in order)
//! ```
//!
//! Every job is a node; an edge `from → to` says `from` starts only after `to` passed its gate.
//! Waves number the jobs by the longest chain of dependencies below them, so wave 0 has no
//! dependencies and every job of wave `n` depends only on jobs of earlier waves.

mod build;
mod error;
mod render;

pub use build::{Edge, StackGraph};
pub use error::{CycleStep, GraphError, GraphErrors};
pub use render::{GraphFormat, gate_name, render_dot, render_text};

#[cfg(test)]
mod tests;
