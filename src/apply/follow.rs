//! Running one [`Step`] against the backend: register (or revert, or stop) → follow the
//! evaluation → follow allocations and the deployment with blocking queries until the gate
//! passes, fails or the step's timeout runs out.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::evaluation::{Placed, follow_evaluation};
use super::event::{Event, EventSink};
use super::gate::{AllocCounts, Applied, GateStatus, evaluate, short};
use super::job_watch::{Follower, JobWatch};
use super::report::{FailureReport, inspect_alloc};
use super::step::{Landed, Operation, Outcome, Step, StepResult};
use crate::api::{ApiError, ClientStatus, QueryOptions};
use crate::backend::Backend;
use crate::spec::Job;
use crate::stack::Gate;

/// How long one blocking query may be held by the server.
pub const BLOCKING_WAIT: Duration = Duration::from_secs(5);

/// Clock and sink shared by the steps of one apply.
#[derive(Clone)]
pub struct Progress {
    /// When the apply began.
    pub started: Instant,
    /// Where events go.
    pub sink: EventSink,
    /// Where a step reports that its change landed, before its gate starts: the executor
    /// journals the job as "registered, gate pending" and answers, so a kill during the gate
    /// leaves a record that says the gate never passed.
    pub registered: Option<tokio::sync::mpsc::UnboundedSender<Registration>>,
    /// Promote canaries once healthy (`deploy apply -auto-promote`); otherwise a step stops at
    /// the promotion gate and `deploy promote` takes it on.
    pub auto_promote: bool,
    /// The apply's event stream, which tells a waiting step when to read again; `None`: every
    /// wait is a blocking query.
    pub watch: Option<Arc<JobWatch>>,
}

/// A step's change landed on the backend; its gate starts once `ack` is answered.
#[derive(Debug)]
pub struct Registration {
    /// The job.
    pub address: crate::stack::JobAddress,
    /// Its version and modify index on the backend.
    pub landed: Landed,
    /// The evaluation the change created (empty: none).
    pub eval_id: String,
    /// Answered once the journal holds the pending record (dropped: journalling failed).
    pub ack: tokio::sync::oneshot::Sender<()>,
}

impl Progress {
    /// Milliseconds since the apply began.
    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Emits an event.
    pub fn emit(&self, e: Event) {
        (self.sink)(&e)
    }

    /// How a step on `job_id` waits for its next read (subscribed before its first read).
    fn follower(&self, namespace: &str, job_id: &str) -> Follower {
        match &self.watch {
            Some(w) => w.follow(namespace, job_id),
            None => Follower::blocking(),
        }
    }

    /// Reports a landed change and waits until it is journalled; the executor announces it
    /// ([`Event::Registered`]) once the record is durable. False: the journal could not
    /// record it, and the gate must not start.
    async fn journal_registered(&self, step: &Step, landed: &Landed, eval_id: &str) -> bool {
        let Some(tx) = &self.registered else {
            self.emit(Event::Registered {
                address: step.address.clone(),
                eval_id: eval_id.to_owned(),
                version: landed.version,
                elapsed_ms: self.elapsed_ms(),
            });
            return true;
        };
        let (ack, done) = tokio::sync::oneshot::channel();
        let sent = tx.send(Registration {
            address: step.address.clone(),
            landed: landed.clone(),
            eval_id: eval_id.to_owned(),
            ack,
        });
        sent.is_ok() && done.await.is_ok()
    }
}

fn failed(step: &Step, changed: bool, landed: Landed, reason: impl Into<String>) -> StepResult {
    StepResult {
        changed,
        landed,
        outcome: Outcome::Failed(Box::new(FailureReport::new(&step.address, reason))),
    }
}

fn describe_api(e: &ApiError) -> String {
    let text = e.to_string();
    if text.contains("modify index") || text.contains("conflicting") || e.status() == Some(409) {
        format!("the job changed on the backend since it was planned ({text}); run deploy plan again")
    } else {
        text
    }
}

/// Runs `step` to its end. Never panics on what the backend says; every problem is a failed
/// outcome naming the job.
pub async fn run_step<B: Backend>(backend: &B, step: &Step, progress: &Progress) -> StepResult {
    let deadline = Instant::now() + step.timeout;
    let mut counts = AllocCounts::default();
    match tokio::time::timeout_at(deadline, run_inner(backend, step, progress, &mut counts)).await {
        Ok(r) => r,
        Err(_) => {
            let changed = !matches!(step.op, Operation::Check);
            let mut landed = Landed::default();
            if let Ok(Some(live)) = backend.read_job(&step.namespace, &step.job_id).await {
                landed = Landed {
                    version: Some(live.version),
                    modify_index: Some(live.job_modify_index),
                };
            }
            let what = if matches!(step.op, Operation::Deregister { .. }) {
                "stopping"
            } else if counts.placed < counts.desired {
                "waiting for capacity to place the rest"
            } else {
                "waiting for its gate"
            };
            failed(
                step,
                changed,
                landed,
                format!(
                    "timed out after {} {what} ({} placed, {} running, {} healthy of {} wanted)",
                    crate::spec::Duration(step.timeout.as_nanos() as i64),
                    counts.placed,
                    counts.running,
                    counts.healthy,
                    counts.desired
                ),
            )
        }
    }
}

