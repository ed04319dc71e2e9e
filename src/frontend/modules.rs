//! `module` blocks: instantiating a directory of the same language with inputs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hcl::edit::Span;
use hcl::edit::structure::Block;
use serde_json::Value;

use super::eval::{Eval, Reference, Scope, stringify};
use super::inputs::{GivenValue, Origin, RawValue};
use super::source::SourceFile;
use super::suggest::did_you_mean;
use super::unit::label_span;
use super::variables::ScopeFile;
use crate::diag::{Diagnostic, Diagnostics, SourceSpan};
use crate::stack::ModuleInstance;

const MAX_MODULE_DEPTH: usize = 8;

/// The module block that instantiates a unit.
pub struct ModuleCall {
    /// The block's span.
    pub span: SourceSpan,
    /// Input names with their attribute spans.
    pub inputs: BTreeMap<String, SourceSpan>,
}

/// Checks a module's inputs against the variables its stack files declare: an unknown input or
/// a missing required one is an error (the missing one is given as null so loading goes on).
pub fn check_module_inputs(
    stack_files: &[ScopeFile<'_>],
    call: &ModuleCall,
    given: &mut BTreeMap<String, GivenValue>,
    diags: &mut Diagnostics,
) {
    let mut declared: BTreeMap<String, bool> = BTreeMap::new();
    for sf in stack_files {
        for b in sf
            .body
            .blocks()
            .filter(|b| b.ident.value().as_str() == "variable")
        {
            if let Some(l) = b.labels.first() {
                declared.insert(l.as_str().to_string(), b.body.has_attribute("default"));
            }
        }
    }
    for (name, span) in &call.inputs {
        if !declared.contains_key(name) {
            let mut d = Diagnostic::error(format!("unknown module input `{name}`"))
                .with_span(span.clone())
                .with_detail("the module declares no such variable");
            if let Some(s) = did_you_mean(name, declared.keys().map(String::as_str)) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            diags.push(d);
        }
    }
    for (name, has_default) in &declared {
        if !has_default && !call.inputs.contains_key(name) {
            diags.push(
                Diagnostic::error(format!("missing required module input `{name}`"))
                    .with_span(call.span.clone())
                    .with_detail(format!("the module's variable `{name}` has no default"))
                    .with_help(format!("add `{name} = ...` to this module block")),
            );
            given.insert(
                name.clone(),
                GivenValue {
                    value: RawValue::Value(Value::Null),
                    origin: Origin::Flag,
                },
            );
        }
    }
}

/// A module block ready to load: the level to load for it and what its parent keeps.
pub struct ModuleLoad {
    /// The module's name (its block label).
    pub name: String,
    /// The module's directory.
    pub dir: PathBuf,
    /// Its stack files.
    pub files: Vec<PathBuf>,
    /// Its inputs, as given values of its variables.
    pub given: BTreeMap<String, GivenValue>,
    /// The block that calls it.
    pub call: ModuleCall,
    /// The module path of its jobs (the parent's, then this module's name).
    pub prefix: Vec<String>,
    /// References to jobs and modules in its inputs: edges from every job of the module.
    pub refs: Vec<Reference>,
}

impl ModuleLoad {
    /// The module instance this load records.
    pub fn instance(&self) -> ModuleInstance {
        let address = self
            .prefix
            .iter()
            .map(|m| format!("module.{m}"))
            .collect::<Vec<_>>()
            .join(".");
        ModuleInstance {
            address,
            source: self.dir.clone(),
            span: self.call.span.clone(),
        }
    }
}

/// Evaluates a `module` block into what loading it needs; the loader loads its directory.
///
/// `Err(Some(d))`: retry later (may depend on a module not loaded yet); `Err(None)`: reported.
pub fn prepare(
    file: &SourceFile,
    b: &Block,
    scope: &Scope,
    prefix: &[String],
    diags: &mut Diagnostics,
) -> Result<ModuleLoad, Option<Diagnostic>> {
    let Some(name) = b.labels.first().map(|l| l.as_str().to_string()) else {
        diags.push(
            Diagnostic::error("missing label on `module` block")
                .with_span(file.span_opt(b.ident.span()))
                .with_detail("a module name is required")
                .with_help("write `module \"name\" { source = \"../dir\" }`"),
        );
        return Err(None);
    };
    let block_span = file.span_opt(b.labels.first().and_then(label_span).or_else(|| b.ident.span()));
    if prefix.len() >= MAX_MODULE_DEPTH {
        diags.push(
            Diagnostic::error("modules nested too deeply")
                .with_span(block_span)
                .with_detail(format!(
                    "more than {MAX_MODULE_DEPTH} levels; is a module including itself?"
                )),
        );
        return Err(None);
    }
    let mut ev = Eval::new(scope, file);
    let dir = source_dir(&mut ev, b, &name, &block_span, diags)?;
    let (inputs, given) = module_inputs(&mut ev, b, diags)?;
    let files = match super::discover::stack_files(&dir) {
        Ok(f) => f,
        Err(e) => {
            diags.push(
                Diagnostic::error(format!("cannot read module directory {}", dir.display()))
                    .with_span(block_span)
                    .with_detail(e.to_string()),
            );
            return Err(None);
        }
    };
    let mut inner_prefix = prefix.to_vec();
    inner_prefix.push(name.clone());
    Ok(ModuleLoad {
        name,
        dir,
        files,
        given,
        call: ModuleCall {
            span: block_span,
            inputs,
        },
        prefix: inner_prefix,
        refs: std::mem::take(&mut ev.refs),
    })
}

/// The directory a module block's `source` names, relative to the file's directory.
fn source_dir(
    ev: &mut Eval<'_>,
    b: &Block,
    name: &str,
    block_span: &SourceSpan,
    diags: &mut Diagnostics,
) -> Result<PathBuf, Option<Diagnostic>> {
    let Some(src_attr) = b.body.get_attribute("source") else {
        diags.push(
            Diagnostic::error(format!("module `{name}` has no `source`"))
                .with_span(block_span.clone())
                .with_detail("`source` is required")
                .with_help("add `source = \"../path/to/module\"`"),
        );
        return Err(None);
    };
    let source = match ev.eval(&src_attr.value).map(|v| stringify(&v)) {
        Ok(Some(s)) => s,
        Ok(None) => {
            diags.push(
                Diagnostic::error("invalid module source")
                    .with_span(ev.span_of(&src_attr.value))
                    .with_detail("expected a string path"),
            );
            return Err(None);
        }
        Err(d) => return Err(Some(d)),
    };
    let dir = ev.scope.base_dir.join(&source);
    if !dir.is_dir() {
        diags.push(
            Diagnostic::error(format!("module source `{source}` does not exist"))
                .with_span(ev.span_of(&src_attr.value))
                .with_detail(format!("no directory {}", dir.display()))
                .with_help("`source` is a directory path relative to this file"),
        );
        return Err(None);
    }
    Ok(dir)
}

/// Input names with their spans, and the inputs as given values of the module's variables.
type ModuleInputs = (BTreeMap<String, SourceSpan>, BTreeMap<String, GivenValue>);

/// A module block's inputs: every attribute but `source` and `depends_on`; blocks are errors.
fn module_inputs(
    ev: &mut Eval<'_>,
    b: &Block,
    diags: &mut Diagnostics,
) -> Result<ModuleInputs, Option<Diagnostic>> {
    let mut inputs = BTreeMap::new();
    let mut given = BTreeMap::new();
    for a in b.body.attributes() {
        let key = a.key.value().to_string();
        if key == "source" || key == "depends_on" {
            continue;
        }
        let span = ev.file.span_opt(a.key.span());
        let v = ev.eval(&a.value).map_err(Some)?;
        inputs.insert(key.clone(), span.clone());
        given.insert(
            key,
            GivenValue {
                value: RawValue::Value(v),
                origin: Origin::File(span),
            },
        );
    }
    for inner in b.body.blocks() {
        diags.push(
            Diagnostic::error(format!("unexpected block `{}` in `module`", inner.ident.value()))
                .with_span(ev.file.span_opt(inner.ident.span()))
                .with_detail("module inputs are attributes"),
        );
    }
    Ok((inputs, given))
}
