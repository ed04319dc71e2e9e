//! Every [`Backend`] is a [`LiveSource`] for the planner's live view. The impl sits here,
//! above both `plan` and `backend`, so neither of those imports the other.

use std::future::Future;

use crate::api::{ApiError, JobPlanResponse};
use crate::backend::Backend;
use crate::plan::{LiveJob, LiveSource};
use crate::spec::Job;
use crate::stack::strip_owner;

impl<B: Backend> LiveSource for B {
    fn live_job(
        &self,
        namespace: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<LiveJob>, ApiError>> + Send {
        let read = self.read_job(namespace, id);
        async move {
            Ok(read.await?.map(|l| {
                // The ownership keys are deploy's own, not the user's: kept apart, never diffed.
                let mut spec = l.job;
                let owner = strip_owner(&mut spec);
                LiveJob {
                    spec,
                    version: l.version,
                    modify_index: l.job_modify_index,
                    owner,
                }
            }))
        }
    }

    fn dry_run(&self, job: &Job) -> impl Future<Output = Result<JobPlanResponse, ApiError>> + Send {
        self.plan_job(job)
    }
}