/// The phases of one step: send the change, then (for a stop) wait for the allocations to end,
/// or read what landed, follow the evaluation and follow the gate.
async fn run_inner<B: Backend>(
    backend: &B,
    step: &Step,
    progress: &Progress,
    counts: &mut AllocCounts,
) -> StepResult {
    // Subscribed before the change is sent, so no event about it can be missed.
    let mut follower = progress.follower(&step.namespace, &step.job_id);
    let (eval_id, sent_at) = match send_change(backend, step).await {
        Ok(x) => x,
        Err(reason) => return failed(step, false, Landed::default(), reason),
    };
    let changed = !matches!(step.op, Operation::Check);
    if matches!(step.op, Operation::Deregister { .. }) {
        return finish_stop(backend, step, progress, eval_id, changed).await;
    }
    let live = match backend.read_job(&step.namespace, &step.job_id).await {
        Ok(Some(l)) => l,
        Ok(None) => return failed(step, changed, Landed::default(), "the job is not on the backend"),
        Err(e) => return failed(step, changed, Landed::default(), format!("reading the job: {e}")),
    };
    let landed = Landed {
        version: Some(live.version),
        modify_index: Some(live.job_modify_index),
    };
    if changed && !progress.journal_registered(step, &landed, &eval_id).await {
        return failed(
            step,
            changed,
            landed,
            "the journal could not record the registration",
        );
    }
    if !eval_id.is_empty() {
        match follow_evaluation(backend, &eval_id, &mut follower).await {
            Ok(Placed::All) => {}
            Ok(Placed::Blocked(detail)) => progress.emit(Event::AwaitingCapacity {
                address: step.address.clone(),
                detail,
                elapsed_ms: progress.elapsed_ms(),
            }),
            Err(reason) => return failed(step, changed, landed, reason),
        }
    }
    let spec: &Job = step.spec.as_ref().unwrap_or(&live.job);
    let at = Applied {
        version: live.version,
        since: sent_at,
    };
    let verdict = follow_gate(backend, step, spec, at, progress, counts, &mut follower).await;
    conclude(backend, step, progress, changed, landed, verdict).await
}

/// Asks the backend for the step's change. Returns the evaluation created (empty when there
/// is none) and the Raft index of the change, past which what fails because of it changes (0
/// for a check, which changes nothing), or why the change was refused.
async fn send_change<B: Backend>(backend: &B, step: &Step) -> Result<(String, u64), String> {
    let registering = |e: ApiError| format!("registering: {}", describe_api(&e));
    let registered =
        |r: crate::api::JobRegisterResponse| (r.eval_id, r.eval_create_index.max(r.job_modify_index));
    match &step.op {
        Operation::Register { job, check_index } => backend
            .register_job(job, *check_index)
            .await
            .map(registered)
            .map_err(registering),
        Operation::Revert { version, prior, job } => {
            match backend
                .revert_job(&step.namespace, &step.job_id, *version, *prior)
                .await
            {
                Ok(r) => Ok((r.eval_id, r.eval_create_index.max(r.job_modify_index))),
                // No revert endpoint on this server: the same spec registered is the same job.
                Err(e) if matches!(e.status(), Some(404 | 405)) => backend
                    .register_job(job, None)
                    .await
                    .map(registered)
                    .map_err(registering),
                Err(e) => Err(format!("reverting to version {version}: {}", describe_api(&e))),
            }
        }
        Operation::Deregister { purge } => match backend
            .deregister_job(&step.namespace, &step.job_id, *purge)
            .await
        {
            Ok(r) => Ok((r.eval_id, r.eval_create_index.max(r.job_modify_index))),
            Err(e) if e.status() == Some(404) => Ok(Default::default()),
            Err(e) => Err(format!("stopping: {}", describe_api(&e))),
        },
        Operation::Check => Ok(Default::default()),
    }
}

/// A stop accepted: waits until none of the job's allocations still runs.
async fn finish_stop<B: Backend>(
    backend: &B,
    step: &Step,
    progress: &Progress,
    eval_id: String,
    changed: bool,
) -> StepResult {
    progress.emit(Event::Registered {
        address: step.address.clone(),
        eval_id,
        version: None,
        elapsed_ms: progress.elapsed_ms(),
    });
    match wait_stopped(backend, step).await {
        Ok(()) => {
            progress.emit(Event::Stopped {
                address: step.address.clone(),
                elapsed_ms: progress.elapsed_ms(),
            });
            StepResult {
                changed,
                landed: Landed::default(),
                outcome: Outcome::Passed("stopped".into()),
            }
        }
        Err(e) => failed(
            step,
            changed,
            Landed::default(),
            format!("waiting for it to stop: {e}"),
        ),
    }
}

