//! A linearizability checker for one check-and-set register per key (a Nomad variable whose
//! `ModifyIndex` is the CAS token), after Wing & Gong with Lowe's memoization, as Porcupine
//! searches: linearize any pending call whose model step is legal, remember each (set of
//! linearized ops, register state) already explored, and backtrack at the first return of an
//! op that is not yet linearized.
//!
//! Operations whose outcome is unknown (a timeout, a server error) return at infinity: they
//! may take effect at any point after their call, or never (placed after every other op). An
//! unknown write whose value nobody ever observed is dropped first: it can only have taken
//! effect after every acknowledged op, which is the same as not at all.

use std::collections::{BTreeMap, HashMap, HashSet};

/// A register value as the servers hold it: the written value and its `ModifyIndex`.
pub type Reg = (u64, u64);

/// What an operation did, as its client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A read answered this register (`None`: the variable does not exist).
    Read(Option<Reg>),
    /// A write of `value` if the current `ModifyIndex` is `cas` (0: must not exist); `index`
    /// is the new `ModifyIndex` when acknowledged.
    Write {
        /// The value written (unique in a history).
        value: u64,
        /// The expected current index.
        cas: u64,
        /// The index the server answered, if it did.
        index: Option<u64>,
    },
    /// A write of `value` refused because the index was not `cas`; the server answered the
    /// current value.
    CasFail {
        /// The value it tried to write.
        value: u64,
        /// The expected index.
        cas: u64,
        /// The current register in the conflict answer.
        current: Option<Reg>,
    },
}

/// One operation of a history on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// The worker that ran it.
    pub process: usize,
    /// Call time (ns since the history began).
    pub invoke: u64,
    /// Return time; `None` when the outcome is unknown.
    pub complete: Option<u64>,
    /// What it did.
    pub kind: Kind,
}

/// Why a history is not linearizable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// One written value seen with two indexes: the write was applied twice.
    AppliedTwice {
        /// The value.
        value: u64,
        /// The indexes it was seen with.
        indexes: (u64, u64),
    },
    /// A write answered as refused whose own value the conflict answer carries: it was
    /// applied, then applied again (a retry) and refused the second time.
    RefusedButApplied {
        /// The value.
        value: u64,
    },
    /// No order of the ops explains what the clients saw; `op` is the operation whose return
    /// the longest partial order could not get past.
    NotLinearizable {
        /// Ops linearized in the longest partial order.
        linearized: usize,
        /// The op that could not be placed.
        op: Op,
    },
    /// The search ran out of steps without an answer.
    Inconclusive,
}

type State = Option<Reg>;

fn cur_index(s: State) -> u64 {
    s.map_or(0, |(_, i)| i)
}

/// The model: the state after `op` from `s`, or `None` if `op` cannot happen in state `s`.
fn step(s: State, op: &Op) -> Option<State> {
    match &op.kind {
        Kind::Read(seen) => (s == *seen).then_some(s),
        Kind::Write { value, cas, index } => match (cur_index(s) == *cas, op.complete, index) {
            (true, _, Some(i)) => Some(Some((*value, *i))),
            (false, None, _) => Some(s),
            _ => None,
        },
        Kind::CasFail { cas, current, .. } => (cur_index(s) != *cas && s == *current).then_some(s),
    }
}

