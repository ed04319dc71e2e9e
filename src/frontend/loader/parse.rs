//! The loader's first pass: parse each file and classify it (stack file, job file, or one to
//! skip). A job file's own scope and its `job.ID` objects are taken here, while its tree is in
//! hand, and so is every job that reads nothing of the other files (no `job.ID` or
//! `module.NAME` reference): it is decoded at once and its block dropped, so most files are
//! parsed once and never held whole.
//!
//! ```text
//!  files ─► (threads) parse · classify · top-level checks · scope · job objects · decode
//!        ─► (threads) the pieces of large files, the same per piece
//!        ─► (in file order) diagnostics, used values, variables, duplicate IDs
//! ```
//!
//! A file over `SPLIT_FILES_OVER` bytes is cut into pieces (see [`crate::frontend::split`]):
//! its other items are parsed first for its scope, then its `job` blocks piece by piece. Every
//! effect on the loader is made in file order, so diagnostics come in the order of a
//! one-thread, whole-file load.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hcl::edit::Span;
use hcl::edit::structure::{Block, Body, Structure};
use serde_json::{Map, Value};

use super::{JobFile, Loader, Segment};
use crate::diag::{Diagnostic, Diagnostics, SourceSpan};
use crate::frontend::decode::{Decoder, decode_job};
use crate::frontend::discover::{FileKind, STACK_BLOCKS, classify, looks_like_agent_config};
use crate::frontend::eval::{Eval, Scope};
use crate::frontend::inputs::GivenValue;
use crate::frontend::source::SourceFile;
use crate::frontend::suggest::did_you_mean;
use crate::frontend::unit::label_span;
use crate::frontend::variables::{ScopeFile, resolve};
use crate::frontend::{parallel, split};
use crate::stack::{JobAddress, StackJob, VariableValue};

/// How much job-file text (bytes) may have the trees of its jobs that wait for the other files
/// held from pass 1 to decoding. A tree takes about ten times its text; beyond this, such jobs
/// are parsed again to decode, which keeps memory flat as a stack grows.
const KEPT_TREES_TEXT_BYTES: usize = 1 << 20;

/// Job files larger than this are parsed and decoded in pieces.
const SPLIT_FILES_OVER: usize = 256 << 10;

/// About how much text a piece of a split file holds.
const PIECE_BYTES: usize = 32 << 10;

const AGENT_CONFIG_HELP: &str =
    "agent configs (client, server, data_dir, plugin, ...) are not deployed by a stack";

/// Where files are cut into pieces: `(files over, piece size)`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Split {
    pub over: usize,
    pub piece: usize,
}

/// Set to a number of bytes, cuts every job file into pieces of about that size; set to 0,
/// cuts none. For tests that check a cut file loads exactly as a whole one.
pub const PIECE_BYTES_ENV: &str = "DEPLOY_TEST_PIECE_BYTES";

impl Default for Split {
    fn default() -> Self {
        match std::env::var(PIECE_BYTES_ENV).ok().and_then(|v| v.parse().ok()) {
            Some(0) => Split {
                over: usize::MAX,
                piece: PIECE_BYTES,
            },
            Some(piece) => Split { over: 0, piece },
            None => Split {
                over: SPLIT_FILES_OVER,
                piece: PIECE_BYTES,
            },
        }
    }
}

/// One `job` block after the parse pass.
pub(super) struct PreparedJob {
    /// `(ID, job.ID object, label span)`; `None` for a block without a label.
    object: Option<(String, Map<String, Value>, SourceSpan)>,
    /// The block decoded, when it reads nothing of the other files.
    pub decoded: Option<Decoded>,
}

/// A job decoded in the parse pass: its diagnostics, and the job unless they hold errors.
pub(super) struct Decoded {
    pub diags: Vec<Diagnostic>,
    pub job: Option<StackJob>,
}

/// What the parse pass made of one file, apart from the other files.
enum Parsed {
    /// Not loaded; the diagnostic (an error or a skip warning) says why.
    Dropped(Diagnostic),
    /// A stack file: its top-level diagnostics and tree.
    Stack(Diagnostics, Body),
    /// A job file.
    Jobs(JobFilePrep),
}

