//! Evaluated stack-level values: outputs, resolved variables and module instances.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::diag::SourceSpan;

/// An `output` block, evaluated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// Name (module outputs are prefixed `module.NAME.`).
    pub name: String,
    /// Value.
    pub value: serde_json::Value,
    /// Shown as `(sensitive)`.
    pub sensitive: bool,
    /// Description.
    pub description: Option<String>,
    /// Where it was declared.
    pub span: SourceSpan,
}

/// A resolved input variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariableValue {
    /// Name (module variables are prefixed `module.NAME.`).
    pub name: String,
    /// Value after defaults, files, environment and `-var`.
    pub value: serde_json::Value,
    /// Never shown or stored in clear.
    pub sensitive: bool,
}

/// An instantiated `module` block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModuleInstance {
    /// Address: `module.NAME` (nested: `module.a.module.b`).
    pub address: String,
    /// The `source` directory, resolved.
    pub source: PathBuf,
    /// Where the block is.
    pub span: SourceSpan,
}
