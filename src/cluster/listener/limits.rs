//! Connection limits of one listener: per client IP (Nomad's `limits {
//! http_max_conns_per_client, rpc_max_conns_per_client }`) and in total. A connection over a
//! limit is closed at once, before anything is read from it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// How many connections a listener holds open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Per client IP; 0 = no limit (as Nomad's).
    pub per_client: usize,
    /// In total; 0 = no limit.
    pub total: usize,
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
        if over(self.limits.total, c.total) || over(self.limits.per_client, from_ip) {
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
        });
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..1000).map(|_| counter.admit(ip).unwrap()).collect();
        assert_eq!(counter.open(), held.len());
    }
}
