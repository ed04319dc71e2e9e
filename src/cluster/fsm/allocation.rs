//! Allocations: a task group placed on a node, stored as Nomad's wire `Allocation` object
//! (`crate::api::Allocation`), so the API serves the stored object as it is.

pub use crate::api::{Allocation, ClientStatus, DesiredStatus};
