//! A shared handle on the in-memory state: readers take a read lock, and can wait for the
//! applied index to pass a value (blocking queries).

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use tokio::sync::watch;

use super::state::State;
use crate::cluster::events::EventBus;

/// Cheaply cloneable access to the replicated state and its latest applied index.
#[derive(Clone)]
pub struct StateHandle {
    state: Arc<RwLock<State>>,
    index: watch::Sender<u64>,
    events: Arc<EventBus>,
}

impl Default for StateHandle {
    fn default() -> Self {
        Self::new(State::default())
    }
}

impl StateHandle {
    /// Wraps `state`.
    pub fn new(state: State) -> Self {
        let (index, _) = watch::channel(state.index);
        Self {
            state: Arc::new(RwLock::new(state)),
            index,
            events: Arc::default(),
        }
    }

    /// The events applied commands produce (`/v1/event/stream`).
    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// Reads the state. Keep the guard short: apply waits for it.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the state; call [`Self::publish`] afterwards.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells waiters that the state now includes index `index`.
    pub(crate) fn publish(&self, index: u64) {
        self.index.send_if_modified(|cur| {
            let changed = index != *cur;
            *cur = index;
            changed
        });
    }

    /// The latest applied index.
    pub fn index(&self) -> u64 {
        *self.index.borrow()
    }

    /// Waits until `passed(state)` holds or `wait` runs out, reading the state again after
    /// each applied entry. `min_index = 0` (not a blocking query) returns at once.
    async fn wait_until(&self, min_index: u64, wait: Duration, mut passed: impl FnMut(&State) -> bool) {
        if min_index == 0 {
            return;
        }
        let mut rx = self.index.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            rx.borrow_and_update();
            if passed(&self.read()) {
                return;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return,
            }
        }
    }

    /// Waits until `query(state)` returns an index greater than `min_index` or `wait` passes,
    /// then returns the query's final answer. `min_index = 0` returns at once.
    pub async fn blocking_query<T>(
        &self,
        min_index: u64,
        wait: Duration,
        mut query: impl FnMut(&State) -> (u64, T),
    ) -> (u64, T) {
        let mut answer = None;
        self.wait_until(min_index, wait, |s| {
            let a = query(s);
            let passed = a.0 > min_index;
            answer = Some(a).filter(|_| passed);
            passed
        })
        .await;
        answer.unwrap_or_else(|| query(&self.read()))
    }

    /// Like [`Self::blocking_query`] for a query whose index is cheap to read apart from its
    /// answer (a table's index): each applied entry that wakes it reads `index_of` alone, and
    /// the answer is built once, with the index it is returned with.
    pub async fn blocking_query_by<T>(
        &self,
        min_index: u64,
        wait: Duration,
        index_of: impl Fn(&State) -> u64,
        query: impl FnOnce(&State) -> T,
    ) -> (u64, T) {
        self.wait_until(min_index, wait, |s| index_of(s) > min_index)
            .await;
        let state = self.read();
        (index_of(&state), query(&state))
    }

    /// Waits until the applied index is at least `index` or `wait` passes; true if reached.
    pub async fn wait_for_index(&self, index: u64, wait: Duration) -> bool {
        let mut rx = self.index.subscribe();
        tokio::time::timeout(wait, rx.wait_for(|i| *i >= index))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}