/// A job file after the parse pass, before its effects on the loader.
struct JobFilePrep {
    /// Top-level and scope diagnostics, in order.
    diags: Diagnostics,
    /// Given values its variables read.
    used: BTreeSet<String>,
    /// Its variables.
    vars: Vec<VariableValue>,
    scope: Scope,
    segments: Vec<Segment>,
}

/// What every thread of the pass reads.
struct Ctx<'a> {
    given: &'a BTreeMap<String, GivenValue>,
    prefix: &'a [String],
    prefix_str: &'a str,
    split: Split,
    /// Job-file text whose pending trees are kept for decoding.
    kept_text: AtomicUsize,
}

impl Loader<'_> {
    /// Pass: parse each file and classify it (on every core), then take in the results in file
    /// order. Stack files stay parsed to the end; a job file's scope, `job.ID` objects and
    /// self-contained jobs are taken now.
    pub(super) fn parse_and_classify<'s>(
        &mut self,
        sources: &'s [SourceFile],
    ) -> (Vec<(&'s SourceFile, Body)>, Vec<JobFile>) {
        let ctx = Ctx {
            given: &self.given,
            prefix: self.prefix,
            prefix_str: &self.prefix_str,
            split: self.split,
            kept_text: AtomicUsize::new(0),
        };
        let mut parsed = parallel::map(sources, |f| prepare_file(f, &ctx, true));
        // The pieces of split files, all files' at once so that every core has work.
        let pending: Vec<(usize, usize)> = parsed
            .iter()
            .enumerate()
            .flat_map(|(fi, p)| match p {
                Parsed::Jobs(j) => (0..j.segments.len())
                    .filter(|&si| j.segments[si].jobs.is_none())
                    .map(|si| (fi, si))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let done = parallel::map(&pending, |&(fi, si)| match &parsed[fi] {
            Parsed::Jobs(j) => prepare_piece(&j.segments[si].file, &j.scope, &ctx),
            _ => None,
        });
        let mut broken = BTreeSet::new();
        for (&(fi, si), jobs) in pending.iter().zip(done) {
            match (&mut parsed[fi], jobs) {
                (Parsed::Jobs(j), Some((jobs, kept))) => {
                    j.segments[si].jobs = Some(jobs);
                    j.segments[si].kept = kept;
                }
                _ => {
                    broken.insert(fi);
                }
            }
        }
        // A piece that did not parse, or held other items than the cut saw: the whole file.
        for fi in broken {
            parsed[fi] = prepare_file(&sources[fi], &ctx, false);
        }
        let mut stack_parsed = Vec::new();
        let mut job_files = Vec::new();
        for (f, p) in sources.iter().zip(parsed) {
            match p {
                Parsed::Dropped(d) => self.diags.push(d),
                Parsed::Stack(diags, body) => {
                    self.diags.extend(diags);
                    stack_parsed.push((f, body));
                }
                Parsed::Jobs(j) => job_files.push(self.take_job_file(j)),
            }
        }
        (stack_parsed, job_files)
    }

    /// Takes in a job file's diagnostics, used values and variables, and its `job.ID`
    /// objects, reporting an ID already seen.
    fn take_job_file(&mut self, j: JobFilePrep) -> JobFile {
        self.diags.extend(j.diags);
        self.unit.used.extend(j.used);
        for v in j.vars {
            if !self.job_vars.iter().any(|x| x.name == v.name) {
                self.job_vars.push(v);
            }
        }
        // Only this pass holds the table yet: `make_mut` never copies it.
        let objects = Arc::make_mut(&mut self.job_objects);
        for seg in &j.segments {
            for job in seg.jobs.iter().flatten() {
                let Some((id, obj, span)) = &job.object else {
                    continue;
                };
                let ns = obj
                    .get("namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default")
                    .to_string();
                if let Some(first) = self.seen.get(&(ns.clone(), id.clone())) {
                    self.diags.push(
                        Diagnostic::error(format!("duplicate job ID `{id}` in namespace `{ns}`"))
                            .with_span(span.clone())
                            .with_detail("declared again here")
                            .with_label(first.clone(), "first declared here")
                            .with_help("job IDs must be unique per namespace within a stack"),
                    );
                } else {
                    self.seen.insert((ns, id.clone()), span.clone());
                }
                objects.insert(id.clone(), Value::Object(obj.clone()));
            }
        }
        JobFile {
            scope: j.scope,
            segments: j.segments,
        }
    }
}

/// A warning that a file is skipped, and why.
fn skipped(f: &SourceFile, why: &str, help: Option<&str>) -> Parsed {
    let mut d = Diagnostic::warning(format!("skipping {}: {why}", f.path.display()));
    if let Some(help) = help {
        d = d.with_help(help);
    }
    Parsed::Dropped(d)
}

/// Parses and classifies one file; a large job file (when `split`) only as far as its scope,
/// its pieces of jobs left to [`prepare_piece`].
fn prepare_file(f: &SourceFile, ctx: &Ctx<'_>, split: bool) -> Parsed {
    if split
        && f.text.len() > ctx.split.over
        && let Some(p) = prepare_split(f, ctx)
    {
        return p;
    }
    let body = match f.parse() {
        Ok(body) => body,
        Err(_) if looks_like_agent_config(&f.text) => {
            return skipped(
                f,
                "a Nomad agent configuration, not a jobspec",
                Some(AGENT_CONFIG_HELP),
            );
        }
        Err(d) => return Parsed::Dropped(d),
    };
    let kind = classify(&body);
    let mut diags = Diagnostics::new();
    match kind {
        FileKind::AgentConfig => skipped(
            f,
            "a Nomad agent configuration, not a jobspec",
            Some(AGENT_CONFIG_HELP),
        ),
        FileKind::Values => skipped(
            f,
            "only `name = value` attributes, no job",
            Some("name it *.auto.vars.hcl to use it as variable values, or pass it with -var-file"),
        ),
        FileKind::Empty => skipped(f, "no job or stack blocks", None),
        FileKind::Stack => {
            check_top_level(f, &body, kind, &mut diags);
            Parsed::Stack(diags, body)
        }
        FileKind::Jobs => {
            check_top_level(f, &body, kind, &mut diags);
            let mut prep = job_file_scope(f, &[ScopeFile { file: f, body: &body }], diags, ctx);
            let (jobs, kept) = prepare_jobs(f, body, &prep.scope, ctx);
            prep.segments.push(Segment {
                file: f.piece(0..f.text.len()),
                jobs: Some(jobs),
                kept,
            });
            Parsed::Jobs(prep)
        }
    }
}

/// A large job file cut into pieces: its other items parsed for its scope, its pieces of jobs
/// left to parse. `None` when it cannot be cut, or its other items do not parse alone.
fn prepare_split(f: &SourceFile, ctx: &Ctx<'_>) -> Option<Parsed> {
    let pieces = split::pieces(&f.text, ctx.split.piece)?;
    if !pieces.iter().any(|p| p.jobs) {
        return None;
    }
    let mut rest = Vec::new();
    for p in pieces.iter().filter(|p| !p.jobs) {
        let file = f.piece(p.range.clone());
        let body = file.parse().ok()?;
        if body.blocks().any(is_job) {
            return None;
        }
        rest.push((file, body));
    }
    let mut diags = Diagnostics::new();
    for (file, body) in &rest {
        check_top_level(file, body, FileKind::Jobs, &mut diags);
    }
    let scope_files: Vec<ScopeFile<'_>> = rest.iter().map(|(file, body)| ScopeFile { file, body }).collect();
    let mut prep = job_file_scope(f, &scope_files, diags, ctx);
    prep.segments = pieces
        .iter()
        .filter(|p| p.jobs)
        .map(|p| Segment {
            file: f.piece(p.range.clone()),
            jobs: None,
            kept: None,
        })
        .collect();
    Some(Parsed::Jobs(prep))
}

/// One piece of `job` blocks of a split file: its jobs, and the blocks left to decode when
/// kept. `None` when it does not parse or holds anything but `job` blocks.
fn prepare_piece(
    file: &SourceFile,
    scope: &Scope,
    ctx: &Ctx<'_>,
) -> Option<(Vec<PreparedJob>, Option<Vec<Block>>)> {
    let body = file.parse().ok()?;
    if body.iter().any(|s| s.as_block().is_none_or(|b| !is_job(b))) {
        return None;
    }
    Some(prepare_jobs(file, body, scope, ctx))
}

fn is_job(b: &Block) -> bool {
    b.ident.value().as_str() == "job"
}

/// A job file's own scope (its variables and locals), resolved once from `files` (the whole
/// file, or the pieces of its other items), with the diagnostics so far.
fn job_file_scope(
    f: &SourceFile,
    files: &[ScopeFile<'_>],
    mut diags: Diagnostics,
    ctx: &Ctx<'_>,
) -> JobFilePrep {
    let mut scope = Scope {
        base_dir: f.path.parent().map(Path::to_path_buf).unwrap_or_default(),
        stack_refs: true,
        ..Scope::default()
    };
    let mut used = BTreeSet::new();
    let vars = resolve(
        files,
        ctx.given,
        &mut used,
        &mut scope,
        ctx.prefix_str,
        &mut diags,
    );
    JobFilePrep {
        diags,
        used,
        vars,
        scope,
        segments: Vec::new(),
    }
}

/// The `job` blocks of a body: each one's `job.ID` object, and the job decoded when it reads
/// nothing of the other files; its block is dropped then, while still in cache. The blocks
/// left come back when the kept-tree budget allows.
fn prepare_jobs(
    file: &SourceFile,
    body: Body,
    scope: &Scope,
    ctx: &Ctx<'_>,
) -> (Vec<PreparedJob>, Option<Vec<Block>>) {
    // `job.ID` objects see variables and locals only, never other jobs.
    let plain = Scope {
        jobs: Arc::default(),
        modules: Arc::default(),
        stack_refs: false,
        ..scope.clone()
    };
    let mut jobs = Vec::new();
    let mut left = Vec::new();
    for s in body {
        let Structure::Block(b) = s else { continue };
        if !is_job(&b) {
            continue;
        }
        let object = b.labels.first().map(|l| {
            let id = l.as_str().to_string();
            let obj = job_object(&id, &b, &plain, file);
            let span = file.span_opt(label_span(l).or_else(|| b.ident.span()));
            (id, obj, span)
        });
        let decoded = decode_alone(file, scope, &b, ctx.prefix);
        if decoded.is_none() {
            left.push(b);
        }
        jobs.push(PreparedJob { object, decoded });
    }
    let len = file.parsed_text().len();
    let kept = (!left.is_empty()
        && ctx.kept_text.fetch_add(len, Ordering::Relaxed) + len <= KEPT_TREES_TEXT_BYTES)
        .then_some(left);
    (jobs, kept)
}

/// Decodes a `job` block now, unless it reads the `job.ID` or `module.NAME` tables (complete
/// only after every file's parse pass).
fn decode_alone(file: &SourceFile, scope: &Scope, b: &Block, prefix: &[String]) -> Option<Decoded> {
    let mut ev = Eval::new(scope, file);
    let mut dec = Decoder::new(&mut ev);
    let decoded = decode_job(&mut dec, b);
    let diags = std::mem::take(&mut dec.diags);
    if ev.read_stack_tables {
        return None;
    }
    let job = decoded.map(|decoded| StackJob {
        address: JobAddress::in_module(prefix, decoded.job.id()),
        job: decoded.job,
        span: file.span_opt(b.labels.first().and_then(label_span).or_else(|| b.ident.span())),
        sensitive_paths: decoded.sensitive_paths,
        volatile: decoded.volatile,
    });
    Some(Decoded { diags, job })
}

/// Reports top-level blocks and attributes a file of its kind may not hold.
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
