//! Nomad's documented defaults, filled in so that two jobs that mean the same compare equal.
//!
//! Mirrors what Nomad's API client and servers do on registration: job-level `update`,
//! `reschedule` and `migrate` merge into each group; `restart`, `reschedule` and `migrate`
//! defaults depend on the job type; every task gets resources, logs and a kill timeout.

use super::duration::Duration;
use super::group::TaskGroup;
use super::job::Job;
use super::policy::{MigrateStrategy, ReschedulePolicy, RestartPolicy, UpdateStrategy};
use super::resources::{EphemeralDisk, Resources};
use super::service::Service;
use super::task::Task;
use super::task_parts::{LogConfig, TaskArtifact, Template, Vault};

/// Returns `job` with every default Nomad would apply on registration filled in.
pub fn canonicalize(job: &Job) -> Job {
    let mut job = job.clone();
    canonicalize_in_place(&mut job);
    job
}

/// In-place form of [`canonicalize`].
pub fn canonicalize_in_place(job: &mut Job) {
    let id = job.id.clone().unwrap_or_default();
    job.id.get_or_insert_with(String::new);
    job.name.get_or_insert(id);
    job.region.get_or_insert_with(|| "global".into());
    job.namespace.get_or_insert_with(|| "default".into());
    job.r#type.get_or_insert_with(|| "service".into());
    job.priority.get_or_insert(50);
    job.all_at_once.get_or_insert(false);
    job.node_pool.get_or_insert_with(|| "default".into());
    if job.datacenters.as_ref().is_none_or(|d| d.is_empty()) {
        job.datacenters = Some(vec!["*".into()]);
    }
    for field in [
        &mut job.consul_token,
        &mut job.consul_namespace,
        &mut job.vault_token,
        &mut job.vault_namespace,
        &mut job.nomad_token_id,
        &mut job.status,
        &mut job.status_description,
        &mut job.parent_id,
    ] {
        field.get_or_insert_with(String::new);
    }
    job.stop.get_or_insert(false);
    job.stable.get_or_insert(false);
    job.version.get_or_insert(0);
    job.submit_time.get_or_insert(0);
    job.create_index.get_or_insert(0);
    job.modify_index.get_or_insert(0);
    job.job_modify_index.get_or_insert(0);
    if let Some(p) = job.periodic.as_mut() {
        p.enabled.get_or_insert(true);
        p.spec_type.get_or_insert_with(|| "cron".into());
        p.prohibit_overlap.get_or_insert(false);
        p.time_zone.get_or_insert_with(|| "UTC".into());
        p.spec.get_or_insert_with(String::new);
    }
    if let Some(p) = job.parameterized_job.as_mut()
        && p.payload.is_empty()
    {
        p.payload = "optional".into();
    }
    let job_type = job.job_type().to_string();
    if let Some(u) = job.update.as_mut() {
        canonicalize_update(u);
    }
    let job_update = job.update.clone();
    let job_reschedule = job.reschedule.clone();
    let job_migrate = job.migrate.clone();
    if let Some(groups) = job.task_groups.as_mut() {
        for group in groups {
            canonicalize_group(group, &job_type, &job_update, &job_reschedule, &job_migrate);
        }
    }
}

fn canonicalize_update(u: &mut UpdateStrategy) {
    u.stagger.get_or_insert(Duration::from_secs(30));
    u.max_parallel.get_or_insert(1);
    u.health_check.get_or_insert_with(|| "checks".into());
    u.min_healthy_time.get_or_insert(Duration::from_secs(10));
    u.healthy_deadline.get_or_insert(Duration::from_mins(5));
    u.progress_deadline.get_or_insert(Duration::from_mins(10));
    u.canary.get_or_insert(0);
    u.auto_revert.get_or_insert(false);
    u.auto_promote.get_or_insert(false);
}

fn merge_update(base: &UpdateStrategy, over: &UpdateStrategy) -> UpdateStrategy {
    UpdateStrategy {
        stagger: over.stagger.or(base.stagger),
        max_parallel: over.max_parallel.or(base.max_parallel),
        health_check: over.health_check.clone().or_else(|| base.health_check.clone()),
        min_healthy_time: over.min_healthy_time.or(base.min_healthy_time),
        healthy_deadline: over.healthy_deadline.or(base.healthy_deadline),
        progress_deadline: over.progress_deadline.or(base.progress_deadline),
        canary: over.canary.or(base.canary),
        auto_revert: over.auto_revert.or(base.auto_revert),
        auto_promote: over.auto_promote.or(base.auto_promote),
    }
}

fn default_reschedule(job_type: &str) -> Option<ReschedulePolicy> {
    match job_type {
        "service" => Some(ReschedulePolicy {
            attempts: Some(0),
            interval: Some(Duration::ZERO),
            delay: Some(Duration::from_secs(30)),
            delay_function: Some("exponential".into()),
            max_delay: Some(Duration::from_hours(1)),
            unlimited: Some(true),
        }),
        "batch" => Some(ReschedulePolicy {
            attempts: Some(1),
            interval: Some(Duration::from_hours(24)),
            delay: Some(Duration::from_secs(5)),
            delay_function: Some("constant".into()),
            max_delay: Some(Duration::ZERO),
            unlimited: Some(false),
        }),
        _ => None,
    }
}