/// The gate's verdict as the step's result: a pass is announced, a failure carries the report
/// of the allocation to blame.
async fn conclude<B: Backend>(
    backend: &B,
    step: &Step,
    progress: &Progress,
    changed: bool,
    landed: Landed,
    verdict: Result<String, (String, Option<String>)>,
) -> StepResult {
    let outcome = match verdict {
        Ok(detail) => {
            progress.emit(Event::GatePassed {
                address: step.address.clone(),
                gate: step.gate,
                detail: detail.clone(),
                elapsed_ms: progress.elapsed_ms(),
            });
            Outcome::Passed(detail)
        }
        Err((reason, alloc_id)) => {
            let alloc = match alloc_id {
                Some(id) => Some(inspect_alloc(backend, &id).await),
                None => None,
            };
            Outcome::Failed(Box::new(FailureReport {
                address: step.address.clone(),
                reason,
                alloc,
            }))
        }
    };
    StepResult {
        changed,
        landed,
        outcome,
    }
}

async fn follow_gate<B: Backend>(
    backend: &B,
    step: &Step,
    spec: &Job,
    mut at: Applied,
    progress: &Progress,
    counts: &mut AllocCounts,
    follower: &mut Follower,
) -> Result<String, (String, Option<String>)> {
    if step.gate == Gate::Registered {
        return Ok("registered".into());
    }
    let wants_deployment = step.gate == Gate::Healthy;
    let mut index = None;
    let mut first = true;
    let mut promoted: Option<String> = None;
    loop {
        let (opts, live) = follower.options(index);
        let (allocs, mut read_at) = match backend.job_allocations(&step.namespace, &step.job_id, opts).await {
            Ok((a, meta)) => {
                index = Some(meta.last_index);
                // A check changed nothing: what fails from its first read on counts.
                if at.since == 0 {
                    at.since = meta.last_index;
                }
                // The lowest index the reads reflect: a change past it is waited for.
                (a, meta.last_index)
            }
            Err(e) if e.status().is_none() => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(e) => return Err((format!("reading allocations: {e}"), None)),
        };
        let deployment = if wants_deployment {
            match backend
                .latest_deployment(&step.namespace, &step.job_id, QueryOptions::default())
                .await
            {
                Ok((d, meta)) => {
                    read_at = read_at.min(meta.last_index);
                    d
                }
                Err(_) => None,
            }
        } else {
            None
        };
        let status = evaluate(step.gate, spec, at, &allocs, deployment.as_ref());
        let now = match &status {
            GateStatus::Waiting(c)
            | GateStatus::Passed(c, _)
            | GateStatus::AwaitingPromotion(c, _)
            | GateStatus::Failed { counts: c, .. } => *c,
        };
        if first || now != *counts {
            first = false;
            *counts = now;
            progress.emit(Event::AllocsUpdate {
                address: step.address.clone(),
                desired: now.desired,
                placed: now.placed,
                running: now.running,
                healthy: now.healthy,
                failed: now.failed,
                elapsed_ms: progress.elapsed_ms(),
            });
        }
        match status {
            GateStatus::Waiting(_) => {}
            GateStatus::AwaitingPromotion(_, id) => {
                if promoted.as_deref() != Some(id.as_str()) {
                    progress.emit(Event::AwaitingPromotion {
                        address: step.address.clone(),
                        deployment_id: id.clone(),
                        auto_promote: progress.auto_promote,
                        elapsed_ms: progress.elapsed_ms(),
                    });
                }
                if !progress.auto_promote {
                    return Err((awaiting_promotion(step, &id), None));
                }
                if promoted.as_deref() != Some(id.as_str()) {
                    if let Err(e) = backend.promote_deployment(&step.namespace, &id).await {
                        return Err((format!("promoting deployment {}: {e}", short(&id)), None));
                    }
                    promoted = Some(id);
                }
            }
            GateStatus::Passed(_, detail) => return Ok(detail),
            GateStatus::Failed { reason, alloc_id, .. } => return Err((reason, alloc_id)),
        }
        if live {
            follower.wait_past(read_at).await;
        }
    }
}

/// Where a step stops when its canaries wait for an operator.
fn awaiting_promotion(step: &Step, deployment_id: &str) -> String {
    format!(
        "canaries healthy, awaiting promotion (deployment {}): run `deploy promote {}`, or apply \
         with -auto-promote",
        short(deployment_id),
        step.address.0
    )
}

/// Waits until none of the job's allocations is still running.
async fn wait_stopped<B: Backend>(backend: &B, step: &Step) -> Result<(), ApiError> {
    let mut index = None;
    loop {
        let opts = QueryOptions {
            index,
            wait: Some(BLOCKING_WAIT),
        };
        let (allocs, meta) = match backend.job_allocations(&step.namespace, &step.job_id, opts).await {
            Ok(x) => x,
            Err(e) if e.status() == Some(404) => return Ok(()),
            Err(e) if e.status().is_none() => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        index = Some(meta.last_index);
        if allocs.iter().all(|a| {
            a.client_status.is_terminal()
                || a.client_status == ClientStatus::Pending
                    && a.desired_status != crate::api::DesiredStatus::Run
        }) {
            return Ok(());
        }
    }
}
