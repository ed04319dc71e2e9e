//! A Nomad Variable the stack manages (`nomad_variable "PATH" { ... }`): written before the
//! jobs whose templates read it, deleted after them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::address::JobAddress;
use crate::diag::SourceSpan;

/// A `nomad_variable` block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NomadVariable {
    /// The variable's path (`nomad/jobs/gvfx/secrets`).
    pub path: String,
    /// Its namespace (`default` unless given).
    pub namespace: String,
    /// Item key → value.
    pub items: BTreeMap<String, String>,
    /// Keys whose values came from sensitive variables: plans show `(sensitive)`, state
    /// encrypts them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub sensitive_items: BTreeSet<String>,
    /// Jobs with a template that reads the variable (`nomadVar "PATH"`), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_by: Vec<JobAddress>,
    /// The block's label.
    pub span: SourceSpan,
}

/// The variable paths a template text reads with `nomadVar "PATH"` (quoted or backquoted).
pub fn template_var_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("nomadVar") {
        rest = &rest[i + "nomadVar".len()..];
        let arg = rest.trim_start();
        let Some(q) = arg.chars().next().filter(|c| *c == '"' || *c == '`') else {
            continue;
        };
        if let Some(end) = arg[1..].find(q) {
            let path = &arg[1..1 + end];
            // `nomadVar "path@namespace"` names another namespace.
            let path = path.split('@').next().unwrap_or(path);
            out.push(path.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::template_var_paths;

    #[test]
    fn finds_each_read_path() {
        let t = r#"{{ with nomadVar "nomad/jobs/a" }}{{ .X }}{{ end }}{{ with nomadVar `b@ns` }}{{ end }}"#;
        assert_eq!(template_var_paths(t), ["nomad/jobs/a", "b"]);
        assert!(template_var_paths("{{ nomadVarList }}").is_empty());
    }
}