fn merge_reschedule(base: ReschedulePolicy, over: &ReschedulePolicy) -> ReschedulePolicy {
    ReschedulePolicy {
        attempts: over.attempts.or(base.attempts),
        interval: over.interval.or(base.interval),
        delay: over.delay.or(base.delay),
        delay_function: over.delay_function.clone().or(base.delay_function),
        max_delay: over.max_delay.or(base.max_delay),
        unlimited: over.unlimited.or(base.unlimited),
    }
}

fn default_restart(job_type: &str) -> RestartPolicy {
    let batch = matches!(job_type, "batch" | "sysbatch");
    RestartPolicy {
        interval: Some(if batch {
            Duration::from_hours(24)
        } else {
            Duration::from_mins(30)
        }),
        attempts: Some(if batch { 3 } else { 2 }),
        delay: Some(Duration::from_secs(15)),
        mode: Some("fail".into()),
        render_templates: Some(false),
    }
}

fn merge_restart(base: &RestartPolicy, over: &RestartPolicy) -> RestartPolicy {
    RestartPolicy {
        interval: over.interval.or(base.interval),
        attempts: over.attempts.or(base.attempts),
        delay: over.delay.or(base.delay),
        mode: over.mode.clone().or_else(|| base.mode.clone()),
        render_templates: over.render_templates.or(base.render_templates),
    }
}

fn default_migrate() -> MigrateStrategy {
    MigrateStrategy {
        max_parallel: Some(1),
        health_check: Some("checks".into()),
        min_healthy_time: Some(Duration::from_secs(10)),
        healthy_deadline: Some(Duration::from_mins(5)),
    }
}

fn canonicalize_group(
    group: &mut TaskGroup,
    job_type: &str,
    job_update: &Option<UpdateStrategy>,
    job_reschedule: &Option<ReschedulePolicy>,
    job_migrate: &Option<MigrateStrategy>,
) {
    group.name.get_or_insert_with(String::new);
    if group.count.is_none() {
        let min = group.scaling.as_ref().and_then(|s| s.min);
        group.count = Some(min.unwrap_or(1));
    }
    let disk = group.ephemeral_disk.get_or_insert_with(EphemeralDisk::default);
    disk.sticky.get_or_insert(false);
    disk.migrate.get_or_insert(false);
    disk.size_mb.get_or_insert(300);

    // Update strategies apply to service and system jobs only.
    if matches!(job_type, "service" | "system") {
        let merged = match (job_update, group.update.as_ref()) {
            (Some(j), Some(g)) => Some(merge_update(j, g)),
            (Some(j), None) => Some(j.clone()),
            (None, Some(g)) => Some(g.clone()),
            (None, None) => (job_type == "service").then(UpdateStrategy::default),
        };
        group.update = merged.map(|mut u| {
            canonicalize_update(&mut u);
            u
        });
    } else {
        group.update = None;
    }

    group.reschedule_policy = match default_reschedule(job_type) {
        Some(base) => {
            let base = match job_reschedule {
                Some(j) => merge_reschedule(base, j),
                None => base,
            };
            Some(match group.reschedule_policy.as_ref() {
                Some(g) => merge_reschedule(base, g),
                None => base,
            })
        }
        None => group.reschedule_policy.take(),
    };

    if job_type == "service" {
        let base = default_migrate();
        let base = match job_migrate {
            Some(j) => merge_migrate(&base, j),
            None => base,
        };
        group.migrate = Some(match group.migrate.as_ref() {
            Some(g) => merge_migrate(&base, g),
            None => base,
        });
    }

    let restart = match group.restart_policy.as_ref() {
        Some(g) => merge_restart(&default_restart(job_type), g),
        None => default_restart(job_type),
    };
    group.restart_policy = Some(restart.clone());

    for service in group.services.iter_mut().flatten() {
        canonicalize_service(service);
    }
    for task in group.tasks.iter_mut().flatten() {
        canonicalize_task(task, &restart);
    }
}

fn merge_migrate(base: &MigrateStrategy, over: &MigrateStrategy) -> MigrateStrategy {
    MigrateStrategy {
        max_parallel: over.max_parallel.or(base.max_parallel),
        health_check: over.health_check.clone().or_else(|| base.health_check.clone()),
        min_healthy_time: over.min_healthy_time.or(base.min_healthy_time),
        healthy_deadline: over.healthy_deadline.or(base.healthy_deadline),
    }
}

fn canonicalize_service(service: &mut Service) {
    if service.address_mode.is_empty() {
        service.address_mode = "auto".into();
    }
    if service.provider.is_empty() {
        service.provider = "consul".into();
    }
    if service.on_update.is_empty() {
        service.on_update = "require_healthy".into();
    }
    for check in service.checks.iter_mut().flatten() {
        if check.on_update.is_empty() {
            check.on_update = service.on_update.clone();
        }
    }
}

