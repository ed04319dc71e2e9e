//! `module` blocks: instantiating a directory of the same language with inputs.

use std::collections::{BTreeMap, BTreeSet};

use hcl::edit::Span;
use hcl::edit::structure::{Block, Body};
use serde_json::Value;

use super::discover::FileKind;
use super::eval::{Eval, Reference, Scope, stringify};
use super::inputs::{GivenValue, Origin, RawValue};
use super::loader::{Unit, label_span, load_unit};
use super::source::SourceFile;
use super::suggest::did_you_mean;
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

pub fn check_module_inputs(
    parsed: &[(&SourceFile, Body, FileKind)],
    call: &ModuleCall,
    given: &mut BTreeMap<String, GivenValue>,
    diags: &mut Diagnostics,
) {
    let mut declared: BTreeMap<String, bool> = BTreeMap::new();
    for (_, body, kind) in parsed {
        if *kind != FileKind::Stack {
            continue;
        }
        for b in body.blocks().filter(|b| b.ident.value().as_str() == "variable") {
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

pub type Instantiated = (String, Unit, Vec<Reference>);

/// `Err(Some(d))`: retry later (may depend on a module not loaded yet); `Err(None)`: reported.
pub fn instantiate(
    file: &SourceFile,
    b: &Block,
    scope: &Scope,
    used: &mut BTreeSet<String>,
    prefix: &[String],
    diags: &mut Diagnostics,
) -> Result<Option<Instantiated>, Option<Diagnostic>> {
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
    let Some(src_attr) = b.body.get_attribute("source") else {
        diags.push(
            Diagnostic::error(format!("module `{name}` has no `source`"))
                .with_span(block_span)
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
    let dir = scope.base_dir.join(&source);
    if !dir.is_dir() {
        diags.push(
            Diagnostic::error(format!("module source `{source}` does not exist"))
                .with_span(ev.span_of(&src_attr.value))
                .with_detail(format!("no directory {}", dir.display()))
                .with_help("`source` is a directory path relative to this file"),
        );
        return Err(None);
    }
    let mut inputs = BTreeMap::new();
    let mut given = BTreeMap::new();
    for a in b.body.attributes() {
        let key = a.key.value().to_string();
        if key == "source" || key == "depends_on" {
            continue;
        }
        let span = file.span_opt(a.key.span());
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
                .with_span(file.span_opt(inner.ident.span()))
                .with_detail("module inputs are attributes"),
        );
    }
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
    let call = ModuleCall {
        span: block_span.clone(),
        inputs,
    };
    let mut inner_used = BTreeSet::new();
    let sub = load_unit(&files, &given, &mut inner_used, &inner_prefix, Some(&call), diags);
    let _ = used;
    let module_address: String = inner_prefix
        .iter()
        .map(|m| format!("module.{m}"))
        .collect::<Vec<_>>()
        .join(".");
    let mut unit = sub;
    unit.modules.insert(
        0,
        ModuleInstance {
            address: module_address,
            source: dir,
            span: block_span,
        },
    );
    Ok(Some((name, unit, std::mem::take(&mut ev.refs))))
}
