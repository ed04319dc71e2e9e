//! Random fault schedules from a seed: quiet, a fault held for a while, heal, repeat.

use std::time::Duration;

use super::nodes::NetCluster;

/// A small deterministic generator (SplitMix64): a seed replays a schedule.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A duration between `lo` and `hi` milliseconds.
    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}

/// A fault the nemesis injects; `None` targets mean "the current leader".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// `kill -9` (restarted on the same data dir at heal).
    Kill(Option<usize>),
    /// SIGSTOP (SIGCONT at heal).
    Pause(Option<usize>),
    /// One server cut from the others.
    Isolate(Option<usize>),
    /// A random minority cut from the majority.
    Split,
    /// Every server killed at once, then all restarted.
    KillAll,
}

impl Fault {
    /// A random fault for a cluster of `n`.
    pub fn random(rng: &mut Rng, n: usize) -> Self {
        let target = |rng: &mut Rng| (rng.below(2) == 0).then(|| rng.below(n as u64) as usize);
        match rng.below(9) {
            0 | 1 => Fault::Kill(target(rng)),
            2 | 3 => Fault::Pause(target(rng)),
            4..=6 => Fault::Isolate(target(rng)),
            7 => Fault::Split,
            _ => Fault::KillAll,
        }
    }

    /// Applies the fault; `leader` is the current leader if known. Says what it did.
    pub fn apply(&self, c: &mut NetCluster, leader: Option<usize>, rng: &mut Rng) -> String {
        let n = c.len();
        let pick =
            |t: &Option<usize>, rng: &mut Rng| t.or(leader).unwrap_or_else(|| rng.below(n as u64) as usize);
        match self {
            Fault::Kill(t) => {
                let i = pick(t, rng);
                c.kill(i);
                format!("kill -9 server {i}")
            }
            Fault::Pause(t) => {
                let i = pick(t, rng);
                c.pause(i);
                format!("SIGSTOP server {i}")
            }
            Fault::Isolate(t) => {
                let i = pick(t, rng);
                let rest: Vec<usize> = (0..n).filter(|j| *j != i).collect();
                c.net.partition(&[vec![i], rest]).expect("partition");
                format!("isolate server {i}")
            }
            Fault::Split => {
                let mut order: Vec<usize> = (0..n).collect();
                for k in (1..n).rev() {
                    order.swap(k, rng.below(k as u64 + 1) as usize);
                }
                let minority = order[..(n - 1) / 2].to_vec();
                let majority = order[(n - 1) / 2..].to_vec();
                c.net
                    .partition(&[minority.clone(), majority.clone()])
                    .expect("partition");
                format!("split {minority:?} | {majority:?}")
            }
            Fault::KillAll => {
                for i in 0..n {
                    c.kill(i);
                }
                "kill -9 every server".into()
            }
        }
    }
}
