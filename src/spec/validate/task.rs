//! Task-level checks: name, driver, resources, lifecycle, templates, artifacts, volume
//! mounts, services and log settings.

use super::Checker;
use super::limits::{MAX_NAME_LEN, name_problem};
use super::placement::{check_affinity, check_constraint};
use super::policy::check_restart;
use super::service::check_service;
use crate::spec::group::TaskGroup;
use crate::spec::resources::Resources;
use crate::spec::task::Task;
use crate::spec::task_parts::Template;

/// Checks one task of `group`.
pub(super) fn check_task(c: &mut Checker, task: &Task, group: &TaskGroup) {
    if task.name.is_empty() {
        c.push(Some("Name"), "task name is missing");
    } else if let Some(problem) = name_problem("task name", &task.name, MAX_NAME_LEN) {
        c.push(Some("Name"), problem);
    }
    if task.driver.is_empty() {
        c.push(Some("Driver"), "driver is missing");
    }
    if let Some(kt) = task.kill_timeout
        && kt.0 < 0
    {
        c.push(Some("KillTimeout"), "kill_timeout must not be negative");
    }
    for (i, con) in task.constraints.iter().flatten().enumerate() {
        check_constraint(c, i, con);
    }
    for (i, aff) in task.affinities.iter().flatten().enumerate() {
        check_affinity(c, i, aff);
    }
    if let Some(r) = &task.resources {
        c.scoped("resources".into(), "Resources".into(), |c| check_resources(c, r));
    }
    if let Some(r) = &task.restart_policy {
        c.scoped("restart".into(), "RestartPolicy".into(), |c| check_restart(c, r));
    }
    if let Some(l) = &task.lifecycle
        && !matches!(l.hook.as_str(), "prestart" | "poststart" | "poststop")
    {
        c.scoped("lifecycle".into(), "Lifecycle".into(), |c| {
            c.push(
                Some("Hook"),
                format!("hook must be prestart, poststart or poststop, not {:?}", l.hook),
            )
        });
    }
    for (i, t) in task.templates.iter().flatten().enumerate() {
        c.scoped("template".into(), format!("Templates[{i}]"), |c| {
            check_template(c, t)
        });
    }
    check_files(c, task, group);
    for (i, service) in task.services.iter().flatten().enumerate() {
        check_service(c, i, service);
    }
    if let Some(l) = &task.log_config
        && (l.max_files.is_some_and(|n| n < 1) || l.max_file_size_mb.is_some_and(|n| n < 1))
    {
        c.scoped("logs".into(), "LogConfig".into(), |c| {
            c.push(None, "max_files and max_file_size must be at least 1")
        });
    }
}

fn check_resources(c: &mut Checker, r: &Resources) {
    if let Some(cpu) = r.cpu
        && cpu < 1
        && r.cores.unwrap_or(0) == 0
    {
        c.push(Some("CPU"), format!("cpu = {cpu}: at least 1 MHz is required"));
    }
    if r.cores.unwrap_or(0) > 0 && r.cpu.is_some_and(|cpu| cpu > 0) && r.cpu != Some(100) {
        c.push(Some("Cores"), "cpu and cores cannot both be set");
    }
    if let Some(mem) = r.memory_mb
        && mem < 10
    {
        c.push(
            Some("MemoryMB"),
            format!("memory = {mem}: at least 10 MB is required"),
        );
    }
    if let (Some(max), Some(mem)) = (r.memory_max_mb, r.memory_mb)
        && max != 0
        && max < mem
    {
        c.push(
            Some("MemoryMaxMB"),
            format!("memory_max ({max}) must be at least memory ({mem})"),
        );
    }
}

fn check_template(c: &mut Checker, t: &Template) {
    let has_source = t.source_path.as_deref().is_some_and(|s| !s.is_empty());
    let has_data = t.embedded_tmpl.as_deref().is_some_and(|s| !s.is_empty());
    if !has_source && !has_data {
        c.push(None, "template needs data or source");
    }
    if t.dest_path.as_deref().is_none_or(str::is_empty) {
        c.push(Some("DestPath"), "template destination is missing");
    }
    match t.change_mode.as_deref() {
        None | Some("restart" | "noop" | "script") => {}
        Some("signal") => {
            if t.change_signal.as_deref().is_none_or(str::is_empty) {
                c.push(
                    Some("ChangeSignal"),
                    "change_mode = \"signal\" needs change_signal",
                );
            }
        }
        Some(m) => c.push(
            Some("ChangeMode"),
            format!("change_mode must be restart, signal, script or noop, not {m:?}"),
        ),
    }
    if let Some(p) = &t.perms
        && u32::from_str_radix(p, 8).is_err()
    {
        c.push(Some("Perms"), format!("perms {p:?} is not an octal file mode"));
    }
}

/// Artifacts have a source; volume mounts name a volume of the group.
fn check_files(c: &mut Checker, task: &Task, group: &TaskGroup) {
    for (i, a) in task.artifacts.iter().flatten().enumerate() {
        if a.getter_source.as_deref().is_none_or(str::is_empty) {
            c.scoped("artifact".into(), format!("Artifacts[{i}]"), |c| {
                c.push(Some("GetterSource"), "artifact source is missing")
            });
        }
    }
    for (i, vm) in task.volume_mounts.iter().flatten().enumerate() {
        let name = vm.volume.as_deref().unwrap_or("");
        if !group.volumes.as_ref().is_some_and(|v| v.contains_key(name)) {
            c.scoped("volume_mount".into(), format!("VolumeMounts[{i}]"), |c| {
                c.push(
                    Some("Volume"),
                    format!("volume {name:?} is not defined in the group"),
                )
            });
        }
    }
}
