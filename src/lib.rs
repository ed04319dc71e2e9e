//! `deploy`: a declarative plan/apply/rollback tool for Nomad-style workloads.
//!
//! ```text
//!  stack dir (*.hcl) ─► frontend ─► Stack ─► graph ─► plan ◄─ state
//!                                                      │  ◄─ backend (drift, placement)
//!                                                      ▼
//!                                               apply ─► backend ─► state
//! ```
//!
//! Lower layers never import higher ones:
//!
//! ```text
//!  diag ← spec ← api ← stack ─┬─ frontend   (builds a Stack from HCL)
//!                            ├─ state, graph, backend
//!                            └─ plan (+ graph, state) ← apply (+ backend) ← cli
//! ```
//!
//! `stack` is the shared vocabulary (`Stack`, `JobAddress`, `Gate`, settings); only `cli` loads
//! stacks through `frontend`, every other stage reads the `Stack` it is given. `cluster` (the
//! built-in scheduler cluster) uses only `spec`, `api` and `diag`.

pub mod api;
pub mod apply;
pub mod backend;
pub mod cli;
pub mod cluster;
pub mod diag;
pub mod frontend;
pub mod graph;
pub mod operation;
pub mod plan;
pub mod spec;
pub mod stack;
pub mod state;
