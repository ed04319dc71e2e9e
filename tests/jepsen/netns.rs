//! Network namespaces for fault tests: one namespace per server, joined by a bridge in a hub
//! namespace, with the test process (root namespace) on the same subnet through its own veth.
//!
//! ```text
//!  root ns: dj<tag> 10.213.S.254 ──veth──┐
//!                                        hub ns: br0 ──veth── ns i: eth0 10.213.S.(i+1)
//! ```
//!
//! Partitions are `iptables` DROP rules on INPUT inside the servers' namespaces, between server
//! addresses only: the test's clients (from .254) reach every server throughout, and a dropped
//! packet refuses nothing, so a partitioned peer looks alive but silent. Everything is removed
//! on drop, also while a failing test unwinds.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Runs `ip`/`iptables` style command `args`; the error says which command failed and why.
pub fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether namespaces can be made here; the reason when not.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("network namespaces need root".into());
    }
    for tool in ["ip", "iptables"] {
        if Command::new(tool).arg("-V").output().is_err() {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    let probe = format!("djprobe{}", std::process::id());
    if let Err(e) = run(&["ip", "netns", "add", &probe]) {
        return Some(format!("cannot create a network namespace: {e}"));
    }
    let rules = run(&["ip", "netns", "exec", &probe, "iptables", "-S"]);
    let _ = run(&["ip", "netns", "del", &probe]);
    rules
        .err()
        .map(|e| format!("iptables does not work in a namespace: {e}"))
}

/// Removes namespaces and links left by test processes that no longer run (a killed test
/// cannot clean up after itself).
fn sweep_leftovers() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = name
            .strip_prefix("dj")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only checks that the process exists.
        if unsafe { libc::kill(pid, 0) } != 0 {
            let _ = run(&["ip", "netns", "del", name]);
        }
    }
}

/// A hub, `n` server namespaces and a root-namespace link, all on one /24.
pub struct Net {
    tag: String,
    subnet: u8,
    n: usize,
    root_link: String,
}

impl Net {
    /// Builds the namespaces for `n` servers.
    pub fn new(n: usize) -> Result<Self, String> {
        sweep_leftovers();
        let pid = std::process::id();
        let seq = NEXT.fetch_add(1, Ordering::Relaxed);
        let subnet = ((pid.wrapping_mul(7) + seq * 13) % 250) as u8 + 1;
        let net = Net {
            tag: format!("dj{pid}-{seq}"),
            subnet,
            n,
            root_link: format!("dj{}", (pid % 100_000) * 100 + seq % 100),
        };
        net.build()?;
        Ok(net)
    }

    fn build(&self) -> Result<(), String> {
        let hub = self.hub();
        run(&["ip", "netns", "add", &hub])?;
        run(&["ip", "-n", &hub, "link", "set", "lo", "up"])?;
        run(&["ip", "-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        run(&["ip", "-n", &hub, "link", "set", "br0", "up"])?;
        for i in 0..self.n {
            let ns = self.ns(i);
            let port = format!("h{i}");
            run(&["ip", "netns", "add", &ns])?;
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
            run(&[
                "ip", "-n", &hub, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ])?;
            run(&["ip", "-n", &hub, "link", "set", &port, "master", "br0", "up"])?;
            let cidr = format!("{}/24", self.ip(i));
            run(&["ip", "-n", &ns, "addr", "add", &cidr, "dev", "eth0"])?;
            run(&["ip", "-n", &ns, "link", "set", "eth0", "up"])?;
        }
        let link = &self.root_link;
        run(&[
            "ip", "link", "add", link, "type", "veth", "peer", "name", "up0", "netns", &hub,
        ])?;
        run(&["ip", "-n", &hub, "link", "set", "up0", "master", "br0", "up"])?;
        let cidr = format!("10.213.{}.254/24", self.subnet);
        run(&["ip", "addr", "add", &cidr, "dev", link])?;
        run(&["ip", "link", "set", link, "up"])
    }

    fn hub(&self) -> String {
        format!("{}-hub", self.tag)
    }

    /// Server `i`'s namespace.
    pub fn ns(&self, i: usize) -> String {
        format!("{}-{i}", self.tag)
    }

    /// Server `i`'s address.
    pub fn ip(&self, i: usize) -> String {
        format!("10.213.{}.{}", self.subnet, i + 1)
    }

    /// Number of server namespaces.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Cuts the network into `groups` (server indexes): servers in different groups drop each
    /// other's packets; a server in no group is cut from every other. Replaces any partition.
    pub fn partition(&self, groups: &[Vec<usize>]) -> Result<(), String> {
        self.heal()?;
        for i in 0..self.n {
            let mine = groups.iter().find(|g| g.contains(&i));
            for j in (0..self.n).filter(|j| *j != i && !mine.is_some_and(|g| g.contains(j))) {
                let (ns, src) = (self.ns(i), self.ip(j));
                run(&[
                    "ip", "netns", "exec", &ns, "iptables", "-A", "INPUT", "-s", &src, "-j", "DROP",
                ])?;
            }
        }
        Ok(())
    }

    /// Removes every partition.
    pub fn heal(&self) -> Result<(), String> {
        for i in 0..self.n {
            run(&["ip", "netns", "exec", &self.ns(i), "iptables", "-F", "INPUT"])?;
        }
        Ok(())
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = run(&["ip", "link", "del", &self.root_link]);
        for i in 0..self.n {
            let _ = run(&["ip", "netns", "del", &self.ns(i)]);
        }
        let _ = run(&["ip", "netns", "del", &self.hub()]);
    }
}
