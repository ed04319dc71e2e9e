//! Loading a stack directory (and its modules) into a [`Unit`], as named passes over one
//! `Loader` context:
//!
//! ```text
//!  files ─► read ─► parse and classify (each job file: its own scope and its `job.ID` objects)
//!        ─► stack scope (variables, locals) ─► modules (recursive) ─► decode jobs
//!        ─► stack blocks (settings, outputs, dependency edges)
//! ```
//!
//! A job file's scope and job objects are taken while its tree is in hand, in the parse pass,
//! and so are the jobs that read nothing of the other files; what is left to decode is kept
//! within a budget, or parsed again.

mod parse;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hcl::edit::Span;
use hcl::edit::structure::{Block, Body};
use serde_json::{Map, Value};

use super::decode::{Decoder, decode_job};
use super::eval::{Eval, Reference, Scope};
use super::inputs::GivenValue;
use super::modules::{ModuleCall, ModuleLoad};
use super::source::SourceFile;
use super::stack_blocks;
use super::unit::{Unit, label_span};
use super::variables::{ScopeFile, resolve};
use crate::diag::{Diagnostic, Diagnostics, SourceSpan};
use crate::stack::{Dependency, DependencyKind, JobAddress, StackJob, VariableValue};

/// One directory level to load: the root stack, or a module instance.
pub struct Level<'a> {
    /// Its files, in load order.
    pub files: &'a [PathBuf],
    /// Values given to its variables (`-var`, var files; a module's inputs).
    pub given: &'a BTreeMap<String, GivenValue>,
    /// The module path of its jobs (empty at the root).
    pub prefix: &'a [String],
    /// The module block that instantiates it, if it is a module.
    pub call: Option<&'a ModuleCall>,
}

/// A job file after the parse pass: its own scope and its segments.
struct JobFile {
    scope: Scope,
    segments: Vec<Segment>,
}

/// A job file, or one piece of a large one, after the parse pass.
struct Segment {
    /// The file, or the piece.
    file: SourceFile,
    /// Its `job` blocks in order (`None` until a piece is parsed).
    jobs: Option<Vec<parse::PreparedJob>>,
    /// The blocks of the jobs not decoded yet, when within the kept-tree budget.
    kept: Option<Vec<Block>>,
}

/// The context every pass over one level reads and fills.
struct Loader<'a> {
    prefix: &'a [String],
    /// `module.A.module.B.`: the prefix of this level's variable and output names.
    prefix_str: String,
    given: BTreeMap<String, GivenValue>,
    diags: &'a mut Diagnostics,
    unit: Unit,
    /// Variables declared in job files, first declaration of a name wins.
    job_vars: Vec<VariableValue>,
    /// `(namespace, ID)` of each job seen, for duplicate IDs.
    seen: BTreeMap<(String, String), SourceSpan>,
    /// `job.ID` objects; filled by the parse pass, then shared by every scope.
    job_objects: Arc<BTreeMap<String, Value>>,
    /// Job addresses of each module loaded, for `module.NAME` edges.
    module_jobs: BTreeMap<String, Vec<JobAddress>>,
    /// The scope of the level's stack files.
    stack_scope: Scope,
    /// Where large files are cut into pieces.
    split: parse::Split,
}

