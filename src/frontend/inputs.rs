//! Variable values from outside the files: `-var`, `-var-file`, `*.auto.vars.hcl`,
//! `DEPLOY_VAR_*` / `NOMAD_VAR_*`. Later sources win: env < auto.vars < var-file < -var.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl::edit::Span;
use hcl::edit::structure::Structure;
use serde_json::Value;

use super::eval::{Eval, Scope};
use super::source::SourceFile;
use crate::diag::{Diagnostic, Diagnostics, SourceSpan};

/// Values given to a load.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// `-var name=value`, in order.
    pub vars: Vec<(String, String)>,
    /// `-var-file` paths, in order.
    pub var_files: Vec<PathBuf>,
    /// The process environment (only `DEPLOY_VAR_*` and `NOMAD_VAR_*` are read).
    pub env: Vec<(String, String)>,
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// `-var`.
    Flag,
    /// An attribute in a values file.
    File(SourceSpan),
    /// An environment variable.
    Env(String),
}

impl Origin {
    /// For messages.
    pub fn describe(&self) -> String {
        match self {
            Origin::Flag => "a -var flag".to_string(),
            Origin::File(s) => format!("{}", s.file.display()),
            Origin::Env(n) => format!("the environment variable {n}"),
        }
    }
}

/// A value before it is checked against the declared type.
#[derive(Clone, Debug, PartialEq)]
pub enum RawValue {
    /// Text from a flag or the environment (parsed per the declared type).
    Text(String),
    /// An evaluated value from a file.
    Value(Value),
}

/// One given value.
#[derive(Clone, Debug)]
pub struct GivenValue {
    /// The value.
    pub value: RawValue,
    /// Its origin.
    pub origin: Origin,
}

/// Collects the given values by name (later sources override earlier ones).
pub fn collect(
    inputs: &Inputs,
    stack_dir: Option<&Path>,
    diags: &mut Diagnostics,
) -> BTreeMap<String, GivenValue> {
    let mut out = BTreeMap::new();
    for prefix in ["NOMAD_VAR_", "DEPLOY_VAR_"] {
        for (k, v) in &inputs.env {
            if let Some(name) = k.strip_prefix(prefix).filter(|n| !n.is_empty()) {
                out.insert(
                    name.to_string(),
                    GivenValue {
                        value: RawValue::Text(v.clone()),
                        origin: Origin::Env(k.clone()),
                    },
                );
            }
        }
    }
    let auto = stack_dir.map(super::discover::auto_var_files).unwrap_or_default();
    for f in auto.iter().chain(inputs.var_files.iter()) {
        read_values_file(f, &mut out, diags);
    }
    for (k, v) in &inputs.vars {
        out.insert(
            k.clone(),
            GivenValue {
                value: RawValue::Text(v.clone()),
                origin: Origin::Flag,
            },
        );
    }
    out
}

fn read_values_file(path: &Path, out: &mut BTreeMap<String, GivenValue>, diags: &mut Diagnostics) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::error(format!("cannot read variable file {}", path.display()))
                    .with_detail(e.to_string()),
            );
            return;
        }
    };
    let file = SourceFile::new(path, text);
    diags.add_source(path, file.text.clone());
    let body = match file.parse() {
        Ok(b) => b,
        Err(d) => {
            diags.push(d);
            return;
        }
    };
    let scope = Scope {
        base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        ..Scope::default()
    };
    let mut ev = Eval::new(&scope, &file);
    for s in body.iter() {
        match s {
            Structure::Attribute(a) => match ev.eval(&a.value) {
                Ok(v) => {
                    let span = file.span_opt(a.key.span());
                    out.insert(
                        a.key.value().to_string(),
                        GivenValue {
                            value: RawValue::Value(v),
                            origin: Origin::File(span),
                        },
                    );
                }
                Err(d) => diags.push(d),
            },
            Structure::Block(b) => diags.push(
                Diagnostic::error("blocks are not allowed in a variable file")
                    .with_span(file.span_opt(b.ident.span()))
                    .with_detail("expected `name = value` attributes only"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_sources_win() {
        let dir = std::env::temp_dir().join(format!("deploy-inputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(
            dir.join("a.auto.vars.hcl"),
            "x = \"auto\"\ny = \"auto\"\nz = \"auto\"\n",
        )
        .expect("write");
        std::fs::write(dir.join("f.hcl"), "y = \"file\"\nz = \"file\"\n").expect("write");
        let inputs = Inputs {
            vars: vec![("z".into(), "flag".into())],
            var_files: vec![dir.join("f.hcl")],
            env: vec![
                ("NOMAD_VAR_w".into(), "nomad".into()),
                ("DEPLOY_VAR_w".into(), "deploy".into()),
                ("NOMAD_VAR_x".into(), "env".into()),
            ],
        };
        let mut diags = Diagnostics::new();
        let got = collect(&inputs, Some(&dir), &mut diags);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!diags.has_errors());
        let text = |k: &str| match &got[k].value {
            RawValue::Text(t) => t.clone(),
            RawValue::Value(v) => v.as_str().unwrap_or_default().to_string(),
        };
        assert_eq!(text("w"), "deploy");
        assert_eq!(text("x"), "auto");
        assert_eq!(text("y"), "file");
        assert_eq!(text("z"), "flag");
    }
}
