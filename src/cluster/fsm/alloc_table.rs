//! `AllocTable`: the allocations by ID, with the allocations of each job kept up to date on
//! every write.
//!
//! A job's status is derived again after every write that touches one of its allocations (each
//! client report, each plan), and a job's allocation list, its deployment's health and its
//! summary read the same set. Walking every allocation for those made each write cost as
//! much as the whole table: with 100,000 allocations, a client report naming allocations of
//! fifty jobs walked five million.
//!
//! Writes go through [`AllocTable::insert`], [`AllocTable::remove`] and
//! [`AllocTable::get_mut`] (an allocation's job never changes, so the index needs no guard).

use std::collections::BTreeMap;

use super::table_index::{JobIndex, table_as_map};
use crate::api::Allocation;

/// Allocation ID → allocation, with the by-job index.
#[derive(Debug, Clone, Default)]
pub struct AllocTable {
    by_id: BTreeMap<String, Allocation>,
    by_job: JobIndex,
}

impl AllocTable {
    /// Inserts or replaces `a` under `id`; returns the allocation it replaced.
    pub fn insert(&mut self, id: String, a: Allocation) -> Option<Allocation> {
        let old = self.remove(&id);
        self.by_job.add(&a.namespace, &a.job_id, &id);
        self.by_id.insert(id, a);
        old
    }

    /// Removes the allocation `id`.
    pub fn remove(&mut self, id: &str) -> Option<Allocation> {
        let old = self.by_id.remove(id)?;
        self.by_job.remove(&old.namespace, &old.job_id, id);
        Some(old)
    }

    /// The allocation `id` for writing. Its namespace and job must not change (the by-job
    /// index keeps those it was inserted with); nothing changes them.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Allocation> {
        self.by_id.get_mut(id)
    }

    /// Job `job_id`'s allocations in `namespace` (empty means `default`), by ID.
    pub fn of_job<'a>(&'a self, namespace: &str, job_id: &str) -> impl Iterator<Item = &'a Allocation> + 'a {
        self.by_job
            .ids(namespace, job_id)
            .filter_map(|id| self.by_id.get(id))
    }
}

table_as_map!(AllocTable, Allocation);

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(id: &str, ns: &str, job: &str) -> Allocation {
        Allocation {
            id: id.into(),
            namespace: ns.into(),
            job_id: job.into(),
            ..Default::default()
        }
    }

    fn ids<'a>(it: impl Iterator<Item = &'a Allocation>) -> Vec<&'a str> {
        it.map(|a| a.id.as_str()).collect()
    }

    #[test]
    fn a_jobs_allocations_follow_every_write_and_survive_a_snapshot() {
        let mut t = AllocTable::default();
        t.insert("a".into(), alloc("a", "default", "web"));
        t.insert("b".into(), alloc("b", "", "web"));
        t.insert("c".into(), alloc("c", "default", "api"));
        t.insert("d".into(), alloc("d", "team", "web"));
        assert_eq!(
            ids(t.of_job("", "web")),
            ["a", "b"],
            "an empty namespace is default"
        );
        assert_eq!(ids(t.of_job("team", "web")), ["d"]);
        t.get_mut("b").unwrap().client_status = crate::api::ClientStatus::Running;
        t.remove("a");
        assert_eq!(ids(t.of_job("default", "web")), ["b"]);
        // Replacing an allocation under its ID keeps one entry.
        t.insert("c".into(), alloc("c", "default", "api"));
        assert_eq!(ids(t.of_job("default", "api")), ["c"]);

        let json = serde_json::to_string(&t).unwrap();
        let plain: BTreeMap<String, Allocation> = serde_json::from_str(&json).unwrap();
        assert_eq!(plain.len(), 3, "serialised as the plain map");
        let back: AllocTable = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert_eq!(
            ids(back.of_job("", "web")),
            ["b"],
            "the index is rebuilt from the map"
        );
    }
}
