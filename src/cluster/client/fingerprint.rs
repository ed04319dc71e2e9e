//! Fingerprinting: what the node is (kernel, OS, CPU, memory, host name, address) and which
//! drivers it has, as Nomad's `attr.*` names and `NodeResources`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::config::ClientConfig;
use super::driver::Drivers;

/// Node attributes and resources.
#[derive(Debug, Clone, Default)]
pub struct Fingerprint {
    /// `attr.*` values.
    pub attributes: BTreeMap<String, String>,
    /// Nomad's `NodeResources`.
    pub resources: Value,
    /// Nomad's `Drivers` map.
    pub drivers: Value,
}

fn os_release_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("ID=").map(|v| v.trim_matches('"').to_owned()))
        })
        .unwrap_or_else(|| std::env::consts::OS.to_owned())
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

/// Fingerprints the machine and the drivers.
pub async fn fingerprint(config: &ClientConfig, drivers: &Drivers) -> Fingerprint {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let mhz = cpu_mhz();
    let mem = memory_mb();
    let ip = config
        .http_addr
        .rsplit_once(':')
        .map_or("127.0.0.1", |(h, _)| h)
        .to_owned();
    let mut attrs = BTreeMap::from([
        ("kernel.name".to_owned(), std::env::consts::OS.to_owned()),
        ("kernel.version".to_owned(), kernel_version()),
        ("os.name".to_owned(), os_release_name()),
        ("cpu.arch".to_owned(), std::env::consts::ARCH.to_owned()),
        ("cpu.numcores".to_owned(), cores.to_string()),
        ("cpu.frequency".to_owned(), mhz.to_string()),
        ("cpu.totalcompute".to_owned(), (mhz * cores).to_string()),
        ("memory.totalbytes".to_owned(), (mem * 1024 * 1024).to_string()),
        ("unique.hostname".to_owned(), hostname()),
        ("unique.network.ip-address".to_owned(), ip),
        ("nomad.version".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
    ]);
    let mut driver_map = serde_json::Map::new();
    for d in drivers.all() {
        let info = d.fingerprint().await.unwrap_or_default();
        if info.detected {
            attrs.extend(info.attributes.clone());
        }
        driver_map.insert(
            d.name().to_owned(),
            json!({"Detected": info.detected, "Healthy": info.healthy, "Attributes": info.attributes,
                   "HealthDescription": if info.healthy { "Healthy" } else { "Undetected" }}),
        );
    }
    let resources = json!({
        "Cpu": {"CpuShares": mhz * cores, "TotalCpuCores": cores},
        "Memory": {"MemoryMB": mem},
        "Disk": {"DiskMB": 0},
        "Networks": [{"Mode": "host", "Device": "lo", "IP": attrs["unique.network.ip-address"]}],
        "MinDynamicPort": 20000, "MaxDynamicPort": 32000,
    });
    Fingerprint {
        attributes: attrs,
        resources,
        drivers: Value::Object(driver_map),
    }
}
