//! Scaling policies and events. A group's `scaling` block is stored with its job, as Nomad
//! stores it beside the job: on registration each policy gets its target (`Namespace`, `Job`,
//! `Group`), its type (`horizontal`) and an ID, kept across versions while the group exists.
//! Scaling events (`POST /v1/job/:id/scale`) are kept per group, newest first, at most
//! [`MAX_EVENTS`] each, until the job is purged.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::command::Outcome;
use super::state::State;
use crate::api::{ScalingEvent, ScalingPolicyListStub};
use crate::spec::{Job, ScalingPolicy};

/// Events kept per task group (Nomad's `JobTrackedScalingEvents`).
pub const MAX_EVENTS: usize = 20;

/// namespace → job → group → events, newest first.
pub type ScalingEvents = BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<ScalingEvent>>>>;

/// The target of the policy of group `group` of job `job` in `ns`.
fn target(ns: &str, job: &str, group: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("Namespace".to_owned(), ns.to_owned()),
        ("Job".to_owned(), job.to_owned()),
        ("Group".to_owned(), group.to_owned()),
    ])
}

/// Clears what a server sets on each scaling policy, for telling whether a submission changed.
pub fn clear_server_fields(job: &mut Job) {
    for g in job.task_groups.iter_mut().flatten() {
        if let Some(p) = g.scaling.as_mut() {
            p.id.clear();
            p.namespace.clear();
            p.target = None;
            p.create_index = 0;
            p.modify_index = 0;
            if p.r#type.is_empty() {
                p.r#type = "horizontal".into();
            }
        }
    }
}

impl State {
    /// Sets the server's fields of each group's scaling policy of `job`, about to be stored at
    /// `index`: the ID and create index of the current version's policy for the same group,
    /// or a new ID derived from the index (apply stays deterministic).
    pub(super) fn fill_scaling_policies(&self, index: u64, job: &mut Job) {
        let (ns, id) = (job.namespace().to_owned(), job.id().to_owned());
        let prior = self.job(&ns, &id).map(|r| r.current());
        for g in job.task_groups.iter_mut().flatten() {
            let group = g.name.clone().unwrap_or_default();
            let Some(p) = g.scaling.as_mut() else {
                continue;
            };
            let old = prior
                .and_then(|j| j.groups().iter().find(|o| o.name.as_deref() == Some(&group)))
                .and_then(|o| o.scaling.as_ref());
            let (policy_id, create_index) = match old {
                Some(o) if !o.id.is_empty() => (o.id.clone(), o.create_index),
                _ => {
                    let seed = format!("{index}/{ns}/{id}/{group}");
                    (
                        Uuid::new_v5(&Uuid::NAMESPACE_OID, seed.as_bytes()).to_string(),
                        index,
                    )
                }
            };
            p.id = policy_id;
            p.namespace.clear();
            p.target = Some(target(&ns, &id, &group));
            if p.r#type.is_empty() {
                p.r#type = "horizontal".into();
            }
            p.enabled.get_or_insert(true);
            p.create_index = create_index;
            p.modify_index = index;
        }
    }

    /// Every stored policy of the current versions of jobs in `ns` (`*`: all), with its job.
    pub fn scaling_policies<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a ScalingPolicy> + 'a {
        self.jobs_with_prefix(ns, "").flat_map(|r| {
            r.current()
                .groups()
                .iter()
                .filter_map(|g| g.scaling.as_ref())
                .filter(|p| !p.id.is_empty())
        })
    }

    /// The policy with ID `id`, in any namespace.
    pub fn scaling_policy(&self, id: &str) -> Option<&ScalingPolicy> {
        self.scaling_policies("*").find(|p| p.id == id)
    }

    /// The events of job `job` in `ns`, by group.
    pub fn scaling_events_of(&self, ns: &str, job: &str) -> Option<&BTreeMap<String, Vec<ScalingEvent>>> {
        self.scaling_events.get(ns)?.get(job)
    }

    pub(super) fn apply_scaling_event(
        &mut self,
        index: u64,
        ns: String,
        job: String,
        group: String,
        mut event: ScalingEvent,
    ) -> Outcome {
        if self.job(&ns, &job).is_none() {
            return Outcome::NotFound {
                message: format!("job {job:?} not found"),
            };
        }
        event.create_index = index;
        let events = self
            .scaling_events
            .entry(ns)
            .or_default()
            .entry(job)
            .or_default()
            .entry(group)
            .or_default();
        events.insert(0, event);
        events.truncate(MAX_EVENTS);
        self.bump_table("scaling_event", index);
        Outcome::Done
    }

    /// Forgets the events of a purged job.
    pub(super) fn drop_scaling_events(&mut self, ns: &str, job: &str) {
        if let Some(jobs) = self.scaling_events.get_mut(ns) {
            jobs.remove(job);
            if jobs.is_empty() {
                self.scaling_events.remove(ns);
            }
        }
    }
}

/// The list view of a stored policy.
pub fn policy_stub(p: &ScalingPolicy) -> ScalingPolicyListStub {
    ScalingPolicyListStub {
        id: p.id.clone(),
        enabled: p.enabled.unwrap_or(true),
        r#type: p.r#type.clone(),
        target: p.target.clone().unwrap_or_default(),
        create_index: p.create_index,
        modify_index: p.modify_index,
    }
}
