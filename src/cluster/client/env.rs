//! The task environment: Nomad's `NOMAD_*` variables and the `${...}` interpolation of
//! `NOMAD_*`, `env.*`, `node.*`, `meta.*` and `attr.*` in `env` blocks and driver config.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::cluster::fsm::{Allocation, Node};
use crate::spec::{Job, Task, TaskGroup};

/// One allocated port (`AllocatedResources.Shared.Ports[]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortMapping {
    /// Port label.
    pub label: String,
    /// Host port.
    pub value: u16,
    /// Port inside the task (`to`), 0 = same as `value`.
    pub to: u16,
    /// Host IP.
    pub host_ip: String,
}

/// The ports the scheduler allocated to `alloc` (`AllocatedResources.Shared.Ports`).
pub fn alloc_ports(alloc: &Allocation) -> Vec<PortMapping> {
    let ports = alloc
        .allocated_resources
        .as_ref()
        .and_then(|r| r.shared.ports.as_ref());
    ports
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let host_ip = if p.host_ip.is_empty() {
                "127.0.0.1".to_owned()
            } else {
                p.host_ip.clone()
            };
            Some(PortMapping {
                label: p.label.clone(),
                value: u16::try_from(p.value).ok()?,
                to: u16::try_from(p.to).unwrap_or(0),
                host_ip,
            })
        })
        .collect()
}

/// Directories as the task sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPaths {
    /// Shared allocation directory.
    pub alloc_dir: String,
    /// The task's `local/` directory.
    pub task_dir: String,
    /// The task's `secrets/` directory.
    pub secrets_dir: String,
}

/// A task's environment and the lookup tables its interpolation reads.
#[derive(Debug, Clone, Default)]
pub struct TaskEnv {
    /// Variables exported to the task.
    pub vars: BTreeMap<String, String>,
    /// `node.*` values (`unique.id`, `unique.name`, `datacenter`, `region`, `class`, `pool`).
    pub node: BTreeMap<String, String>,
    /// Node attributes (`attr.*`).
    pub attrs: BTreeMap<String, String>,
    /// Node meta (`meta.*`).
    pub node_meta: BTreeMap<String, String>,
}

fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The allocation's index: the number in `job.group[N]`.
pub fn alloc_index(name: &str) -> u64 {
    name.rsplit_once('[')
        .and_then(|(_, r)| r.trim_end_matches(']').parse().ok())
        .unwrap_or(0)
}

