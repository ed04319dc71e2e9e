//! The plan as Markdown for pull-request comments, through a tera template: a summary table,
//! then one collapsible section per changed job holding the Nomad-style diff.

use serde::Serialize;

use super::model::Plan;
use super::render_diff::{Painter, render_job_diff};

const TEMPLATE: &str = r#"### Plan for stack `{{ stack }}`

{{ against }}

| action | count |
|---|---|
| create | {{ summary.create }} |
| update in place | {{ summary.update }} |
| destructive update | {{ summary.update_destructive }} |
| destroy | {{ summary.destroy }} |
| unchanged | {{ summary.noop }} |
{% if summary.unplaced > 0 %}| **would not be placed** | {{ summary.unplaced }} |
{% endif %}{% for job in jobs %}
<details><summary><code>{{ job.marker }}</code> <b>{{ job.address }}</b>: {{ job.action }} (wave {{ job.wave }})</summary>

{{ job.reason }}
{% if job.depends_on %}
Waits for: {{ job.depends_on }}
{% endif %}
```diff
{{ job.diff }}```
{% if job.volatile %}
{{ job.volatile }}
{% endif %}{% if job.drift %}
Drift (recorded => live):

```diff
{{ job.drift }}```
{% endif %}{% if job.placement %}
Placement: {{ job.placement }}
{% endif %}
</details>
{% endfor %}
"#;

#[derive(Serialize)]
struct JobView {
    marker: &'static str,
    address: String,
    action: &'static str,
    wave: u32,
    reason: String,
    depends_on: String,
    diff: String,
    volatile: String,
    drift: String,
    placement: String,
}

/// Markdown (GitHub flavour) of the plan.
pub fn render_markdown(plan: &Plan) -> Result<String, tera::Error> {
    let p = Painter { color: false };
    let jobs: Vec<JobView> = plan
        .jobs
        .iter()
        .filter(|j| j.needs_apply())
        .map(|j| {
            let mut diff = String::new();
            render_job_diff(&mut diff, &j.diff, 0, false, &p);
            let drift = j.drift.as_ref().map_or(String::new(), |d| {
                let mut s = String::new();
                render_job_diff(&mut s, &d.diff, 0, true, &p);
                s
            });
            let placement = j.placement.as_ref().map_or(String::new(), |pl| {
                if let Some(why) = &pl.unavailable {
                    format!("preview unavailable: {why}")
                } else if pl.failures.is_empty() {
                    format!("all {} allocations placed", pl.desired)
                } else {
                    let groups: Vec<String> = pl
                        .failures
                        .iter()
                        .map(|f| {
                            let mut why: Vec<String> = f
                                .constraint_filtered
                                .iter()
                                .map(|(c, n)| format!("`{c}` filtered {n} nodes"))
                                .collect();
                            why.extend(
                                f.dimension_exhausted
                                    .iter()
                                    .map(|(d, n)| format!("{d} exhausted on {n} nodes")),
                            );
                            format!(
                                "group `{}` could not place {} ({})",
                                f.group,
                                f.unplaced,
                                why.join(", ")
                            )
                        })
                        .collect();
                    format!(
                        "**{} of {} placed**; {}",
                        pl.placed,
                        pl.desired,
                        groups.join("; ")
                    )
                }
            });
            JobView {
                marker: j.action.marker(),
                address: j.address.0.clone(),
                action: j.action.describe(),
                wave: j.wave,
                reason: j.reason.clone(),
                depends_on: j
                    .depends_on
                    .iter()
                    .map(|d| format!("`{}`", d.address))
                    .collect::<Vec<_>>()
                    .join(", "),
                diff,
                volatile: j
                    .volatile
                    .iter()
                    .map(|v| format!("`{}` ({})", v.path, v.annotation()))
                    .collect::<Vec<_>>()
                    .join("; "),
                drift,
                placement,
            }
        })
        .collect();
    let against = match &plan.state {
        Some(s) => format!("Against state serial {} (lineage `{}`).", s.serial, s.lineage),
        None => "No recorded state: first apply.".to_string(),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("stack", &plan.stack);
    ctx.insert("against", &against);
    ctx.insert("summary", &plan.summary);
    ctx.insert("jobs", &jobs);
    let mut t = tera::Tera::new();
    t.add_raw_template("plan.md", TEMPLATE)?;
    let mut out = t.render("plan.md", &ctx)?;
    out.push_str(&super::render_variables::variables_markdown(plan));
    Ok(out)
}
