//! Fingerprinting: what the node is (kernel, OS, CPU, memory, host name, address) and which
//! drivers it has, as Nomad's `attr.*` names and `NodeResources`.

use std::collections::BTreeMap;
use std::path::Path;

use super::config::ClientConfig;
use super::driver::Drivers;
use crate::api::{DriverInfo, NodeCpuResources, NodeDiskResources, NodeMemoryResources, NodeResources};
use crate::spec::NetworkResource;

/// Node attributes and resources.
#[derive(Debug, Clone, Default)]
pub struct Fingerprint {
    /// `attr.*` values.
    pub attributes: BTreeMap<String, String>,
    /// Nomad's `NodeResources`.
    pub resources: NodeResources,
    /// Nomad's `Drivers` map.
    pub drivers: BTreeMap<String, DriverInfo>,
}

/// The Nomad version whose HTTP API (and scheduling semantics) the built-in cluster
/// implements, reported as `attr.nomad.version`. Jobs are written against Nomad, and Nomad adds
/// version constraints of its own (`${attr.nomad.version} semver >= 1.7.0-a` for workload
/// identity, for example); the crate's version would fail them all. The API pages the cluster
/// follows are those of Nomad 1.10.
pub const NOMAD_API_VERSION: &str = "1.10.0";

/// The signals a Linux node delivers, as Nomad's signal fingerprint lists them in
/// `attr.os.signals` (sorted): what the `${attr.os.signals}` constraint Nomad adds for
/// `kill_signal` and signal change modes is checked against.
pub const OS_SIGNALS: &[&str] = &[
    "SIGABRT",
    "SIGALRM",
    "SIGBUS",
    "SIGCHLD",
    "SIGCLD",
    "SIGCONT",
    "SIGFPE",
    "SIGHUP",
    "SIGILL",
    "SIGINT",
    "SIGIO",
    "SIGIOT",
    "SIGKILL",
    "SIGPIPE",
    "SIGPOLL",
    "SIGPROF",
    "SIGPWR",
    "SIGQUIT",
    "SIGSEGV",
    "SIGSTKFLT",
    "SIGSTOP",
    "SIGSYS",
    "SIGTERM",
    "SIGTRAP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGUNUSED",
    "SIGURG",
    "SIGUSR1",
    "SIGUSR2",
    "SIGVTALRM",
    "SIGWINCH",
    "SIGXCPU",
    "SIGXFSZ",
];

/// Free space (MB) of the file system holding `dir`, which allocation directories use.
fn disk_free_mb(dir: &Path) -> i64 {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs(3) with a NUL-terminated path and a zeroed out-parameter it fills.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return 0;
    }
    (st.f_bavail as u128 * st.f_frsize as u128 / (1024 * 1024)) as i64
}

/// A field of `/etc/os-release` (`ID`, `VERSION_ID`), unquoted.
fn os_release(key: &str) -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    let prefix = format!("{key}=");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim_matches('"').to_owned()))
}

fn os_release_name() -> String {
    os_release("ID").unwrap_or_else(|| std::env::consts::OS.to_owned())
}

fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn memory_mb() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn cpu_mhz() -> u64 {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("cpu MHz"))
                .and_then(|l| l.split(':').nth(1)?.trim().parse::<f64>().ok())
        })
        .map_or(1000, |m| m as u64)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The architecture as Nomad names it (Go's `GOARCH`): jobs constrain `${attr.cpu.arch}` to
/// `amd64` or `arm64`, never to Rust's `x86_64` or `aarch64`.
fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// Fingerprints the machine and the drivers.
pub async fn fingerprint(config: &ClientConfig, drivers: &Drivers) -> Fingerprint {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let compute = config.cpu_total_compute.unwrap_or_else(|| cpu_mhz() * cores);
    let mhz = compute / cores;
    let mem = config.memory_total_mb.unwrap_or_else(memory_mb);
    let ip = config
        .http_addr
        .rsplit_once(':')
        .map_or("127.0.0.1", |(h, _)| h)
        .to_owned();
    let mut attrs = BTreeMap::from([
        ("kernel.name".to_owned(), std::env::consts::OS.to_owned()),
        ("kernel.version".to_owned(), kernel_version()),
        ("os.name".to_owned(), os_release_name()),
        (
            "os.version".to_owned(),
            os_release("VERSION_ID").unwrap_or_default(),
        ),
        ("cpu.arch".to_owned(), go_arch(std::env::consts::ARCH).to_owned()),
        ("cpu.numcores".to_owned(), cores.to_string()),
        ("cpu.frequency".to_owned(), mhz.to_string()),
        ("cpu.totalcompute".to_owned(), compute.to_string()),
        (
            "memory.totalbytes".to_owned(),
            mem.saturating_mul(1024 * 1024).to_string(),
        ),
        ("unique.hostname".to_owned(), hostname()),
        ("unique.network.ip-address".to_owned(), ip),
        ("nomad.version".to_owned(), NOMAD_API_VERSION.to_owned()),
        // What the implicit constraints of Nomad's job admission ask of a node.
        ("nomad.service_discovery".to_owned(), "true".to_owned()),
        ("os.signals".to_owned(), OS_SIGNALS.join(",")),
    ]);
    let mut driver_map = BTreeMap::new();
    for d in drivers.all() {
        let info = d.fingerprint().await.unwrap_or_default();
        if info.detected {
            attrs.extend(info.attributes.clone());
        }
        let health = if info.healthy { "Healthy" } else { "Undetected" };
        driver_map.insert(
            d.name().to_owned(),
            DriverInfo {
                attributes: Some(info.attributes),
                detected: info.detected,
                healthy: info.healthy,
                health_description: health.to_owned(),
                update_time: Some(chrono::Utc::now().to_rfc3339()),
            },
        );
    }
    let ip = attrs["unique.network.ip-address"].clone();
    let resources = NodeResources {
        cpu: NodeCpuResources {
            cpu_shares: compute as i64,
            total_cpu_cores: cores as u32,
            reservable_cpu_cores: None,
        },
        memory: NodeMemoryResources {
            memory_mb: mem as i64,
        },
        disk: NodeDiskResources {
            disk_mb: disk_free_mb(&config.data_dir),
        },
        networks: Some(vec![NetworkResource {
            mode: "host".into(),
            device: "lo".into(),
            ip: ip.clone(),
            cidr: format!("{ip}/32"),
            ..Default::default()
        }]),
        min_dynamic_port: 20000,
        max_dynamic_port: 32000,
        ..Default::default()
    };
    Fingerprint {
        attributes: attrs,
        resources,
        drivers: driver_map,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Node;
    use crate::cluster::scheduler::CompiledConstraint;

    #[test]
    fn the_architecture_has_nomads_names() {
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("aarch64"), "arm64");
        assert_eq!(go_arch("x86"), "386");
        assert_eq!(go_arch("riscv64"), "riscv64");
        let mut node = Node::default();
        node.attributes
            .insert("cpu.arch".into(), go_arch(std::env::consts::ARCH).into());
        let amd64 = CompiledConstraint::compile("${attr.cpu.arch}", "=", "amd64");
        assert_eq!(amd64.matches(&node), std::env::consts::ARCH == "x86_64");
    }

    #[test]
    fn the_nomad_version_meets_the_constraints_nomad_adds_itself() {
        let mut node = Node::default();
        node.attributes
            .insert("nomad.version".into(), NOMAD_API_VERSION.into());
        let identity = CompiledConstraint::compile("${attr.nomad.version}", "semver", ">= 1.7.0-a");
        assert!(identity.matches(&node));
        // The constraints of Nomad's admission for native services and signals hold.
        node.attributes
            .insert("nomad.service_discovery".into(), "true".into());
        node.attributes.insert("os.signals".into(), OS_SIGNALS.join(","));
        let sd = CompiledConstraint::compile("${attr.nomad.service_discovery}", "=", "true");
        assert!(sd.matches(&node));
        let signals = CompiledConstraint::compile("${attr.os.signals}", "set_contains", "SIGHUP,SIGTERM");
        assert!(signals.matches(&node));
        let unknown = CompiledConstraint::compile("${attr.os.signals}", "set_contains", "SIGNOPE");
        assert!(!unknown.matches(&node));
        // No Vault here: its constraint stays unmet, which the plan explains.
        let vault = CompiledConstraint::compile("${attr.vault.version}", "semver", ">= 0.6.1");
        assert!(!vault.matches(&node));
    }
}
