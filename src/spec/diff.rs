//! Field-level job diffs in Nomad's `JobDiff` shape (`POST /v1/job/:id/plan` → `Diff`).
//!
//! ```text
//!  old Job ─┐                                  ┌─ Fields  [{Type, Name, Old, New, Annotations}]
//!           ├─► strip server fields ─► JSON ─►─┼─ Objects [{Type, Name, Fields, Objects}]
//!  new Job ─┘                                  └─ TaskGroups [{.., Updates, Tasks [{.., Annotations}]}]
//! ```
//!
//! Task groups and tasks are matched by name. Nomad's rules for what forces what live in
//! [`rules`]: a task whose driver, config, env, artifacts, templates, meta or resources change is
//! annotated `forces create/destroy update`; count changes are in place. Multi-line strings
//! (templates, heredocs) carry a line diff; values at sensitive paths print as `(sensitive)`.

mod rules;
mod value;

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::job::Job;
pub use rules::{DESTRUCTIVE_GROUP_OBJECTS, DESTRUCTIVE_JOB_FIELDS, DESTRUCTIVE_TASK_FIELDS};
use value::Walker;

/// `Added`, `Deleted`, `Edited` or `None`, as Nomad spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiffType {
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Deleted,
    /// In both, different.
    Edited,
    /// In both, equal.
    None,
}

impl DiffType {
    /// The marker Nomad's CLI prints: `+`, `-`, `+/-` or a blank.
    pub fn marker(self) -> &'static str {
        match self {
            DiffType::Added => "+",
            DiffType::Deleted => "-",
            DiffType::Edited => "+/-",
            DiffType::None => "",
        }
    }
}

/// One line of a line-by-line diff of a multi-line value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LineChange {
    /// `+`, `-` or ` ` (context).
    pub tag: String,
    /// The line, without its newline.
    pub text: String,
}

/// A scalar field's change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FieldDiff {
    /// What happened.
    pub r#type: DiffType,
    /// Field name (flattened map keys: `port_map[0][db]`).
    pub name: String,
    /// Old value as Nomad prints it ("" when absent).
    pub old: String,
    /// New value ("" when absent).
    pub new: String,
    /// `forces create`, `forces destroy`, `forces in-place update`, ...
    pub annotations: Option<Vec<String>>,
    /// For multi-line values: the line diff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LineChange>>,
    /// The value came from a sensitive variable; `Old`/`New` read `(sensitive)`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

/// A nested object's change (`Config`, `Resources`, `Constraint`, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectDiff {
    /// What happened.
    pub r#type: DiffType,
    /// Object name.
    pub name: String,
    /// Scalar fields.
    pub fields: Vec<FieldDiff>,
    /// Nested objects.
    pub objects: Vec<ObjectDiff>,
}

/// A task's change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskDiff {
    /// What happened.
    pub r#type: DiffType,
    /// Task name.
    pub name: String,
    /// Scalar fields.
    pub fields: Vec<FieldDiff>,
    /// Nested objects.
    pub objects: Vec<ObjectDiff>,
    /// `forces create`, `forces destroy`, `forces create/destroy update`, `forces in-place update`.
    pub annotations: Vec<String>,
}

/// A task group's change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskGroupDiff {
    /// What happened.
    pub r#type: DiffType,
    /// Group name.
    pub name: String,
    /// Scalar fields.
    pub fields: Vec<FieldDiff>,
    /// Nested objects.
    pub objects: Vec<ObjectDiff>,
    /// Tasks.
    pub tasks: Vec<TaskDiff>,
    /// Expected allocation changes by kind (`create`, `destroy`, `in-place update`,
    /// `create/destroy update`), predicted from the specs alone.
    pub updates: BTreeMap<String, u64>,
}

/// A job's change, Nomad's `JobDiff`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobDiff {
    /// What happened.
    pub r#type: DiffType,
    /// Job ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Scalar fields.
    pub fields: Vec<FieldDiff>,
    /// Nested objects.
    pub objects: Vec<ObjectDiff>,
    /// Task groups.
    pub task_groups: Vec<TaskGroupDiff>,
}

/// Annotation: new allocations.
pub const FORCES_CREATE: &str = "forces create";
/// Annotation: allocations stopped.
pub const FORCES_DESTROY: &str = "forces destroy";
/// Annotation: allocations replaced.
pub const FORCES_CREATE_DESTROY: &str = "forces create/destroy update";
/// Annotation: allocations updated where they run.
pub const FORCES_IN_PLACE: &str = "forces in-place update";

/// Dotted JSON paths (`TaskGroups[0].Tasks[0].Env.TOKEN`) whose values are secret.
pub type SensitivePaths = HashSet<String>;

impl JobDiff {
    /// The diff of a job against itself.
    pub fn unchanged(id: &str) -> JobDiff {
        JobDiff {
            r#type: DiffType::None,
            id: id.to_string(),
            fields: vec![],
            objects: vec![],
            task_groups: vec![],
        }
    }

    /// True when an existing allocation would be replaced (stopped and placed anew).
    pub fn is_destructive(&self) -> bool {
        self.task_groups
            .iter()
            .any(|g| g.updates.contains_key("create/destroy update"))
    }

    /// A one-line reason for the change: the first destructive cause, else the first change.
    pub fn reason(&self) -> String {
        rules::reason(self)
    }
}

/// Diffs two versions of a job (`None` = absent). Server-set fields (indexes, version, status,
/// submit time) are ignored. `sensitive` applies to both sides.
pub fn diff(old: Option<&Job>, new: Option<&Job>, sensitive: &SensitivePaths) -> JobDiff {
    if let (Some(o), Some(n)) = (old, new)
        && o == n
    {
        return JobDiff::unchanged(n.id());
    }
    let one_sided = old.is_none() || new.is_none();
    let strip = |j: &Job| {
        if one_sided {
            outline(j)
        } else {
            serde_json::to_value(rules::without_server_fields(j)).unwrap_or_default()
        }
    };
    let old_v = old.map(strip);
    let new_v = new.map(strip);
    let id = new.or(old).map(|j| j.id().to_string()).unwrap_or_default();
    let walker = Walker::new(sensitive);
    walker.job(id, old_v.as_ref(), new_v.as_ref())
}

/// The part of a job that the walk reads when the job is on one side only: its groups' names
/// and counts and their tasks' names (a job, group or task that is wholly added or deleted
/// carries no field list). Converting the whole job to JSON just to skip its fields was most
/// of the time of planning a first apply of a large stack.
fn outline(job: &Job) -> serde_json::Value {
    let groups = job.task_groups.as_ref().map(|groups| {
        groups
            .iter()
            .map(|g| {
                let tasks = g.tasks.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| serde_json::json!({ "Name": t.name }))
                        .collect::<Vec<_>>()
                });
                serde_json::json!({ "Name": g.name, "Count": g.count, "Tasks": tasks })
            })
            .collect::<Vec<_>>()
    });
    serde_json::json!({ "TaskGroups": groups })
}

#[cfg(test)]
mod tests;
