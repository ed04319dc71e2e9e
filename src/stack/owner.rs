//! Which stack owns a job on the backend: recorded on the job itself when `deploy apply`
//! registers it, as Helm records a release's ownership on the objects it creates.
//!
//! ```text
//!  apply registers:   Job.Meta += { "deploy.stack": NAME, "deploy.lineage": LINEAGE }
//!  plan reads live:   strip_owner(live spec) ─► (spec as the stack wrote it, Option<Owner>)
//! ```
//!
//! The keys never reach a plan's diff or a recorded spec: the live view strips them before it
//! compares, and the state records the spec as the stack wrote it (the revision's stack name
//! and lineage say whose it is).

use serde::{Deserialize, Serialize};

use crate::spec::Job;

/// The meta key holding the owning stack's name.
pub const OWNER_STACK_META: &str = "deploy.stack";

/// The meta key holding the owning stack's state lineage.
pub const OWNER_LINEAGE_META: &str = "deploy.lineage";

/// A stack's claim on a job: its name and its state's lineage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The stack's name.
    pub stack: String,
    /// The lineage of the stack's state (empty when the job carries none).
    pub lineage: String,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.lineage.is_empty() {
            write!(f, "stack \"{}\"", self.stack)
        } else {
            write!(f, "stack \"{}\" (lineage {})", self.stack, self.lineage)
        }
    }
}

/// Removes the ownership keys from `job`'s meta (dropping a meta left empty) and returns the
/// owner they named, if any.
pub fn strip_owner(job: &mut Job) -> Option<Owner> {
    let meta = job.meta.as_mut()?;
    let stack = meta.remove(OWNER_STACK_META);
    let lineage = meta.remove(OWNER_LINEAGE_META);
    if meta.is_empty() {
        job.meta = None;
    }
    stack.map(|stack| Owner {
        stack,
        lineage: lineage.unwrap_or_default(),
    })
}

/// `job` with `owner` recorded in its meta, as it is registered.
pub fn with_owner(job: &Job, owner: &Owner) -> Job {
    let mut out = job.clone();
    let meta = out.meta.get_or_insert_with(Default::default);
    meta.insert(OWNER_STACK_META.into(), owner.stack.clone());
    meta.insert(OWNER_LINEAGE_META.into(), owner.lineage.clone());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_round_trips_and_leaves_the_job_as_written() {
        let job = Job::default();
        let owner = Owner {
            stack: "nightly".into(),
            lineage: "l-1".into(),
        };
        let mut registered = with_owner(&job, &owner);
        assert_eq!(registered.meta.as_ref().unwrap()[OWNER_STACK_META], "nightly");
        assert_eq!(strip_owner(&mut registered), Some(owner));
        assert_eq!(registered, job);
        let mut by_hand = Job {
            meta: Some([("team".to_string(), "x".to_string())].into()),
            ..Job::default()
        };
        assert_eq!(strip_owner(&mut by_hand), None);
        assert_eq!(by_hand.meta.unwrap().len(), 1);
    }
}
