//! Resource fit: CPU, memory, disk and ports of a node minus what its allocations hold,
//! against what one allocation of the group asks. Ports are chosen here.

use super::feasible::Rejection;
use super::group_spec::Demand;
use super::rng::SchedRng;
use super::usage::NodeUsage;
use crate::api::{AllocatedPortMapping, Node};

/// Nomad's default dynamic port range.
const DEFAULT_MIN_DYNAMIC_PORT: i64 = 20000;
const DEFAULT_MAX_DYNAMIC_PORT: i64 = 32000;
/// Random probes before scanning the range in order.
const RANDOM_PORT_ATTEMPTS: usize = 20;

/// What a node can give in total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    /// CPU MHz.
    pub cpu: i64,
    /// Memory MB.
    pub memory_mb: i64,
    /// Disk MB.
    pub disk_mb: i64,
}

impl Capacity {
    /// Node resources minus the host's reservation.
    pub fn of(node: &Node) -> Capacity {
        let (r, k) = (&node.node_resources, &node.reserved_resources);
        Capacity {
            cpu: r.cpu.cpu_shares - k.cpu.cpu_shares,
            memory_mb: r.memory.memory_mb - k.memory.memory_mb,
            disk_mb: r.disk.disk_mb - k.disk.disk_mb,
        }
    }
}

/// Checks CPU, memory and disk; the dimension key is Nomad's (`cpu`, `memory`, `disk`).
pub fn check_resources(node: &Node, usage: &NodeUsage, demand: &Demand) -> Result<(), Rejection> {
    let cap = Capacity::of(node);
    let dims = [
        ("cpu", "MHz", cap.cpu, usage.cpu, demand.cpu),
        ("memory", "MB memory", cap.memory_mb, usage.memory_mb, demand.memory_mb),
        ("disk", "MB disk", cap.disk_mb, usage.disk_mb, demand.disk_mb),
    ];
    for (key, unit, cap, used, want) in dims {
        if used + want > cap {
            return Err(Rejection {
                key: key.to_string(),
                reason: format!("{key} exhausted: needs {want} {unit}, {} of {cap} free", (cap - used).max(0)),
            });
        }
    }
    Ok(())
}

/// Host ports the node keeps for itself (`"22,80,8000-8100"`).
pub fn reserved_host_ports(node: &Node) -> impl Iterator<Item = i64> + '_ {
    node.reserved_resources.networks.reserved_host_ports.split(',').flat_map(|part| {
        let part = part.trim();
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok(), b.trim().parse().ok()),
            None => (part.parse().ok(), part.parse().ok()),
        };
        match (lo, hi) {
            (Some(lo), Some(hi)) if lo <= hi => lo..=hi,
            _ => 1..=0,
        }
    })
}

/// Picks the group's ports on the node: static ports must be free, dynamic ones are drawn
/// from the node's dynamic range.
pub fn assign_ports(
    node: &Node,
    usage: &NodeUsage,
    demand: &Demand,
    rng: &mut SchedRng,
) -> Result<Vec<AllocatedPortMapping>, Rejection> {
    if demand.reserved_ports.is_empty() && demand.dynamic_ports.is_empty() {
        return Ok(Vec::new());
    }
    let host_reserved: Vec<i64> = reserved_host_ports(node).collect();
    let taken = |p: i64, chosen: &[AllocatedPortMapping]| {
        usage.ports.contains(&p) || host_reserved.contains(&p) || chosen.iter().any(|c| c.value == p)
    };
    let host_ip = node.attributes.get("unique.network.ip-address").cloned().unwrap_or_default();
    let mut chosen = Vec::new();
    for (label, value, to) in &demand.reserved_ports {
        if taken(*value, &chosen) {
            return Err(Rejection {
                key: "network: reserved port collision".to_string(),
                reason: format!("static port {value} ({label}) is already in use"),
            });
        }
        let to = if *to == 0 { *value } else { *to };
        chosen.push(AllocatedPortMapping { label: label.clone(), value: *value, to, host_ip: host_ip.clone() });
    }
    let mut min = node.node_resources.min_dynamic_port;
    let mut max = node.node_resources.max_dynamic_port;
    if min <= 0 || max <= 0 || min > max {
        (min, max) = (DEFAULT_MIN_DYNAMIC_PORT, DEFAULT_MAX_DYNAMIC_PORT);
    }
    let span = (max - min + 1) as usize;
    for (label, to) in &demand.dynamic_ports {
        let random = (0..RANDOM_PORT_ATTEMPTS)
            .map(|_| min + rng.below(span) as i64)
            .find(|p| !taken(*p, &chosen));
        let Some(port) = random.or_else(|| (min..=max).find(|p| !taken(*p, &chosen))) else {
            return Err(Rejection {
                key: "network: dynamic port selection failed".to_string(),
                reason: format!("no free dynamic port in {min}-{max} for {label}"),
            });
        };
        let to = if *to == 0 { port } else { *to };
        chosen.push(AllocatedPortMapping { label: label.clone(), value: port, to, host_ip: host_ip.clone() });
    }
    Ok(chosen)
}
