//! Loading a stack directory (and its modules) into a [`Stack`].
//!
//! ```text
//!  files ─► parse ─► classify ─► scopes (stack files: one; each job file: its own)
//!        ─► variables/locals ─► job objects (job.ID) ─► modules (recursive) ─► decode jobs
//!        ─► outputs ─► dependency blocks, depends_on, reference edges
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hcl::edit::Span;
use hcl::edit::structure::{Block, Body, Structure};
use serde_json::{Map, Value};

use super::decode::{Decoder, decode_job};
use super::discover::{FileKind, STACK_BLOCKS, classify};
use super::eval::{Eval, Reference, Scope, as_bool, stringify};
use super::inputs::{GivenValue, Origin, RawValue};
use super::source::SourceFile;
use super::stack_blocks::{self, Target};
use super::suggest::did_you_mean;
use super::variables::{ScopeFile, resolve};
use crate::diag::{Diagnostic, Diagnostics, SourceSpan};
use crate::frontend::{
    Dependency, DependencyKind, JobAddress, JobOptions, ModuleInstance, Output, StackJob, StackSettings,
    VariableValue,
};

const MAX_MODULE_DEPTH: usize = 8;

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
}

/// The module block that instantiates a unit.
pub struct ModuleCall {
    /// The block's span.
    pub span: SourceSpan,
    /// Input names with their attribute spans.
    pub inputs: BTreeMap<String, SourceSpan>,
}

