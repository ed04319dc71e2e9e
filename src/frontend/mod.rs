//! The front end: HCL files → [`Stack`] (the vocabulary in [`crate::stack`]).
//!
//! ```text
//!  dir/*.hcl, *.nomad ─► discover (skip agent configs, value files) ─► parse (hcl::edit, spans)
//!     ─► variables/locals per scope ─► eval (runtime `${...}` kept) ─► decode (schemas) ─► Job
//!     ─► stack blocks (stack, module, dependency, output) ─► Stack + Diagnostics
//! ```
//!
//! Entry points: [`load_stack`] for a directory or a file, [`parse_job_file`] for one jobspec,
//! [`validate_jobs`] for Nomad's checks of loaded jobs at their source positions.

// Evaluation errors are full diagnostics (span, detail, help). They are rare and leave the
// hot path at once, so boxing them would only add noise.
#![allow(clippy::result_large_err)]

mod decode;
mod discover;
mod edges;
mod eval;
mod heredoc;
mod inputs;
mod loader;
mod modules;
mod nomad_variable;
mod parallel;
mod problems;
mod source;
mod split;
mod stack_blocks;
mod suggest;
mod unit;
mod variables;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use inputs::Inputs;
pub use problems::validate_jobs;
pub use source::SourceFile;

use crate::diag::{Diagnostic, Diagnostics};
use crate::stack::{Stack, StackJob};
use inputs::Origin;

/// Loads a stack from a directory (every `*.hcl`, `*.nomad`, `*.nomad.hcl`) or a single file.
///
/// Warnings come back with the stack; any error fails the load with every diagnostic found.
pub fn load_stack(path: &Path, inputs: &Inputs) -> Result<(Stack, Diagnostics), Diagnostics> {
    let mut diags = Diagnostics::new();
    let (dir, files) = if path.is_dir() {
        match discover::stack_files(path) {
            Ok(f) => (path.to_path_buf(), f),
            Err(e) => {
                diags.push(
                    Diagnostic::error(format!("cannot read {}", path.display())).with_detail(e.to_string()),
                );
                return Err(diags);
            }
        }
    } else if path.is_file() {
        (
            path.parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
            vec![path.to_path_buf()],
        )
    } else {
        diags.push(
            Diagnostic::error(format!("{} does not exist", path.display()))
                .with_help("give a stack directory or a jobspec file"),
        );
        return Err(diags);
    };
    let given = inputs::collect(inputs, Some(&dir), &mut diags);
    let root = loader::Level {
        files: &files,
        given: &given,
        prefix: &[],
        call: None,
    };
    let mut unit = loader::load_unit(root, &mut diags);
    let mut ds = Vec::new();
    nomad_variable::link_readers(&mut unit.nomad_variables, &unit.jobs, &mut ds);
    for d in ds {
        diags.push(d);
    }
    for (name, g) in &given {
        if unit.used.contains(name) || matches!(g.origin, Origin::Env(_)) {
            continue;
        }
        let mut d = Diagnostic::error(format!("value given for undeclared variable `{name}`"))
            .with_detail(format!("from {}", g.origin.describe()))
            .with_help("declare it with a `variable` block, or remove the value");
        if let Origin::File(span) = &g.origin {
            d = d
                .with_span(span.clone())
                .with_detail("no scope declares this variable");
        }
        diags.push(d);
    }
    diags.retain(|d| !eval::is_cascade(d));
    if diags.has_errors() {
        return Err(diags);
    }
    let mut settings = unit.settings.unwrap_or_default();
    if settings.name.is_empty() {
        let base = if path.is_dir() {
            path
        } else {
            path.file_stem().map(Path::new).unwrap_or(path)
        };
        let canon = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
        settings.name = canon
            .file_name()
            .or_else(|| base.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "stack".into());
    }
    let mut jobs = unit.jobs;
    jobs.sort_by(|a, b| a.address.cmp(&b.address));
    let mut dependencies = unit.deps;
    for d in &mut dependencies {
        if let Some(o) = unit.job_options.get(&d.to) {
            d.gate = d.gate.or(o.gate);
            d.timeout = d.timeout.or(o.timeout);
        }
    }
    dependencies.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    dependencies.dedup_by(|a, b| a.from == b.from && a.to == b.to && a.kind == b.kind);
    let stack = Stack {
        root: path.to_path_buf(),
        settings,
        jobs,
        dependencies,
        outputs: unit.outputs,
        variables: unit.variables,
        modules: unit.modules,
        job_options: unit.job_options,
        nomad_variables: unit.nomad_variables,
    };
    Ok((stack, diags))
}

