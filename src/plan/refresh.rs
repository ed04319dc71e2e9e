//! Asking the cluster what runs now, for `deploy plan` and `deploy apply`: live jobs (drift)
//! and the scheduler's dry run of each job that would change (placement preview; for a
//! periodic or parameterized job, of a child it would launch), as a [`LiveView`] the pure
//! planner reads. A server without the plan endpoint yields a preview marked unavailable.
//!
//! ```text
//!  Stack + Revision ─► live_view(source: impl LiveSource) ─► LiveView ─► planner::plan
//!                              │ live_job (each job), dry_run (each changed job),
//!                              │ READS_AT_ONCE at a time, answers kept in order
//!                              ▼
//!                 any Backend (the impl is in `apply`, above both)
//! ```
//!
//! The plan layer asks through the small [`LiveSource`] trait, not the backend, so it depends
//! only on API types and tests can hand it data.

use std::collections::BTreeMap;
use std::future::Future;

use futures_util::stream::{self, StreamExt};

use super::model::{LiveJob, LiveView, PlacementFailure, PlacementPreview};
use crate::api::{AllocMetric, ApiError, JobPlanResponse};
use crate::spec::{Job, canonicalize, diff::DiffType, diff::SensitivePaths, diff::diff};
use crate::stack::{JobAddress, Stack};
use crate::state::Revision;

