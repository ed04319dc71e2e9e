//! The client's garbage collector: removes the directories (and persisted records) of
//! finished allocations, as Nomad's client GC does.
//!
//! ```text
//!  every gc_interval, or PUT /v1/client/gc:
//!    server's list of this node's allocations + the runners here
//!      ─► finished directories, oldest first
//!      ─► remove: those the server no longer lists; the oldest beyond gc_max_allocs;
//!                 the oldest while disk use is above gc_disk_usage_threshold
//! ```
//!
//! A directory whose allocation still runs here is never removed, whatever the limits say.
//! Removal stays on the allocation directory's own file system: a mount inside it is left
//! alone rather than emptied.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{Client, ClientError};
use crate::api::DesiredStatus;
use crate::cluster::fsm::Allocation;

/// Nomad's client GC settings (`client { gc_interval, gc_max_allocs,
/// gc_disk_usage_threshold }`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientGcConfig {
    /// How often the client collects (Nomad: 1m).
    pub interval: Duration,
    /// Most finished allocation directories kept (Nomad: 50).
    pub max_allocs: usize,
    /// Disk use, in percent of the allocation directory's file system, above which finished
    /// directories are removed oldest first (Nomad: 80).
    pub disk_usage_threshold: f64,
}

impl Default for ClientGcConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            max_allocs: 50,
            disk_usage_threshold: 80.0,
        }
    }
}

/// A finished allocation directory.
#[derive(Debug, Clone, PartialEq)]
struct Finished {
    id: String,
    /// Whether the server still lists the allocation on this node.
    listed: bool,
    /// When the directory last changed, for oldest-first removal.
    modified: SystemTime,
}

/// Which of `finished` (oldest first) to remove: every unlisted one, the oldest listed ones
/// beyond `max_allocs`, then the oldest while `over_disk()` says disk use is too high.
fn choose(finished: &[Finished], max_allocs: usize, mut over_disk: impl FnMut(usize) -> bool) -> Vec<String> {
    let mut out: Vec<String> = finished
        .iter()
        .filter(|f| !f.listed)
        .map(|f| f.id.clone())
        .collect();
    let listed: Vec<&Finished> = finished.iter().filter(|f| f.listed).collect();
    let surplus = listed.len().saturating_sub(max_allocs);
    let mut rest = listed.into_iter().map(|f| f.id.clone());
    out.extend(rest.by_ref().take(surplus));
    for id in rest {
        if !over_disk(out.len()) {
            break;
        }
        out.push(id);
    }
    out
}

/// Percent of the file system holding `path` in use, as `df` counts it.
fn disk_usage_percent(path: &Path) -> Option<f64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 || st.f_blocks == 0 {
        return None;
    }
    let used = st.f_blocks.saturating_sub(st.f_bfree) as f64;
    let usable = used + st.f_bavail as f64;
    (usable > 0.0).then(|| used / usable * 100.0)
}

/// Removes `path` and everything beneath it that is on the same file system, never following
/// a symlink; a mount point inside is left in place (and with it its parents).
fn remove_tree(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    fn walk(path: &Path, dev: u64) -> std::io::Result<()> {
        let meta = std::fs::symlink_metadata(path)?;
        if !meta.is_dir() {
            return std::fs::remove_file(path);
        }
        if meta.dev() != dev {
            tracing::warn!("leaving mount point {} in place", path.display());
            return Ok(());
        }
        for entry in std::fs::read_dir(path)? {
            walk(&entry?.path(), dev)?;
        }
        std::fs::remove_dir(path)
    }
    let dev = std::fs::symlink_metadata(path)?.dev();
    walk(path, dev)
}

fn finished_on_server(a: &Allocation) -> bool {
    a.desired_status != DesiredStatus::Run || a.client_status.is_terminal()
}

