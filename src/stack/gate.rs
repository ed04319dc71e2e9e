//! `Gate`: when an upstream job counts as done, so that its dependents may start.

use serde::{Deserialize, Serialize};

use crate::spec::Job;

/// How an upstream job counts as done before its dependents start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// Every allocation running and healthy for the update block's `min_healthy_time`.
    Healthy,
    /// Every allocation complete with exit code 0 (batch).
    Complete,
    /// The job is registered (periodic, parameterized).
    Registered,
    /// Running on every eligible node (system).
    Running,
}

impl Gate {
    /// Nomad-style default gate by the upstream job's type and shape.
    pub fn default_for(job: &Job) -> Gate {
        if job.is_periodic() || job.is_parameterized() {
            return Gate::Registered;
        }
        match job.job_type() {
            "batch" | "sysbatch" => Gate::Complete,
            "system" => Gate::Running,
            _ => Gate::Healthy,
        }
    }
}
