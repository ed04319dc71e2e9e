//! Which allocations each node holds, and the Raft index of the last change to any of them:
//! derived from the allocations table after every applied entry, never replicated or
//! snapshotted (a restored state rebuilds it at its first apply, and reads before then fall
//! back to a scan).
//!
//! ```text
//!  State::apply(index, cmd) ─► allocs table changed at index? ─► the allocations the
//!  command names (or, for a command that names none, every allocation) whose ModifyIndex is
//!  index ─► their nodes: ids += alloc, index = index
//! ```
//!
//! The allocations a command can touch are read from the command itself ([`Touched::of`]), so
//! the common writes (a plan, a client's report) cost what they carry, not a pass over every
//! allocation of the cluster.
//!
//! A client watches its own allocations with a blocking query on its node's index, so a
//! change to one node's allocations answers that node's query only, and the answer is built
//! from that node's allocations, not from every allocation of the cluster.
//!
//! The same pass keeps, per node, what its live (non-terminal) allocations hold
//! ([`NodeAllocIndex::usage`]): each allocation noted takes out what it counted before and
//! adds what it holds now; allocations a command deleted take theirs out. The scheduler reads
//! these totals instead of summing every allocation of the cluster for each batch of
//! evaluations. A command that does not say which allocations it changed (garbage collection)
//! has the totals summed again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::command::Command;
use crate::api::Allocation;
use crate::cluster::scheduler::NodeAllocated;

/// Which allocations an applied command may have changed, as far as the command says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// These allocations (IDs; unknown ones are skipped).
    ids: Vec<String>,
    /// Every allocation on these nodes.
    nodes: Vec<String>,
    /// The command does not say: every allocation is looked at.
    any: bool,
}

impl Touched {
    /// Every allocation may have changed.
    pub fn any() -> Touched {
        Touched {
            any: true,
            ..Touched::default()
        }
    }

    /// What `cmd` may change in the allocations table, read before it is applied.
    pub fn of(cmd: &Command) -> Touched {
        let mut touched = Touched::default();
        touched.add(cmd);
        touched
    }

    fn add(&mut self, cmd: &Command) {
        match cmd {
            Command::PlanApply(plan) => {
                let placed = plan.place.iter().chain(&plan.in_place).map(|a| a.id.clone());
                self.ids.extend(placed);
                self.ids.extend(plan.stop.iter().map(|s| s.alloc_id.clone()));
            }
            Command::AllocUpsert { allocs } => self.ids.extend(allocs.iter().map(|a| a.id.clone())),
            Command::AllocClientUpdate { updates, .. } => {
                self.ids.extend(updates.iter().map(|u| u.id.clone()))
            }
            Command::AllocStop { alloc_ids, .. } => self.ids.extend(alloc_ids.iter().cloned()),
            Command::AllocHealth(req) => self.ids.extend(req.healthy.iter().chain(&req.unhealthy).cloned()),
            Command::NodeDown { node_id, .. } | Command::NodePurge { node_id, .. } => {
                self.nodes.push(node_id.clone());
            }
            Command::Batch(cmds) => cmds.iter().for_each(|c| self.add(c)),
            Command::Request(req) => self.add(&req.cmd),
            _ => self.any = true,
        }
    }
}

/// One node's allocations and the index of their last change.
#[derive(Debug, Clone, Default)]
struct NodeAllocs {
    index: u64,
    ids: BTreeSet<String>,
}

/// The index of allocations by node.
#[derive(Debug, Clone, Default)]
pub struct NodeAllocIndex {
    built: bool,
    by_node: HashMap<String, NodeAllocs>,
    /// IDs held, deleted allocations included until the next rebuild.
    held: usize,
    /// The last applied index and the allocations whose `ModifyIndex` it is, by ID: the
    /// event stream's batch of that index reads them instead of every allocation.
    last: (u64, Vec<String>),
    /// Per node: what its live allocations hold.
    usage: HashMap<String, NodeAllocated>,
    /// Per live allocation counted in `usage`: its node and what it added there.
    counted: HashMap<String, (String, NodeAllocated)>,
}

