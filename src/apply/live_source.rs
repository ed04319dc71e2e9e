//! Every [`Backend`] is a [`LiveSource`] for the planner's live view. The impl sits here,
//! above both `plan` and `backend`, so neither of those imports the other.

use std::future::Future;

use crate::api::{ApiError, JobPlanResponse};
use crate::backend::Backend;
use crate::plan::{LiveJob, LiveSource};
use crate::spec::Job;

impl<B: Backend> LiveSource for B {
    fn live_job(
        &self,
        namespace: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<LiveJob>, ApiError>> + Send {
        let read = self.read_job(namespace, id);
        async move {
            Ok(read.await?.map(|l| LiveJob {
                spec: l.job,
                version: l.version,
                modify_index: l.job_modify_index,
            }))
        }
    }

    fn dry_run(&self, job: &Job) -> impl Future<Output = Result<JobPlanResponse, ApiError>> + Send {
        self.plan_job(job)
    }
}
