//! What loading one directory level (the root stack or a module instance) produces, and the
//! label span every pass reports a block at. A leaf: the passes that fill a [`Unit`] import it,
//! it imports none of them.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use hcl::edit::Span;
use hcl::edit::structure::BlockLabel;

use crate::stack::{
    Dependency, JobAddress, JobOptions, ModuleInstance, NomadVariable, Output, StackJob, StackSettings,
    VariableValue,
};

/// What one directory (the root or a module) produced.
#[derive(Default)]
pub struct Unit {
    /// Jobs.
    pub jobs: Vec<StackJob>,
    /// Edges.
    pub deps: Vec<Dependency>,
    /// Outputs by name.
    pub outputs: Vec<Output>,
    /// Variables.
    pub variables: Vec<VariableValue>,
    /// Modules (nested included).
    pub modules: Vec<ModuleInstance>,
    /// Job options.
    pub job_options: BTreeMap<JobAddress, JobOptions>,
    /// The `stack` block, if any.
    pub settings: Option<StackSettings>,
    /// `nomad_variable` blocks (root only).
    pub nomad_variables: Vec<NomadVariable>,
    /// Names of the given values (`-var`, var files, module inputs) this level's variables read;
    /// the root reports the others as undeclared.
    pub used: BTreeSet<String>,
}

/// The byte range of a block label, quoted or not.
pub fn label_span(l: &BlockLabel) -> Option<Range<usize>> {
    match l {
        BlockLabel::Ident(i) => i.span(),
        BlockLabel::String(s) => s.span(),
    }
}
