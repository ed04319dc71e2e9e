//! The plan dry run: the scheduler runs on a snapshot of the state with the submitted job in
//! place of the current version; nothing is committed.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

use crate::api::{EvalStatus, Evaluation, JobPlanResponse, triggered_by};
use crate::cluster::scheduler::{SchedRng, SchedulerState, next_launch, schedule};
use crate::cluster::server::ClusterNode;
use crate::cluster::server::sched_view::SchedView;
use crate::spec::Job;
use crate::spec::diff::diff;

use super::EndpointError;

/// Nomad's zero time, sent as `NextPeriodicLaunch` for jobs that are not periodic.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl ClusterNode {
    /// Plans `job` (already checked) against the current state: Nomad's `JobPlanResponse`,
    /// with the field diff against the current version when `want_diff`.
    pub async fn plan_job(&self, job: Job, want_diff: bool) -> Result<JobPlanResponse, EndpointError> {
        // As Nomad's `Job.Plan`, through the same admission as a registration: the diff and
        // the dry run see the implicit constraints the job would be stored with.
        let mut job = job;
        crate::spec::canonicalize_in_place(&mut job);
        let job = crate::spec::admission::admit(job);
        self.read_barrier().await?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let (mut view, job_modify_index) = {
            let state = self.state().read();
            let jmi = state
                .job(job.namespace(), job.id())
                .map_or(0, |r| r.job_modify_index());
            (SchedView::for_job(&state, job.namespace(), job.id()), jmi)
        };
        let current = view.job(job.namespace(), job.id()).cloned();
        let job_diff = want_diff.then(|| diff(current.as_ref(), Some(&job), &Default::default()));
        let next_periodic = if job.is_periodic() {
            let secs = now.div_euclid(1_000_000_000);
            DateTime::<Utc>::from_timestamp(secs, 0)
                .and_then(|t| next_launch(&job, t))
                .map_or_else(
                    || ZERO_TIME.to_owned(),
                    |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                )
        } else {
            ZERO_TIME.to_owned()
        };
        let eval = Evaluation {
            id: uuid::Uuid::new_v4().to_string(),
            namespace: job.namespace().to_owned(),
            priority: job.priority.unwrap_or(50),
            r#type: job.job_type().to_owned(),
            triggered_by: triggered_by::JOB_REGISTER.into(),
            job_id: job.id().to_owned(),
            status: EvalStatus::Pending,
            annotate_plan: true,
            create_time: now,
            modify_time: now,
            ..Default::default()
        };
        view.set_candidate(job);
        let mut rng = SchedRng::seeded(now as u64);
        let result = schedule(&view, &eval, &mut rng);
        let index = view.index;
        let resp = JobPlanResponse {
            annotations: Some(result.annotations),
            failed_tg_allocs: (!result.failed_tg_allocs.is_empty()).then_some(result.failed_tg_allocs),
            job_modify_index,
            created_evals: None,
            diff: job_diff.and_then(|d| serde_json::to_value(d).ok()),
            next_periodic_launch: Some(next_periodic),
            warnings: String::new(),
            index,
        };
        Ok(resp)
    }
}
