//! Preparing a task's directory before it starts, and keeping its templates current:
//! directories (refusing a task name that is not one path component), artifacts, then
//! templates, every file written beneath the allocation directory without following symlinks.
//!
//! ```text
//!  build_task ─► artifacts (fail the task) ─► templates ─┬─ data missing: retry every 1 s
//!                                                      └─ bad path: fail the task
//!  variables change ─► re-render ─► restart | signal | nothing (change_mode)
//! ```

use std::sync::Arc;
use std::time::Duration;

use super::{RERENDER, TaskCommand, TaskRunner};
use crate::cluster::client::artifact::{self, Destination};
use crate::cluster::client::task_state::{EventExt, TaskEvent, event};
use crate::cluster::client::template::{TemplateData, parse_env_file, render};
use crate::spec::Template;

/// Why templates could not be rendered.
pub(super) enum TemplateFailure {
    /// Their data does not exist yet: retry.
    Missing(String),
    /// A source or destination is unusable (outside the allocation, a symlink): give up.
    Fatal(String),
}

fn template_mode(perms: Option<&str>) -> u32 {
    perms
        .and_then(|p| u32::from_str_radix(p, 8).ok())
        .unwrap_or(0o644)
}

impl TaskRunner {
    /// Prepares the task directory: artifacts, then templates (retrying until their data exists).
    pub(super) async fn setup(&mut self) -> Result<(), String> {
        self.event(TaskEvent::new(event::SETUP, "Building Task Directory"));
        self.info
            .dir
            .build_task(self.name())
            .map_err(|e| format!("building the directory of task {:?}: {e}", self.name()))?;
        self.fetch_artifacts().await?;
        let mut warned = false;
        loop {
            match self.render_templates().await {
                Ok(_) => return Ok(()),
                Err(TemplateFailure::Fatal(e)) => {
                    let mut ev = TaskEvent::new(event::TEMPLATE, e.clone());
                    ev.fails_task = true;
                    self.event(ev);
                    return Err(e);
                }
                Err(TemplateFailure::Missing(e)) => {
                    if !warned {
                        self.event(TaskEvent::new(event::TEMPLATE, format!("Missing: {e}")));
                        warned = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        cmd = self.commands.recv() => if matches!(cmd, Some(TaskCommand::Kill(_)) | None) {
                            return Err("killed while waiting for template data".into());
                        }
                    }
                }
            }
        }
    }

    async fn fetch_artifacts(&self) -> Result<(), String> {
        let artifacts = self.task.artifacts.clone().unwrap_or_default();
        if artifacts.is_empty() {
            return Ok(());
        }
        self.event(TaskEvent::new(
            event::DOWNLOADING_ARTIFACTS,
            "Client is downloading artifacts",
        ));
        let to = Destination {
            dir: &self.info.dir,
            task: self.name(),
            limits: self.ctx.config.sandbox.artifact,
        };
        for a in &artifacts {
            if let Err(e) = artifact::fetch(&self.ctx.http, a, &to).await {
                let mut ev = TaskEvent::new(event::ARTIFACT_FAILED, e.to_string());
                ev.fails_task = true;
                self.event(ev);
                return Err(e.to_string());
            }
        }
        Ok(())
    }

    /// A path of this task (`local/x`, `alloc/y`) relative to the allocation directory.
    fn task_path(&self, what: &str, rel: &str) -> Result<std::path::PathBuf, TemplateFailure> {
        self.info.dir.resolve(self.name(), rel).map_err(|e| {
            TemplateFailure::Fatal(format!(
                "template {what} {rel:?} of task {:?} is outside the allocation directory: {e}",
                self.name()
            ))
        })
    }

