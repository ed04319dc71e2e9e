//! The `restart` policy as a pure decision: after a task exits, restart it (after a delay),
//! or give up. Attempts are counted within a sliding `interval`; `mode = "delay"` waits out the
//! interval instead of failing.

use std::time::{Duration, Instant};

use crate::spec::RestartPolicy;

/// What to do after an exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Restart after the delay.
    Restart(Duration),
    /// Do not restart; the task is dead (failed unless it exited successfully).
    Stop,
}

/// Restart accounting of one task.
#[derive(Debug, Clone)]
pub struct RestartTracker {
    attempts: u64,
    interval: Duration,
    delay: Duration,
    delay_mode: bool,
    batch: bool,
    window_start: Option<Instant>,
    count: u64,
}

fn dur(d: Option<crate::spec::Duration>, default: Duration) -> Duration {
    d.and_then(|d| u64::try_from(d.0).ok())
        .map_or(default, Duration::from_nanos)
}

impl RestartTracker {
    /// Nomad's defaults: service 2 attempts in 30 m, batch 3 in 24 h; delay 15 s; mode fail.
    pub fn new(policy: Option<&RestartPolicy>, job_type: &str) -> Self {
        let batch = matches!(job_type, "batch" | "sysbatch");
        let (attempts, interval) = if batch {
            (3, Duration::from_secs(86_400))
        } else {
            (2, Duration::from_secs(1800))
        };
        Self {
            attempts: policy
                .and_then(|p| p.attempts)
                .and_then(|a| u64::try_from(a).ok())
                .unwrap_or(attempts),
            interval: dur(policy.and_then(|p| p.interval), interval),
            delay: dur(policy.and_then(|p| p.delay), Duration::from_secs(15)),
            delay_mode: policy.and_then(|p| p.mode.as_deref()) == Some("delay"),
            batch,
            window_start: None,
            count: 0,
        }
    }

    /// A prestart or poststart task that is not a sidecar: done once it exits 0, whatever the
    /// job's type (Nomad restarts such a task only after a failure).
    pub fn ephemeral(mut self) -> Self {
        self.batch = true;
        self
    }

    /// Decides after an exit at `now`; `success` = exit code 0.
    pub fn on_exit(&mut self, success: bool, now: Instant) -> Decision {
        if success && self.batch {
            return Decision::Stop;
        }
        self.next_attempt(now)
    }

    /// Decides after a requested restart (template change, failing check).
    pub fn on_restart_request(&mut self, now: Instant) -> Decision {
        self.next_attempt(now)
    }

    fn next_attempt(&mut self, now: Instant) -> Decision {
        let start = *self.window_start.get_or_insert(now);
        if now.duration_since(start) > self.interval {
            self.window_start = Some(now);
            self.count = 0;
        }
        if self.count < self.attempts {
            self.count += 1;
            return Decision::Restart(self.delay);
        }
        if self.delay_mode {
            let wait = self.interval.saturating_sub(now.duration_since(start));
            self.window_start = Some(now + wait);
            self.count = 1;
            return Decision::Restart(wait.max(self.delay));
        }
        Decision::Stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Duration as D;

    #[test]
    fn an_ephemeral_task_of_a_service_is_done_after_exit_0_and_restarts_after_a_failure() {
        let now = Instant::now();
        let mut t = RestartTracker::new(None, "service").ephemeral();
        assert!(matches!(t.on_exit(false, now), Decision::Restart(_)));
        assert!(matches!(t.on_exit(true, now), Decision::Stop));
        let mut main = RestartTracker::new(None, "service");
        assert!(matches!(main.on_exit(true, now), Decision::Restart(_)));
    }

    #[test]
    fn attempts_then_stop_and_window_reset() {
        let p = RestartPolicy {
            attempts: Some(2),
            interval: Some(D::from_secs(10)),
            delay: Some(D::from_secs(1)),
            mode: Some("fail".into()),
            ..Default::default()
        };
        let mut t = RestartTracker::new(Some(&p), "service");
        let t0 = Instant::now();
        assert_eq!(t.on_exit(false, t0), Decision::Restart(Duration::from_secs(1)));
        assert_eq!(t.on_exit(true, t0), Decision::Restart(Duration::from_secs(1)));
        assert_eq!(t.on_exit(false, t0), Decision::Stop);
        assert_eq!(
            t.on_exit(false, t0 + Duration::from_secs(11)),
            Decision::Restart(Duration::from_secs(1))
        );
        let mut b = RestartTracker::new(Some(&p), "batch");
        assert_eq!(b.on_exit(true, t0), Decision::Stop);
    }
}
