//! `group`: a set of tasks placed together on one node.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::duration::Duration;
use super::network::NetworkResource;
use super::placement::{Affinity, Constraint, Spread};
use super::policy::{DisconnectStrategy, MigrateStrategy, ReschedulePolicy, RestartPolicy, UpdateStrategy};
use super::resources::EphemeralDisk;
use super::service::Service;
use super::task::Task;
use super::task_parts::{Consul, ScalingPolicy, VolumeRequest};

/// A `group` block, as Nomad's JSON API spells it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TaskGroup {
    /// Group name (the block label).
    pub name: Option<String>,
    /// Instances (default 1).
    pub count: Option<i64>,
    /// Constraints.
    pub constraints: Option<Vec<Constraint>>,
    /// Disconnect strategy.
    pub disconnect: Option<DisconnectStrategy>,
    /// Affinities.
    pub affinities: Option<Vec<Affinity>>,
    /// Tasks.
    pub tasks: Option<Vec<Task>>,
    /// Spreads.
    pub spreads: Option<Vec<Spread>>,
    /// Volume requests by name.
    pub volumes: Option<BTreeMap<String, VolumeRequest>>,
    /// Restart policy for every task.
    pub restart_policy: Option<RestartPolicy>,
    /// Reschedule policy.
    pub reschedule_policy: Option<ReschedulePolicy>,
    /// Ephemeral disk.
    pub ephemeral_disk: Option<EphemeralDisk>,
    /// Update strategy.
    pub update: Option<UpdateStrategy>,
    /// Migrate strategy.
    pub migrate: Option<MigrateStrategy>,
    /// Networks.
    pub networks: Option<Vec<NetworkResource>>,
    /// Meta.
    pub meta: Option<BTreeMap<String, String>>,
    /// Group services.
    pub services: Option<Vec<Service>>,
    /// Delay between deregistering and stopping.
    pub shutdown_delay: Option<Duration>,
    /// Deprecated: use disconnect.stop_on_client_after.
    pub stop_after_client_disconnect: Option<Duration>,
    /// Deprecated: use disconnect.lost_after.
    pub max_client_disconnect: Option<Duration>,
    /// Horizontal scaling.
    pub scaling: Option<ScalingPolicy>,
    /// Consul settings.
    pub consul: Option<Consul>,
    /// Keep lost allocations unreplaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prevent_reschedule_on_lost: Option<bool>,
}

impl TaskGroup {
    /// The group's name, or "" when unnamed.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The tasks, empty when none.
    pub fn tasks(&self) -> &[Task] {
        self.tasks.as_deref().unwrap_or(&[])
    }
}
