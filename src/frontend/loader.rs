//! Loading a stack directory (and its modules) into a [`Stack`].
//!
//! ```text
//!  files ─► parse ─► classify ─► scopes (stack files: one; each job file: its own)
//!        ─► variables/locals ─► job objects (job.ID) ─► modules (recursive) ─► decode jobs
//!        ─► outputs ─► dependency blocks, depends_on, reference edges
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hcl::edit::Span;
use hcl::edit::structure::{Block, Body, Structure};
use serde_json::{Map, Value};

use super::decode::{Decoder, decode_job};
use super::discover::{FileKind, STACK_BLOCKS, classify};
use super::eval::{Eval, Scope};
use super::inputs::GivenValue;
use super::source::SourceFile;
use super::stack_blocks;
use super::suggest::did_you_mean;
use super::variables::{ScopeFile, resolve};
use crate::diag::{Diagnostic, Diagnostics, SourceSpan};
use crate::stack::{
    Dependency, DependencyKind, JobAddress, JobOptions, ModuleInstance, Output, StackJob, StackSettings,
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
}

/// How much job-file text (bytes) may have its parse tree held from pass 1 to decoding. A
/// tree takes about ten times its text; beyond this, a job file's tree is dropped after pass 1
/// and parsed again to decode, which trades one more parse of the rest for memory that stays
/// flat as a stack grows (a 10,000-file stack: 230 MB with every tree held, 156 MB with none).
const KEPT_TREES_TEXT_BYTES: usize = 1 << 20;

