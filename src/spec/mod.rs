//! The Nomad job model, serialised exactly as Nomad's JSON API job.
//!
//! ```text
//!  frontend (HCL) ──► Job ──► canonicalize (Nomad's defaults) ──► validate (every problem)
//!                      │                                            │
//!                      └────────────► diff (Nomad's JobDiff) ◄──────┘
//! ```
//!
//! Field names are Nomad's PascalCase; `Option` fields are Go pointers and print as `null`
//! when unset, so the JSON of a parsed job matches `nomad job run -output`.

pub mod admission;
mod canonicalize;
pub mod cron;
pub mod diff;
mod duration;
mod group;
mod job;
mod network;
mod placement;
mod policy;
mod resources;
mod service;
mod task;
mod task_parts;
mod validate;
pub mod version;

pub use canonicalize::{canonicalize, canonicalize_in_place};
pub use duration::{Duration, DurationError};
pub use group::TaskGroup;
pub use job::{Job, JobUiConfig, JobUiLink, ParameterizedJobConfig, PeriodicConfig};
pub use network::{DnsConfig, NetworkResource, Port};
pub use placement::{AFFINITY_OPERATORS, Affinity, CONSTRAINT_OPERATORS, Constraint, Spread, SpreadTarget};
pub use policy::{DisconnectStrategy, MigrateStrategy, ReschedulePolicy, RestartPolicy, UpdateStrategy};
pub use resources::{EphemeralDisk, RequestedDevice, Resources};
pub use service::{CheckRestart, Service, ServiceCheck};
pub use task::Task;
pub use task_parts::{
    Action, ChangeScript, Consul, DispatchPayloadConfig, LogConfig, ScalingPolicy, TaskArtifact,
    TaskLifecycle, Template, Vault, VolumeMount, VolumeRequest, WaitConfig, WorkloadIdentity,
};
pub use validate::{Problem, limits, validate};
