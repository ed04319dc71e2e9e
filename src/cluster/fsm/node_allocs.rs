//! Which allocations each node holds, and the Raft index of the last change to any of them:
//! derived from the allocations table after every applied entry, never replicated or
//! snapshotted (a restored state rebuilds it at its first apply, and reads before then fall
//! back to a scan).
//!
//! ```text
//!  State::apply(index, cmd) ─► allocs table changed at index? ─► allocations whose
//!  ModifyIndex is index ─► their nodes: ids += alloc, index = index
//! ```
//!
//! A client watches its own allocations with a blocking query on its node's index, so a
//! change to one node's allocations answers that node's query only, and the answer is built
//! from that node's allocations, not from every allocation of the cluster.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::api::Allocation;

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
}

/// Derived data: equal whenever the allocations it is derived from are.
impl PartialEq for NodeAllocIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl NodeAllocIndex {
    /// Brings the index up to date after an entry applied at `index`; `changed`: the entry
    /// changed the allocations table. Deleted allocations stay listed (readers skip them)
    /// until they are many, then the index is rebuilt.
    pub(super) fn update(&mut self, allocs: &BTreeMap<String, Allocation>, index: u64, changed: bool) {
        if !self.built || self.held > allocs.len() + allocs.len() / 2 + 1024 {
            self.rebuild(allocs);
            return;
        }
        if !changed {
            return;
        }
        for a in allocs.values().filter(|a| a.modify_index == index) {
            let node = self.by_node.entry(a.node_id.clone()).or_default();
            if node.ids.insert(a.id.clone()) {
                self.held += 1;
            }
            node.index = index;
        }
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
        index.update(&allocs, 3, true);
        assert_eq!(index.node("n1"), Some((3, vec!["a"])));
        assert_eq!(index.node("n2"), Some((0, vec![])));
        allocs.insert("b".to_string(), alloc("b", "n2", 5));
        index.update(&allocs, 5, true);
        assert_eq!(index.node("n1"), Some((3, vec!["a"])));
        assert_eq!(index.node("n2"), Some((5, vec!["b"])));
        allocs.get_mut("a").unwrap().modify_index = 6;
        index.update(&allocs, 6, true);
        assert_eq!(index.node("n1"), Some((6, vec!["a"])));
        index.update(&allocs, 7, false);
        assert_eq!(index.node("n2"), Some((5, vec!["b"])));
    }
}
