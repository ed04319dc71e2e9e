//! Lifecycle policies: `restart`, `reschedule`, `update`, `migrate`, `disconnect`.

use serde::{Deserialize, Serialize};

use super::duration::Duration;

/// `restart`: what a client does when a task exits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RestartPolicy {
    /// Window in which `attempts` restarts may happen.
    pub interval: Option<Duration>,
    /// Restarts allowed per interval.
    pub attempts: Option<i64>,
    /// Wait before restarting.
    pub delay: Option<Duration>,
    /// `fail` or `delay` once attempts are used up.
    pub mode: Option<String>,
    /// Re-render templates on restart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub render_templates: Option<bool>,
}

/// `reschedule`: what servers do when an allocation fails.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ReschedulePolicy {
    /// Attempts per interval.
    pub attempts: Option<i64>,
    /// Window for attempts.
    pub interval: Option<Duration>,
    /// First delay.
    pub delay: Option<Duration>,
    /// `constant`, `exponential` or `fibonacci`.
    pub delay_function: Option<String>,
    /// Ceiling for the delay.
    pub max_delay: Option<Duration>,
    /// Reschedule forever.
    pub unlimited: Option<bool>,
}

/// `update`: rolling update strategy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct UpdateStrategy {
    /// Deprecated stagger.
    pub stagger: Option<Duration>,
    /// Allocations updated at once.
    pub max_parallel: Option<i64>,
    /// `checks`, `task_states` or `manual`.
    pub health_check: Option<String>,
    /// Healthy for this long counts as healthy.
    pub min_healthy_time: Option<Duration>,
    /// Deadline for an allocation to be healthy.
    pub healthy_deadline: Option<Duration>,
    /// Deadline for the deployment to make progress.
    pub progress_deadline: Option<Duration>,
    /// Canaries.
    pub canary: Option<i64>,
    /// Revert to the last stable version on failure.
    pub auto_revert: Option<bool>,
    /// Promote canaries automatically.
    pub auto_promote: Option<bool>,
}

/// `migrate`: how allocations leave a draining node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct MigrateStrategy {
    /// Allocations migrated at once.
    pub max_parallel: Option<i64>,
    /// `checks` or `task_states`.
    pub health_check: Option<String>,
    /// Healthy for this long counts as healthy.
    pub min_healthy_time: Option<Duration>,
    /// Deadline for health.
    pub healthy_deadline: Option<Duration>,
}

/// `disconnect`: behaviour when a client loses contact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DisconnectStrategy {
    /// After this, the allocation is lost.
    pub lost_after: Option<Duration>,
    /// Replace the allocation while disconnected.
    pub replace: Option<bool>,
    /// `best_score`, `keep_original`, `keep_replacement`, `longest_running`.
    pub reconcile: Option<String>,
    /// The client stops the allocation after this.
    pub stop_on_client_after: Option<Duration>,
}