/// Derived data: equal whenever the allocations it is derived from are.
impl PartialEq for NodeAllocIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl NodeAllocIndex {
    /// Brings the index up to date after an entry applied at `index`; `changed`: the entry
    /// changed the allocations table; `touched`: which allocations it may have changed.
    /// Deleted allocations stay listed (readers skip them) until they are many, then the
    /// index is rebuilt.
    pub(super) fn update(
        &mut self,
        allocs: &BTreeMap<String, Allocation>,
        index: u64,
        changed: bool,
        touched: &Touched,
    ) {
        self.last = (index, Vec::new());
        let modified = |a: &&Allocation| a.modify_index == index;
        if !self.built || self.held > allocs.len() + allocs.len() / 2 + 1024 {
            self.rebuild(allocs);
            if changed {
                self.last.1 = allocs.values().filter(modified).map(|a| a.id.clone()).collect();
            }
            return;
        }
        if !changed {
            return;
        }
        if touched.any {
            for a in allocs.values().filter(modified) {
                self.note(a, index);
            }
            // Deleted allocations are not named: the totals are summed again.
            self.recount(allocs);
            self.finish_last();
            return;
        }
        let on_nodes: Vec<String> = touched
            .nodes
            .iter()
            .filter_map(|n| self.by_node.get(n))
            .flat_map(|n| n.ids.iter().cloned())
            .collect();
        for id in touched.ids.iter().chain(&on_nodes) {
            match allocs.get(id) {
                Some(a) if a.modify_index == index => {
                    self.note(a, index);
                    self.count(a);
                }
                Some(_) => {}
                None => self.uncount(id),
            }
        }
        self.finish_last();
    }

    /// Per node, what its live allocations hold; `None` when the index is not built yet (a
    /// restored state before its first apply: the caller sums the allocations).
    pub fn usage(&self) -> Option<&HashMap<String, NodeAllocated>> {
        self.built.then_some(&self.usage)
    }

    /// Counts `a` in its node's total in place of what it counted before (nothing once it is
    /// terminal).
    fn count(&mut self, a: &Allocation) {
        self.uncount(&a.id);
        if a.is_terminal() {
            return;
        }
        let mut held = NodeAllocated::default();
        held.add(a);
        match self.usage.get_mut(&a.node_id) {
            Some(total) => total.add(a),
            None => {
                self.usage.insert(a.node_id.clone(), held.clone());
            }
        }
        self.counted.insert(a.id.clone(), (a.node_id.clone(), held));
    }

    /// Takes what allocation `id` counted out of its node's total.
    fn uncount(&mut self, id: &str) {
        if let Some((node, held)) = self.counted.remove(id)
            && let Some(total) = self.usage.get_mut(&node)
        {
            total.subtract(&held);
        }
    }

    /// Sums every node's total again from `allocs`.
    fn recount(&mut self, allocs: &BTreeMap<String, Allocation>) {
        self.usage.clear();
        self.counted.clear();
        for a in allocs.values() {
            self.count(a);
        }
    }

    /// Sorts the allocations noted at the last index and drops repeats.
    fn finish_last(&mut self) {
        self.last.1.sort_unstable();
        self.last.1.dedup();
    }

    /// The allocations whose `ModifyIndex` is `index`, by ID, when `index` is the last one
    /// applied; `None` for any other index (the caller scans).
    pub fn modified_at(&self, index: u64) -> Option<&[String]> {
        (self.built && self.last.0 == index).then_some(self.last.1.as_slice())
    }

    /// Lists `a` on its node and moves the node's index to `index`.
    fn note(&mut self, a: &Allocation, index: u64) {
        let node = self.by_node.entry(a.node_id.clone()).or_default();
        if node.ids.insert(a.id.clone()) {
            self.held += 1;
        }
        node.index = index;
        self.last.1.push(a.id.clone());
    }

    fn rebuild(&mut self, allocs: &BTreeMap<String, Allocation>) {
        self.by_node.clear();
        for a in allocs.values() {
            let node = self.by_node.entry(a.node_id.clone()).or_default();
            node.ids.insert(a.id.clone());
            node.index = node.index.max(a.modify_index);
        }
        self.held = allocs.len();
        self.built = true;
        self.recount(allocs);
    }

