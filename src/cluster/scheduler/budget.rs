//! `Budget`: how long one evaluation may plan. The scheduler checks it between placements
//! and gives the evaluation up when it runs out, so no job, however large, holds the
//! scheduler (or a shutting-down server) for long.
//!
//! Reading the clock here decides only whether planning goes on, never what the plan
//! holds: a plan that finishes is the same whatever the budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Why planning stopped before it finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverBudget {
    /// The time budget ran out.
    #[error("planning exceeded its time budget of {0:?}")]
    Deadline(Duration),
    /// The server is shutting down.
    #[error("planning was cancelled: the server is shutting down")]
    Cancelled,
}

/// A deadline and a cancellation flag, either optional.
#[derive(Clone, Debug, Default)]
pub struct Budget {
    deadline: Option<(Instant, Duration)>,
    cancel: Option<Arc<AtomicBool>>,
}

impl Budget {
    /// Never runs out (dry runs and tests).
    pub fn unlimited() -> Budget {
        Budget::default()
    }

    /// Runs out `limit` from now.
    pub fn of(limit: Duration) -> Budget {
        Budget {
            deadline: Some((Instant::now() + limit, limit)),
            cancel: None,
        }
    }

    /// Also runs out as soon as `flag` is set.
    pub fn cancelled_by(mut self, flag: Arc<AtomicBool>) -> Budget {
        self.cancel = Some(flag);
        self
    }

    /// `Err` once the deadline has passed or the flag is set.
    pub fn check(&self) -> Result<(), OverBudget> {
        if self.cancel.as_ref().is_some_and(|f| f.load(Ordering::Relaxed)) {
            return Err(OverBudget::Cancelled);
        }
        match self.deadline {
            Some((at, limit)) if Instant::now() >= at => Err(OverBudget::Deadline(limit)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_runs_out_and_zero_always_has() {
        assert_eq!(Budget::unlimited().check(), Ok(()));
        assert_eq!(
            Budget::of(Duration::ZERO).check(),
            Err(OverBudget::Deadline(Duration::ZERO))
        );
        assert_eq!(Budget::of(Duration::from_secs(3600)).check(), Ok(()));
    }

    #[test]
    fn the_flag_cancels() {
        let flag = Arc::new(AtomicBool::new(false));
        let budget = Budget::unlimited().cancelled_by(Arc::clone(&flag));
        assert_eq!(budget.check(), Ok(()));
        flag.store(true, Ordering::Relaxed);
        assert_eq!(budget.check(), Err(OverBudget::Cancelled));
    }
}
