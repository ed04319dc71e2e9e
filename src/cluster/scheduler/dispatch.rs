//! Dispatch of parameterized jobs: validates the request against the job's `parameterized`
//! block and builds the child job `<id>/dispatch-<unix>-<8 hex>`.

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Utc};

use super::rng::SchedRng;
use crate::spec::Job;

/// Nomad's payload size limit (16 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;

/// Why a dispatch is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DispatchError {
    /// The job has no `parameterized` block.
    #[error("job {0:?} is not a parameterized job")]
    NotParameterized(String),
    /// The job is itself a dispatched child.
    #[error("job {0:?} is a dispatched child and cannot be dispatched")]
    AlreadyDispatched(String),
    /// The job is stopped.
    #[error("job {0:?} is stopped")]
    Stopped(String),
    /// `payload = "required"` and none given.
    #[error("payload is required")]
    PayloadRequired,
    /// `payload = "forbidden"` and one given.
    #[error("payload is forbidden")]
    PayloadForbidden,
    /// Payload over 16 KiB.
    #[error("payload is {0} bytes; the limit is 16384")]
    PayloadTooLarge(usize),
    /// Required meta keys missing.
    #[error("missing required meta keys: {0:?}")]
    MissingMeta(Vec<String>),
    /// Meta keys neither required nor optional.
    #[error("meta keys not allowed by the job: {0:?}")]
    UnexpectedMeta(Vec<String>),
}

/// Validates a dispatch request and builds the child job launched at `now`.
pub fn dispatch_child(
    parent: &Job,
    meta: &BTreeMap<String, String>,
    payload: &[u8],
    now: DateTime<Utc>,
    rng: &mut SchedRng,
) -> Result<Job, DispatchError> {
    let id = parent.id().to_string();
    let Some(config) = parent.parameterized_job.as_ref() else {
        return Err(DispatchError::NotParameterized(id));
    };
    if parent.dispatched {
        return Err(DispatchError::AlreadyDispatched(id));
    }
    if parent.stop == Some(true) {
        return Err(DispatchError::Stopped(id));
    }
    match config.payload.as_str() {
        "required" if payload.is_empty() => return Err(DispatchError::PayloadRequired),
        "forbidden" if !payload.is_empty() => return Err(DispatchError::PayloadForbidden),
        _ => {}
    }
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(DispatchError::PayloadTooLarge(payload.len()));
    }
    let required = config.meta_required.as_deref().unwrap_or(&[]);
    let optional = config.meta_optional.as_deref().unwrap_or(&[]);
    let missing: Vec<String> = required.iter().filter(|k| !meta.contains_key(*k)).cloned().collect();
    if !missing.is_empty() {
        return Err(DispatchError::MissingMeta(missing));
    }
    let unexpected: Vec<String> =
        meta.keys().filter(|k| !required.contains(k) && !optional.contains(k)).cloned().collect();
    if !unexpected.is_empty() {
        return Err(DispatchError::UnexpectedMeta(unexpected));
    }
    let mut child = parent.clone();
    child.id = Some(format!("{id}/dispatch-{}-{:08x}", now.timestamp(), rng.next_u64() as u32));
    child.name = child.id.clone();
    child.parent_id = Some(id);
    child.dispatched = true;
    child.status = None;
    child.status_description = None;
    child.version = Some(0);
    child.stable = Some(false);
    child.create_index = None;
    child.modify_index = None;
    child.job_modify_index = None;
    child.submit_time = Some(now.timestamp_nanos_opt().unwrap_or(0));
    child.payload = (!payload.is_empty()).then(|| base64::engine::general_purpose::STANDARD.encode(payload));
    let mut merged = parent.meta.clone().unwrap_or_default();
    merged.extend(meta.iter().map(|(k, v)| (k.clone(), v.clone())));
    child.meta = (!merged.is_empty()).then_some(merged);
    Ok(child)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::spec::ParameterizedJobConfig;

    fn parent(payload: &str) -> Job {
        Job {
            id: Some("encode".into()),
            r#type: Some("batch".into()),
            meta: Some(BTreeMap::from([("team".to_string(), "media".to_string())])),
            parameterized_job: Some(ParameterizedJobConfig {
                payload: payload.into(),
                meta_required: Some(vec!["input".into()]),
                meta_optional: Some(vec!["profile".into()]),
            }),
            ..Job::default()
        }
    }

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn builds_the_child() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let child = dispatch_child(&parent("optional"), &meta(&[("input", "a.mov")]), b"hi", now, &mut SchedRng::seeded(1)).unwrap();
        let id = child.id.clone().unwrap();
        let prefix = format!("encode/dispatch-{}-", now.timestamp());
        assert!(id.starts_with(&prefix), "{id}");
        let suffix = &id[prefix.len()..];
        assert_eq!(suffix.len(), 8);
        assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(child.parent_id.as_deref(), Some("encode"));
        assert!(child.dispatched && !child.is_parameterized());
        assert_eq!(child.payload.as_deref(), Some("aGk="));
        assert_eq!(child.meta.unwrap(), meta(&[("input", "a.mov"), ("team", "media")]));
    }

    #[test]
    fn refuses_bad_requests() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let rng = &mut SchedRng::seeded(1);
        let ok_meta = meta(&[("input", "a")]);
        let cases: Vec<(Job, BTreeMap<String, String>, Vec<u8>, DispatchError)> = vec![
            (parent("required"), ok_meta.clone(), vec![], DispatchError::PayloadRequired),
            (parent("forbidden"), ok_meta.clone(), b"x".to_vec(), DispatchError::PayloadForbidden),
            (parent("optional"), meta(&[]), vec![], DispatchError::MissingMeta(vec!["input".into()])),
            (parent("optional"), meta(&[("input", "a"), ("color", "red")]), vec![], DispatchError::UnexpectedMeta(vec!["color".into()])),
            (parent("optional"), ok_meta.clone(), vec![0; MAX_PAYLOAD_BYTES + 1], DispatchError::PayloadTooLarge(MAX_PAYLOAD_BYTES + 1)),
            (Job { id: Some("plain".into()), ..Job::default() }, ok_meta.clone(), vec![], DispatchError::NotParameterized("plain".into())),
        ];
        for (job, m, payload, want) in cases {
            assert_eq!(dispatch_child(&job, &m, &payload, now, rng), Err(want));
        }
        assert!(dispatch_child(&parent("optional"), &meta(&[("input", "a"), ("profile", "hq")]), b"", now, rng).is_ok());
    }
}