/// Loads the files of one directory level.
pub fn load_unit(
    files: &[PathBuf],
    given: &BTreeMap<String, GivenValue>,
    used: &mut BTreeSet<String>,
    prefix: &[String],
    call: Option<&ModuleCall>,
    diags: &mut Diagnostics,
) -> Unit {
    let mut sources = Vec::new();
    for path in files {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let f = SourceFile::new(path, text);
                diags.add_source(path, f.text.clone());
                sources.push(f);
            }
            Err(e) => diags.push(
                Diagnostic::error(format!("cannot read {}", path.display())).with_detail(e.to_string()),
            ),
        }
    }
    let mut parsed: Vec<(&SourceFile, Body, FileKind)> = Vec::new();
    for f in &sources {
        match f.parse() {
            Ok(body) => {
                let kind = classify(&body);
                match kind {
                    FileKind::AgentConfig => diags.push(
                        Diagnostic::warning(format!("skipping {}: a Nomad agent configuration, not a jobspec", f.path.display()))
                            .with_help("agent configs (client, server, data_dir, plugin, ...) are not deployed by a stack"),
                    ),
                    FileKind::Values => diags.push(
                        Diagnostic::warning(format!("skipping {}: only `name = value` attributes, no job", f.path.display()))
                            .with_help("name it *.auto.vars.hcl to use it as variable values, or pass it with -var-file"),
                    ),
                    FileKind::Empty => diags.push(Diagnostic::warning(format!("skipping {}: no job or stack blocks", f.path.display()))),
                    FileKind::Jobs | FileKind::Stack => {}
                }
                if matches!(kind, FileKind::Jobs | FileKind::Stack) {
                    check_top_level(f, &body, kind, diags);
                    parsed.push((f, body, kind));
                }
            }
            Err(_) if super::discover::looks_like_agent_config(&f.text) => diags.push(
                Diagnostic::warning(format!(
                    "skipping {}: a Nomad agent configuration, not a jobspec",
                    f.path.display()
                ))
                .with_help(
                    "agent configs (client, server, data_dir, plugin, ...) are not deployed by a stack",
                ),
            ),
            Err(d) => diags.push(d),
        }
    }
    let mut given = given.clone();
    if let Some(call) = call {
        check_module_inputs(&parsed, call, &mut given, diags);
    }
    let mut unit = Unit::default();
    let prefix_str: String = prefix.iter().map(|m| format!("module.{m}.")).collect();

    // Scopes.
    let stack_files: Vec<ScopeFile<'_>> = parsed
        .iter()
        .filter(|p| p.2 == FileKind::Stack)
        .map(|p| ScopeFile {
            file: p.0,
            body: &p.1,
        })
        .collect();
    let base_dir = files
        .first()
        .and_then(|f| f.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut stack_scope = Scope {
        base_dir: base_dir.clone(),
        stack_refs: true,
        ..Scope::default()
    };
    unit.variables.extend(resolve(
        &stack_files,
        &given,
        used,
        &mut stack_scope,
        &prefix_str,
        diags,
    ));
    let mut job_scopes: Vec<(usize, Scope)> = Vec::new();
    for (i, p) in parsed.iter().enumerate().filter(|(_, p)| p.2 == FileKind::Jobs) {
        let mut scope = Scope {
            base_dir: p.0.path.parent().map(Path::to_path_buf).unwrap_or_default(),
            stack_refs: true,
            ..Scope::default()
        };
        let one = [ScopeFile {
            file: p.0,
            body: &p.1,
        }];
        for v in resolve(&one, &given, used, &mut scope, &prefix_str, diags) {
            if !unit.variables.iter().any(|x| x.name == v.name) {
                unit.variables.push(v);
            }
        }
        job_scopes.push((i, scope));
    }

    // Pass 1: job objects for `job.ID`, and duplicate IDs.
    let mut seen: BTreeMap<(String, String), SourceSpan> = BTreeMap::new();
    let mut job_objects = BTreeMap::new();
    for (i, scope) in &job_scopes {
        let (file, body, _) = &parsed[*i];
        for b in body.blocks().filter(|b| b.ident.value().as_str() == "job") {
            let Some(id) = b.labels.first().map(|l| l.as_str().to_string()) else {
                continue;
            };
            let obj = job_object(&id, b, scope, file);
            let ns = obj
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string();
            let span = file.span_opt(b.labels.first().and_then(label_span).or_else(|| b.ident.span()));
            if let Some(first) = seen.get(&(ns.clone(), id.clone())) {
                diags.push(
                    Diagnostic::error(format!("duplicate job ID `{id}` in namespace `{ns}`"))
                        .with_span(span.clone())
                        .with_detail("declared again here")
                        .with_label(first.clone(), "first declared here")
                        .with_help("job IDs must be unique per namespace within a stack"),
                );
            } else {
                seen.insert((ns, id.clone()), span);
            }
            job_objects.insert(id, Value::Object(obj));
        }
    }
    stack_scope.jobs = job_objects.clone();

    // Modules.
    let mut module_jobs: BTreeMap<String, Vec<JobAddress>> = BTreeMap::new();
    let mut module_blocks: Vec<(&SourceFile, &Block)> = Vec::new();
    for sf in &stack_files {
        for b in sf.body.blocks().filter(|b| b.ident.value().as_str() == "module") {
            module_blocks.push((sf.file, b));
        }
    }
    let mut pending = module_blocks;
    let mut last_errors: Vec<Diagnostic> = Vec::new();
    while !pending.is_empty() {
        let mut still = Vec::new();
        let mut progress = false;
        last_errors.clear();
        for (file, b) in pending {
            match instantiate(file, b, &stack_scope, used, prefix, diags) {
                Ok(Some((name, sub, refs))) => {
                    progress = true;
                    let addrs: Vec<JobAddress> = sub.jobs.iter().map(|j| j.address.clone()).collect();
                    let mut outs = Map::new();
                    let module_prefix = format!("{prefix_str}module.{name}.");
                    for o in &sub.outputs {
                        if let Some(short) = o.name.strip_prefix(&module_prefix) {
                            if !short.contains('.') {
                                outs.insert(short.to_string(), o.value.clone());
                            }
                        }
                    }
                    stack_scope.modules.insert(name.clone(), Value::Object(outs));
                    // Edges: module depends_on and references in its inputs.
                    if let Some(d) = b.body.get_attribute("depends_on") {
                        let ev = Eval::new(&stack_scope, file);
                        let mut ds = Vec::new();
                        let targets = stack_blocks::depends_on(&ev, &d.value, &mut ds);
                        for x in ds {
                            diags.push(x);
                        }
                        for (t, span) in targets {
                            for to in resolve_target(&t, &span, prefix, &job_objects, &module_jobs, diags) {
                                for from in &addrs {
                                    unit.deps.push(Dependency {
                                        from: from.clone(),
                                        to: to.clone(),
                                        gate: None,
                                        timeout: None,
                                        kind: DependencyKind::Declared,
                                        span: span.clone(),
                                    });
                                }
                            }
                        }
                    }
                    for r in refs {
                        for to in reference_targets(&r, prefix, &module_jobs) {
                            for from in &addrs {
                                unit.deps.push(Dependency {
                                    from: from.clone(),
                                    to: to.0.clone(),
                                    gate: None,
                                    timeout: None,
                                    kind: DependencyKind::Reference,
                                    span: to.1.clone(),
                                });
                            }
                        }
                    }
                    module_jobs.insert(name.clone(), addrs);
                    unit.jobs.extend(sub.jobs);
                    unit.deps.extend(sub.deps);
                    unit.outputs.extend(sub.outputs);
                    unit.variables.extend(sub.variables);
                    unit.modules.extend(sub.modules);
                    unit.job_options.extend(sub.job_options);
                }
                Ok(None) => progress = true,
                Err(Some(d)) => {
                    last_errors.push(d);
                    still.push((file, b));
                }
                Err(None) => progress = true,
            }
        }
        pending = still;
        if !progress {
            for d in last_errors.drain(..) {
                diags.push(d);
            }
            break;
        }
    }

    // Pass 2: decode jobs.
    for (i, scope) in &mut job_scopes {
        scope.jobs = job_objects.clone();
        scope.modules = stack_scope.modules.clone();
        let (file, body, _) = &parsed[*i];
        for b in body.blocks().filter(|b| b.ident.value().as_str() == "job") {
            let mut ev = Eval::new(scope, file);
            let mut dec = Decoder::new(&mut ev);
            let decoded = decode_job(&mut dec, b);
            for d in std::mem::take(&mut dec.diags) {
                diags.push(d);
            }
            let Some(decoded) = decoded else { continue };
            let address = JobAddress::in_module(prefix, decoded.job.id());
            let span = file.span_opt(b.labels.first().and_then(label_span).or_else(|| b.ident.span()));
            for r in std::mem::take(&mut ev.refs) {
                for (to, rspan) in reference_targets(&r, prefix, &module_jobs) {
                    if to != address {
                        unit.deps.push(Dependency {
                            from: address.clone(),
                            to,
                            gate: None,
                            timeout: None,
                            kind: DependencyKind::Reference,
                            span: rspan,
                        });
                    }
                }
            }
            unit.jobs.push(StackJob {
                address,
                job: decoded.job,
                span,
                sensitive_paths: decoded.sensitive_paths,
            });
        }
    }

    // Stack blocks: settings, outputs, dependencies.
    for sf in &stack_files {
        for b in sf.body.blocks() {
            let mut ev = Eval::new(&stack_scope, sf.file);
            let mut ds = Vec::new();
            match b.ident.value().as_str() {
                "stack" => {
                    if !prefix.is_empty() {
                        ds.push(
                            Diagnostic::warning("`stack` block in a module is ignored")
                                .with_span(sf.file.span_opt(b.ident.span())),
                        );
                    } else {
                        let mut s = unit.settings.take().unwrap_or_default();
                        stack_blocks::settings(&mut ev, b, &mut s, &mut ds);
                        unit.settings = Some(s);
                    }
                }
                "output" => {
                    if let Some(o) = output(&mut ev, b, &prefix_str, &mut ds) {
                        unit.outputs.push(o);
                    }
                }
                "dependency" => dependency(
                    &mut ev,
                    b,
                    prefix,
                    &job_objects,
                    &module_jobs,
                    &mut unit,
                    diags,
                    &mut ds,
                ),
                _ => {}
            }
            for d in ds {
                diags.push(d);
            }
        }
    }
    unit
}

