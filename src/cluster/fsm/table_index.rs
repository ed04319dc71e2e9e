//! The secondary indexes the state's tables share (the records of each job, the records last
//! modified at each Raft index) and the one way they are serialised: as their plain map, so
//! snapshots keep their format and the indexes are rebuilt when one is read.

use std::collections::BTreeSet;

use crate::api::namespace_or_default;

/// Record IDs by job: (namespace, or `default` when empty; job ID; record ID).
#[derive(Debug, Clone, Default)]
pub struct JobIndex(BTreeSet<(String, String, String)>);

impl JobIndex {
    fn key(namespace: &str, job_id: &str, id: &str) -> (String, String, String) {
        (
            namespace_or_default(namespace).to_owned(),
            job_id.to_owned(),
            id.to_owned(),
        )
    }

    /// Lists record `id` under its job.
    pub fn add(&mut self, namespace: &str, job_id: &str, id: &str) {
        self.0.insert(Self::key(namespace, job_id, id));
    }

    /// Takes record `id` off its job's list.
    pub fn remove(&mut self, namespace: &str, job_id: &str, id: &str) {
        self.0.remove(&Self::key(namespace, job_id, id));
    }

    /// The IDs listed under job `job_id` in `namespace` (empty means `default`), in order.
    pub fn ids<'a>(&'a self, namespace: &str, job_id: &str) -> impl Iterator<Item = &'a String> + 'a {
        let from = Self::key(namespace, job_id, "");
        let (ns, job_id) = (from.0.clone(), from.1.clone());
        self.0
            .range(from..)
            .take_while(move |(n, j, _)| *n == ns && *j == job_id)
            .map(|(_, _, id)| id)
    }
}

/// Record IDs by the Raft index of their last change: (modify index, record ID).
#[derive(Debug, Clone, Default)]
pub struct ModifyIndex(BTreeSet<(u64, String)>);

impl ModifyIndex {
    /// Lists record `id` as last modified at `index`.
    pub fn add(&mut self, index: u64, id: &str) {
        self.0.insert((index, id.to_owned()));
    }

    /// Takes record `id` off the list of `index`.
    pub fn remove(&mut self, index: u64, id: &str) {
        self.0.remove(&(index, id.to_owned()));
    }

    /// The IDs last modified at `index`, in order.
    pub fn ids(&self, index: u64) -> impl Iterator<Item = &String> {
        self.0
            .range((index, String::new())..)
            .take_while(move |(i, _)| *i == index)
            .map(|(_, id)| id)
    }
}

/// Reads of a table go through `Deref` to its map (`by_id`); it is serialised as that map and
/// rebuilt, indexes and all, through its `insert` when read; two tables are equal when their
/// maps are (the indexes are derived from them).
macro_rules! table_as_map {
    ($table:ty, $record:ty) => {
        impl PartialEq for $table {
            fn eq(&self, other: &Self) -> bool {
                self.by_id == other.by_id
            }
        }

        impl From<std::collections::BTreeMap<String, $record>> for $table {
            fn from(by_id: std::collections::BTreeMap<String, $record>) -> Self {
                let mut table = <$table>::default();
                for (id, record) in by_id {
                    table.insert(id, record);
                }
                table
            }
        }

        impl std::ops::Deref for $table {
            type Target = std::collections::BTreeMap<String, $record>;

            fn deref(&self) -> &Self::Target {
                &self.by_id
            }
        }

        impl serde::Serialize for $table {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.by_id.serialize(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $table {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                std::collections::BTreeMap::<String, $record>::deserialize(d).map(<$table>::from)
            }
        }
    };
}

pub(crate) use table_as_map;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_lists_its_own_ids_only_and_an_empty_namespace_is_default() {
        let mut j = JobIndex::default();
        j.add("", "web", "b");
        j.add("default", "web", "a");
        j.add("default", "web-2", "c");
        j.add("team", "web", "d");
        let ids = |j: &JobIndex, ns, job| j.ids(ns, job).cloned().collect::<Vec<_>>();
        assert_eq!(ids(&j, "default", "web"), ["a", "b"]);
        assert_eq!(ids(&j, "team", "web"), ["d"]);
        j.remove("", "web", "a");
        assert_eq!(ids(&j, "", "web"), ["b"]);

        let mut m = ModifyIndex::default();
        m.add(4, "x");
        m.add(4, "w");
        m.add(5, "y");
        assert_eq!(m.ids(4).cloned().collect::<Vec<_>>(), ["w", "x"]);
        m.remove(4, "w");
        assert_eq!(m.ids(4).cloned().collect::<Vec<_>>(), ["x"]);
        assert_eq!(m.ids(3).count(), 0);
    }
}