impl Client {
    /// Starts the periodic collection with `cfg`; it stops with the client's other loops.
    pub fn start_gc(self: &Arc<Self>, cfg: ClientGcConfig) {
        let client = Arc::clone(self);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(cfg.interval.max(Duration::from_millis(100))).await;
                match client.collect(cfg.max_allocs, cfg.disk_usage_threshold).await {
                    Ok(gone) if !gone.is_empty() => {
                        tracing::debug!("removed {} finished allocation directories", gone.len())
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!("client garbage collection: {e}"),
                }
            }
        });
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    }

    /// Removes every finished allocation directory now (`PUT /v1/client/gc`); returns the
    /// allocation IDs removed.
    pub async fn collect_all(&self) -> Result<Vec<String>, ClientError> {
        self.collect(0, -1.0).await
    }

    /// Removes the directory of allocation `id` if it is finished (`PUT
    /// /v1/client/allocation/:id/gc`); false when it still runs or is not on this client.
    pub async fn collect_alloc(&self, id: &str) -> Result<bool, ClientError> {
        let finished = self.finished_dirs().await?;
        if !finished.iter().any(|f| f.id == id) {
            return Ok(false);
        }
        self.remove(&[id.to_owned()]);
        Ok(true)
    }

    async fn collect(&self, max_allocs: usize, disk_threshold: f64) -> Result<Vec<String>, ClientError> {
        let finished = self.finished_dirs().await?;
        let root = self.ctx.config.alloc_root();
        let start = disk_usage_percent(&root);
        // Disk use is read once; each removal is assumed to help, so the check after the
        // first removal re-reads it.
        let over = |removed: usize| match (removed, start) {
            (0, Some(p)) => p > disk_threshold,
            (_, Some(_)) => disk_usage_percent(&root).is_some_and(|p| p > disk_threshold),
            (_, None) => false,
        };
        let gone = choose(&finished, max_allocs, over);
        self.remove(&gone);
        Ok(gone)
    }

    /// Finished allocation directories, oldest first: no runner here is running them, and
    /// the server either no longer lists them or lists them as finished.
    async fn finished_dirs(&self) -> Result<Vec<Finished>, ClientError> {
        let node = self.ctx.node().id;
        let listed: HashMap<String, Allocation> = self
            .ctx
            .api
            .node_allocations(&node, 0, Duration::from_millis(10))
            .await?
            .value
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let runners = self.lock();
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.ctx.config.alloc_root())?.flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            if runners.get(&id).is_some_and(|r| !r.finished()) {
                continue;
            }
            let on_server = listed.get(&id);
            if on_server.is_some_and(|a| !finished_on_server(a)) {
                continue;
            }
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            out.push(Finished {
                id,
                listed: on_server.is_some(),
                modified,
            });
        }
        out.sort_by(|a, b| a.modified.cmp(&b.modified).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    fn remove(&self, ids: &[String]) {
        let root = self.ctx.config.alloc_root();
        let records = self.ctx.config.state_dir().join("allocs");
        for id in ids {
            {
                let mut runners = self.lock();
                if runners.get(id).is_some_and(|r| !r.finished()) {
                    continue;
                }
                if let Some(r) = runners.remove(id) {
                    r.shared.forget();
                }
            }
            let _ = std::fs::remove_file(records.join(format!("{id}.json")));
            if let Err(e) = remove_tree(&root.join(id)) {
                tracing::warn!("removing allocation directory {id}: {e}");
            }
        }
    }
}

/// `/v1/client/gc` and `/v1/client/allocation/:id/gc`: `GET` as Nomad's docs give them (and
/// python-nomad sends), `PUT` as the Nomad CLI does.
pub fn router(client: Arc<Client>) -> Router {
    Router::new()
        .route("/v1/client/gc", get(gc_all).put(gc_all))
        .route("/v1/client/allocation/{id}/gc", get(gc_one).put(gc_one))
        .with_state(client)
}

fn failed(e: ClientError) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
}

async fn gc_all(State(client): State<Arc<Client>>) -> Response {
    match client.collect_all().await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => failed(e),
    }
}

async fn gc_one(State(client): State<Arc<Client>>, UrlPath(id): UrlPath<String>) -> Response {
    match client.collect_alloc(&id).await {
        Ok(true) => StatusCode::OK.into_response(),
        Ok(false) => (
            StatusCode::NOT_FOUND,
            format!("unknown or running allocation {id:?} on this client"),
        )
            .into_response(),
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: &str, listed: bool, secs: u64) -> Finished {
        Finished {
            id: id.into(),
            listed,
            modified: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    #[test]
    fn unlisted_go_then_the_oldest_beyond_the_limit_then_while_the_disk_is_full() {
        let all = [
            f("a", true, 1),
            f("b", false, 2),
            f("c", true, 3),
            f("d", true, 4),
        ];
        assert_eq!(choose(&all, 2, |_| false), ["b", "a"]);
        assert_eq!(choose(&all, 5, |_| false), ["b"]);
        assert_eq!(choose(&all, 5, |removed| removed < 2), ["b", "a"]);
        assert_eq!(choose(&all, 0, |_| true), ["b", "a", "c", "d"]);
    }

    #[test]
    fn removal_stays_beneath_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("keep"), "x").unwrap();
        let alloc = tmp.path().join("alloc");
        std::fs::create_dir_all(alloc.join("t/local")).unwrap();
        std::fs::write(alloc.join("t/local/f"), "y").unwrap();
        std::os::unix::fs::symlink(&outside, alloc.join("t/link")).unwrap();
        remove_tree(&alloc).unwrap();
        assert!(!alloc.exists());
        assert!(outside.join("keep").exists());
        assert!(disk_usage_percent(tmp.path()).is_some_and(|p| (0.0..=100.0).contains(&p)));
    }
}
