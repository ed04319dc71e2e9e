//! One event stream for every step of an apply: which jobs changed, so that a step waiting
//! on its evaluation or its gate reads again only when something about its job happened,
//! instead of holding a blocking query (one connection per waiting job) that every change in
//! the cluster wakes.
//!
//! ```text
//!  backend.event_stream(Evaluation, Allocation, Deployment) ─► follow_events ─► JobWatch
//!      per event: its job's channel = the event's index            │ (one task per apply)
//!                                                                  ▼
//!  step: Follower::options (subscribed; live: read at once) ─► read ─► Follower::wait_past(index)
//!        not live (no stream, or it dropped): blocking query as before, nothing to wait for
//! ```
//!
//! A follower subscribes before its first read and reads only while the stream is live, so
//! any change after a read is an event with a higher index, delivered to its channel. A
//! stream that connects or drops wakes every follower to read again; each wait also ends
//! after [`BLOCKING_WAIT`], as a blocking query would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::follow::BLOCKING_WAIT;
use crate::api::{EventBatch, QueryOptions, namespace_or_default};
use crate::backend::Backend;

/// The topics whose events concern a step's evaluation, allocations or deployment.
const TOPICS: [&str; 3] = ["Evaluation", "Allocation", "Deployment"];

/// A stream silent for this long (the server sends a heartbeat every 10 s) is taken as dead.
const SILENCE: Duration = Duration::from_secs(35);

/// How long to wait before connecting again after the stream dropped.
const RECONNECT: Duration = Duration::from_millis(500);

/// Namespace and job ID; an empty namespace is `default`, as the server names it.
type JobKey = (String, String);

fn key(namespace: &str, job_id: &str) -> JobKey {
    (namespace_or_default(namespace).to_owned(), job_id.to_owned())
}

/// The jobs followed during an apply and the newest event index seen for each.
#[derive(Debug)]
pub struct JobWatch {
    live: AtomicBool,
    /// Bumped when the stream connects or drops: every follower reads again.
    epoch: watch::Sender<u64>,
    jobs: Mutex<HashMap<JobKey, watch::Sender<u64>>>,
}

impl JobWatch {
    /// A watch with no stream yet (followers use blocking queries until it is live).
    pub fn new() -> Arc<JobWatch> {
        Arc::new(JobWatch {
            live: AtomicBool::new(false),
            epoch: watch::channel(0).0,
            jobs: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<JobKey, watch::Sender<u64>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the stream is connected: every change from now on arrives as an event.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    /// Marks the stream connected or dropped, and wakes every follower to read again.
    pub fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::SeqCst);
        self.epoch.send_modify(|e| *e += 1);
    }

    /// Takes in one batch of events: each followed job it names learns the batch's index.
    pub fn publish(&self, batch: &EventBatch) {
        let jobs = self.lock();
        for e in &batch.events {
            let Some(job_id) = e.job_id() else { continue };
            if let Some(tx) = jobs.get(&key(&e.namespace, job_id)) {
                let index = e.index.max(batch.index);
                tx.send_if_modified(|seen| {
                    let newer = index > *seen;
                    *seen = (*seen).max(index);
                    newer
                });
            }
        }
    }

    /// Follows `job_id` from now on (before the first read of anything about it).
    pub fn follow(self: &Arc<Self>, namespace: &str, job_id: &str) -> Follower {
        let key = key(namespace, job_id);
        let job = self
            .lock()
            .entry(key.clone())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        Follower {
            watch: Some(Arc::clone(self)),
            key,
            job: Some(job),
            epoch: Some(self.epoch.subscribe()),
        }
    }
}

/// One step's view of the watch: how to read, and how long to wait before reading again.
#[derive(Debug)]
pub struct Follower {
    watch: Option<Arc<JobWatch>>,
    key: JobKey,
    job: Option<watch::Receiver<u64>>,
    epoch: Option<watch::Receiver<u64>>,
}

impl Follower {
    /// A follower with no watch: every read is a blocking query.
    pub fn blocking() -> Follower {
        Follower {
            watch: None,
            key: Default::default(),
            job: None,
            epoch: None,
        }
    }

    /// Whether reads are answered at once and followed by [`Self::wait_past`].
    pub fn is_live(&self) -> bool {
        self.watch.as_ref().is_some_and(|w| w.is_live())
    }

    /// The options of the next read: at once while the stream is live, else a blocking
    /// query past `index`. Returns whether the read is live.
    pub fn options(&self, index: Option<u64>) -> (QueryOptions, bool) {
        if self.is_live() {
            (QueryOptions::default(), true)
        } else {
            (
                QueryOptions {
                    index,
                    wait: Some(BLOCKING_WAIT),
                },
                false,
            )
        }
    }

