//! `DeploymentTable`: the deployments by ID, with the deployments of each job and those last
//! modified at each Raft index, kept up to date on every write.
//!
//! Apply reads both on hot paths: a plan that starts a deployment cancels the job's running
//! one, the scheduler's view takes a job's latest deployment, and the event stream's batch
//! lists the deployments an entry changed. Walking every deployment each time made each of
//! those writes cost as much as the whole table (a cluster registering tens of thousands of
//! service jobs slowed down with every one).
//!
//! Writes go through [`DeploymentTable::insert`], [`DeploymentTable::remove`] and
//! [`DeploymentTable::get_mut`], whose guard re-indexes the deployment when it is dropped
//! (a deployment's job never changes; its modify index does). Reads go through `Deref` to the
//! map. Serialised as the plain map, so snapshots keep their format; the indexes are rebuilt
//! when one is read.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use super::table_index::{JobIndex, ModifyIndex, table_as_map};
use crate::api::Deployment;

/// Deployment ID → deployment, with the by-job and by-modify-index indexes.
#[derive(Debug, Clone, Default)]
pub struct DeploymentTable {
    by_id: BTreeMap<String, Deployment>,
    by_job: JobIndex,
    by_modify_index: ModifyIndex,
}

/// A deployment borrowed for writing; re-indexed when dropped.
pub struct DeploymentMut<'a> {
    deployment: &'a mut Deployment,
    by_modify_index: &'a mut ModifyIndex,
    modify_index_before: u64,
}

impl Deref for DeploymentMut<'_> {
    type Target = Deployment;

    fn deref(&self) -> &Deployment {
        self.deployment
    }
}

impl DerefMut for DeploymentMut<'_> {
    fn deref_mut(&mut self) -> &mut Deployment {
        self.deployment
    }
}

impl Drop for DeploymentMut<'_> {
    fn drop(&mut self) {
        let (before, after) = (self.modify_index_before, self.deployment.modify_index);
        if before != after {
            let id = &self.deployment.id;
            self.by_modify_index.remove(before, id);
            self.by_modify_index.add(after, id);
        }
    }
}

impl DeploymentTable {
    /// Inserts or replaces `d` under `id`; returns the deployment it replaced.
    pub fn insert(&mut self, id: String, d: Deployment) -> Option<Deployment> {
        let old = self.remove(&id);
        self.by_job.add(&d.namespace, &d.job_id, &id);
        self.by_modify_index.add(d.modify_index, &id);
        self.by_id.insert(id, d);
        old
    }

    /// Removes the deployment `id`.
    pub fn remove(&mut self, id: &str) -> Option<Deployment> {
        let old = self.by_id.remove(id)?;
        self.by_job.remove(&old.namespace, &old.job_id, id);
        self.by_modify_index.remove(old.modify_index, id);
        Some(old)
    }

    /// The deployment `id` for writing. Its job must not change (the by-job index keeps the
    /// job it was inserted with).
    pub fn get_mut(&mut self, id: &str) -> Option<DeploymentMut<'_>> {
        let deployment = self.by_id.get_mut(id)?;
        Some(DeploymentMut {
            modify_index_before: deployment.modify_index,
            deployment,
            by_modify_index: &mut self.by_modify_index,
        })
    }

    /// Like [`Self::of_job`], the IDs only, owned (to write each in turn).
    pub fn ids_of_job(&self, namespace: &str, job_id: &str) -> Vec<String> {
        self.by_job.ids(namespace, job_id).cloned().collect()
    }

    /// Job `job_id`'s deployments in `namespace` (empty means `default`), by ID.
    pub fn of_job<'a>(&'a self, namespace: &str, job_id: &str) -> impl Iterator<Item = &'a Deployment> + 'a {
        self.by_job
            .ids(namespace, job_id)
            .filter_map(|id| self.by_id.get(id))
    }

    /// The deployments whose `ModifyIndex` is `index`, by ID.
    pub fn modified_at(&self, index: u64) -> impl Iterator<Item = &Deployment> {
        self.by_modify_index
            .ids(index)
            .filter_map(|id| self.by_id.get(id))
    }
}

table_as_map!(DeploymentTable, Deployment);

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(id: &str, ns: &str, job: &str, modify_index: u64) -> Deployment {
        Deployment {
            id: id.into(),
            namespace: ns.into(),
            job_id: job.into(),
            modify_index,
            ..Default::default()
        }
    }

    fn ids<'a>(it: impl Iterator<Item = &'a Deployment>) -> Vec<&'a str> {
        it.map(|d| d.id.as_str()).collect()
    }

    #[test]
    fn the_indexes_follow_every_write_and_survive_a_snapshot() {
        let mut t = DeploymentTable::default();
        t.insert("a".into(), deployment("a", "default", "web", 3));
        t.insert("b".into(), deployment("b", "", "web", 4));
        t.insert("c".into(), deployment("c", "default", "api", 4));
        t.insert("d".into(), deployment("d", "team", "web", 5));
        assert_eq!(
            ids(t.of_job("", "web")),
            ["a", "b"],
            "an empty namespace is default"
        );
        assert_eq!(ids(t.of_job("team", "web")), ["d"]);
        assert_eq!(ids(t.modified_at(4)), ["b", "c"]);

        t.get_mut("b").unwrap().modify_index = 9;
        assert_eq!(ids(t.modified_at(4)), ["c"]);
        assert_eq!(ids(t.modified_at(9)), ["b"]);
        t.insert("c".into(), deployment("c", "default", "api", 9));
        assert_eq!(ids(t.modified_at(9)), ["b", "c"]);
        t.remove("a");
        assert_eq!(ids(t.of_job("default", "web")), ["b"]);
        assert_eq!(ids(t.modified_at(3)), Vec::<&str>::new());

        let json = serde_json::to_string(&t).unwrap();
        let plain: BTreeMap<String, Deployment> = serde_json::from_str(&json).unwrap();
        assert_eq!(plain.len(), 3, "serialised as the plain map");
        let back: DeploymentTable = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t, "the indexes are rebuilt from the map");
    }
}
