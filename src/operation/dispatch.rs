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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::JobAddress;

    fn job(parameterized: serde_json::Value) -> StackJob {
        let job = serde_json::from_value(serde_json::json!({
            "ID": "work", "Type": "batch", "ParameterizedJob": parameterized
        }))
        .expect("job");
        StackJob {
            address: JobAddress::root("work"),
            job,
            span: Default::default(),
            sensitive_paths: Vec::new(),
            volatile: Vec::new(),
        }
    }

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn refusal(j: &StackJob, m: &[(&str, &str)], payload: &[u8]) -> String {
        check(j, &meta(m), payload).expect_err("refused").to_string()
    }

    #[test]
    fn dispatches_are_checked_against_the_parameterized_block() {
        let j = job(serde_json::json!({
            "Payload": "required", "MetaRequired": ["who"], "MetaOptional": ["why"]
        }));
        check(&j, &meta(&[("who", "ann"), ("why", "x")]), b"p").expect("allowed");
        assert!(refusal(&j, &[("who", "ann")], b"").contains("requires a payload"));
        assert!(refusal(&j, &[], b"p").contains("missing required meta: who"));
        let unknown = refusal(&j, &[("who", "a"), ("when", "now")], b"p");
        assert!(
            unknown.contains("meta when not allowed; the job allows: who, why"),
            "{unknown}"
        );
        let big = vec![b'x'; MAX_PAYLOAD_BYTES + 1];
        assert!(refusal(&j, &[("who", "a")], &big).contains("at most 16384"));
        let forbidden = job(serde_json::json!({ "Payload": "forbidden" }));
        assert!(refusal(&forbidden, &[], b"p").contains("forbids a payload"));
        let plain = job(serde_json::Value::Null);
        assert!(refusal(&plain, &[], b"").contains("not a parameterized job"));
    }
}