    fn template_text(&self, t: &Template) -> Result<String, TemplateFailure> {
        match (&t.embedded_tmpl, &t.source_path) {
            (Some(s), _) if !s.is_empty() => Ok(s.clone()),
            (_, Some(src)) if !src.is_empty() => {
                let rel = self.task_path("source", src)?;
                let b = self
                    .info
                    .dir
                    .beneath()
                    .map_err(|e| TemplateFailure::Fatal(e.to_string()))?;
                b.read_to_string(&rel).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => TemplateFailure::Missing(format!("{src}: {e}")),
                    _ => TemplateFailure::Fatal(format!("template source of task {:?}: {e}", self.name())),
                })
            }
            _ => Ok(String::new()),
        }
    }

    fn write_template(&self, t: &Template, out: &str) -> Result<(), TemplateFailure> {
        let dest = t.dest_path.clone().unwrap_or_default();
        let rel = self.task_path("destination", &dest)?;
        self.info
            .dir
            .beneath()
            .and_then(|b| b.write(&rel, out.as_bytes(), template_mode(t.perms.as_deref())))
            .map_err(|e| {
                TemplateFailure::Fatal(format!(
                    "template destination {dest:?} of task {:?}: {e}",
                    self.name()
                ))
            })
    }

    /// Renders every template; returns those whose output changed.
    pub(super) async fn render_templates(&mut self) -> Result<Vec<Template>, TemplateFailure> {
        let templates = self.task.templates.clone().unwrap_or_default();
        let mut changed = Vec::new();
        let env = self.env();
        for (i, t) in templates.iter().enumerate() {
            let text = self.template_text(t)?;
            let data = TemplateData {
                api: Arc::clone(&self.ctx.api),
                namespace: self.info.namespace().to_owned(),
                env: env.vars.clone(),
            };
            let (l, r) = (
                t.left_delim.clone().unwrap_or_default(),
                t.right_delim.clone().unwrap_or_default(),
            );
            let out = tokio::task::spawn_blocking(move || render(&text, &l, &r, &data))
                .await
                .map_err(|e| TemplateFailure::Missing(e.to_string()))?
                .map_err(TemplateFailure::Missing)?;
            if self.rendered.get(&i) == Some(&out) {
                continue;
            }
            self.write_template(t, &out)?;
            if t.envvars == Some(true) {
                self.template_env.extend(parse_env_file(&out));
            }
            if self.rendered.insert(i, out).is_some() {
                changed.push(t.clone());
            }
        }
        Ok(changed)
    }

    /// Watches the variables table and re-renders on change, turning template changes into
    /// restart or signal requests.
    pub(super) fn spawn_template_watch(&self) -> Option<tokio::task::JoinHandle<()>> {
        let templates = self.task.templates.clone().unwrap_or_default();
        if templates.is_empty() {
            return None;
        }
        let api = Arc::clone(&self.ctx.api);
        let ns = self.info.namespace().to_owned();
        let tx = self.self_tx.clone();
        Some(tokio::spawn(async move {
            let mut index = 0;
            loop {
                match api.variables(&ns, "", index, Duration::from_secs(30)).await {
                    Ok(r) if r.index > index => {
                        if index != 0 && tx.send(TaskCommand::Signal(RERENDER.into())).await.is_err() {
                            return;
                        }
                        index = r.index;
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                }
            }
        }))
    }

    /// Re-renders after a variable change; the strongest change mode among changed templates.
    pub(super) async fn on_rerender(&mut self) -> Option<TaskCommand> {
        let changed = match self.render_templates().await {
            Ok(c) => c,
            Err(TemplateFailure::Missing(e) | TemplateFailure::Fatal(e)) => {
                tracing::warn!("re-rendering templates of {}: {e}", self.name());
                return None;
            }
        };
        if changed.is_empty() {
            return None;
        }
        self.event(TaskEvent::new(event::TEMPLATE, "Template re-rendered"));
        let mode = |t: &Template| t.change_mode.clone().unwrap_or_else(|| "restart".into());
        if changed
            .iter()
            .any(|t| mode(t) == "restart" || t.envvars == Some(true))
        {
            return Some(TaskCommand::Restart(
                "Template with change_mode restart re-rendered".into(),
            ));
        }
        changed
            .iter()
            .find(|t| mode(t) == "signal")
            .map(|t| TaskCommand::Signal(t.change_signal.clone().unwrap_or_else(|| "SIGHUP".into())))
    }
}