/// Fills in the index of unknown writes from what others observed, drops unknown writes
/// nobody observed, and reports a value seen with two indexes.
fn prepare(history: &[Op]) -> Result<Vec<Op>, Violation> {
    let mut seen: HashMap<u64, u64> = HashMap::new();
    let mut note = |(v, i): Reg| -> Result<(), Violation> {
        match seen.insert(v, i) {
            Some(old) if old != i => Err(Violation::AppliedTwice {
                value: v,
                indexes: (old.min(i), old.max(i)),
            }),
            _ => Ok(()),
        }
    };
    for op in history {
        if let Kind::CasFail {
            value,
            current: Some((v, _)),
            ..
        } = &op.kind
            && v == value
        {
            return Err(Violation::RefusedButApplied { value: *value });
        }
        match &op.kind {
            Kind::Read(Some(r)) | Kind::CasFail { current: Some(r), .. } => note(*r)?,
            Kind::Write {
                value,
                index: Some(i),
                ..
            } if op.complete.is_some() => note((*value, *i))?,
            _ => {}
        }
    }
    let mut ops = Vec::with_capacity(history.len());
    for op in history {
        let mut op = op.clone();
        if let (Kind::Write { value, index, .. }, None) = (&mut op.kind, op.complete) {
            match seen.get(value) {
                Some(i) => *index = Some(*i),
                None => continue,
            }
        }
        ops.push(op);
    }
    Ok(ops)
}

const NIL: usize = usize::MAX;

/// Checks one key's history; `max_steps` bounds the search.
pub fn check(history: &[Op], max_steps: u64) -> Result<(), Violation> {
    let ops = prepare(history)?;
    let n = ops.len();
    if n == 0 {
        return Ok(());
    }
    // Entries 0..n are calls, n..2n returns; 2n is the list head.
    let mut order: Vec<(u64, u8, usize)> = Vec::with_capacity(2 * n);
    for (k, op) in ops.iter().enumerate() {
        order.push((op.invoke, 0, k));
        order.push((op.complete.unwrap_or(u64::MAX), 1, n + k));
    }
    order.sort_unstable();
    let head = 2 * n;
    let (mut prev, mut next) = (vec![NIL; 2 * n + 1], vec![NIL; 2 * n + 1]);
    let mut last = head;
    for &(_, _, e) in &order {
        next[last] = e;
        prev[e] = last;
        last = e;
    }
    let lift = |prev: &mut Vec<usize>, next: &mut Vec<usize>, e: usize| {
        for x in [e, e + n] {
            next[prev[x]] = next[x];
            if next[x] != NIL {
                prev[next[x]] = prev[x];
            }
        }
    };
    let unlift = |prev: &mut Vec<usize>, next: &mut Vec<usize>, e: usize| {
        for x in [e + n, e] {
            if next[x] != NIL {
                prev[next[x]] = x;
            }
            next[prev[x]] = x;
        }
    };
    let words = n.div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut cache: HashSet<(Vec<u64>, State)> = HashSet::new();
    let mut stack: Vec<(usize, State)> = Vec::new();
    let mut state: State = None;
    let mut best: (usize, usize) = (0, NIL);
    let mut entry = next[head];
    let mut steps = 0u64;
    while next[head] != NIL {
        steps += 1;
        if steps > max_steps {
            return Err(Violation::Inconclusive);
        }
        if entry < n {
            if let Some(new) = step(state, &ops[entry]) {
                let mut lin = linearized.clone();
                lin[entry / 64] |= 1 << (entry % 64);
                if cache.insert((lin.clone(), new)) {
                    stack.push((entry, state));
                    state = new;
                    linearized = lin;
                    lift(&mut prev, &mut next, entry);
                    entry = next[head];
                    continue;
                }
            }
            entry = next[entry];
        } else {
            if stack.len() >= best.0 && (best.1 == NIL || stack.len() > best.0) {
                best = (stack.len(), entry - n);
            }
            let Some((e, s)) = stack.pop() else {
                return Err(Violation::NotLinearizable {
                    linearized: best.0,
                    op: ops[best.1].clone(),
                });
            };
            state = s;
            linearized[e / 64] &= !(1 << (e % 64));
            unlift(&mut prev, &mut next, e);
            entry = next[e];
        }
    }
    Ok(())
}

/// Checks each key of `histories`; the violations by key.
pub fn check_all(histories: &BTreeMap<String, Vec<Op>>, max_steps: u64) -> Vec<(String, Violation)> {
    histories
        .iter()
        .filter_map(|(k, h)| check(h, max_steps).err().map(|v| (k.clone(), v)))
        .collect()
}
