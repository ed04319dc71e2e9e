//! Dependency edges: `dependency` blocks, `depends_on` targets, and references to jobs and
//! modules turned into edges between job addresses.

use std::collections::BTreeMap;

use hcl::edit::Span;
use hcl::edit::structure::Block;
use serde_json::Value;

use super::eval::{Eval, Reference};
use super::stack_blocks::{self, Target};
use super::suggest::did_you_mean;
use super::unit::{Unit, label_span};
use crate::diag::{Diagnostic, Diagnostics, SourceSpan};
use crate::stack::{Dependency, DependencyKind, JobAddress, JobOptions};

pub fn reference_targets(
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

pub fn resolve_target(
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

#[allow(clippy::too_many_arguments)]
pub fn dependency(
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
