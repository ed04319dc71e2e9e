//! Connection limits of one listener: per client IP (Nomad's `limits {
//! http_max_conns_per_client, rpc_max_conns_per_client }`) and in total. A connection over a
//! limit is closed at once, before anything is read from it.
//!
//! The RPC listener does not hold loopback peers to the per-client limit: agents dial one
//! connection per request in flight (Nomad multiplexes them over one), and every agent on a
//! host dials from 127.0.0.1, so a few agents' blocking queries and Raft traffic would exceed
//! a per-IP limit meant for one remote agent. They still count towards the total.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a listener logs that it refused connections.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// When a listener last logged a refusal: a peer over its limit is logged once per
/// [`REFUSAL_LOG_EVERY`], not once per connection.
#[derive(Debug, Default)]
pub struct RefusalLog {
    last: Option<Instant>,
}

impl RefusalLog {
    /// Notes a refusal; whether to log it.
    pub fn note(&mut self) -> bool {
        let now = Instant::now();
        let due = self
            .last
            .is_none_or(|t| now.duration_since(t) >= REFUSAL_LOG_EVERY);
        if due {
            self.last = Some(now);
        }
        due
    }
}

/// How many connections a listener holds open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Per client IP; 0 = no limit (as Nomad's).
    pub per_client: usize,
    /// In total; 0 = no limit.
    pub total: usize,
    /// Loopback peers are not held to `per_client` (the RPC listener's setting).
    pub loopback_exempt: bool,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// The open connections of a listener, counted against [`ConnLimits`].
#[derive(Debug, Clone)]
pub struct ConnCounter {
    limits: ConnLimits,
    counts: Arc<Mutex<Counts>>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct ConnPermit {
    ip: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl ConnCounter {
    /// A counter with no connection open.
    pub fn new(limits: ConnLimits) -> Self {
        Self {
            limits,
            counts: Arc::default(),
        }
    }

    /// A place for a connection from `ip`, or `None` if a limit is reached.
    pub fn admit(&self, ip: IpAddr) -> Option<ConnPermit> {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let from_ip = c.per_ip.get(&ip).copied().unwrap_or(0);
        let over = |limit: usize, n: usize| limit != 0 && n >= limit;
        let per_client = match self.limits.loopback_exempt && ip.is_loopback() {
            true => 0,
            false => self.limits.per_client,
        };
        if over(self.limits.total, c.total) || over(per_client, from_ip) {
            return None;
        }
        c.total += 1;
        *c.per_ip.entry(ip).or_default() += 1;
        Some(ConnPermit {
            ip,
            counts: Arc::clone(&self.counts),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_client_and_in_total_and_frees_on_drop() {
        let counter = ConnCounter::new(ConnLimits {
            per_client: 2,
            total: 3,
            loopback_exempt: true,
        });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        let a1 = counter.admit(a).unwrap();
        let _a2 = counter.admit(a).unwrap();
        assert!(counter.admit(a).is_none(), "third from one client");
        let _b1 = counter.admit(b).unwrap();
        assert!(counter.admit(c).is_none(), "over the total");
        drop(a1);
        assert_eq!(counter.open(), 2);
        assert!(counter.admit(c).is_some());
    }

    #[test]
    fn zero_means_unlimited() {
        let counter = ConnCounter::new(ConnLimits {
            per_client: 0,
            total: 0,
            loopback_exempt: false,
        });
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..1000).map(|_| counter.admit(ip).unwrap()).collect();
        assert_eq!(counter.open(), held.len());
    }

    #[test]
    fn loopback_peers_exempt_from_the_per_client_limit_only_when_asked() {
        let limits = |loopback_exempt| ConnLimits {
            per_client: 2,
            total: 5,
            loopback_exempt,
        };
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        let exempt = ConnCounter::new(limits(true));
        let held: Vec<_> = (0..4).map(|_| exempt.admit(v4).unwrap()).collect();
        let _v6 = exempt.admit(v6).unwrap();
        assert!(exempt.admit(v4).is_none(), "loopback still counts in the total");
        assert_eq!(held.len(), 4);
        let remote: IpAddr = "10.0.0.1".parse().unwrap();
        drop(held);
        let _r: Vec<_> = (0..2).map(|_| exempt.admit(remote).unwrap()).collect();
        assert!(exempt.admit(remote).is_none(), "a remote peer keeps its limit");

        let held = ConnCounter::new(limits(false));
        let _two: Vec<_> = (0..2).map(|_| held.admit(v4).unwrap()).collect();
        assert!(held.admit(v4).is_none(), "loopback limited when not exempt");
    }
}
