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
//!  diag ← spec ← api ← stack ─┬─ frontend              (builds a Stack from HCL)
//!                            ├─ state, graph, backend
//!                            ├─ plan (+ graph, state, api types)
//!                            └─ apply (+ plan, backend)
//!  operation (session, plan / apply / destroy / rollback) uses all of the above ← cli
//! ```
//!
//! `stack` is the shared vocabulary (`Stack`, `JobAddress`, `Gate`, settings; its backend
//! settings carry `api::ClientConfig`). Only `operation` and `cli` load stacks through
//! `frontend`; every other stage reads the `Stack` it is given. `plan` asks a cluster through
//! its own `LiveSource` trait, which `apply` implements for every `Backend`. `cluster` (the
//! built-in scheduler cluster) uses only `spec`, `api` and `diag`; `format` (`deploy fmt`) uses
//! only the HCL parser.

pub mod api;
pub mod apply;
pub mod backend;
pub mod cli;
pub mod cluster;
pub mod diag;
pub mod format;
pub mod frontend;
pub mod graph;
pub mod operation;
pub mod plan;
pub mod spec;
pub mod stack;
pub mod state;
pub mod tls;
