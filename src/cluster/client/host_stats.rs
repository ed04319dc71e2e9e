//! `GET /v1/client/stats`: the host's CPU, memory, disks and uptime in Nomad's `HostStats`
//! shape, read from `/proc` and `statvfs(3)`.
//!
//! ```text
//!  /proc/stat (two samples) ─► CPU [%] + CPUTicksConsumed     /proc/meminfo ─► Memory
//!  /proc/self/mounts (/dev/*) ─► statvfs ─► DiskStats          alloc dir ─► AllocDirStats
//!  /proc/uptime ─► Uptime
//! ```
//!
//! CPU use is the change between two samples of `/proc/stat`: the one taken by the previous
//! request, or one taken a moment before when that is missing or too recent.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::Client;
use super::http::error;
use crate::cluster::http::node_proxy;

/// Most file systems listed in `DiskStats`.
const MAX_DISKS: usize = 64;
/// Shortest span two CPU samples may be apart.
const MIN_SAMPLE_SPAN: Duration = Duration::from_millis(100);

/// Nomad's `HostStats`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostStats {
    /// Memory.
    pub memory: MemoryStats,
    /// Per core use.
    #[serde(rename = "CPU")]
    pub cpu: Vec<CpuStats>,
    /// Mounted disks.
    pub disk_stats: Vec<DiskStats>,
    /// The file system of the allocation directories.
    pub alloc_dir_stats: DiskStats,
    /// Devices (none: this client fingerprints no device plugins).
    pub device_stats: Vec<serde_json::Value>,
    /// Seconds since boot.
    pub uptime: u64,
    /// Unix nanoseconds.
    pub timestamp: i64,
    /// MHz in use across all cores.
    #[serde(rename = "CPUTicksConsumed")]
    pub cpu_ticks_consumed: f64,
}

/// Nomad's `MemoryStats` (bytes).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MemoryStats {
    /// Total.
    pub total: u64,
    /// Available for new processes.
    pub available: u64,
    /// In use (total − free − buffers − cache).
    pub used: u64,
    /// Unused.
    pub free: u64,
}

/// Nomad's `HostCPUStats` (percent of the core over the sample span).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CpuStats {
    /// `cpu0`, `cpu1`, ...
    #[serde(rename = "CPU")]
    pub cpu: String,
    /// User time.
    pub user: f64,
    /// System time.
    pub system: f64,
    /// Idle time.
    pub idle: f64,
    /// Everything but idle.
    pub total: f64,
}

/// Nomad's `HostDiskStats`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DiskStats {
    /// Device (`/dev/sda1`).
    pub device: String,
    /// Where it is mounted.
    pub mountpoint: String,
    /// Bytes in all.
    pub size: u64,
    /// Bytes used.
    pub used: u64,
    /// Bytes available to unprivileged users.
    pub available: u64,
    /// `Used / (Used + Available)` in percent.
    pub used_percent: f64,
    /// Inodes used in percent.
    pub inodes_used_percent: f64,
}

/// Jiffies of one core: (user incl. nice, system incl. irq/softirq, idle incl. iowait, total).
type Times = (u64, u64, u64, u64);

/// Per core times from `/proc/stat` text.
pub fn parse_proc_stat(text: &str) -> Vec<(String, Times)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let Some(name) = parts.next().filter(|n| n.starts_with("cpu") && n.len() > 3) else {
            continue;
        };
        let v: Vec<u64> = parts.map(|p| p.parse().unwrap_or(0)).collect();
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        let user = at(0) + at(1);
        let system = at(2) + at(5) + at(6);
        let idle = at(3) + at(4);
        let total = user + system + idle + at(7);
        out.push((name.to_owned(), (user, system, idle, total)));
    }
    out
}

/// Percentages between two samples of the same cores.
pub fn cpu_percent(before: &[(String, Times)], after: &[(String, Times)]) -> Vec<CpuStats> {
    after
        .iter()
        .map(|(name, a)| {
            let b = before
                .iter()
                .find(|(n, _)| n == name)
                .map_or((0, 0, 0, 0), |(_, t)| *t);
            let span = a.3.saturating_sub(b.3).max(1) as f64;
            let pct = |x: u64, y: u64| x.saturating_sub(y) as f64 * 100.0 / span;
            let idle = pct(a.2, b.2);
            CpuStats {
                cpu: name.clone(),
                user: pct(a.0, b.0),
                system: pct(a.1, b.1),
                idle,
                total: (100.0 - idle).max(0.0),
            }
        })
        .collect()
}

/// `MemoryStats` from `/proc/meminfo` text.
pub fn parse_meminfo(text: &str) -> MemoryStats {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let (total, free) = (field("MemTotal"), field("MemFree"));
    let cached = field("Cached") + field("SReclaimable");
    MemoryStats {
        total,
        available: field("MemAvailable"),
        used: total.saturating_sub(free + field("Buffers") + cached),
        free,
    }
}

/// `statvfs` of `path` as `DiskStats`.
pub fn disk_stats(path: &Path, device: &str, mountpoint: &str) -> Option<DiskStats> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statvfs(3) with a NUL-terminated path and a zeroed out-parameter it fills.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let frsize = st.f_frsize;
    let size = st.f_blocks * frsize;
    let used = st.f_blocks.saturating_sub(st.f_bfree) * frsize;
    let available = st.f_bavail * frsize;
    let pct = |x: u64, of: u64| {
        if of == 0 {
            0.0
        } else {
            x as f64 * 100.0 / of as f64
        }
    };
    Some(DiskStats {
        device: device.to_owned(),
        mountpoint: mountpoint.to_owned(),
        size,
        used,
        available,
        used_percent: pct(used, used + available),
        inodes_used_percent: pct(st.f_files.saturating_sub(st.f_ffree), st.f_files),
    })
}

