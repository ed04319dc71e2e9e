//! `deploy`: a declarative plan/apply/rollback tool for Nomad-style workloads.
//!
//! ```text
//!  stack dir (*.hcl) ─► frontend ─► Stack ─► graph ─► plan ◄─ state
//!                                                      │  ◄─ backend (drift, placement)
//!                                                      ▼
//!                                               apply ─► backend ─► state
//! ```
//!
//! Lower layers never import higher ones: `diag` ← `spec` ← `api` ← `frontend`, `state`,
//! `graph` ← `plan` ← `backend` ← `apply` ← `cli`. `cluster` (the built-in scheduler cluster)
//! uses only `spec`, `api` and `diag`.

pub mod api;
pub mod cli;
pub mod cluster;
pub mod frontend;
pub mod spec;
