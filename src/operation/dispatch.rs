//! `deploy dispatch`: launch a child of a stack's parameterized job, checking the meta keys and
//! payload against the job's `parameterized` block before asking the server (which checks them
//! again).

use std::collections::BTreeMap;

use super::error::OperationError;
use crate::api::JobDispatchResponse;
use crate::backend::{DispatchRequest, NomadBackend};
use crate::stack::StackJob;

/// Nomad's limit on a dispatch payload.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;

/// Dispatches `job` with `meta` and `payload`.
pub async fn dispatch(
    backend: &NomadBackend,
    job: &StackJob,
    meta: BTreeMap<String, String>,
    payload: Vec<u8>,
    idempotency_token: Option<String>,
) -> Result<JobDispatchResponse, OperationError> {
    check(job, &meta, &payload)?;
    let req = DispatchRequest {
        namespace: job.job.namespace().to_owned(),
        job_id: job.job.id().to_owned(),
        meta,
        payload,
        idempotency_token,
    };
    backend.dispatch_job(&req).await.map_err(|e| {
        OperationError::Refused(format!(
            "dispatching {}: {e}; is the stack applied (`deploy apply`)?",
            job.address
        ))
    })
}

/// Checks a dispatch against the job's `parameterized` block.
pub fn check(job: &StackJob, meta: &BTreeMap<String, String>, payload: &[u8]) -> Result<(), OperationError> {
    let refuse = |m: String| Err(OperationError::Input(format!("{}: {m}", job.address)));
    let Some(p) = job
        .job
        .parameterized_job
        .as_ref()
        .filter(|_| job.job.is_parameterized())
    else {
        return refuse("not a parameterized job (it has no `parameterized` block)".into());
    };
    if payload.len() > MAX_PAYLOAD_BYTES {
        return refuse(format!(
            "the payload is {} bytes; Nomad accepts at most {MAX_PAYLOAD_BYTES}",
            payload.len()
        ));
    }
    match p.payload.as_str() {
        "required" if payload.is_empty() => return refuse("the job requires a payload".into()),
        "forbidden" if !payload.is_empty() => return refuse("the job forbids a payload".into()),
        _ => {}
    }
    let required = p.meta_required.as_deref().unwrap_or(&[]);
    let optional = p.meta_optional.as_deref().unwrap_or(&[]);
    let missing: Vec<&str> = required
        .iter()
        .filter(|k| !meta.contains_key(k.as_str()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return refuse(format!(
            "missing required meta: {} (give -meta KEY=VALUE)",
            missing.join(", ")
        ));
    }
    let unknown: Vec<&str> = meta
        .keys()
        .filter(|k| !required.contains(k) && !optional.contains(k))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let allowed: Vec<&str> = required.iter().chain(optional).map(String::as_str).collect();
        return refuse(format!(
            "meta {} not allowed; the job allows: {}",
            unknown.join(", "),
            if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            }
        ));
    }
    Ok(())
}
