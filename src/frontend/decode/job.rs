//! The `job` block's post hook: HCL1's tasks written directly in `job`, and a job-level `vault`
//! inherited by tasks. Its schema is `schemas::JOB`.

use hcl::edit::structure::Block;
use serde_json::{Map, Value};

use super::schema::Decoder;

/// HCL1 allowed `task` directly in `job`: each becomes a group of one task with its name.
pub(super) fn post_job(_d: &mut Decoder<'_, '_>, _b: &Block, out: &mut Map<String, Value>) {
    let vault = out.remove("__vault");
    if let Some(Value::Array(tasks)) = out.remove("__tasks") {
        let groups = out.entry("TaskGroups").or_insert_with(|| Value::Array(vec![]));
        if let Value::Array(g) = groups {
            for t in tasks {
                let name = t.get("Name").cloned().unwrap_or(Value::Null);
                let mut m = Map::new();
                m.insert("Name".into(), name);
                m.insert("Tasks".into(), Value::Array(vec![t]));
                g.push(Value::Object(m));
            }
        }
    }
    if let (Some(v), Some(Value::Array(groups))) = (vault, out.get_mut("TaskGroups")) {
        for g in groups.iter_mut().filter_map(Value::as_object_mut) {
            super::group::inherit_vault(g, &v);
        }
    }
}