    /// After a live read at `index` that settled nothing: waits until an event about the job
    /// has a higher index, the stream connects or drops, or [`BLOCKING_WAIT`] passes.
    pub async fn wait_past(&mut self, index: u64) {
        let (Some(job), Some(epoch)) = (self.job.as_mut(), self.epoch.as_mut()) else {
            return;
        };
        tokio::select! {
            _ = job.wait_for(|seen| *seen > index) => {}
            _ = epoch.changed() => {}
            _ = tokio::time::sleep(BLOCKING_WAIT) => {}
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let Some(watch) = &self.watch else { return };
        // The last follower of a job takes its channel away with it.
        let job = self.job.take();
        let mut jobs = watch.lock();
        if jobs.get(&self.key).is_some_and(|tx| tx.receiver_count() <= 1) {
            jobs.remove(&self.key);
        }
        drop(job);
    }
}

/// Feeds `watch` from the backend's event stream until dropped; connects again when the
/// stream drops. Returns at once when the backend has no stream (or refuses it): every
/// follower then reads with blocking queries.
pub async fn follow_events<B: Backend>(backend: Arc<B>, watch: Arc<JobWatch>) {
    loop {
        let mut stream = match backend.event_stream(&TOPICS).await {
            Ok(s) => s,
            Err(e) if e.status().is_some_and(|s| (400..500).contains(&s) && s != 429) => {
                tracing::debug!("no event stream ({e}); steps use blocking queries");
                return;
            }
            Err(e) => {
                tracing::debug!("event stream: {e}");
                tokio::time::sleep(RECONNECT).await;
                continue;
            }
        };
        watch.set_live(true);
        loop {
            match tokio::time::timeout(SILENCE, stream.next()).await {
                Ok(Ok(Some(batch))) => watch.publish(&batch),
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    tracing::debug!("event stream: {e}");
                    break;
                }
                Err(_) => {
                    tracing::debug!("event stream silent for {SILENCE:?}; connecting again");
                    break;
                }
            }
        }
        watch.set_live(false);
        tokio::time::sleep(RECONNECT).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EventHead;

    fn batch(index: u64, events: &[(&str, &str, &str)]) -> EventBatch {
        EventBatch {
            index,
            events: events
                .iter()
                .map(|(topic, ns, job)| EventHead {
                    topic: topic.to_string(),
                    key: "x".into(),
                    namespace: ns.to_string(),
                    filter_keys: Some(vec![job.to_string()]),
                    index,
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_follower_wakes_on_an_event_of_its_job_past_its_read() {
        let w = JobWatch::new();
        w.set_live(true);
        let mut f = w.follow("", "web");
        assert!(f.is_live());
        let (opts, live) = f.options(Some(3));
        assert!(live && opts.index.is_none() && opts.wait.is_none());
        w.publish(&batch(5, &[("Allocation", "default", "web")]));
        let started = tokio::time::Instant::now();
        f.wait_past(4).await;
        assert_eq!(started.elapsed(), Duration::ZERO, "index 5 is past 4");
        // Events of other jobs, other namespaces or older indexes do not wake it.
        let w2 = Arc::clone(&w);
        let feeder = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            w2.publish(&batch(6, &[("Allocation", "default", "api")]));
            w2.publish(&batch(7, &[("Allocation", "prod", "web")]));
            tokio::time::sleep(Duration::from_secs(1)).await;
            w2.publish(&batch(8, &[("Evaluation", "default", "web")]));
        });
        f.wait_past(5).await;
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        feeder.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_stream_wakes_followers_and_reads_block_again() {
        let w = JobWatch::new();
        w.set_live(true);
        let mut f = w.follow("default", "web");
        let w2 = Arc::clone(&w);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            w2.set_live(false);
        });
        let started = tokio::time::Instant::now();
        f.wait_past(10).await;
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        let (opts, live) = f.options(Some(10));
        assert!(!live);
        assert_eq!((opts.index, opts.wait), (Some(10), Some(BLOCKING_WAIT)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_wait_ends_after_the_blocking_wait() {
        let w = JobWatch::new();
        w.set_live(true);
        let mut f = w.follow("default", "web");
        let started = tokio::time::Instant::now();
        f.wait_past(1).await;
        assert_eq!(started.elapsed(), BLOCKING_WAIT);
    }

    #[test]
    fn the_last_follower_of_a_job_removes_its_channel() {
        let w = JobWatch::new();
        let a = w.follow("default", "web");
        let b = w.follow("", "web");
        drop(a);
        assert_eq!(w.lock().len(), 1);
        drop(b);
        assert!(w.lock().is_empty());
        let blocking = Follower::blocking();
        assert!(!blocking.is_live());
    }
}
