//! Why a stack's graph cannot be built: every problem found, each naming the jobs involved and
//! where the offending edge was declared.

use std::fmt;

use crate::stack::{JobAddress, SourceSpan};

/// One step of a dependency cycle: `job` waits for the next step's job, as declared at `span`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CycleStep {
    /// The dependent job.
    pub job: JobAddress,
    /// The job it waits for (the next step).
    pub waits_for: JobAddress,
    /// Where this edge was declared or referenced.
    pub span: SourceSpan,
}

/// A problem with the stack's dependencies.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// An edge names a job that the stack does not have.
    #[error("{from} depends on {missing}, which is not a job of this stack{hint} (declared at {at})")]
    MissingJob {
        /// The dependent job.
        from: JobAddress,
        /// The address that was not found.
        missing: JobAddress,
        /// A ", did you mean X?" suffix, or "".
        hint: String,
        /// Where the edge was declared.
        at: SpanDisplay,
    },
    /// The jobs depend on each other in a circle; `steps` walk it in order.
    #[error("dependency cycle:{}", format_cycle(.steps))]
    Cycle {
        /// The cycle, starting at its smallest address.
        steps: Vec<CycleStep>,
    },
}

/// A source span printed as `file:line:col`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanDisplay(pub SourceSpan);

impl fmt::Display for SpanDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.0.file.display(), self.0.line, self.0.column)
    }
}

fn format_cycle(steps: &[CycleStep]) -> String {
    let mut s = String::new();
    for step in steps {
        s.push_str(&format!(
            "\n  {} waits for {} (declared at {})",
            step.job,
            step.waits_for,
            SpanDisplay(step.span.clone())
        ));
    }
    s
}

/// Every problem found while building the graph, in a stable order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct GraphErrors(pub Vec<GraphError>);

impl fmt::Display for GraphErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
