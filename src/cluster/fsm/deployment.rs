//! Deployments: the rollout of one job version, stored as Nomad's wire `Deployment` object
//! (`crate::api::Deployment`).

pub use crate::api::{Deployment, DeploymentState, DeploymentStatus};