/// Loads the files of one directory level.
pub fn load_unit(level: Level<'_>, diags: &mut Diagnostics) -> Unit {
    let sources = read_sources(level.files, diags);
    let mut load = Loader {
        prefix: level.prefix,
        prefix_str: level.prefix.iter().map(|m| format!("module.{m}.")).collect(),
        given: level.given.clone(),
        diags,
        unit: Unit::default(),
        job_vars: Vec::new(),
        seen: BTreeMap::new(),
        job_objects: Arc::default(),
        module_jobs: BTreeMap::new(),
        stack_scope: Scope::default(),
        split: parse::Split::default(),
    };
    let (stack_parsed, mut job_files) = load.parse_and_classify(&sources);
    let stack_files: Vec<ScopeFile<'_>> = stack_parsed
        .iter()
        .map(|(file, body)| ScopeFile { file, body })
        .collect();
    let base_dir = level
        .files
        .first()
        .and_then(|f| f.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    load.stack_scope(&stack_files, level.call, base_dir);
    load.modules(&stack_files);
    load.decode_jobs(&mut job_files);
    load.stack_blocks(&stack_files);
    load.unit
}

/// Reads every file, registering its text for diagnostics; an unreadable file is an error.
fn read_sources(files: &[PathBuf], diags: &mut Diagnostics) -> Vec<SourceFile> {
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
    sources
}

impl Loader<'_> {
    /// Pass: the stack files' scope (a module's inputs checked first), and the level's
    /// variables: the stack files', then the job files' not declared there.
    fn stack_scope(&mut self, stack_files: &[ScopeFile<'_>], call: Option<&ModuleCall>, base_dir: PathBuf) {
        if let Some(call) = call {
            super::modules::check_module_inputs(stack_files, call, &mut self.given, self.diags);
        }
        self.stack_scope = Scope {
            base_dir,
            stack_refs: true,
            ..Scope::default()
        };
        let vars = resolve(
            stack_files,
            &self.given,
            &mut self.unit.used,
            &mut self.stack_scope,
            &self.prefix_str,
            self.diags,
        );
        self.unit.variables.extend(vars);
        for v in std::mem::take(&mut self.job_vars) {
            if !self.unit.variables.iter().any(|x| x.name == v.name) {
                self.unit.variables.push(v);
            }
        }
        self.stack_scope.jobs = Arc::clone(&self.job_objects);
    }

    /// Pass: loads every `module` block. A module whose inputs read another module's outputs
    /// waits for it: rounds go on while one loads, and the errors of the last round stand.
    fn modules(&mut self, stack_files: &[ScopeFile<'_>]) {
        let mut pending: Vec<(&SourceFile, &Block)> = Vec::new();
        for sf in stack_files {
            for b in sf.body.blocks().filter(|b| b.ident.value().as_str() == "module") {
                pending.push((sf.file, b));
            }
        }
        let mut last_errors: Vec<Diagnostic> = Vec::new();
        while !pending.is_empty() {
            let mut still = Vec::new();
            let mut progress = false;
            last_errors.clear();
            for (file, b) in pending {
                match super::modules::prepare(file, b, &self.stack_scope, self.prefix, self.diags) {
                    Ok(m) => {
                        progress = true;
                        self.module(file, b, m);
                    }
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
                    self.diags.push(d);
                }
                break;
            }
        }
    }

    /// Loads one module's directory as a level of its own, publishes its outputs as
    /// `module.NAME`, adds the edges from its `depends_on` and its inputs' references, and
    /// takes in what it produced.
    fn module(&mut self, file: &SourceFile, b: &Block, m: ModuleLoad) {
        let level = Level {
            files: &m.files,
            given: &m.given,
            prefix: &m.prefix,
            call: Some(&m.call),
        };
        let mut sub = load_unit(level, self.diags);
        sub.modules.insert(0, m.instance());
        let addrs: Vec<JobAddress> = sub.jobs.iter().map(|j| j.address.clone()).collect();
        let mut outs = Map::new();
        let module_prefix = format!("{}module.{}.", self.prefix_str, m.name);
        for o in &sub.outputs {
            if let Some(short) = o.name.strip_prefix(&module_prefix)
                && !short.contains('.')
            {
                outs.insert(short.to_string(), o.value.clone());
            }
        }
        Arc::make_mut(&mut self.stack_scope.modules).insert(m.name.clone(), Value::Object(outs));
        if let Some(d) = b.body.get_attribute("depends_on") {
            self.module_depends_on(file, &d.value, &addrs);
        }
        for r in &m.refs {
            let targets = super::edges::reference_targets(r, self.prefix, &self.module_jobs);
            for (to, span) in targets {
                for from in &addrs {
                    self.edge(from.clone(), to.clone(), DependencyKind::Reference, span.clone());
                }
            }
        }
        self.module_jobs.insert(m.name, addrs);
        self.unit.jobs.extend(sub.jobs);
        self.unit.deps.extend(sub.deps);
        self.unit.outputs.extend(sub.outputs);
        self.unit.variables.extend(sub.variables);
        self.unit.modules.extend(sub.modules);
        self.unit.job_options.extend(sub.job_options);
    }

    /// Edges from every job of a module (`addrs`) to the targets of its `depends_on`.
    fn module_depends_on(
        &mut self,
        file: &SourceFile,
        value: &hcl::edit::expr::Expression,
        addrs: &[JobAddress],
    ) {
        let ev = Eval::new(&self.stack_scope, file);
        let mut ds = Vec::new();
        let targets = stack_blocks::depends_on(&ev, value, &mut ds);
        for x in ds {
            self.diags.push(x);
        }
        for (t, span) in targets {
            let tos = super::edges::resolve_target(
                &t,
                &span,
                self.prefix,
                &self.job_objects,
                &self.module_jobs,
                self.diags,
            );
            for to in tos {
                for from in addrs {
                    self.edge(from.clone(), to.clone(), DependencyKind::Declared, span.clone());
                }
            }
        }
    }

    /// Adds one edge; its gate and timeout come from the target's job options later.
    fn edge(&mut self, from: JobAddress, to: JobAddress, kind: DependencyKind, span: SourceSpan) {
        self.unit.deps.push(Dependency {
            from,
            to,
            gate: None,
            timeout: None,
            kind,
            span,
        });
    }

    /// Pass: every job file's jobs in order: those decoded in the parse pass as they are, the
    /// others decoded now that the job and module objects are complete.
    fn decode_jobs(&mut self, job_files: &mut [JobFile]) {
        for jf in job_files {
            jf.scope.jobs = Arc::clone(&self.job_objects);
            jf.scope.modules = Arc::clone(&self.stack_scope.modules);
            for seg in &mut jf.segments {
                let jobs = seg.jobs.take().unwrap_or_default();
                let mut left = if jobs.iter().all(|j| j.decoded.is_some()) {
                    Vec::new()
                } else {
                    // Not kept: parsed again (it parsed in pass 1, from the same text).
                    seg.kept.take().unwrap_or_else(|| {
                        let body = seg.file.parse().map(Body::into_iter).into_iter().flatten();
                        let blocks = body.filter_map(|s| s.into_block().ok());
                        let job_blocks = blocks.filter(|b| b.ident.value().as_str() == "job");
                        job_blocks
                            .zip(&jobs)
                            .filter(|(_, j)| j.decoded.is_none())
                            .map(|(b, _)| b)
                            .collect()
                    })
                }
                .into_iter();
                for job in jobs {
                    match job.decoded {
                        Some(d) => {
                            for x in d.diags {
                                self.diags.push(x);
                            }
                            self.unit.jobs.extend(d.job);
                        }
                        None => {
                            if let Some(b) = left.next() {
                                self.decode_job(&seg.file, &jf.scope, &b);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Decodes one `job` block; its references to other jobs and modules become edges.
    fn decode_job(&mut self, file: &SourceFile, scope: &Scope, b: &Block) {
        let mut ev = Eval::new(scope, file);
        let mut dec = Decoder::new(&mut ev);
        let decoded = decode_job(&mut dec, b);
        for d in std::mem::take(&mut dec.diags) {
            self.diags.push(d);
        }
        let Some(decoded) = decoded else { return };
        let address = JobAddress::in_module(self.prefix, decoded.job.id());
        let span = file.span_opt(b.labels.first().and_then(label_span).or_else(|| b.ident.span()));
        for r in std::mem::take(&mut ev.refs) {
            self.reference_edges(&address, &r);
        }
        self.unit.jobs.push(StackJob {
            address,
            job: decoded.job,
            span,
            sensitive_paths: decoded.sensitive_paths,
            volatile: decoded.volatile,
        });
    }

    /// Edges from a job to what one of its references names (never to itself).
    fn reference_edges(&mut self, from: &JobAddress, r: &Reference) {
        for (to, span) in super::edges::reference_targets(r, self.prefix, &self.module_jobs) {
            if &to != from {
                self.edge(from.clone(), to, DependencyKind::Reference, span);
            }
        }
    }

    /// Pass: the stack files' `stack`, `output` and `dependency` blocks, in source order (so
    /// their diagnostics are too): settings, outputs, and declared edges.
    fn stack_blocks(&mut self, stack_files: &[ScopeFile<'_>]) {
        for sf in stack_files {
            for b in sf.body.blocks() {
                let mut ev = Eval::new(&self.stack_scope, sf.file);
                let mut ds = Vec::new();
                match b.ident.value().as_str() {
                    "stack" if !self.prefix.is_empty() => ds.push(
                        Diagnostic::warning("`stack` block in a module is ignored")
                            .with_span(sf.file.span_opt(b.ident.span())),
                    ),
                    "stack" => {
                        let mut s = self.unit.settings.take().unwrap_or_default();
                        stack_blocks::settings(&mut ev, b, &mut s, &mut ds);
                        self.unit.settings = Some(s);
                    }
                    "nomad_variable" if !self.prefix.is_empty() => ds.push(
                        Diagnostic::error("`nomad_variable` block in a module")
                            .with_span(sf.file.span_opt(b.ident.span()))
                            .with_help("declare Nomad Variables in the root stack, beside the `stack` block"),
                    ),
                    "nomad_variable" => {
                        if let Some(v) = super::nomad_variable::nomad_variable(&mut ev, b, &mut ds) {
                            self.unit.nomad_variables.push(v);
                        }
                    }
                    "output" => {
                        if let Some(o) = stack_blocks::output(&mut ev, b, &self.prefix_str, &mut ds) {
                            self.unit.outputs.push(o);
                        }
                    }
                    "dependency" => super::edges::dependency(
                        &mut ev,
                        b,
                        self.prefix,
                        &self.job_objects,
                        &self.module_jobs,
                        &mut self.unit,
                        self.diags,
                        &mut ds,
                    ),
                    _ => {}
                }
                for d in ds {
                    self.diags.push(d);
                }
            }
        }
    }
}
