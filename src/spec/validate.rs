//! Checks a job the way Nomad's servers do on registration, reporting every problem with the
//! path where it was found (`group "web" > task "nginx" > resources`), not only the first.
//!
//! ```text
//!  validate ─► job (identity, type, periodic, parameterized) ─► group (count, networks,
//!              volumes) ─► task (resources, templates, artifacts, mounts, logs)
//!    each level ─► placement (constraints, affinities, spreads), policy (restart,
//!                  reschedule, update), service (checks); names and sizes ─► limits
//! ```

mod group;
mod job;
pub mod limits;
mod placement;
mod policy;
mod service;
mod task;
#[cfg(test)]
mod tests;

use std::fmt;

use super::job::Job;

/// One validation failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where: block labels from the job down, e.g. `["group \"web\"", "task \"nginx\"", "resources"]`.
    pub path: Vec<String>,
    /// JSON field at that place (`MemoryMB`), when one field is at fault.
    pub field: Option<&'static str>,
    /// The same place in the job's JSON, one step per segment (`["TaskGroups[0]", "Tasks[1]",
    /// "Resources"]`): what the front end follows back to the attribute in the source.
    pub json_path: Vec<String>,
    /// What is wrong, as a sentence.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path.join(" > "), self.message)
        }
    }
}

/// Collects problems while walking down the job; knows where it is.
struct Checker {
    path: Vec<String>,
    json: Vec<String>,
    problems: Vec<Problem>,
}

impl Checker {
    fn push(&mut self, field: Option<&'static str>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: self.path.clone(),
            field,
            json_path: self.json.clone(),
            message: message.into(),
        });
    }

    /// Runs `f` one level down: `segment` names it for people, `json` for the source map.
    fn scoped(&mut self, segment: String, json: String, f: impl FnOnce(&mut Self)) {
        self.path.push(segment);
        self.json.push(json);
        f(self);
        self.json.pop();
        self.path.pop();
    }
}

/// Validates `job` (canonicalized or not) and returns every problem found.
pub fn validate(job: &Job) -> Vec<Problem> {
    let mut c = Checker {
        path: Vec::new(),
        json: Vec::new(),
        problems: Vec::new(),
    };
    job::check_job(&mut c, job);
    c.problems
}
