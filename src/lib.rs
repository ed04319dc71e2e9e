//! `deploy`: a declarative plan/apply/rollback tool for Nomad-style workloads.
pub mod cluster;