fn label_span(l: &hcl::edit::structure::BlockLabel) -> Option<std::ops::Range<usize>> {
    match l {
        hcl::edit::structure::BlockLabel::Ident(i) => i.span(),
        hcl::edit::structure::BlockLabel::String(s) => s.span(),
    }
}

fn check_top_level(f: &SourceFile, body: &Body, kind: FileKind, diags: &mut Diagnostics) {
    let allowed: &[&str] = if kind == FileKind::Jobs {
        &["job", "variable", "locals"]
    } else {
        STACK_BLOCKS
    };
    for s in body.iter() {
        let (name, range, what) = match s {
            Structure::Block(b) => (b.ident.value().to_string(), b.ident.span(), "block"),
            Structure::Attribute(a) => (a.key.value().to_string(), a.key.span(), "attribute"),
        };
        if what == "block" && allowed.contains(&name.as_str()) {
            continue;
        }
        if kind == FileKind::Jobs && STACK_BLOCKS.contains(&name.as_str()) && what == "block" {
            diags.push(
                Diagnostic::error(format!("`{name}` block in a file with jobs"))
                    .with_span(f.span_opt(range))
                    .with_detail("stack blocks belong in files without `job` blocks")
                    .with_help("move it to a separate file such as stack.hcl"),
            );
            continue;
        }
        let mut candidates: Vec<&str> = allowed.to_vec();
        candidates.push("job");
        let mut d = Diagnostic::error(format!("unknown top-level {what} `{name}`"))
            .with_span(f.span_opt(range))
            .with_detail(format!("expected one of: {}", candidates.join(", ")));
        if let Some(s) = did_you_mean(&name, candidates.iter().copied()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        diags.push(d);
    }
}

fn check_module_inputs(
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

/// `{ id, name, type, namespace, region, datacenters }` of a job, for `job.ID` references.
fn job_object(id: &str, b: &Block, scope: &Scope, file: &SourceFile) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), Value::String(id.to_string()));
    let plain = Scope {
        jobs: BTreeMap::new(),
        modules: BTreeMap::new(),
        stack_refs: false,
        ..scope.clone()
    };
    let mut ev = Eval::new(&plain, file);
    let mut get = |key: &str| b.body.get_attribute(key).and_then(|a| ev.eval(&a.value).ok());
    m.insert(
        "name".into(),
        get("name").unwrap_or_else(|| Value::String(id.to_string())),
    );
    m.insert(
        "type".into(),
        get("type").unwrap_or_else(|| Value::String("service".into())),
    );
    m.insert(
        "namespace".into(),
        get("namespace").unwrap_or_else(|| Value::String("default".into())),
    );
    m.insert(
        "region".into(),
        get("region").unwrap_or_else(|| Value::String("global".into())),
    );
    m.insert(
        "datacenters".into(),
        get("datacenters").unwrap_or_else(|| Value::Array(vec![Value::String("*".into())])),
    );
    m
}

