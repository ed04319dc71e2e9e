//! `JobAddress`: how every stage names a job of the stack (`job.ID`, `module.NAME.job.ID`).
//!
//! State records, plans, graph nodes and apply events are all keyed by it, so its text form is
//! part of the state and plan file formats.

use serde::{Deserialize, Serialize};

/// A job's address in a stack: `job.ID` or `module.NAME.job.ID` (nested modules chain).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobAddress(pub String);

impl JobAddress {
    /// Address of a root-level job.
    pub fn root(id: &str) -> Self {
        JobAddress(format!("job.{id}"))
    }

    /// Address of a job inside module path `modules` (outermost first).
    pub fn in_module(modules: &[String], id: &str) -> Self {
        let mut s = String::new();
        for m in modules {
            s.push_str("module.");
            s.push_str(m);
            s.push('.');
        }
        s.push_str("job.");
        s.push_str(id);
        JobAddress(s)
    }

    /// The job ID (last segment).
    pub fn job_id(&self) -> &str {
        self.0.rsplit_once("job.").map(|(_, id)| id).unwrap_or(&self.0)
    }

    /// The module path prefix (`module.a.module.b`), or "" at the root.
    pub fn module_prefix(&self) -> &str {
        match self.0.rfind(".job.") {
            Some(i) => &self.0[..i],
            None => "",
        }
    }
}

impl std::fmt::Display for JobAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