/// Parses one jobspec file with the given inputs; its jobs in file order.
pub fn parse_job_file(path: &Path, inputs: &Inputs) -> Result<(Vec<StackJob>, Diagnostics), Diagnostics> {
    let mut diags = Diagnostics::new();
    let given = inputs::collect(inputs, None, &mut diags);
    let files = [path.to_path_buf()];
    let level = loader::Level {
        files: &files,
        given: &given,
        prefix: &[],
        call: None,
    };
    let unit = loader::load_unit(level, &mut diags);
    diags.retain(|d| !eval::is_cascade(d));
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok((unit.jobs, diags))
    }
}

/// Parses jobspec text with variable values in var-file (HCL) form, as `POST /v1/jobs/parse`
/// takes them. With values, the two texts go through files in a private temporary directory,
/// so the values are read exactly like a user's `-var-file`.
pub fn parse_job_with_variables(hcl: &str, variables: &str) -> Result<Vec<crate::spec::Job>, Diagnostics> {
    let name = Path::new("job.nomad.hcl");
    if variables.trim().is_empty() {
        return parse_job_text(name, hcl);
    }
    let io_error = |what: &str, e: std::io::Error| {
        let mut d = Diagnostics::new();
        d.push(crate::diag::Diagnostic::error(format!("{what}: {e}")));
        d
    };
    let dir = std::env::temp_dir().join(format!("deploy-parse-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir(&dir).map_err(|e| io_error("temporary directory", e))?;
    let result = (|| {
        let job_path = dir.join(name);
        let vars_path = dir.join("variables.hcl");
        std::fs::write(&job_path, hcl).map_err(|e| io_error("writing the jobspec", e))?;
        std::fs::write(&vars_path, variables).map_err(|e| io_error("writing the variables", e))?;
        let inputs = Inputs {
            var_files: vec![vars_path],
            ..Inputs::default()
        };
        parse_job_file(&job_path, &inputs).map(|(jobs, _)| jobs.into_iter().map(|j| j.job).collect())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Parses jobspec text held in memory (benchmarks, tests); `name` labels the diagnostics.
pub fn parse_job_text(name: &Path, text: &str) -> Result<Vec<crate::spec::Job>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let file = SourceFile::new(name, text);
    diags.add_source(name, file.text.clone());
    let body = match file.parse() {
        Ok(b) => b,
        Err(d) => {
            diags.push(d);
            return Err(diags);
        }
    };
    let mut scope = eval::Scope {
        base_dir: name.parent().map(Path::to_path_buf).unwrap_or_default(),
        ..eval::Scope::default()
    };
    let one = [variables::ScopeFile {
        file: &file,
        body: &body,
    }];
    variables::resolve(
        &one,
        &Default::default(),
        &mut BTreeSet::new(),
        &mut scope,
        "",
        &mut diags,
    );
    let mut jobs = Vec::new();
    // Each block is dropped as soon as it is decoded, while it is still in cache and its memory
    // can serve the next job: freeing the whole tree at the end cost as much as decoding it.
    for s in body {
        let Some(b) = s.as_block().filter(|b| b.ident.value().as_str() == "job") else {
            continue;
        };
        let mut ev = eval::Eval::new(&scope, &file);
        let mut dec = decode::Decoder::new(&mut ev);
        if let Some(j) = decode::decode_job(&mut dec, b) {
            jobs.push(j.job);
        }
        for d in std::mem::take(&mut dec.diags) {
            diags.push(d);
        }
    }
    diags.retain(|d| !eval::is_cascade(d));
    if diags.has_errors() { Err(diags) } else { Ok(jobs) }
}