impl TaskEnv {
    /// Builds the environment of `task` in `group` of `job` placed as `alloc` on `node`.
    pub fn build(
        alloc: &Allocation,
        job: &Job,
        group: &TaskGroup,
        task: &Task,
        node: &Node,
        region: &str,
        paths: &TaskPaths,
    ) -> Self {
        let mut env = TaskEnv {
            node: BTreeMap::from([
                ("unique.id".into(), node.id.clone()),
                ("unique.name".into(), node.name.clone()),
                ("datacenter".into(), node.datacenter.clone()),
                ("region".into(), region.to_owned()),
                ("class".into(), node.node_class.clone()),
                ("pool".into(), node.node_pool.clone()),
            ]),
            attrs: node.attributes.clone(),
            node_meta: node.meta.clone(),
            ..Default::default()
        };
        let v = &mut env.vars;
        let job_id = job.id.clone().unwrap_or_default();
        let mut put = |k: &str, val: String| {
            v.insert(k.to_owned(), val);
        };
        put("NOMAD_ALLOC_ID", alloc.id.clone());
        put("NOMAD_SHORT_ALLOC_ID", short_id(&alloc.id).to_owned());
        put("NOMAD_ALLOC_NAME", alloc.name.clone());
        put("NOMAD_ALLOC_INDEX", alloc_index(&alloc.name).to_string());
        put("NOMAD_JOB_ID", job_id.clone());
        put("NOMAD_JOB_NAME", job.name.clone().unwrap_or(job_id));
        put("NOMAD_JOB_PARENT_ID", job.parent_id.clone().unwrap_or_default());
        put("NOMAD_GROUP_NAME", group.name.clone().unwrap_or_default());
        put("NOMAD_TASK_NAME", task.name.clone());
        put(
            "NOMAD_NAMESPACE",
            job.namespace.clone().unwrap_or_else(|| "default".into()),
        );
        put("NOMAD_DC", node.datacenter.clone());
        put("NOMAD_REGION", region.to_owned());
        put("NOMAD_ALLOC_DIR", paths.alloc_dir.clone());
        put("NOMAD_TASK_DIR", paths.task_dir.clone());
        put("NOMAD_SECRETS_DIR", paths.secrets_dir.clone());
        if let Some(r) = &task.resources {
            if let Some(cpu) = r.cpu {
                put("NOMAD_CPU_LIMIT", cpu.to_string());
            }
            if let Some(mem) = r.memory_mb {
                put("NOMAD_MEMORY_LIMIT", mem.to_string());
            }
        }
        let metas = [job.meta.as_ref(), group.meta.as_ref(), task.meta.as_ref()];
        for (k, val) in metas.into_iter().flatten().flatten() {
            put(&format!("NOMAD_META_{k}"), val.clone());
            put(
                &format!("NOMAD_META_{}", k.to_uppercase().replace(['-', '.'], "_")),
                val.clone(),
            );
        }
        for p in alloc_ports(alloc) {
            let inner = if p.to == 0 { p.value } else { p.to };
            let l = p.label.replace('-', "_");
            put(&format!("NOMAD_PORT_{l}"), inner.to_string());
            put(&format!("NOMAD_HOST_PORT_{l}"), p.value.to_string());
            put(&format!("NOMAD_IP_{l}"), p.host_ip.clone());
            put(&format!("NOMAD_HOST_IP_{l}"), p.host_ip.clone());
            put(&format!("NOMAD_ADDR_{l}"), format!("{}:{}", p.host_ip, p.value));
            put(
                &format!("NOMAD_HOST_ADDR_{l}"),
                format!("{}:{}", p.host_ip, p.value),
            );
        }
        env
    }

    /// Adds the task's `env` block (interpolated against what is defined so far).
    pub fn add_task_env(&mut self, env: &BTreeMap<String, String>) {
        let rendered: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.clone(), self.interpolate(v)))
            .collect();
        self.vars.extend(rendered);
    }

    /// Replaces `${NOMAD_*}`, `${env.X}`, `${node.*}`, `${meta.*}`, `${attr.*}`; unknown
    /// references are left as written, as Nomad does.
    pub fn interpolate(&self, s: &str) -> String {
        static RE: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\$\{([^}]+)\}").expect("constant pattern"));
        if !s.contains("${") {
            return s.to_owned();
        }
        RE.replace_all(s, |caps: &regex::Captures| {
            let key = caps[1].trim();
            self.lookup(key).unwrap_or_else(|| caps[0].to_owned())
        })
        .into_owned()
    }

    fn lookup(&self, key: &str) -> Option<String> {
        if let Some(rest) = key.strip_prefix("node.") {
            return self.node.get(rest).cloned();
        }
        if let Some(rest) = key.strip_prefix("attr.") {
            return self.attrs.get(rest).cloned();
        }
        if let Some(rest) = key.strip_prefix("meta.") {
            return self.node_meta.get(rest).cloned();
        }
        if let Some(rest) = key.strip_prefix("env.") {
            return self.vars.get(rest).cloned();
        }
        self.vars.get(key).cloned()
    }

    /// Interpolates every string inside a JSON value (driver config).
    pub fn interpolate_value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.interpolate(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.interpolate_value(x)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.interpolate_value(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// The environment as `KEY=value` pairs.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_known_and_keeps_unknown() {
        let mut env = TaskEnv::default();
        env.vars.insert("NOMAD_ALLOC_ID".into(), "abc".into());
        env.node.insert("unique.name".into(), "n1".into());
        env.attrs.insert("kernel.name".into(), "linux".into());
        env.node_meta.insert("rack".into(), "r1".into());
        assert_eq!(
            env.interpolate("${NOMAD_ALLOC_ID}-${node.unique.name}-${attr.kernel.name}-${meta.rack}-${nope}"),
            "abc-n1-linux-r1-${nope}"
        );
        assert_eq!(alloc_index("web.api[3]"), 3);
    }
}
