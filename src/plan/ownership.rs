//! Ownership: a plan never creates over, updates or destroys a job that another stack owns, or
//! that was registered by hand, unless told to adopt it.
//!
//! ```text
//!  Plan + LiveView (owner per live job) + Revision (our name, lineage, records)
//!      └─► check_ownership ─► Ok, or every conflict: the job, its owner, how to adopt it
//! ```
//!
//! A live job is ours when its ownership meta names this stack and this state's lineage, or
//! when it carries none but our state records it (registered by a build that kept no meta).

use super::model::{LiveView, Plan};
use crate::stack::{JobAddress, Owner};
use crate::state::Revision;

/// Jobs the user takes over explicitly (`-adopt ADDR`, `-adopt-all`).
#[derive(Clone, Debug, Default)]
pub struct Adoption {
    /// Every job.
    pub all: bool,
    /// These addresses.
    pub addresses: Vec<String>,
}

impl Adoption {
    /// True when `address` is to be taken over.
    pub fn covers(&self, address: &JobAddress) -> bool {
        self.all || self.addresses.contains(&address.0)
    }
}

/// One job the plan would touch that is not this stack's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The job's address in this stack.
    pub address: JobAddress,
    /// Its ID and namespace on the backend.
    pub job: String,
    /// What the plan would do to it.
    pub action: &'static str,
    /// Who owns it (`None`: registered outside deploy).
    pub owner: Option<Owner>,
}

/// The plan touches jobs it does not own.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(.0))]
pub struct OwnershipError(pub Vec<Conflict>);

fn describe(conflicts: &[Conflict]) -> String {
    let mut out = String::new();
    for c in conflicts {
        let whose = match &c.owner {
            Some(o) => format!("is owned by {o}"),
            None => "was registered outside deploy (it carries no deploy.stack meta and this state has no record of it)"
                .to_string(),
        };
        out.push_str(&format!(
            "{} ({}) {whose}; this plan would {} it.\n",
            c.address, c.job, c.action
        ));
    }
    let first = conflicts.first().map_or("ADDR", |c| c.address.0.as_str());
    out.push_str(&format!(
        "Nothing was changed. To take a job over, plan or apply again with -adopt {first} (repeatable) or \
         -adopt-all; it is then registered as this stack's. A job that already runs what the stack \
         declares can be recorded without registering it: deploy import {first} ID."
    ));
    out
}

/// Checks that every job the plan has work for is this stack's, or adopted. `stack` is this
/// stack's name; `state` its latest revision (its lineage and records).
pub fn check_ownership(
    plan: &Plan,
    live: &LiveView,
    state: Option<&Revision>,
    stack: &str,
    adoption: &Adoption,
) -> Result<(), OwnershipError> {
    let conflicts: Vec<Conflict> = plan
        .jobs
        .iter()
        .filter(|j| j.needs_apply() && !adoption.covers(&j.address))
        .filter_map(|j| {
            let l = live.jobs.get(&j.address)?;
            let ours = match &l.owner {
                Some(o) => o.stack == stack && state.is_some_and(|s| s.lineage == o.lineage),
                None => state.is_some_and(|s| s.job(&j.address).is_some()),
            };
            (!ours).then(|| Conflict {
                address: j.address.clone(),
                job: format!("job \"{}\" in namespace \"{}\"", l.spec.id(), l.spec.namespace()),
                action: if j.action == super::Action::Noop {
                    "record"
                } else {
                    j.action.describe()
                },
                owner: l.owner.clone(),
            })
        })
        .collect();
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(OwnershipError(conflicts))
    }
}

/// The jobs to register under this stack's ownership even though their spec is unchanged: the
/// adopted ones whose live meta names another owner (or none).
pub fn to_reclaim(plan: &Plan, live: &LiveView, stack: &str, lineage: &str) -> Vec<JobAddress> {
    plan.jobs
        .iter()
        .filter(|j| {
            live.jobs.get(&j.address).is_some_and(|l| {
                l.owner
                    .as_ref()
                    .is_none_or(|o| o.stack != stack || o.lineage != lineage)
            })
        })
        .map(|j| j.address.clone())
        .collect()
}
