//! The walk over two JSON renderings of a job that produces the diff tree. Structs become
//! objects, free-form maps (`Config`, `Env`, `Meta`) are flattened into fields, lists of scalars
//! are compared as sets, lists of objects pair equal elements first and the rest in order.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::rules;
use super::{DiffType, FieldDiff, JobDiff, LineChange, ObjectDiff, SensitivePaths, TaskDiff, TaskGroupDiff};

/// Maps whose keys are user data, printed flat like Nomad's flatmap.
const FLATTENED: &[&str] = &["Config", "Env", "Meta"];

/// What `(sensitive)` values print as.
pub(crate) const SENSITIVE: &str = "(sensitive)";

pub(super) struct Walker<'a> {
    sensitive: &'a SensitivePaths,
}

fn as_map(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

fn kind(old: bool, new: bool) -> DiffType {
    match (old, new) {
        (false, true) => DiffType::Added,
        (true, false) => DiffType::Deleted,
        _ => DiffType::Edited,
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn singular(name: &str) -> &str {
    name.strip_suffix('s').unwrap_or(name)
}

impl<'a> Walker<'a> {
    pub(super) fn new(sensitive: &'a SensitivePaths) -> Self {
        Walker { sensitive }
    }

    fn child(&self, path: &str, key: &str) -> String {
        if self.sensitive.is_empty() {
            String::new()
        } else if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    }

    fn is_sensitive(&self, path: &str) -> bool {
        !self.sensitive.is_empty() && self.sensitive.contains(path)
    }

    pub(super) fn job(&self, id: String, old: Option<&Value>, new: Option<&Value>) -> JobDiff {
        let (om, nm) = (as_map(old), as_map(new));
        // A job that is only on one side is described by its groups and tasks; its fields are
        // the whole spec, which the plan carries anyway (and which would cost most of the time).
        let (fields, objects) = if om.is_some() && nm.is_some() {
            self.members("", om, nm, &["TaskGroups"])
        } else {
            (Vec::new(), Vec::new())
        };
        let job_destructive = rules::job_is_destructive(&fields, &objects);
        let r#type = match (old.is_some(), new.is_some()) {
            (false, false) => DiffType::None,
            (o, n) if o != n => kind(o, n),
            _ if fields.is_empty() && objects.is_empty() => DiffType::None,
            _ => DiffType::Edited,
        };
        let og = om.and_then(|m| m.get("TaskGroups")).and_then(Value::as_array);
        let ng = nm.and_then(|m| m.get("TaskGroups")).and_then(Value::as_array);
        let mut task_groups = Vec::new();
        for (name, oi, ni, o, n) in by_name(og, ng) {
            let path = self.child("", &format!("TaskGroups[{}]", ni.or(oi).unwrap_or(0)));
            let g = self.group(name, &path, o, n, job_destructive, r#type);
            if g.r#type != DiffType::None || !g.updates.is_empty() {
                task_groups.push(g);
            }
        }
        let r#type = if r#type == DiffType::None && task_groups.iter().any(|g| g.r#type != DiffType::None) {
            DiffType::Edited
        } else {
            r#type
        };
        JobDiff {
            r#type,
            id,
            fields,
            objects,
            task_groups,
        }
    }

    fn group(
        &self,
        name: String,
        path: &str,
        old: Option<&Value>,
        new: Option<&Value>,
        job_destructive: bool,
        job_type: DiffType,
    ) -> TaskGroupDiff {
        let (om, nm) = (as_map(old), as_map(new));
        let (mut fields, objects) = if om.is_some() && nm.is_some() {
            self.members(path, om, nm, &["Tasks", "Name"])
        } else {
            (Vec::new(), Vec::new())
        };
        let ot = om.and_then(|m| m.get("Tasks")).and_then(Value::as_array);
        let nt = nm.and_then(|m| m.get("Tasks")).and_then(Value::as_array);
        let group_type = match (old.is_some(), new.is_some()) {
            (o, n) if o != n => kind(o, n),
            _ => DiffType::None,
        };
        let mut tasks = Vec::new();
        for (tname, oi, ni, o, n) in by_name(ot, nt) {
            let tpath = self.child(path, &format!("Tasks[{}]", ni.or(oi).unwrap_or(0)));
            let (om2, nm2) = (as_map(o), as_map(n));
            let (tf, to) = if om2.is_some() && nm2.is_some() {
                self.members(&tpath, om2, nm2, &["Name"])
            } else {
                (Vec::new(), Vec::new())
            };
            let t_type = match (o.is_some(), n.is_some()) {
                (a, b) if a != b => kind(a, b),
                _ if tf.is_empty() && to.is_empty() => DiffType::None,
                _ => DiffType::Edited,
            };
            if t_type == DiffType::None {
                continue;
            }
            let annotations = vec![rules::task_annotation(group_type, t_type, &tf, &to).to_string()];
            tasks.push(TaskDiff {
                r#type: t_type,
                name: tname,
                fields: tf,
                objects: to,
                annotations,
            });
        }
        let r#type = if group_type != DiffType::None {
            group_type
        } else if fields.is_empty() && objects.is_empty() && tasks.is_empty() {
            DiffType::None
        } else {
            DiffType::Edited
        };
        let count = |m: Option<&Map<String, Value>>| {
            m.map(|m| m.get("Count").and_then(Value::as_u64).unwrap_or(1))
                .unwrap_or(0)
        };
        let updates = rules::group_updates(
            r#type,
            job_type,
            count(om),
            count(nm),
            job_destructive || rules::group_is_destructive(&fields, &objects, &tasks),
        );
        rules::annotate_count(&mut fields);
        TaskGroupDiff {
            r#type,
            name,
            fields,
            objects,
            tasks,
            updates,
        }
    }

    /// Fields and objects of two maps, keys in order, `skip` left out.
    fn members(
        &self,
        path: &str,
        old: Option<&Map<String, Value>>,
        new: Option<&Map<String, Value>>,
        skip: &[&str],
    ) -> (Vec<FieldDiff>, Vec<ObjectDiff>) {
        let mut fields = Vec::new();
        let mut objects = Vec::new();
        let mut keys: BTreeSet<&str> = BTreeSet::new();
        keys.extend(old.iter().flat_map(|m| m.keys().map(String::as_str)));
        keys.extend(new.iter().flat_map(|m| m.keys().map(String::as_str)));
        for key in keys {
            if skip.contains(&key) {
                continue;
            }
            let o = present(old.and_then(|m| m.get(key)));
            let n = present(new.and_then(|m| m.get(key)));
            if o.is_none() && n.is_none() || o == n && old.is_some() && new.is_some() {
                continue;
            }
            let p = self.child(path, key);
            match o.or(n) {
                Some(Value::Object(_)) if FLATTENED.contains(&key) => {
                    let flat_fields = self.flat(&p, key, o, n);
                    if !flat_fields.is_empty() {
                        objects.push(ObjectDiff {
                            r#type: kind(o.is_some(), n.is_some()),
                            name: key.to_string(),
                            fields: flat_fields,
                            objects: Vec::new(),
                        });
                    }
                }
                Some(Value::Object(_)) => {
                    let (f, ob) = self.members(&p, as_map(o), as_map(n), &[]);
                    if !f.is_empty() || !ob.is_empty() {
                        objects.push(ObjectDiff {
                            r#type: kind(o.is_some(), n.is_some()),
                            name: key.to_string(),
                            fields: f,
                            objects: ob,
                        });
                    }
                }
                Some(Value::Array(_)) => self.list(&p, key, o, n, &mut objects),
                _ => {
                    if let Some(f) = self.field(&p, key, o, n) {
                        fields.push(f);
                    }
                }
            }
        }
        (fields, objects)
    }

    fn field(&self, path: &str, name: &str, old: Option<&Value>, new: Option<&Value>) -> Option<FieldDiff> {
        let o = old.map(scalar);
        let n = new.map(scalar);
        let r#type = match (&o, &n) {
            (None, None) => return None,
            (None, Some(_)) => DiffType::Added,
            (Some(_), None) => DiffType::Deleted,
            (Some(a), Some(b)) if a == b => return None,
            _ => DiffType::Edited,
        };
        let sensitive = self.is_sensitive(path);
        if sensitive {
            let mask = |v: &Option<String>| v.as_ref().map(|_| SENSITIVE.to_string()).unwrap_or_default();
            return Some(FieldDiff {
                r#type,
                name: name.to_string(),
                old: mask(&o),
                new: mask(&n),
                annotations: None,
                lines: None,
                sensitive: true,
            });
        }
        let (o, n) = (o.unwrap_or_default(), n.unwrap_or_default());
        let lines = (o.contains('\n') || n.contains('\n')).then(|| line_diff(&o, &n));
        Some(FieldDiff {
            r#type,
            name: name.to_string(),
            old: o,
            new: n,
            annotations: None,
            lines,
            sensitive,
        })
    }

    /// A free-form map flattened to `key`, `key.sub`, `key[0]` fields.
    fn flat(&self, path: &str, _name: &str, old: Option<&Value>, new: Option<&Value>) -> Vec<FieldDiff> {
        let mut of = Vec::new();
        let mut nf = Vec::new();
        if let Some(v) = old {
            flatten("", v, &mut of);
        }
        if let Some(v) = new {
            flatten("", v, &mut nf);
        }
        let om: std::collections::BTreeMap<_, _> = of.into_iter().collect();
        let nm: std::collections::BTreeMap<_, _> = nf.into_iter().collect();
        let keys: BTreeSet<&String> = om.keys().chain(nm.keys()).collect();
        keys.into_iter()
            .filter_map(|k| {
                let p = self.child(path, k);
                self.field(&p, k, om.get(k), nm.get(k))
            })
            .collect()
    }

    fn list(
        &self,
        path: &str,
        key: &str,
        old: Option<&Value>,
        new: Option<&Value>,
        out: &mut Vec<ObjectDiff>,
    ) {
        let empty = Vec::new();
        let ol = old.and_then(Value::as_array).unwrap_or(&empty);
        let nl = new.and_then(Value::as_array).unwrap_or(&empty);
        let objects_inside = ol.iter().chain(nl).any(Value::is_object);
        if !objects_inside {
            // A set of scalars: one object named after the list, one field per element.
            let os: BTreeSet<String> = ol.iter().map(scalar).collect();
            let ns: BTreeSet<String> = nl.iter().map(scalar).collect();
            let mut fields = Vec::new();
            for v in os.difference(&ns) {
                fields.push(self.masked(path, key, DiffType::Deleted, v.clone(), String::new()));
            }
            for v in ns.difference(&os) {
                fields.push(self.masked(path, key, DiffType::Added, String::new(), v.clone()));
            }
            if !fields.is_empty() {
                out.push(ObjectDiff {
                    r#type: kind(old.is_some(), new.is_some()),
                    name: key.into(),
                    fields,
                    objects: vec![],
                });
            }
            return;
        }
        // Equal elements cancel out; what is left is paired in order.
        let mut used = vec![false; nl.len()];
        let mut left_old = Vec::new();
        for (i, o) in ol.iter().enumerate() {
            match nl.iter().enumerate().position(|(j, n)| !used[j] && n == o) {
                Some(j) => used[j] = true,
                None => left_old.push(i),
            }
        }
        let left_new: Vec<usize> = (0..nl.len()).filter(|j| !used[*j]).collect();
        let name = singular(key);
        for k in 0..left_old.len().max(left_new.len()) {
            let o = left_old.get(k).map(|&i| &ol[i]);
            let n = left_new.get(k).map(|&j| &nl[j]);
            let idx = left_new.get(k).or(left_old.get(k)).copied().unwrap_or(0);
            let p = self.child("", &format!("{path}[{idx}]"));
            let (f, ob) = self.members(&p, as_map(o), as_map(n), &[]);
            if !f.is_empty() || !ob.is_empty() {
                out.push(ObjectDiff {
                    r#type: kind(o.is_some(), n.is_some()),
                    name: name.into(),
                    fields: f,
                    objects: ob,
                });
            }
        }
    }

    fn masked(&self, path: &str, name: &str, t: DiffType, old: String, new: String) -> FieldDiff {
        let sensitive = self.is_sensitive(path);
        let mask = |s: String| {
            if sensitive && !s.is_empty() {
                SENSITIVE.to_string()
            } else {
                s
            }
        };
        FieldDiff {
            r#type: t,
            name: name.into(),
            old: mask(old),
            new: mask(new),
            annotations: None,
            lines: None,
            sensitive,
        }
    }
}

