//! `EvalTable`: the evaluations by ID, with an index of the pending ones (in the order the
//! scheduler takes them) and of the blocked ones, kept up to date on every write. The broker
//! reads the index instead of scanning every evaluation ever made; it is rebuilt whenever a
//! snapshot is read, so a restarted or new leader finds the pending work at once.
//!
//! Two more indexes serve apply itself, which must not walk every evaluation per write: the
//! evaluations of each job (a job's status after each of its writes) and those last modified
//! at each Raft index (the event stream's batch of that index).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::table_index::{JobIndex, ModifyIndex, table_as_map};
use crate::api::{EvalStatus, Evaluation};

/// Evaluation ID → evaluation, plus the pending and blocked indexes. Reads go through
/// `Deref` to the map; writes through [`EvalTable::insert`], [`EvalTable::remove`] and
/// [`EvalTable::modify`], which keep the indexes right.
#[derive(Debug, Clone, Default)]
pub struct EvalTable {
    by_id: BTreeMap<String, Evaluation>,
    /// Highest priority first, then oldest (create index), then ID.
    pending: BTreeSet<(Reverse<i64>, u64, String)>,
    /// Oldest first, then ID.
    blocked: BTreeSet<(u64, String)>,
    by_job: JobIndex,
    by_modify_index: ModifyIndex,
}

impl EvalTable {
    /// Inserts or replaces `eval` under `id`; returns the evaluation it replaced.
    pub fn insert(&mut self, id: String, eval: Evaluation) -> Option<Evaluation> {
        let old = self.by_id.remove(&id);
        if let Some(old) = &old {
            self.unindex(old, &id);
        }
        self.index(&eval, &id);
        self.by_id.insert(id, eval);
        old
    }

    /// Removes the evaluation `id`.
    pub fn remove(&mut self, id: &str) -> Option<Evaluation> {
        let old = self.by_id.remove(id)?;
        self.unindex(&old, id);
        Some(old)
    }

    /// Changes the evaluation `id` in place; false when there is none.
    pub fn modify(&mut self, id: &str, f: impl FnOnce(&mut Evaluation)) -> bool {
        let Some(mut eval) = self.remove(id) else {
            return false;
        };
        f(&mut eval);
        self.insert(id.to_owned(), eval);
        true
    }

    /// Pending evaluations in the order the scheduler takes them: highest priority first,
    /// then by creation index (oldest first), then by ID.
    pub fn pending(&self) -> impl Iterator<Item = &Evaluation> {
        self.pending.iter().filter_map(|(_, _, id)| self.by_id.get(id))
    }

    /// Blocked evaluations, oldest first.
    pub fn blocked(&self) -> impl Iterator<Item = &Evaluation> {
        self.blocked.iter().filter_map(|(_, id)| self.by_id.get(id))
    }

    /// The evaluations of job `job_id` in `namespace` (empty means `default`), by ID.
    pub fn of_job<'a>(&'a self, namespace: &str, job_id: &str) -> impl Iterator<Item = &'a Evaluation> + 'a {
        self.by_job
            .ids(namespace, job_id)
            .filter_map(|id| self.by_id.get(id))
    }

    /// The evaluations whose `ModifyIndex` is `index`, by ID.
    pub fn modified_at(&self, index: u64) -> impl Iterator<Item = &Evaluation> {
        self.by_modify_index
            .ids(index)
            .filter_map(|id| self.by_id.get(id))
    }

    fn index(&mut self, e: &Evaluation, id: &str) {
        self.by_job.add(&e.namespace, &e.job_id, id);
        self.by_modify_index.add(e.modify_index, id);
        match e.status {
            EvalStatus::Pending => {
                self.pending
                    .insert((Reverse(e.priority), e.create_index, id.to_owned()));
            }
            EvalStatus::Blocked => {
                self.blocked.insert((e.create_index, id.to_owned()));
            }
            _ => {}
        }
    }

    fn unindex(&mut self, e: &Evaluation, id: &str) {
        self.by_job.remove(&e.namespace, &e.job_id, id);
        self.by_modify_index.remove(e.modify_index, id);
        match e.status {
            EvalStatus::Pending => {
                self.pending
                    .remove(&(Reverse(e.priority), e.create_index, id.to_owned()));
            }
            EvalStatus::Blocked => {
                self.blocked.remove(&(e.create_index, id.to_owned()));
            }
            _ => {}
        }
    }
}

table_as_map!(EvalTable, Evaluation);

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(id: &str, priority: i64, create_index: u64, status: EvalStatus) -> Evaluation {
        Evaluation {
            id: id.into(),
            priority,
            create_index,
            status,
            ..Default::default()
        }
    }

    fn ids<'a>(it: impl Iterator<Item = &'a Evaluation>) -> Vec<&'a str> {
        it.map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn the_indexes_follow_every_write_and_survive_a_snapshot() {
        let mut t = EvalTable::default();
        for e in [
            eval("a", 50, 3, EvalStatus::Pending),
            eval("b", 70, 5, EvalStatus::Pending),
            eval("c", 50, 1, EvalStatus::Pending),
            eval("d", 90, 2, EvalStatus::Complete),
            eval("e", 10, 1, EvalStatus::Blocked),
        ] {
            t.insert(e.id.clone(), e);
        }
        assert_eq!(ids(t.pending()), ["b", "c", "a"]);
        assert_eq!(ids(t.blocked()), ["e"]);
        t.insert("b".into(), eval("b", 70, 5, EvalStatus::Complete));
        t.modify("e", |e| e.status = EvalStatus::Pending);
        t.remove("c");
        assert_eq!(ids(t.pending()), ["a", "e"]);
        assert_eq!(ids(t.blocked()), Vec::<&str>::new());
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.starts_with("{\"a\":"), "{json}");
        let back: EvalTable = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert_eq!(ids(back.pending()), ["a", "e"]);
    }

    #[test]
    fn the_job_and_modify_index_indexes_follow_every_write() {
        let mut t = EvalTable::default();
        let of = |job: &str, ns: &str, index: u64| Evaluation {
            job_id: job.into(),
            namespace: ns.into(),
            modify_index: index,
            ..eval("", 50, 1, EvalStatus::Pending)
        };
        for (id, job, ns, index) in [
            ("a", "web", "", 4),
            ("b", "web", "default", 5),
            ("c", "web", "other", 5),
            ("d", "webx", "default", 5),
        ] {
            t.insert(
                id.into(),
                Evaluation {
                    id: id.into(),
                    ..of(job, ns, index)
                },
            );
        }
        assert_eq!(ids(t.of_job("default", "web")), ["a", "b"]);
        assert_eq!(ids(t.of_job("", "web")), ["a", "b"]);
        assert_eq!(ids(t.of_job("other", "web")), ["c"]);
        assert_eq!(ids(t.modified_at(5)), ["b", "c", "d"]);
        t.modify("b", |e| e.modify_index = 6);
        t.remove("c");
        assert_eq!(ids(t.modified_at(5)), ["d"]);
        assert_eq!(ids(t.modified_at(6)), ["b"]);
        assert_eq!(ids(t.of_job("other", "web")), Vec::<&str>::new());
        let back: EvalTable = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }
}
