//! Evaluations as a proposer creates them: ID and times are chosen here, before the command
//! goes through Raft, so applying it stays deterministic.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::api::{EvalStatus, Evaluation};
use crate::spec::Job;

/// Now, Unix nanoseconds.
pub fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// A pending evaluation of `job`; `priority_override` > 0 replaces the job's priority.
pub fn new_eval(job: &Job, triggered_by: &str, priority_override: i64) -> Evaluation {
    let now = now_nanos();
    let priority = if priority_override > 0 {
        priority_override
    } else {
        job.priority.unwrap_or(50)
    };
    Evaluation {
        id: uuid::Uuid::new_v4().to_string(),
        namespace: job.namespace().to_owned(),
        priority,
        r#type: job.job_type().to_owned(),
        triggered_by: triggered_by.into(),
        job_id: job.id().to_owned(),
        status: EvalStatus::Pending,
        create_time: now,
        modify_time: now,
        ..Default::default()
    }
}

/// The evaluation a registration creates, unless the job is periodic or parameterized (their
/// children are evaluated when launched).
pub fn job_eval(job: &Job, triggered_by: &str, priority_override: i64) -> Option<Evaluation> {
    if job.is_periodic() || job.is_parameterized() {
        return None;
    }
    Some(new_eval(job, triggered_by, priority_override))
}
