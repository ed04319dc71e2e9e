//! Fast failover: a follower that stops hearing from the leader probes the leader's port, and if
//! the connection is refused (no process listens there any more) starts an election as soon as
//! the other voters' leader lease has run out, instead of waiting openraft's lease plus a random
//! election timeout.
//!
//! ```text
//!  silence > 2 heartbeats ──► TCP connect to the leader's address
//!        │                        ├─ accepted / timed out: it may be alive → openraft's timers decide
//!        │                        └─ refused: the leader process is gone
//!        ▼                                  │
//!  rank = place among the other voters      ▼
//!  elect at last contact + lease + margin + rank × heartbeat
//!        (skipped once the term moves on or a new leader is known; retried while a candidate)
//! ```
//!
//! A refused connection is a positive sign of death, so a live but slow leader (fsync stall,
//! CPU starvation, full backlog) is never deposed by this path: it only shortens failover when
//! the leader process has exited. The election itself is an ordinary Raft election; a voter
//! whose lease still runs rejects it, and the candidate retries one heartbeat later.
//!
//! [`Watch`] is the pure decision core (time is passed in); [`run`] is the task around it.

use std::time::Duration;

use openraft::ServerState;
use tokio::time::Instant;

use super::rpc::LeaderContact;
use super::{ClusterRaft, NodeId};

/// Elections this path starts for one dead leader before leaving it to openraft's timers.
const MAX_ATTEMPTS: u32 = 4;

/// What the watch sees of the local Raft node at one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// This node's Raft role.
    pub state: ServerState,
    /// This node's current term.
    pub term: u64,
    /// The leader this node follows, if any.
    pub leader: Option<NodeId>,
    /// The leader's address, if known.
    pub leader_addr: Option<String>,
    /// Voting members, this node included.
    pub voters: Vec<NodeId>,
    /// Time since the last append (heartbeat or entries) from a leader, if any arrived.
    pub silence: Option<Duration>,
}

/// What the task should do after an observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing for now.
    Wait,
    /// Try a TCP connection to this address and report whether it was refused.
    Probe(String),
    /// Start an election now.
    Elect,
}

/// Timing the watch works with, from the Raft configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// openraft's heartbeat interval.
    pub heartbeat: Duration,
    /// The leader lease voters honour (openraft: the election timeout maximum).
    pub lease: Duration,
}

impl Timing {
    /// Silence after which the leader is probed: past one missed heartbeat (openraft sends
    /// heartbeats on a tick of 1.5 × the interval).
    fn probe_after(&self) -> Duration {
        self.heartbeat * 2
    }

    /// Slack for the other voters' lease having started a little later than ours.
    fn margin(&self) -> Duration {
        self.heartbeat / 5
    }
}

#[derive(Debug, Clone)]
struct DeadLeader {
    leader: NodeId,
    /// The term in which it led.
    term: u64,
    /// When to start the next election.
    next_try: Instant,
    attempts: u32,
}

/// The pure failover decision state of one server.
#[derive(Debug, Clone)]
pub struct Watch {
    id: NodeId,
    timing: Timing,
    dead: Option<DeadLeader>,
    last_probe: Option<Instant>,
}

impl Watch {
    /// A watch for server `id`.
    pub fn new(id: NodeId, timing: Timing) -> Self {
        Self {
            id,
            timing,
            dead: None,
            last_probe: None,
        }
    }

    /// Decides what to do given the node's state at `now`.
    pub fn observe(&mut self, obs: &Observation, now: Instant) -> Action {
        let voting = obs.voters.len() > 1 && obs.voters.contains(&self.id);
        if !voting || !matches!(obs.state, ServerState::Follower | ServerState::Candidate) {
            self.dead = None;
            return Action::Wait;
        }
        if let Some(dead) = &mut self.dead {
            let new_leader = obs.leader.is_some_and(|l| l != dead.leader);
            let others_campaign = if dead.attempts == 0 {
                obs.term != dead.term
            } else {
                obs.state != ServerState::Candidate
            };
            if new_leader || others_campaign || dead.attempts >= MAX_ATTEMPTS {
                self.dead = None;
                return Action::Wait;
            }
            if now < dead.next_try {
                return Action::Wait;
            }
            dead.attempts += 1;
            dead.next_try = now + self.timing.heartbeat;
            return Action::Elect;
        }
        if obs.state != ServerState::Follower || obs.leader.is_none_or(|l| l == self.id) {
            return Action::Wait;
        }
        let (Some(silence), Some(addr)) = (obs.silence, &obs.leader_addr) else {
            return Action::Wait;
        };
        let probed_recently = self
            .last_probe
            .is_some_and(|t| now.saturating_duration_since(t) < self.timing.heartbeat);
        if silence < self.timing.probe_after() || probed_recently {
            return Action::Wait;
        }
        self.last_probe = Some(now);
        Action::Probe(addr.clone())
    }

    /// Records a probe's outcome: `refused` means nothing listens at the leader's address.
    /// `obs` is the observation that asked for the probe.
    pub fn probed(&mut self, obs: &Observation, refused: bool, now: Instant) {
        let (Some(leader), Some(silence)) = (obs.leader, obs.silence) else {
            return;
        };
        if !refused {
            return;
        }
        let mut others: Vec<NodeId> = obs.voters.iter().copied().filter(|v| *v != leader).collect();
        others.sort_unstable();
        let rank = others.iter().position(|v| *v == self.id).unwrap_or(0) as u32;
        let last_contact = now.checked_sub(silence).unwrap_or(now);
        let t = self.timing;
        self.dead = Some(DeadLeader {
            leader,
            term: obs.term,
            next_try: last_contact + t.lease + t.margin() + t.heartbeat * rank,
            attempts: 0,
        });
    }
}