fn canonicalize_task(task: &mut Task, group_restart: &RestartPolicy) {
    task.kill_timeout.get_or_insert(Duration::from_secs(5));
    let logs = task.log_config.get_or_insert_with(LogConfig::default);
    logs.max_files.get_or_insert(10);
    logs.max_file_size_mb.get_or_insert(10);
    logs.disabled.get_or_insert(false);
    let res = task.resources.get_or_insert_with(Resources::default);
    res.cores.get_or_insert(0);
    if res.cores == Some(0) {
        res.cpu.get_or_insert(100);
    }
    res.memory_mb.get_or_insert(300);
    res.memory_max_mb.get_or_insert(0);
    task.restart_policy = Some(match task.restart_policy.as_ref() {
        Some(t) => merge_restart(group_restart, t),
        None => group_restart.clone(),
    });
    for service in task.services.iter_mut().flatten() {
        canonicalize_service(service);
    }
    for template in task.templates.iter_mut().flatten() {
        canonicalize_template(template);
    }
    for artifact in task.artifacts.iter_mut().flatten() {
        canonicalize_artifact(artifact);
    }
    if let Some(vault) = task.vault.as_mut() {
        canonicalize_vault(vault);
    }
}

fn canonicalize_template(t: &mut Template) {
    t.source_path.get_or_insert_with(String::new);
    t.dest_path.get_or_insert_with(String::new);
    t.embedded_tmpl.get_or_insert_with(String::new);
    t.change_mode.get_or_insert_with(|| "restart".into());
    if t.change_mode.as_deref() == Some("signal") {
        t.change_signal.get_or_insert_with(|| "SIGHUP".into());
    } else {
        t.change_signal.get_or_insert_with(String::new);
    }
    t.splay.get_or_insert(Duration::from_secs(5));
    t.perms.get_or_insert_with(|| "0644".into());
    t.left_delim.get_or_insert_with(|| "{{".into());
    t.right_delim.get_or_insert_with(|| "}}".into());
    t.envvars.get_or_insert(false);
    t.err_missing_key.get_or_insert(false);
}

fn canonicalize_artifact(a: &mut TaskArtifact) {
    a.getter_mode.get_or_insert_with(|| "any".into());
    a.relative_dest.get_or_insert_with(|| "local/".into());
}

fn canonicalize_vault(v: &mut Vault) {
    v.env.get_or_insert(true);
    v.change_mode.get_or_insert_with(|| "restart".into());
    v.change_signal.get_or_insert_with(|| "SIGHUP".into());
    v.namespace.get_or_insert_with(String::new);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(job_type: &str) -> Job {
        Job {
            id: Some("web".into()),
            r#type: Some(job_type.into()),
            task_groups: Some(vec![TaskGroup {
                name: Some("g".into()),
                tasks: Some(vec![Task {
                    name: "t".into(),
                    driver: "exec".into(),
                    ..Task::default()
                }]),
                ..TaskGroup::default()
            }]),
            ..Job::default()
        }
    }

    #[test]
    fn service_defaults() {
        let j = canonicalize(&job("service"));
        assert_eq!(j.name.as_deref(), Some("web"));
        assert_eq!(j.priority, Some(50));
        assert_eq!(j.datacenters, Some(vec!["*".to_string()]));
        let g = &j.groups()[0];
        assert_eq!(g.count, Some(1));
        assert_eq!(g.update.as_ref().unwrap().max_parallel, Some(1));
        assert_eq!(
            g.reschedule_policy.as_ref().unwrap().delay_function.as_deref(),
            Some("exponential")
        );
        assert_eq!(g.restart_policy.as_ref().unwrap().attempts, Some(2));
        let t = &g.tasks()[0];
        assert_eq!(t.resources.as_ref().unwrap().cpu, Some(100));
        assert_eq!(t.resources.as_ref().unwrap().memory_mb, Some(300));
        assert_eq!(t.kill_timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn batch_defaults_and_no_update() {
        let j = canonicalize(&job("batch"));
        let g = &j.groups()[0];
        assert!(g.update.is_none());
        assert!(g.migrate.is_none());
        assert_eq!(g.restart_policy.as_ref().unwrap().attempts, Some(3));
        assert_eq!(g.reschedule_policy.as_ref().unwrap().attempts, Some(1));
    }

    #[test]
    fn group_update_overrides_job_update() {
        let mut j = job("service");
        j.update = Some(UpdateStrategy {
            max_parallel: Some(3),
            canary: Some(1),
            ..Default::default()
        });
        j.task_groups.as_mut().unwrap()[0].update = Some(UpdateStrategy {
            max_parallel: Some(2),
            ..Default::default()
        });
        let j = canonicalize(&j);
        let u = j.groups()[0].update.clone().unwrap();
        assert_eq!(u.max_parallel, Some(2));
        assert_eq!(u.canary, Some(1));
        assert_eq!(u.min_healthy_time, Some(Duration::from_secs(10)));
    }

    #[test]
    fn idempotent() {
        let once = canonicalize(&job("service"));
        assert_eq!(canonicalize(&once), once);
    }
}
