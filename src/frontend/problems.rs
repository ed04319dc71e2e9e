//! Nomad's validation of loaded jobs, as diagnostics at the attribute each problem concerns.
//!
//! ```text
//!  StackJob ─► canonicalize ─► spec::validate ─► Problem { path, json_path, field }
//!     └ span.file ─► parse again (once per file) ─► decode::locate ─► file:line:col
//! ```
//!
//! The decoder records no positions while it runs, so loading stays as fast as parsing allows;
//! the source is read again only for a job that has problems.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hcl::edit::Span;
use hcl::edit::structure::Body;

use super::decode::locate;
use super::source::SourceFile;
use crate::diag::{Diagnostic, SourceSpan};
use crate::spec;
use crate::stack::StackJob;

/// Checks every job the way Nomad's servers do; one error per problem, at the offending
/// attribute when the source still says where, else at the job's label.
pub fn validate_jobs(jobs: &[StackJob]) -> Vec<Diagnostic> {
    let mut sources = Sources::default();
    let mut out = Vec::new();
    for job in jobs {
        for problem in spec::validate(&spec::canonicalize(&job.job)) {
            let span = sources.span_of(job, &problem).unwrap_or_else(|| job.span.clone());
            out.push(Diagnostic::error(format!("job `{}`: {}", job.job.id(), problem)).with_span(span));
        }
    }
    out
}

/// Files parsed again on demand, each once.
#[derive(Default)]
struct Sources {
    files: BTreeMap<PathBuf, Option<(SourceFile, Body)>>,
}

impl Sources {
    fn span_of(&mut self, job: &StackJob, problem: &spec::Problem) -> Option<SourceSpan> {
        let (file, body) = self
            .files
            .entry(job.span.file.clone())
            .or_insert_with(|| {
                let text = std::fs::read_to_string(&job.span.file).ok()?;
                let file = SourceFile::new(&job.span.file, text);
                let body = file.parse().ok()?;
                Some((file, body))
            })
            .as_ref()?;
        // The job's span is its label (or keyword): find the `job` block that holds it.
        let block = body.blocks().find(|b| {
            b.ident.value().as_str() == "job" && b.span().is_some_and(|r| r.contains(&job.span.offset))
        })?;
        let range = locate(block, &problem.json_path, problem.field)?;
        // An unchanged file puts the job's label where it was loaded from; else say nothing.
        let label = block.labels.first().and_then(super::unit::label_span);
        if label.or_else(|| block.ident.span()).map(|r| r.start) != Some(job.span.offset) {
            return None;
        }
        Some(file.span(range))
    }
}
