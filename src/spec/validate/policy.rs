//! Policy checks: restart, reschedule and update blocks.

use super::Checker;
use crate::spec::policy::{ReschedulePolicy, RestartPolicy, UpdateStrategy};

/// Checks a restart block.
pub(super) fn check_restart(c: &mut Checker, r: &RestartPolicy) {
    if let Some(mode) = &r.mode
        && !matches!(mode.as_str(), "delay" | "fail")
    {
        c.push(Some("Mode"), format!("mode must be delay or fail, not {mode:?}"));
    }
    if r.attempts.is_some_and(|a| a < 0) {
        c.push(Some("Attempts"), "attempts must not be negative");
    }
    if let (Some(i), Some(d), Some(a)) = (r.interval, r.delay, r.attempts)
        && a > 0
        && i.0 > 0
        && d.0.saturating_mul(a) > i.0
    {
        c.push(
            Some("Interval"),
            format!("{a} attempts with a delay of {d} do not fit in an interval of {i}"),
        );
    }
}

/// Checks a reschedule block.
pub(super) fn check_reschedule(c: &mut Checker, r: &ReschedulePolicy) {
    if let Some(f) = &r.delay_function
        && !matches!(f.as_str(), "constant" | "exponential" | "fibonacci")
    {
        c.push(
            Some("DelayFunction"),
            format!("delay_function must be constant, exponential or fibonacci, not {f:?}"),
        );
    }
    if r.attempts.is_some_and(|a| a < 0) {
        c.push(Some("Attempts"), "attempts must not be negative");
    }
}

/// Checks an update block.
pub(super) fn check_update(c: &mut Checker, u: &UpdateStrategy) {
    if u.max_parallel.is_some_and(|m| m < 0) {
        c.push(Some("MaxParallel"), "max_parallel must not be negative");
    }
    if let Some(h) = &u.health_check
        && !matches!(h.as_str(), "checks" | "task_states" | "manual")
    {
        c.push(
            Some("HealthCheck"),
            format!("health_check must be checks, task_states or manual, not {h:?}"),
        );
    }
    if let (Some(min), Some(deadline)) = (u.min_healthy_time, u.healthy_deadline)
        && min >= deadline
    {
        c.push(
            Some("MinHealthyTime"),
            format!("min_healthy_time ({min}) must be less than healthy_deadline ({deadline})"),
        );
    }
    if let (Some(deadline), Some(progress)) = (u.healthy_deadline, u.progress_deadline)
        && progress.0 != 0
        && deadline > progress
    {
        c.push(
            Some("ProgressDeadline"),
            format!("progress_deadline ({progress}) must be at least healthy_deadline ({deadline})"),
        );
    }
}