/// What the planner needs to ask a cluster: the job as it runs, and the scheduler's dry run.
pub trait LiveSource: Sync {
    /// The job as the cluster has it (stopped ones included), or `None` when it has no such job.
    fn live_job(
        &self,
        namespace: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<LiveJob>, ApiError>> + Send;

    /// The scheduler's dry run of registering `job`.
    fn dry_run(&self, job: &Job) -> impl Future<Output = Result<JobPlanResponse, ApiError>> + Send;
}

/// How many live-job reads or dry runs are in flight at once. Each is one request the server
/// answers on its own, so a stack of a thousand jobs is read in a fraction of the serial time;
/// the bound keeps a large stack from opening a connection per job.
pub const READS_AT_ONCE: usize = 32;

/// Reads every job of the stack and of the recorded state from `source`, and dry-runs the
/// stack's jobs that differ from what runs (or with `dry_run_all`, every job), up to
/// [`READS_AT_ONCE`] requests at a time.
pub async fn live_view<S: LiveSource>(
    source: &S,
    stack: &Stack,
    state: Option<&Revision>,
    dry_run_all: bool,
) -> Result<LiveView, ApiError> {
    let mut view = LiveView::default();
    let mut wanted: BTreeMap<JobAddress, (String, String)> = BTreeMap::new();
    for j in &stack.jobs {
        wanted.insert(
            j.address.clone(),
            (j.job.namespace().to_string(), j.job.id().to_string()),
        );
    }
    for r in state.map(|s| s.jobs.as_slice()).unwrap_or_default() {
        wanted
            .entry(r.address.clone())
            .or_insert_with(|| (r.spec.namespace().to_string(), r.spec.id().to_string()));
    }
    // Reads go out a bounded number at a time and are taken back in the stack's order, so
    // the view (and the first error, if any) is the one a serial walk would give.
    let reads = stream::iter(&wanted)
        .map(|(address, (ns, id))| async move { (address, source.live_job(ns, id).await) })
        .buffered(READS_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
    for (address, live) in reads {
        // A stopped job is kept by the server for its history, but runs nothing.
        if let Some(l) = live?.filter(|l| l.spec.stop != Some(true)) {
            view.jobs.insert(address.clone(), l);
        }
    }
    let none = SensitivePaths::new();
    let changed: Vec<(&JobAddress, Job)> = stack
        .jobs
        .iter()
        .filter_map(|j| {
            let spec = canonicalize(&j.job);
            let unchanged = view
                .jobs
                .get(&j.address)
                .is_some_and(|l| diff(Some(&l.spec), Some(&spec), &none).r#type == DiffType::None);
            (!unchanged || dry_run_all).then_some((&j.address, spec))
        })
        .collect();
    let placements = stream::iter(&changed)
        .map(|(address, spec)| async move { (*address, dry_run(source, spec).await) })
        .buffered(READS_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
    for (address, placement) in placements {
        view.placements.insert(address.clone(), placement?);
    }
    Ok(view)
}

/// Dry-runs `spec`, or for a periodic or parameterized job a child of it: registering the
/// parent places nothing, so its own dry run would always look fine.
async fn dry_run<S: LiveSource>(source: &S, spec: &Job) -> Result<PlacementPreview, ApiError> {
    let child = launch_child(spec);
    match source.dry_run(child.as_ref().unwrap_or(spec)).await {
        Ok(resp) => {
            let mut p = preview(&resp);
            p.child = child.and_then(|c| c.id);
            Ok(p)
        }
        // A server without the plan endpoint: the rest of the plan stands, and says so.
        Err(e) if matches!(e.status(), Some(404 | 405 | 501)) => Ok(PlacementPreview::unavailable(format!(
            "the server has no plan endpoint ({e})"
        ))),
        Err(e) => Err(e),
    }
}

/// The job a periodic launch or a dispatch of `job` would register (the scheduler places
/// it as a plain job), or `None` when `job` itself is scheduled.
fn launch_child(job: &Job) -> Option<Job> {
    let kind = if job.is_periodic() {
        "periodic"
    } else if job.is_parameterized() {
        "dispatch"
    } else {
        return None;
    };
    let mut child = job.clone();
    // A plain ID: servers that validate IDs refuse the slash of real child IDs at the
    // plan endpoint.
    child.id = Some(format!("{}-{kind}-plan", job.id()));
    child.name = child.id.clone();
    child.periodic = None;
    child.parameterized_job = None;
    Some(child)
}

/// The scheduler's dry run as a [`PlacementPreview`]. As in Nomad, a group's `Place` counts
/// every allocation the scheduler wants placed, the ones it failed to place included.
pub fn preview(resp: &JobPlanResponse) -> PlacementPreview {
    let mut p = PlacementPreview::default();
    for (group, m) in resp.failed_tg_allocs.iter().flatten() {
        p.failures.push(failure(group, m));
    }
    let unplaced = |group: &str| {
        p.failures
            .iter()
            .find(|f| f.group == group)
            .map_or(0, |f| f.unplaced)
    };
    let mut counted = Vec::new();
    if let Some(a) = &resp.annotations {
        for (group, u) in &a.desired_tg_updates {
            let wanted = u.place + u.destructive_update + u.in_place_update + u.ignore + u.migrate + u.canary;
            let failed = unplaced(group);
            p.placed += wanted.saturating_sub(failed);
            p.desired += wanted.max(failed);
            counted.push(group.as_str());
        }
    }
    for f in &p.failures {
        if !counted.contains(&f.group.as_str()) {
            p.desired += f.unplaced;
        }
    }
    p
}

fn failure(group: &str, m: &AllocMetric) -> PlacementFailure {
    PlacementFailure {
        group: group.to_string(),
        unplaced: 1 + m.coalesced_failures,
        constraint_filtered: m.constraint_filtered.clone().unwrap_or_default(),
        nodes_evaluated: m.nodes_evaluated,
        nodes_filtered: m.nodes_filtered,
        nodes_exhausted: m.nodes_exhausted,
        dimension_exhausted: m.dimension_exhausted.clone().unwrap_or_default(),
        per_node_reasons: m.node_reasons.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{DesiredUpdates, PlanAnnotations};
    use crate::spec::PeriodicConfig;
    use std::sync::Mutex;

    /// A source whose dry run answers `status` (0: a plan with one failed group), recording
    /// the job IDs it was asked about.
    struct Source {
        status: u16,
        asked: Mutex<Vec<String>>,
    }

    impl LiveSource for Source {
        async fn live_job(&self, _: &str, _: &str) -> Result<Option<LiveJob>, ApiError> {
            Ok(None)
        }

        async fn dry_run(&self, job: &Job) -> Result<JobPlanResponse, ApiError> {
            self.asked.lock().unwrap().push(job.id().to_string());
            if self.status != 0 {
                return Err(ApiError::Status {
                    method: "PUT".into(),
                    path: format!("/v1/job/{}/plan", job.id()),
                    code: self.status,
                    message: "Not Found".into(),
                    body: Vec::new(),
                });
            }
            Ok(JobPlanResponse {
                failed_tg_allocs: Some([("g".to_string(), AllocMetric::default())].into()),
                ..Default::default()
            })
        }
    }

    fn source(status: u16) -> Source {
        Source {
            status,
            asked: Mutex::new(Vec::new()),
        }
    }

    fn job(id: &str) -> Job {
        Job {
            id: Some(id.into()),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_periodic_job_is_dry_run_as_its_child() {
        let s = source(0);
        let mut nightly = job("nightly");
        nightly.periodic = Some(PeriodicConfig::default());
        let p = dry_run(&s, &nightly).await.unwrap();
        assert_eq!(*s.asked.lock().unwrap(), ["nightly-periodic-plan"]);
        assert_eq!(p.child.as_deref(), Some("nightly-periodic-plan"));
        assert!(p.fails());
        let plain = dry_run(&s, &job("web")).await.unwrap();
        assert_eq!(plain.child, None);
    }

    #[tokio::test]
    async fn a_server_without_the_plan_endpoint_says_the_preview_is_unavailable() {
        for status in [404, 405, 501] {
            let p = dry_run(&source(status), &job("web")).await.unwrap();
            let why = p.unavailable.clone().expect("unavailable");
            assert!(
                why.contains("no plan endpoint") && why.contains(&status.to_string()),
                "{why}"
            );
            assert!(!p.fails());
        }
        assert!(dry_run(&source(500), &job("web")).await.is_err());
    }

    /// A source whose answers take longer the earlier the job comes in the stack, so that
    /// they arrive out of order; it counts the reads in flight.
    struct SlowSource {
        in_flight: std::sync::atomic::AtomicUsize,
        most: std::sync::atomic::AtomicUsize,
        missing: String,
    }

    impl LiveSource for SlowSource {
        async fn live_job(&self, _: &str, id: &str) -> Result<Option<LiveJob>, ApiError> {
            use std::sync::atomic::Ordering::SeqCst;
            let now = self.in_flight.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
            let n: u64 = id.trim_start_matches('j').parse().unwrap_or(0);
            tokio::time::sleep(std::time::Duration::from_millis(1000 - n)).await;
            self.in_flight.fetch_sub(1, SeqCst);
            if id == self.missing {
                return Err(ApiError::Status {
                    method: "GET".into(),
                    path: format!("/v1/job/{id}"),
                    code: 500,
                    message: "broken".into(),
                    body: Vec::new(),
                });
            }
            Ok(Some(LiveJob {
                spec: canonicalize(&job(id)),
                version: n,
                modify_index: n,
                owner: None,
            }))
        }

        async fn dry_run(&self, job: &Job) -> Result<JobPlanResponse, ApiError> {
            Err(ApiError::Status {
                method: "PUT".into(),
                path: format!("/v1/job/{}/plan", job.id()),
                code: 500,
                message: "unexpected dry run".into(),
                body: Vec::new(),
            })
        }
    }

    fn many(n: usize) -> Stack {
        let mut stack = Stack::default();
        stack.jobs = (0..n)
            .map(|i| crate::stack::StackJob {
                address: JobAddress::root(&format!("j{i:03}")),
                job: job(&format!("j{i:03}")),
                span: Default::default(),
                sensitive_paths: Vec::new(),
                volatile: Vec::new(),
            })
            .collect();
        stack
    }

    #[tokio::test(start_paused = true)]
    async fn live_jobs_are_read_a_bounded_number_at_a_time_and_kept_in_order() {
        let source = SlowSource {
            in_flight: Default::default(),
            most: Default::default(),
            missing: String::new(),
        };
        let stack = many(100);
        let view = live_view(&source, &stack, None, false).await.unwrap();
        let most = source.most.load(std::sync::atomic::Ordering::SeqCst);
        assert!(most > 1 && most <= READS_AT_ONCE, "{most} reads at once");
        let versions: Vec<u64> = view.jobs.values().map(|l| l.version).collect();
        assert_eq!(versions, (0..100).collect::<Vec<u64>>());
        assert!(view.placements.is_empty(), "unchanged jobs are not dry-run");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_read_fails_the_view_as_a_serial_walk_would() {
        let source = SlowSource {
            in_flight: Default::default(),
            most: Default::default(),
            missing: "j050".into(),
        };
        let err = live_view(&source, &many(100), None, false).await.unwrap_err();
        assert!(err.to_string().contains("/v1/job/j050"), "{err}");
    }

    #[test]
    fn a_failed_placement_is_counted_once() {
        // Six wanted, distinct_hosts on five nodes: Nomad answers Place = 6 and one failure.
        let resp = JobPlanResponse {
            annotations: Some(PlanAnnotations {
                desired_tg_updates: [(
                    "jamduna".to_string(),
                    DesiredUpdates {
                        place: 6,
                        ..Default::default()
                    },
                )]
                .into(),
                ..Default::default()
            }),
            failed_tg_allocs: Some([("jamduna".to_string(), AllocMetric::default())].into()),
            ..Default::default()
        };
        let p = preview(&resp);
        assert_eq!((p.placed, p.desired, p.failures.len()), (5, 6, 1));
    }
}