/// Loads the files of one directory level.
pub fn load_unit(
    files: &[PathBuf],
    given: &BTreeMap<String, GivenValue>,
    used: &mut BTreeSet<String>,
    prefix: &[String],
    call: Option<&super::modules::ModuleCall>,
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
    let prefix_str: String = prefix.iter().map(|m| format!("module.{m}.")).collect();
    // Stack files stay parsed to the end; job files keep their trees for decoding (pass 2)
    // within `KEPT_TREES_TEXT_BYTES`, and are parsed again past it.
    let mut stack_parsed: Vec<(&SourceFile, Body, FileKind)> = Vec::new();
    let mut job_files: Vec<(&SourceFile, Scope, Option<Body>)> = Vec::new();
    let mut kept_text = 0usize;
    let mut job_vars: Vec<VariableValue> = Vec::new();
    // Pass 1, file by file: job objects for `job.ID`, and duplicate IDs.
    let mut seen: BTreeMap<(String, String), SourceSpan> = BTreeMap::new();
    let mut job_objects = BTreeMap::new();
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
                }
                match kind {
                    FileKind::Stack => stack_parsed.push((f, body, kind)),
                    FileKind::Jobs => {
                        // What the other files need from a job file (its scope, its job
                        // objects) is taken now. Its tree is kept for decoding while the trees
                        // kept stay within budget; past it, decoding parses the file again.
                        let scope = job_file_scope(f, &body, given, used, &prefix_str, &mut job_vars, diags);
                        job_objects_of(f, &body, &scope, &mut seen, &mut job_objects, diags);
                        kept_text += f.text.len();
                        let kept = (kept_text <= KEPT_TREES_TEXT_BYTES).then_some(body);
                        job_files.push((f, scope, kept));
                    }
                    _ => {}
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
        super::modules::check_module_inputs(&stack_parsed, call, &mut given, diags);
    }
    let mut unit = Unit::default();

    // Scopes.
    let stack_files: Vec<ScopeFile<'_>> = stack_parsed
        .iter()
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
    for v in job_vars {
        if !unit.variables.iter().any(|x| x.name == v.name) {
            unit.variables.push(v);
        }
    }
    let job_objects = Arc::new(job_objects);
    stack_scope.jobs = Arc::clone(&job_objects);

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
            match super::modules::instantiate(file, b, &stack_scope, used, prefix, diags) {
                Ok(Some((name, sub, refs))) => {
                    progress = true;
                    let addrs: Vec<JobAddress> = sub.jobs.iter().map(|j| j.address.clone()).collect();
                    let mut outs = Map::new();
                    let module_prefix = format!("{prefix_str}module.{name}.");
                    for o in &sub.outputs {
                        if let Some(short) = o.name.strip_prefix(&module_prefix)
                            && !short.contains('.')
                        {
                            outs.insert(short.to_string(), o.value.clone());
                        }
                    }
                    Arc::make_mut(&mut stack_scope.modules).insert(name.clone(), Value::Object(outs));
                    // Edges: module depends_on and references in its inputs.
                    if let Some(d) = b.body.get_attribute("depends_on") {
                        let ev = Eval::new(&stack_scope, file);
                        let mut ds = Vec::new();
                        let targets = stack_blocks::depends_on(&ev, &d.value, &mut ds);
                        for x in ds {
                            diags.push(x);
                        }
                        for (t, span) in targets {
                            for to in super::edges::resolve_target(
                                &t,
                                &span,
                                prefix,
                                &job_objects,
                                &module_jobs,
                                diags,
                            ) {
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
                        for to in super::edges::reference_targets(&r, prefix, &module_jobs) {
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
    for (file, scope, kept) in &mut job_files {
        scope.jobs = Arc::clone(&job_objects);
        scope.modules = Arc::clone(&stack_scope.modules);
        let file: &SourceFile = file;
        // A dropped tree parses again: it parsed in pass 1, from the same text.
        let Some(body) = kept.take().or_else(|| file.parse().ok()) else {
            continue;
        };
        // Each block is dropped as soon as it is decoded, while it is still in cache and its
        // memory can serve the next job: freeing whole trees at the end cost as much as decoding.
        for s in body {
            let Some(b) = s.as_block().filter(|b| b.ident.value().as_str() == "job") else {
                continue;
            };
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
                for (to, rspan) in super::edges::reference_targets(&r, prefix, &module_jobs) {
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
                    if let Some(o) = stack_blocks::output(&mut ev, b, &prefix_str, &mut ds) {
                        unit.outputs.push(o);
                    }
                }
                "dependency" => super::edges::dependency(
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

pub fn label_span(l: &hcl::edit::structure::BlockLabel) -> Option<std::ops::Range<usize>> {
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

/// A job file's own scope (its variables and locals), resolved once; the variables it declares
/// go to `vars`.
fn job_file_scope(
    f: &SourceFile,
    body: &Body,
    given: &BTreeMap<String, GivenValue>,
    used: &mut BTreeSet<String>,
    prefix_str: &str,
    vars: &mut Vec<VariableValue>,
    diags: &mut Diagnostics,
) -> Scope {
    let mut scope = Scope {
        base_dir: f.path.parent().map(Path::to_path_buf).unwrap_or_default(),
        stack_refs: true,
        ..Scope::default()
    };
    let one = [ScopeFile { file: f, body }];
    for v in resolve(&one, given, used, &mut scope, prefix_str, diags) {
        if !vars.iter().any(|x| x.name == v.name) {
            vars.push(v);
        }
    }
    scope
}

/// Adds the `job.ID` objects of a job file's jobs to `objects`, reporting an ID already `seen`.
fn job_objects_of(
    file: &SourceFile,
    body: &Body,
    scope: &Scope,
    seen: &mut BTreeMap<(String, String), SourceSpan>,
    objects: &mut BTreeMap<String, Value>,
    diags: &mut Diagnostics,
) {
    // `job.ID` objects see variables and locals only, never other jobs; one copy per file.
    let plain = Scope {
        jobs: Arc::default(),
        modules: Arc::default(),
        stack_refs: false,
        ..scope.clone()
    };
    for b in body.blocks().filter(|b| b.ident.value().as_str() == "job") {
        let Some(id) = b.labels.first().map(|l| l.as_str().to_string()) else {
            continue;
        };
        let obj = job_object(&id, b, &plain, file);
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
        objects.insert(id, Value::Object(obj));
    }
}

/// `{ id, name, type, namespace, region, datacenters }` of a job, for `job.ID` references;
/// `plain` is the file's scope without job or module references.
fn job_object(id: &str, b: &Block, plain: &Scope, file: &SourceFile) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), Value::String(id.to_string()));
    let mut ev = Eval::new(plain, file);
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
