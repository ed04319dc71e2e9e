//! The server's garbage collector, on the leader: every `job_gc_interval` it reads which
//! finished objects are old enough ([`State::gc_candidates`]) and proposes their removal as
//! one [`Command::GcCollect`], so every replica removes the same objects. Expired ACL tokens
//! go at the same ticks.
//!
//! ```text
//!  tick ─► IndexClock::witness(applied index, now)
//!       ─► cutoffs = now - thresholds (deployments: the index witnessed then)
//!       ─► State::gc_candidates(cutoffs) ─► Command::GcCollect ─► Raft
//! ```
//!
//! Evaluations, allocations and jobs carry their modify times; deployments carry only Raft
//! indexes, so the leader keeps Nomad's time table (index → time it was seen) to turn a
//! threshold into an index. A new leader starts its table afresh: deployments it finds are
//! treated as changed when it took over, which only delays their collection.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::ClusterNode;
use super::evals::now_nanos;
use crate::cluster::error::ClusterError;
use crate::cluster::fsm::{Command, GcCollect, GcCutoffs};

/// Nomad's server GC settings (`server { job_gc_interval, job_gc_threshold,
/// eval_gc_threshold, batch_eval_gc_threshold, deployment_gc_threshold }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcConfig {
    /// How often the leader collects (Nomad: 5m).
    pub interval: Duration,
    /// Age of a dead job before it goes (Nomad: 4h).
    pub job_threshold: Duration,
    /// Age of a terminal evaluation before it goes (Nomad: 1h).
    pub eval_threshold: Duration,
    /// Age of a batch job's terminal evaluation before it goes (Nomad: 24h).
    pub batch_eval_threshold: Duration,
    /// Age of a finished deployment before it goes (Nomad: 1h).
    pub deployment_threshold: Duration,
}

impl Default for GcConfig {
    fn default() -> Self {
        const HOUR: u64 = 3600;
        Self {
            interval: Duration::from_secs(300),
            job_threshold: Duration::from_secs(4 * HOUR),
            eval_threshold: Duration::from_secs(HOUR),
            batch_eval_threshold: Duration::from_secs(24 * HOUR),
            deployment_threshold: Duration::from_secs(HOUR),
        }
    }
}

/// Nomad's time table: which Raft index was applied at which time, witnessed by the leader,
/// to turn "older than a duration" into "at or below an index".
#[derive(Debug, Default)]
pub struct IndexClock {
    /// (index, Unix nanoseconds), oldest first.
    seen: VecDeque<(u64, i64)>,
}

impl IndexClock {
    /// Most witnesses kept; older ones are merged away (the oldest is always kept).
    const CAPACITY: usize = 4096;

    /// Records that `index` was applied by `now_nanos`.
    pub fn witness(&mut self, index: u64, now_nanos: i64) {
        if self.seen.back().is_some_and(|&(i, _)| i >= index) {
            return;
        }
        self.seen.push_back((index, now_nanos));
        if self.seen.len() > Self::CAPACITY {
            // Keep the first as the floor; thin the rest by dropping every other entry.
            let first = self.seen.pop_front();
            let thinned: VecDeque<_> = self.seen.iter().copied().step_by(2).collect();
            self.seen = first.into_iter().chain(thinned).collect();
        }
    }

    /// The highest index witnessed at or before `at_nanos` (0 if none).
    pub fn index_at(&self, at_nanos: i64) -> u64 {
        self.seen
            .iter()
            .take_while(|&&(_, t)| t <= at_nanos)
            .last()
            .map_or(0, |&(i, _)| i)
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The cutoffs of a regular collection at `now` (Unix nanoseconds).
pub fn cutoffs(cfg: &GcConfig, clock: &IndexClock, now: i64) -> GcCutoffs {
    GcCutoffs {
        eval_before: now.saturating_sub(nanos(cfg.eval_threshold)),
        batch_eval_before: now.saturating_sub(nanos(cfg.batch_eval_threshold)),
        job_before: now.saturating_sub(nanos(cfg.job_threshold)),
        deployment_before_index: clock.index_at(now.saturating_sub(nanos(cfg.deployment_threshold))),
        force: false,
    }
}

/// How often the leader witnesses its applied index; collections run every `interval`.
const WITNESS_EVERY: Duration = Duration::from_secs(1);

/// The shortest collection tick, whatever the configured interval.
const MIN_TICK: Duration = Duration::from_millis(100);

/// Runs until the task is aborted; collects only while this server leads.
pub(super) async fn run(node: Arc<ClusterNode>) {
    let cfg = node.config.gc;
    let mut clock = IndexClock::default();
    let mut was_leader = false;
    let mut last_run = tokio::time::Instant::now();
    // A zero interval (collect on every tick) must not spin: the tick has a floor.
    let mut tick = tokio::time::interval(WITNESS_EVERY.min(cfg.interval).max(MIN_TICK));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let leader = node.is_leader();
        if leader != was_leader {
            clock = IndexClock::default();
            was_leader = leader;
        }
        if !leader {
            continue;
        }
        let now = now_nanos();
        clock.witness(node.state.read().index, now);
        if last_run.elapsed() < cfg.interval {
            continue;
        }
        last_run = tokio::time::Instant::now();
        let gc = node.state.read().gc_candidates(&cutoffs(&cfg, &clock, now));
        if let Err(e) = propose(&node, gc).await {
            tracing::warn!("garbage collection: {e}");
        }
        if let Err(e) = node.acl_collect_expired_tokens().await {
            tracing::warn!("expired ACL tokens: {e}");
        }
    }
}

async fn propose(node: &ClusterNode, gc: GcCollect) -> Result<(), ClusterError> {
    if gc.is_empty() {
        return Ok(());
    }
    tracing::debug!(
        jobs = gc.jobs.len(),
        evals = gc.evals.len(),
        allocs = gc.allocs.len(),
        deployments = gc.deployments.len(),
        "garbage collection"
    );
    node.write(Command::GcCollect(Box::new(gc))).await.map(|_| ())
}

impl ClusterNode {
    /// Collects everything finished now, whatever its age (`PUT /v1/system/gc`). Reads
    /// after a barrier so nothing acknowledged before the call is missed; the leader
    /// applies the removal.
    pub async fn collect_garbage_now(&self) -> Result<(), ClusterError> {
        self.read_barrier().await?;
        let gc = self.state.read().gc_candidates(&GcCutoffs::force());
        propose(self, gc).await?;
        self.acl_collect_expired_tokens().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_turns_an_age_into_an_index() {
        let mut c = IndexClock::default();
        assert_eq!(c.index_at(100), 0);
        c.witness(5, 10);
        c.witness(5, 20);
        c.witness(9, 30);
        assert_eq!(c.index_at(9), 0);
        assert_eq!(c.index_at(25), 5);
        assert_eq!(c.index_at(30), 9);
        for i in 10..10_000u64 {
            c.witness(i, 30 + i as i64);
        }
        assert!(c.seen.len() <= IndexClock::CAPACITY);
        assert_eq!(c.index_at(25), 5);
        assert!(c.index_at(5_000) <= 4_970);
    }

    #[test]
    fn defaults_are_nomads() {
        let d = GcConfig::default();
        assert_eq!(d.eval_threshold, Duration::from_secs(3600));
        assert_eq!(d.job_threshold, Duration::from_secs(4 * 3600));
        assert_eq!(d.batch_eval_threshold, Duration::from_secs(24 * 3600));
        assert_eq!(d.deployment_threshold, Duration::from_secs(3600));
        assert_eq!(d.interval, Duration::from_secs(300));
    }
}