    /// The index of the last change to `node_id`'s allocations and their IDs (some perhaps
    /// deleted since); `None` when the index is not built yet (a restored state before its
    /// first apply).
    pub fn node(&self, node_id: &str) -> Option<(u64, Vec<&str>)> {
        if !self.built {
            return None;
        }
        Some(self.by_node.get(node_id).map_or((0, Vec::new()), |n| {
            (n.index, n.ids.iter().map(String::as_str).collect())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(id: &str, node: &str, modify_index: u64) -> Allocation {
        Allocation {
            id: id.into(),
            node_id: node.into(),
            modify_index,
            ..Allocation::default()
        }
    }

    #[test]
    fn a_change_moves_its_nodes_index_only() {
        let mut allocs = BTreeMap::new();
        allocs.insert("a".to_string(), alloc("a", "n1", 3));
        let mut index = NodeAllocIndex::default();
        assert_eq!(index.node("n1"), None, "not built before the first apply");
        index.update(&allocs, 3, true, &Touched::any());
        assert_eq!(index.node("n1"), Some((3, vec!["a"])));
        assert_eq!(index.node("n2"), Some((0, vec![])));
        allocs.insert("b".to_string(), alloc("b", "n2", 5));
        index.update(&allocs, 5, true, &Touched::any());
        assert_eq!(index.node("n1"), Some((3, vec!["a"])));
        assert_eq!(index.node("n2"), Some((5, vec!["b"])));
        allocs.get_mut("a").unwrap().modify_index = 6;
        index.update(&allocs, 6, true, &Touched::any());
        assert_eq!(index.node("n1"), Some((6, vec!["a"])));
        index.update(&allocs, 7, false, &Touched::any());
        assert_eq!(index.node("n2"), Some((5, vec!["b"])));
    }

    /// The event stream reads the allocations changed at the last index from the index; any
    /// other index is not known.
    #[test]
    fn the_allocations_modified_at_the_last_index_are_kept_for_it() {
        let mut allocs = BTreeMap::new();
        allocs.insert("a".to_string(), alloc("a", "n1", 3));
        allocs.insert("b".to_string(), alloc("b", "n2", 3));
        let mut index = NodeAllocIndex::default();
        index.update(&allocs, 3, true, &Touched::any());
        assert_eq!(
            index.modified_at(3),
            Some(&["a".to_string(), "b".to_string()][..])
        );

        allocs.get_mut("b").unwrap().modify_index = 4;
        let touched = Touched {
            ids: vec!["b".into(), "b".into(), "gone".into()],
            ..Touched::default()
        };
        index.update(&allocs, 4, true, &touched);
        assert_eq!(
            index.modified_at(4),
            Some(&["b".to_string()][..]),
            "each once, known ones only"
        );
        assert_eq!(index.modified_at(3), None, "only the last index is kept");

        index.update(&allocs, 5, false, &touched);
        assert_eq!(index.modified_at(5), Some(&[][..]));
    }

    /// The allocations a command names, unwrapped from requests and batches, move their
    /// nodes' indexes exactly as a pass over every allocation would.
    #[test]
    fn the_allocations_a_command_names_move_their_nodes_only() {
        use crate::api::{ClientStatus, Node};
        use crate::cluster::fsm::{AllocClientUpdate, ClientRequest, State};

        let mut state = State::default();
        for n in ["n1", "n2"] {
            let node = Node {
                id: n.into(),
                ..Node::default()
            };
            state.apply(1, Command::NodeUpsert { node: Box::new(node) });
        }
        let allocs = vec![alloc("a", "n1", 0), alloc("b", "n2", 0), alloc("c", "n2", 0)];
        state.apply(2, Command::AllocUpsert { allocs });
        assert_eq!(state.node_allocs.node("n1"), Some((2, vec!["a"])));
        assert_eq!(state.node_allocs.node("n2"), Some((2, vec!["b", "c"])));

        let report = |id: &str| AllocClientUpdate {
            id: id.into(),
            client_status: ClientStatus::Running,
            ..AllocClientUpdate::default()
        };
        let request = |cmd| {
            Command::Request(Box::new(ClientRequest {
                id: "r1".into(),
                at_millis: 0,
                cmd,
            }))
        };
        let updates = Command::AllocClientUpdate {
            updates: vec![report("c"), report("unknown")],
            evals: Vec::new(),
        };
        state.apply(3, request(Command::Batch(vec![updates])));
        assert_eq!(state.node_allocs.node("n1"), Some((2, vec!["a"])));
        assert_eq!(state.node_allocs.node("n2"), Some((3, vec!["b", "c"])));

        let down = Command::NodeDown {
            node_id: "n1".into(),
            updated_at: 0,
            evals: Vec::new(),
        };
        state.apply(4, down);
        assert_eq!(state.node_allocs.node("n1"), Some((4, vec!["a"])));
        assert_eq!(state.node_allocs.node("n2"), Some((3, vec!["b", "c"])));
        assert_eq!(state.allocs["a"].client_status, ClientStatus::Lost);
    }
}
