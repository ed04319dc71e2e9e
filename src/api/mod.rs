//! Nomad HTTP API wire types: the JSON bodies of `/v1/nodes`, `/v1/allocations`,
//! `/v1/evaluations`, `/v1/deployments` and the job register / plan / list endpoints.
//!
//! ```text
//!  built-in cluster (FSM, scheduler, HTTP) ──► api types ◄── backend (HTTP client)
//!                                                  │
//!                                                  └── spec::Job (the job itself)
//! ```
//!
//! Field names are Nomad's exactly. Every struct decodes with `#[serde(default)]` and ignores
//! fields it does not know, so responses from newer Nomad versions still decode. Times are what
//! Nomad sends: Unix nanoseconds for `CreateTime`/`ModifyTime`, RFC 3339 strings for task
//! state times, Unix seconds for `StatusUpdatedAt`.

mod alloc_metric;
mod allocation;
mod client;
mod deployment;
mod errors;
mod evaluation;
mod event_stream;
mod job_responses;
mod node;
mod requests;
mod scaling;
mod service;
mod task_state;
pub mod tls;
mod variable;

pub use alloc_metric::{AllocMetric, NodeScoreMeta};
pub use allocation::{
    AllocDeploymentStatus, AllocListStub, AllocatedCpu, AllocatedMemory, AllocatedPortMapping,
    AllocatedResources, AllocatedSharedResources, AllocatedTaskResources, Allocation, ClientStatus,
    DesiredStatus, DesiredTransition, RescheduleEvent, RescheduleTracker,
};
pub use client::{
    ByteStream, ClientConfig, DEFAULT_ADDRESS, Method, NomadClient, QueryMeta, QueryOptions, encode,
    encode_path, install_crypto_provider,
};
pub use deployment::{Deployment, DeploymentState, DeploymentStatus, description as deployment_description};
pub use errors::ApiError;
pub use evaluation::{EvalStatus, Evaluation, triggered_by};
pub use event_stream::{EventBatch, EventHead, EventStream};
pub use job_responses::{
    DesiredUpdates, JobChildrenSummary, JobDispatchResponse, JobListStub, JobPlanResponse,
    JobRegisterResponse, JobSummary, PlanAnnotations, TaskGroupSummary,
};
pub use node::{
    DrainStrategy, DriverInfo, HostVolumeInfo, Node, NodeCpuResources, NodeDiskResources, NodeListStub,
    NodeMemoryResources, NodeReservedNetworkResources, NodeReservedResources, NodeResources, NodeStatus,
    SchedulingEligibility, StubFields,
};
pub use requests::{
    JobDeregisterResponse, JobPlanRequest, JobRegisterRequest, JobRevertRequest, JobSubmission,
};
pub use scaling::{ScalingEvent, ScalingPolicyListStub};
pub use service::ServiceRegistration;
pub use task_state::{TaskEvent, TaskState};
pub use variable::{Variable, VariableLockSpec, VariableMetadata, go_duration};

/// A namespace as stored (`""` for objects written without one) as Nomad names it: `default`.
pub fn namespace_or_default(namespace: &str) -> &str {
    if namespace.is_empty() {
        "default"
    } else {
        namespace
    }
}