/// Whether a TCP connection to `addr` is refused within `timeout` (an accepted connection, a
/// timeout or any other error all count as "maybe alive").
async fn refused(addr: &str, timeout: Duration) -> bool {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Err(e)) => e.kind() == std::io::ErrorKind::ConnectionRefused,
        Ok(Ok(_)) | Err(_) => false,
    }
}

fn observe(raft: &ClusterRaft, contact: &LeaderContact) -> Observation {
    let m = raft.metrics().borrow().clone();
    let membership = m.membership_config.membership();
    Observation {
        state: m.state,
        term: m.current_term,
        leader: m.current_leader,
        leader_addr: m
            .current_leader
            .and_then(|l| membership.get_node(&l).map(|n| n.addr.clone())),
        voters: membership.voter_ids().collect(),
        silence: contact.since(),
    }
}

/// Watches the leader of `raft` (this node is `id`) until the task is aborted.
pub async fn run(raft: ClusterRaft, id: NodeId, contact: LeaderContact, timing: Timing) {
    let mut watch = Watch::new(id, timing);
    let mut tick = tokio::time::interval(timing.heartbeat / 2);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let obs = observe(&raft, &contact);
        match watch.observe(&obs, Instant::now()) {
            Action::Wait => {}
            Action::Probe(addr) => {
                let refused = refused(&addr, timing.heartbeat).await;
                if refused {
                    tracing::info!("leader at {addr} refuses connections; electing once its lease is over");
                }
                watch.probed(&obs, refused, Instant::now());
            }
            Action::Elect => {
                tracing::info!("leader gone: starting an election");
                if raft.trigger().elect().await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: NodeId = 2;
    const LEADER: NodeId = 1;
    const OTHER: NodeId = 3;

    fn timing() -> Timing {
        Timing {
            heartbeat: Duration::from_millis(50),
            lease: Duration::from_millis(200),
        }
    }

    fn follower(silence_ms: u64) -> Observation {
        Observation {
            state: ServerState::Follower,
            term: 5,
            leader: Some(LEADER),
            leader_addr: Some("127.0.0.1:1".into()),
            voters: vec![LEADER, ME, OTHER],
            silence: Some(Duration::from_millis(silence_ms)),
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_leader_heard_from_recently_is_not_probed() {
        let mut w = Watch::new(ME, timing());
        assert_eq!(w.observe(&follower(60), Instant::now()), Action::Wait);
    }

    #[test]
    fn an_alive_leader_is_never_deposed() {
        let mut w = Watch::new(ME, timing());
        let t0 = Instant::now();
        for step in 0..40 {
            let now = t0 + ms(25 * step);
            let obs = follower(120 + 25 * step);
            match w.observe(&obs, now) {
                Action::Probe(_) => w.probed(&obs, false, now),
                Action::Wait => {}
                Action::Elect => panic!("elected against a live leader at step {step}"),
            }
        }
    }

    #[test]
    fn refused_leader_elects_after_the_lease_and_rank() {
        let mut w = Watch::new(ME, timing());
        let t0 = Instant::now();
        let obs = follower(110);
        assert_eq!(w.observe(&obs, t0), Action::Probe("127.0.0.1:1".into()));
        w.probed(&obs, true, t0);
        // Last contact was 110 ms before t0: lease 200 + margin 10 → 100 ms after t0 (rank 0).
        assert_eq!(w.observe(&follower(190), t0 + ms(80)), Action::Wait);
        assert_eq!(w.observe(&follower(215), t0 + ms(105)), Action::Elect);
        // Still a candidate one heartbeat later: try again; then give up after the limit.
        let mut cand = follower(300);
        cand.state = ServerState::Candidate;
        cand.leader = None;
        cand.term = 6;
        assert_eq!(w.observe(&cand, t0 + ms(130)), Action::Wait);
        for n in 0..MAX_ATTEMPTS - 1 {
            assert_eq!(w.observe(&cand, t0 + ms(160 + 50 * u64::from(n))), Action::Elect);
        }
        assert_eq!(w.observe(&cand, t0 + ms(400)), Action::Wait);
    }

    #[test]
    fn the_second_ranked_voter_waits_a_heartbeat_longer_and_yields_to_a_campaign() {
        let mut w = Watch::new(OTHER, timing());
        let t0 = Instant::now();
        let obs = follower(110);
        w.probed(&obs, true, t0);
        assert_eq!(w.observe(&follower(215), t0 + ms(105)), Action::Wait);
        let mut moved = follower(250);
        moved.term = 6;
        assert_eq!(w.observe(&moved, t0 + ms(160)), Action::Wait);
        assert_ne!(w.observe(&follower(300), t0 + ms(200)), Action::Elect);
    }

    #[test]
    fn a_new_leader_ends_the_attempts() {
        let mut w = Watch::new(ME, timing());
        let t0 = Instant::now();
        w.probed(&follower(110), true, t0);
        assert_eq!(w.observe(&follower(215), t0 + ms(105)), Action::Elect);
        let mut led = follower(5);
        led.leader = Some(OTHER);
        led.term = 6;
        assert_eq!(w.observe(&led, t0 + ms(160)), Action::Wait);
        assert_ne!(w.observe(&follower(300), t0 + ms(200)), Action::Elect);
    }

    #[test]
    fn a_leader_or_a_lone_server_does_nothing() {
        let mut w = Watch::new(ME, timing());
        let mut obs = follower(500);
        obs.state = ServerState::Leader;
        assert_eq!(w.observe(&obs, Instant::now()), Action::Wait);
        let mut alone = follower(500);
        alone.voters = vec![ME];
        assert_eq!(w.observe(&alone, Instant::now()), Action::Wait);
    }
}