type Instantiated = (String, Unit, Vec<Reference>);

/// `Err(Some(d))`: retry later (may depend on a module not loaded yet); `Err(None)`: reported.
fn instantiate(
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

fn reference_targets(
    r: &Reference,
    prefix: &[String],
    module_jobs: &BTreeMap<String, Vec<JobAddress>>,
) -> Vec<(JobAddress, SourceSpan)> {
    match r {
        Reference::Job(id, span) => vec![(JobAddress::in_module(prefix, id), span.clone())],
        Reference::Module(m, span) => module_jobs
            .get(m)
            .map(|a| a.iter().map(|x| (x.clone(), span.clone())).collect())
            .unwrap_or_default(),
    }
}

fn resolve_target(
    t: &Target,
    span: &SourceSpan,
    prefix: &[String],
    jobs: &BTreeMap<String, Value>,
    modules: &BTreeMap<String, Vec<JobAddress>>,
    diags: &mut Diagnostics,
) -> Vec<JobAddress> {
    let missing = |what: String, name: &str, candidates: Vec<&str>, diags: &mut Diagnostics| {
        let mut d = Diagnostic::error(format!("unknown dependency target {what}"))
            .with_span(span.clone())
            .with_detail("not in this stack");
        if let Some(s) = did_you_mean(name, candidates) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        diags.push(d);
        Vec::new()
    };
    match t {
        Target::Job(id) if jobs.contains_key(id) => vec![JobAddress::in_module(prefix, id)],
        Target::Job(id) => missing(
            format!("`job.{id}`"),
            id,
            jobs.keys().map(String::as_str).collect(),
            diags,
        ),
        Target::Module(m) => match modules.get(m) {
            Some(a) => a.clone(),
            None => missing(
                format!("`module.{m}`"),
                m,
                modules.keys().map(String::as_str).collect(),
                diags,
            ),
        },
        Target::ModuleJob(m, id) => {
            let mut p = prefix.to_vec();
            p.push(m.clone());
            let addr = JobAddress::in_module(&p, id);
            if modules.get(m).is_some_and(|a| a.contains(&addr)) {
                vec![addr]
            } else {
                missing(format!("`{addr}`"), id, vec![], diags)
            }
        }
    }
}

fn output(ev: &mut Eval<'_>, b: &Block, prefix: &str, ds: &mut Vec<Diagnostic>) -> Option<Output> {
    let name = b.labels.first().map(|l| l.as_str().to_string());
    let span = ev
        .file
        .span_opt(b.labels.first().and_then(label_span).or_else(|| b.ident.span()));
    let Some(name) = name else {
        ds.push(
            Diagnostic::error("missing label on `output` block")
                .with_span(span)
                .with_detail("an output name is required"),
        );
        return None;
    };
    let mut value = None;
    let mut sensitive = false;
    let mut description = None;
    for a in b.body.attributes() {
        ev.tainted = false;
        match a.key.value().as_str() {
            "value" => match ev.eval(&a.value) {
                Ok(v) => {
                    sensitive |= ev.tainted;
                    value = Some(v);
                }
                Err(d) => ds.push(d),
            },
            "sensitive" => sensitive |= ev.eval(&a.value).ok().and_then(|v| as_bool(&v)).unwrap_or(false),
            "description" => description = ev.eval(&a.value).ok().and_then(|v| stringify(&v)),
            other => {
                let mut d = Diagnostic::error(format!("unknown attribute `{other}` in `output`"))
                    .with_span(ev.file.span_opt(a.key.span()))
                    .with_detail("not an output attribute");
                if let Some(s) = did_you_mean(other, ["value", "sensitive", "description"]) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                ds.push(d);
            }
        }
    }
    let Some(value) = value else {
        if !ds.iter().any(|d| d.is_error()) {
            ds.push(
                Diagnostic::error(format!("output `{name}` has no `value`"))
                    .with_span(span)
                    .with_detail("`value` is required"),
            );
        }
        return None;
    };
    Some(Output {
        name: format!("{prefix}{name}"),
        value,
        sensitive,
        description,
        span,
    })
}

#[allow(clippy::too_many_arguments)]
fn dependency(
    ev: &mut Eval<'_>,
    b: &Block,
    prefix: &[String],
    jobs: &BTreeMap<String, Value>,
    modules: &BTreeMap<String, Vec<JobAddress>>,
    unit: &mut Unit,
    diags: &mut Diagnostics,
    ds: &mut Vec<Diagnostic>,
) {
    let Some(label) = b.labels.first().map(|l| l.as_str().to_string()) else {
        ds.push(
            Diagnostic::error("missing label on `dependency` block")
                .with_span(ev.file.span_opt(b.ident.span()))
                .with_detail("name the dependent job")
                .with_help("write `dependency \"my-job\" { depends_on = [job.db] }`"),
        );
        return;
    };
    let span = ev.file.span_opt(b.labels.first().and_then(label_span));
    let from = resolve_target(
        &stack_blocks::label_target(&label),
        &span,
        prefix,
        jobs,
        modules,
        diags,
    );
    let Some(from) = from.first().cloned() else { return };
    let mut options = JobOptions::default();
    for a in b.body.attributes() {
        match a.key.value().as_str() {
            "depends_on" => {
                for (t, tspan) in stack_blocks::depends_on(ev, &a.value, ds) {
                    for to in resolve_target(&t, &tspan, prefix, jobs, modules, diags) {
                        unit.deps.push(Dependency {
                            from: from.clone(),
                            to,
                            gate: None,
                            timeout: None,
                            kind: DependencyKind::Declared,
                            span: tspan.clone(),
                        });
                    }
                }
            }
            "gate" => options.gate = stack_blocks::gate(ev, &a.value, ds),
            "timeout" => options.timeout = stack_blocks::duration(ev, &a.value, ds),
            other => {
                let mut d = Diagnostic::error(format!("unknown attribute `{other}` in `dependency`"))
                    .with_span(ev.file.span_opt(a.key.span()))
                    .with_detail("not a dependency attribute");
                if let Some(s) = did_you_mean(other, ["depends_on", "gate", "timeout"]) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                ds.push(d);
            }
        }
    }
    if options.gate.is_some() || options.timeout.is_some() {
        unit.job_options.insert(from, options);
    }
}