/// Pairs named elements (`Name`) of two lists: (name, old index, new index, old, new), in the
/// new list's order with removed ones after.
#[allow(clippy::type_complexity)]
fn by_name<'v>(
    old: Option<&'v Vec<Value>>,
    new: Option<&'v Vec<Value>>,
) -> Vec<(
    String,
    Option<usize>,
    Option<usize>,
    Option<&'v Value>,
    Option<&'v Value>,
)> {
    let name = |v: &Value| v.get("Name").map(scalar).unwrap_or_default();
    let ol: &'v [Value] = old.map_or(&[], |v| v.as_slice());
    let nl: &'v [Value] = new.map_or(&[], |v| v.as_slice());
    let mut out = Vec::new();
    for (j, n) in nl.iter().enumerate() {
        let nn = name(n);
        let oi = ol.iter().position(|o| name(o) == nn);
        out.push((nn, oi, Some(j), oi.map(|i| &ol[i]), Some(n)));
    }
    for (i, o) in ol.iter().enumerate() {
        let on = name(o);
        if !nl.iter().any(|n| name(n) == on) {
            out.push((on, Some(i), None, Some(o), None));
        }
    }
    out
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// Line-by-line diff of two texts (context lines included).
pub(crate) fn line_diff(old: &str, new: &str) -> Vec<LineChange> {
    let diff = similar::TextDiff::from_lines(old, new);
    diff.iter_all_changes()
        .map(|c| LineChange {
            tag: match c.tag() {
                similar::ChangeTag::Delete => "-",
                similar::ChangeTag::Insert => "+",
                similar::ChangeTag::Equal => " ",
            }
            .to_string(),
            text: c.value().trim_end_matches('\n').to_string(),
        })
        .collect()
}