/// The mounted block devices (`/dev/...`), one entry per device.
fn mounted_disks() -> Vec<DiskStats> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut seen = HashSet::new();
    mounts
        .lines()
        .filter_map(|l| {
            let mut p = l.split_whitespace();
            Some((p.next()?, p.next()?))
        })
        .filter(|(dev, _)| dev.starts_with("/dev/") && seen.insert(dev.to_string()))
        .take(MAX_DISKS)
        .filter_map(|(dev, at)| disk_stats(Path::new(at), dev, at))
        .collect()
}

/// Per core times, named.
type Sample = Vec<(String, Times)>;

/// The last CPU sample, shared by requests.
static LAST: Mutex<Option<(Instant, Sample)>> = Mutex::new(None);

async fn cpu_sample() -> Vec<CpuStats> {
    let read = || parse_proc_stat(&std::fs::read_to_string("/proc/stat").unwrap_or_default());
    let last = LAST.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let before = match last {
        Some((at, s)) if at.elapsed() >= MIN_SAMPLE_SPAN => s,
        _ => {
            let s = read();
            tokio::time::sleep(MIN_SAMPLE_SPAN).await;
            s
        }
    };
    let now = read();
    *LAST.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), now.clone()));
    cpu_percent(&before, &now)
}

/// The host's stats now; `cpu_mhz` is one core's frequency.
pub async fn collect(alloc_root: &Path, cpu_mhz: f64) -> HostStats {
    let cpu = cpu_sample().await;
    let ticks = cpu.iter().map(|c| c.total / 100.0 * cpu_mhz).sum();
    let uptime = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0, |s| s as u64);
    HostStats {
        memory: parse_meminfo(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default()),
        cpu,
        disk_stats: mounted_disks(),
        alloc_dir_stats: disk_stats(alloc_root, "", "").unwrap_or_default(),
        device_stats: Vec::new(),
        uptime,
        timestamp: super::task_state::now_nanos(),
        cpu_ticks_consumed: ticks,
    }
}

/// `GET /v1/client/stats`.
pub fn router(client: Arc<Client>) -> Router {
    Router::new()
        .route("/v1/client/stats", get(stats))
        .with_state(client)
}

async fn stats(
    State(client): State<Arc<Client>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    uri: OriginalUri,
) -> Response {
    let node = client.node();
    let asked = q.get("node_id").map(String::as_str).unwrap_or_default();
    if !asked.is_empty() && asked != node.id {
        if node_proxy::was_forwarded(&headers) {
            return error(StatusCode::NOT_FOUND, format!("unknown node {asked:?}"));
        }
        return match client.ctx.api.node_addr(asked).await {
            Ok(Some(addr)) => {
                let path = uri.path_and_query().map_or("", |p| p.as_str());
                let http = &client.ctx.agents;
                node_proxy::to_node(http, &client.config().http_transport, &addr, path, &headers).await
            }
            _ => error(StatusCode::NOT_FOUND, format!("unknown node {asked:?}")),
        };
    }
    let mhz = node
        .attributes
        .get("cpu.frequency")
        .and_then(|f| f.parse::<f64>().ok())
        .unwrap_or(0.0);
    axum::Json(collect(&client.config().alloc_root(), mhz).await).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percentages_come_from_two_samples() {
        let before = parse_proc_stat("cpu  1 0 1 8 0 0 0 0\ncpu0 10 0 10 80 0 0 0 0\nintr 5\n");
        let after = parse_proc_stat("cpu0 40 0 20 140 0 0 0 0\n");
        assert_eq!(before.len(), 1, "the aggregate line is not a core");
        let c = &cpu_percent(&before, &after)[0];
        assert_eq!(c.cpu, "cpu0");
        assert_eq!((c.user, c.system, c.idle, c.total), (30.0, 10.0, 60.0, 40.0));
    }

    #[test]
    fn memory_from_meminfo() {
        let m = parse_meminfo(
            "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 600 kB\nBuffers: 50 kB\nCached: 200 kB\nSReclaimable: 50 kB\n",
        );
        assert_eq!(
            (m.total, m.free, m.available, m.used),
            (1_024_000, 102_400, 614_400, 614_400)
        );
    }

    #[tokio::test]
    async fn host_stats_read_this_host() {
        let tmp = tempfile::tempdir().unwrap();
        let s = collect(tmp.path(), 1000.0).await;
        assert!(s.memory.total > 0 && s.uptime > 0 && !s.cpu.is_empty());
        assert!(s.alloc_dir_stats.size > 0);
        let v = serde_json::to_value(&s).unwrap();
        for f in [
            "Memory",
            "CPU",
            "DiskStats",
            "AllocDirStats",
            "Uptime",
            "Timestamp",
            "CPUTicksConsumed",
        ] {
            assert!(v.get(f).is_some(), "{f}");
        }
        assert!(v["CPU"][0].get("CPU").is_some() && v["Memory"].get("Available").is_some());
    }
}
