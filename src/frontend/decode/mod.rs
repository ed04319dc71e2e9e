//! Decoding `job` blocks into [`crate::spec::Job`] by walking the HCL body with one small
//! schema per block type (Nomad jobspec names → Nomad JSON API fields).

mod convert;
mod dynamic;
mod group;
mod job;
mod locate;
mod network;
mod placement;
mod policy;
mod schema;
mod schemas;
mod service;
mod task;

use hcl::edit::Span;
use hcl::edit::structure::Block;
use serde_json::{Map, Value};

pub use locate::locate;
pub use schema::Decoder;

use crate::diag::Diagnostic;
use crate::spec::Job;
use crate::stack::VolatileField;

/// A decoded job with the JSON paths of values that came from sensitive variables.
pub struct DecodedJob {
    /// The job.
    pub job: Job,
    /// Sensitive JSON paths.
    pub sensitive_paths: Vec<String>,
    /// Fields whose values came from `uuidv4()` or `timestamp()`.
    pub volatile: Vec<VolatileField>,
}

/// Decodes one `job "id" {}` block; every problem is returned.
pub fn decode_job(dec: &mut Decoder<'_, '_>, block: &Block) -> Option<DecodedJob> {
    let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
    let id = match labels[..] {
        [id] => id.to_string(),
        [] => {
            dec.error_at(
                block.ident.span(),
                "missing label on `job` block",
                "a job ID is required",
            )
            .help = Some("write `job \"my-job\" { ... }`".into());
            return None;
        }
        _ => {
            dec.error_at(
                block.ident.span(),
                "extra label on `job` block",
                format!("expected 1 label, found {}", labels.len()),
            );
            return None;
        }
    };
    let before = dec.diags.len();
    dec.sensitive_paths.clear();
    dec.volatile.clear();
    let mut out = Map::new();
    out.insert("ID".into(), Value::String(id.clone()));
    dec.body(&schemas::JOB, block, &mut out);
    // As Nomad's parser does: an unnamed job is named after its ID.
    out.entry("Name").or_insert_with(|| Value::String(id.clone()));
    if dec.diags.len() > before {
        return None;
    }
    match serde_json::from_value::<Job>(Value::Object(out)) {
        Ok(job) => Some(DecodedJob {
            job,
            sensitive_paths: std::mem::take(&mut dec.sensitive_paths),
            volatile: std::mem::take(&mut dec.volatile),
        }),
        Err(e) => {
            dec.diags.push(
                Diagnostic::error(format!("job `{id}` does not fit Nomad's job model"))
                    .with_span(dec.ev.file.span_opt(block.ident.span()))
                    .with_detail(e.to_string()),
            );
            None
        }
    }
}
