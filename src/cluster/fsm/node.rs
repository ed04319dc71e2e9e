//! Client nodes, stored as Nomad's wire `Node` object (`crate::api::Node`): status,
//! scheduling eligibility, drain, meta, attributes and resources.

pub use crate::api::{DrainStrategy, Node, NodeStatus, SchedulingEligibility};
