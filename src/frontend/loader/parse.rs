//! The loader's first pass: parse each file and classify it (stack file, job file, or one to
//! skip). A job file's own scope and its `job.ID` objects are taken here, while its tree is in
//! hand, so that a tree past the kept-tree budget can be dropped now and parsed again to decode.

use std::path::Path;
use std::sync::Arc;

use hcl::edit::Span;
use hcl::edit::structure::{Block, Body, Structure};
use serde_json::{Map, Value};

use super::{JobFile, Loader};
use crate::diag::{Diagnostic, Diagnostics};
use crate::frontend::discover::{FileKind, STACK_BLOCKS, classify, looks_like_agent_config};
use crate::frontend::eval::{Eval, Scope};
use crate::frontend::source::SourceFile;
use crate::frontend::suggest::did_you_mean;
use crate::frontend::unit::label_span;
use crate::frontend::variables::{ScopeFile, resolve};

/// How much job-file text (bytes) may have its parse tree held from pass 1 to decoding. A
/// tree takes about ten times its text; beyond this, a job file's tree is dropped after pass 1
/// and parsed again to decode, which trades one more parse of the rest for memory that stays
/// flat as a stack grows (a 10,000-file stack: 230 MB with every tree held, 156 MB with none).
const KEPT_TREES_TEXT_BYTES: usize = 1 << 20;

const AGENT_CONFIG_HELP: &str =
    "agent configs (client, server, data_dir, plugin, ...) are not deployed by a stack";

impl Loader<'_> {
    /// Pass: parse each file and classify it. Stack files stay parsed to the end; a job file's
    /// scope and `job.ID` objects are taken now, and its tree is kept for decoding while the
    /// trees kept stay within `KEPT_TREES_TEXT_BYTES` (past it, decoding parses it again).
    pub(super) fn parse_and_classify<'s>(
        &mut self,
        sources: &'s [SourceFile],
    ) -> (Vec<(&'s SourceFile, Body)>, Vec<JobFile<'s>>) {
        let mut stack_parsed = Vec::new();
        let mut job_files = Vec::new();
        for f in sources {
            let body = match f.parse() {
                Ok(body) => body,
                Err(_) if looks_like_agent_config(&f.text) => {
                    self.skip(
                        f,
                        "a Nomad agent configuration, not a jobspec",
                        Some(AGENT_CONFIG_HELP),
                    );
                    continue;
                }
                Err(d) => {
                    self.diags.push(d);
                    continue;
                }
            };
            let kind = classify(&body);
            match kind {
                FileKind::AgentConfig => self.skip(
                    f,
                    "a Nomad agent configuration, not a jobspec",
                    Some(AGENT_CONFIG_HELP),
                ),
                FileKind::Values => self.skip(
                    f,
                    "only `name = value` attributes, no job",
                    Some("name it *.auto.vars.hcl to use it as variable values, or pass it with -var-file"),
                ),
                FileKind::Empty => self.skip(f, "no job or stack blocks", None),
                FileKind::Stack => {
                    check_top_level(f, &body, kind, self.diags);
                    stack_parsed.push((f, body));
                }
                FileKind::Jobs => {
                    check_top_level(f, &body, kind, self.diags);
                    job_files.push(self.job_file(f, body));
                }
            }
        }
        (stack_parsed, job_files)
    }

    /// Warns that a file is skipped, and why.
    fn skip(&mut self, f: &SourceFile, why: &str, help: Option<&str>) {
        let mut d = Diagnostic::warning(format!("skipping {}: {why}", f.path.display()));
        if let Some(help) = help {
            d = d.with_help(help);
        }
        self.diags.push(d);
    }

    /// What the other files need from a job file (its scope, its job objects), taken while its
    /// tree is in hand; the tree itself is kept within budget.
    fn job_file<'s>(&mut self, f: &'s SourceFile, body: Body) -> JobFile<'s> {
        let scope = self.job_file_scope(f, &body);
        self.job_objects_of(f, &body, &scope);
        self.kept_text += f.text.len();
        let kept = (self.kept_text <= KEPT_TREES_TEXT_BYTES).then_some(body);
        JobFile { file: f, scope, kept }
    }

    /// A job file's own scope (its variables and locals), resolved once; the variables it
    /// declares join `job_vars`.
    fn job_file_scope(&mut self, f: &SourceFile, body: &Body) -> Scope {
        let mut scope = Scope {
            base_dir: f.path.parent().map(Path::to_path_buf).unwrap_or_default(),
            stack_refs: true,
            ..Scope::default()
        };
        let one = [ScopeFile { file: f, body }];
        let vars = resolve(
            &one,
            &self.given,
            &mut self.unit.used,
            &mut scope,
            &self.prefix_str,
            self.diags,
        );
        for v in vars {
            if !self.job_vars.iter().any(|x| x.name == v.name) {
                self.job_vars.push(v);
            }
        }
        scope
    }

    /// Adds the `job.ID` objects of a job file's jobs, reporting an ID already seen.
    fn job_objects_of(&mut self, file: &SourceFile, body: &Body, scope: &Scope) {
        // `job.ID` objects see variables and locals only, never other jobs; one copy per file.
        let plain = Scope {
            jobs: Arc::default(),
            modules: Arc::default(),
            stack_refs: false,
            ..scope.clone()
        };
        // Only this pass holds the table yet: `make_mut` never copies it.
        let objects = Arc::make_mut(&mut self.job_objects);
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
            if let Some(first) = self.seen.get(&(ns.clone(), id.clone())) {
                self.diags.push(
                    Diagnostic::error(format!("duplicate job ID `{id}` in namespace `{ns}`"))
                        .with_span(span.clone())
                        .with_detail("declared again here")
                        .with_label(first.clone(), "first declared here")
                        .with_help("job IDs must be unique per namespace within a stack"),
                );
            } else {
                self.seen.insert((ns, id.clone()), span);
            }
            objects.insert(id, Value::Object(obj));
        }
    }
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
