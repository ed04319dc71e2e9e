//! `StaticChecks`: the checks whose verdict depends only on the node and the group (drivers,
//! constraints, host volumes), decided once per computed node class where they can be and
//! remembered per node for the evaluation (Nomad's `EvalEligibility` and
//! `FeasibilityWrapper`).
//!
//! ```text
//!  node ─► verdict known? ──yes──► it
//!            │ no
//!            ├─ no computed class ───────────► every check on the node
//!            └─ class verdict (first use: the class-decided checks on this node)
//!                 └─► checks that read unique values, on the node, up to the class's
//!                     first failing check: the first failure in chain order wins
//! ```
//!
//! A node's class hashes every field the class-decided checks read (see
//! [`Node::class_of`]), so the nodes of one class pass or fail each of them alike, with the
//! same reason. Checks that read `${node.unique.*}`, `${attr.unique.*}` or `${meta.unique.*}`
//! escape the class and run per node. The chain order, and so the first rejection reported
//! per node, is the same as running every check on every node.

use std::collections::HashMap;

use super::feasible::{FeasibilityChecker, Rejection};
use crate::api::Node;

/// A node's verdict, once known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Unknown,
    Pass,
    /// Index into `StaticChecks::rejections`.
    Fail(u32),
}

/// A class's verdict over the class-decided checks: the first failing check (its index in
/// the chain) and its rejection, or `None` when all pass.
type ClassVerdict = Option<(usize, u32)>;

/// The static checker chain of one group with its per-class and per-node verdicts.
pub struct StaticChecks {
    checks: Vec<Box<dyn FeasibilityChecker>>,
    /// Per check: decided per node, never per class.
    escapes: Vec<bool>,
    classes: HashMap<String, ClassVerdict>,
    /// Per node index.
    nodes: Vec<Verdict>,
    /// Rejections, shared by the nodes of a class.
    rejections: Vec<Rejection>,
}

impl StaticChecks {
    /// Wraps a chain (run in order; the first rejection wins).
    pub fn new(checks: Vec<Box<dyn FeasibilityChecker>>) -> StaticChecks {
        StaticChecks {
            escapes: checks.iter().map(|c| c.escapes_class()).collect(),
            checks,
            classes: HashMap::new(),
            nodes: Vec::new(),
            rejections: Vec::new(),
        }
    }

    /// The verdict for `node`, the node at `index` of the state's nodes, decided on first use.
    pub fn verdict(&mut self, index: usize, node: &Node) -> Result<(), &Rejection> {
        if self.nodes.len() <= index {
            self.nodes.resize(index + 1, Verdict::Unknown);
        }
        let mut verdict = self.nodes[index];
        if verdict == Verdict::Unknown {
            verdict = self.decide(node);
            self.nodes[index] = verdict;
        }
        match verdict {
            Verdict::Fail(r) => Err(&self.rejections[r as usize]),
            _ => Ok(()),
        }
    }

    /// The rejection of the node at `index`, if it has been checked and failed.
    pub fn rejection(&self, index: usize) -> Option<&Rejection> {
        match self.nodes.get(index) {
            Some(Verdict::Fail(r)) => Some(&self.rejections[*r as usize]),
            _ => None,
        }
    }

    fn decide(&mut self, node: &Node) -> Verdict {
        if node.computed_class.is_empty() {
            // No class (a node registered before classes were computed): check it alone.
            return Self::verdict_of(self.run(node, self.checks.len(), |_| true));
        }
        let class = match self.classes.get(node.computed_class.as_str()) {
            Some(v) => *v,
            None => {
                let v = self.run(node, self.checks.len(), |escapes| !escapes);
                self.classes.insert(node.computed_class.clone(), v);
                v
            }
        };
        // Checks that escape the class and come before the class's first failure decide
        // first; later ones cannot change the first rejection.
        let limit = class.map_or(self.checks.len(), |(i, _)| i);
        Self::verdict_of(self.run(node, limit, |escapes| escapes).or(class))
    }

    fn verdict_of(failure: Option<(usize, u32)>) -> Verdict {
        failure.map_or(Verdict::Pass, |(_, r)| Verdict::Fail(r))
    }

    /// Runs, in chain order, the checks before `limit` that `select` picks by their escape
    /// flag; the first failure: its chain index and its rejection's index.
    fn run(&mut self, node: &Node, limit: usize, select: impl Fn(bool) -> bool) -> Option<(usize, u32)> {
        for (i, (check, escapes)) in self.checks[..limit].iter().zip(&self.escapes).enumerate() {
            if !select(*escapes) {
                continue;
            }
            if let Err(r) = check.check(node, None) {
                self.rejections.push(r);
                return Some((i, self.rejections.len() as u32 - 1));
            }
        }
        None
    }
}
