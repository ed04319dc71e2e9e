//! Checks a job the way Nomad's servers do on registration, reporting every problem with the
//! path where it was found (`group "web" > task "nginx" > resources`), not only the first.

use std::collections::BTreeSet;
use std::fmt;

use super::group::TaskGroup;
use super::job::Job;
use super::placement::{AFFINITY_OPERATORS, Affinity, CONSTRAINT_OPERATORS, Constraint, Spread};
use super::policy::{ReschedulePolicy, RestartPolicy, UpdateStrategy};
use super::service::Service;
use super::task::Task;

/// One validation failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where: block labels from the job down, e.g. `["group \"web\"", "task \"nginx\"", "resources"]`.
    pub path: Vec<String>,
    /// JSON field at that place (`MemoryMB`), when one field is at fault.
    pub field: Option<&'static str>,
    /// The same place in the job's JSON, one step per segment (`["TaskGroups[0]", "Tasks[1]",
    /// "Resources"]`): what the front end follows back to the attribute in the source.
    pub json_path: Vec<String>,
    /// What is wrong, as a sentence.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path.join(" > "), self.message)
        }
    }
}

struct Checker {
    path: Vec<String>,
    json: Vec<String>,
    problems: Vec<Problem>,
}

impl Checker {
    fn push(&mut self, field: Option<&'static str>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: self.path.clone(),
            field,
            json_path: self.json.clone(),
            message: message.into(),
        });
    }

    /// Runs `f` one level down: `segment` names it for people, `json` for the source map.
    fn scoped(&mut self, segment: String, json: String, f: impl FnOnce(&mut Self)) {
        self.path.push(segment);
        self.json.push(json);
        f(self);
        self.json.pop();
        self.path.pop();
    }
}

const JOB_TYPES: &[&str] = &["service", "batch", "system", "sysbatch"];

/// Validates `job` (canonicalized or not) and returns every problem found.
pub fn validate(job: &Job) -> Vec<Problem> {
    let mut c = Checker {
        path: Vec::new(),
        json: Vec::new(),
        problems: Vec::new(),
    };
    check_job(&mut c, job);
    c.problems
}

fn check_job(c: &mut Checker, job: &Job) {
    let id = job.id();
    if id.is_empty() {
        c.push(Some("ID"), "job ID is missing");
    } else if id.contains(' ') || id.contains('\0') {
        c.push(
            Some("ID"),
            format!("job ID {id:?} contains a space or a null character"),
        );
    }
    if let Some(ns) = &job.namespace
        && ns.is_empty()
    {
        c.push(Some("Namespace"), "namespace must not be empty");
    }
    let job_type = job.job_type();
    if !JOB_TYPES.contains(&job_type) {
        c.push(
            Some("Type"),
            format!(
                "invalid job type {job_type:?}; expected one of {}",
                JOB_TYPES.join(", ")
            ),
        );
    }
    if let Some(p) = job.priority
        && !(1..=100).contains(&p)
    {
        c.push(Some("Priority"), format!("priority {p} is outside 1..=100"));
    }
    if let Some(dcs) = &job.datacenters
        && dcs.iter().any(|d| d.is_empty())
    {
        c.push(Some("Datacenters"), "a datacenter name is empty");
    }
    for (i, con) in job.constraints.iter().flatten().enumerate() {
        check_constraint(c, i, con);
    }
    for (i, aff) in job.affinities.iter().flatten().enumerate() {
        check_affinity(c, i, aff);
    }
    check_spreads(c, job.spreads.as_deref().unwrap_or(&[]));
    if let Some(u) = &job.update {
        c.scoped("update".into(), "Update".into(), |c| check_update(c, u));
    }
    if let Some(r) = &job.reschedule {
        c.scoped("reschedule".into(), "Reschedule".into(), |c| {
            check_reschedule(c, r)
        });
    }
    if let Some(p) = &job.periodic {
        c.scoped("periodic".into(), "Periodic".into(), |c| {
            if !matches!(job_type, "batch" | "sysbatch") {
                c.push(
                    None,
                    format!("periodic can only be used with batch or sysbatch jobs, not {job_type}"),
                );
            }
            let specs: Vec<&str> = p
                .spec
                .iter()
                .map(String::as_str)
                .chain(p.specs.iter().flatten().map(String::as_str))
                .filter(|s| !s.is_empty())
                .collect();
            if specs.is_empty() && p.enabled != Some(false) {
                c.push(Some("Spec"), "a cron expression is required");
            }
            for spec in specs {
                if let Err(e) = super::cron::parse(spec) {
                    c.push(Some("Spec"), format!("invalid cron expression {spec:?}: {e}"));
                }
            }
            if let Some(tz) = &p.time_zone
                && !tz.is_empty()
                && tz.parse::<chrono_tz::Tz>().is_err()
            {
                c.push(Some("TimeZone"), format!("unknown time zone {tz:?}"));
            }
        });
    }
    if let Some(p) = &job.parameterized_job {
        c.scoped("parameterized".into(), "ParameterizedJob".into(), |c| {
            if !matches!(job_type, "batch" | "sysbatch") {
                c.push(
                    None,
                    format!("parameterized can only be used with batch or sysbatch jobs, not {job_type}"),
                );
            }
            if !matches!(p.payload.as_str(), "" | "optional" | "required" | "forbidden") {
                c.push(
                    Some("Payload"),
                    format!(
                        "payload must be optional, required or forbidden, not {:?}",
                        p.payload
                    ),
                );
            }
        });
    }
    let groups = job.groups();
    if groups.is_empty() {
        c.push(Some("TaskGroups"), "a job needs at least one group");
    }
    let mut seen = BTreeSet::new();
    for (i, group) in groups.iter().enumerate() {
        let name = group.name();
        let label = if name.is_empty() {
            format!("group[{i}]")
        } else {
            format!("group {name:?}")
        };
        if !name.is_empty() && !seen.insert(name) {
            c.push(None, format!("group {name:?} is defined twice"));
        }
        c.scoped(label, format!("TaskGroups[{i}]"), |c| {
            check_group(c, group, job_type)
        });
    }
}

fn check_group(c: &mut Checker, group: &TaskGroup, job_type: &str) {
    if group.name().is_empty() {
        c.push(Some("Name"), "group name is missing");
    }
    if let Some(count) = group.count {
        if count < 0 {
            c.push(Some("Count"), format!("count {count} is negative"));
        }
        if job_type == "system" && count > 1 {
            c.push(
                Some("Count"),
                "system jobs run one allocation per node: count must be 0 or 1",
            );
        }
    }
    for (i, con) in group.constraints.iter().flatten().enumerate() {
        check_constraint(c, i, con);
    }
    for (i, aff) in group.affinities.iter().flatten().enumerate() {
        check_affinity(c, i, aff);
    }
    check_spreads(c, group.spreads.as_deref().unwrap_or(&[]));
    if let Some(r) = &group.restart_policy {
        c.scoped("restart".into(), "RestartPolicy".into(), |c| check_restart(c, r));
    }
    if let Some(r) = &group.reschedule_policy {
        c.scoped("reschedule".into(), "ReschedulePolicy".into(), |c| {
            check_reschedule(c, r)
        });
    }
    if let Some(u) = &group.update {
        c.scoped("update".into(), "Update".into(), |c| check_update(c, u));
    }
    if let Some(d) = &group.ephemeral_disk
        && d.size_mb.is_some_and(|s| s <= 0)
    {
        // Said at the group level, as Nomad does, but located at the `size` attribute.
        c.json.push("EphemeralDisk".into());
        c.push(Some("SizeMB"), "ephemeral_disk size must be positive");
        c.json.pop();
    }
    let mut labels = BTreeSet::new();
    for (i, network) in group.networks.iter().flatten().enumerate() {
        c.scoped("network".into(), format!("Networks[{i}]"), |c| {
            for port in network
                .reserved_ports
                .iter()
                .flatten()
                .chain(network.dynamic_ports.iter().flatten())
            {
                if !labels.insert(port.label.clone()) {
                    c.push(None, format!("port label {:?} is used twice", port.label));
                }
                if !(0..=65535).contains(&port.value) {
                    c.push(
                        None,
                        format!(
                            "port {:?}: static value {} is outside 0..=65535",
                            port.label, port.value
                        ),
                    );
                }
                if !(-1..=65535).contains(&port.to) {
                    c.push(
                        None,
                        format!("port {:?}: to = {} is outside 0..=65535", port.label, port.to),
                    );
                }
            }
        });
    }
    for (name, vol) in group.volumes.iter().flatten() {
        c.scoped(format!("volume {name:?}"), format!("Volumes.{name}"), |c| {
            if !matches!(vol.r#type.as_str(), "host" | "csi") {
                c.push(
                    Some("Type"),
                    format!("volume type must be host or csi, not {:?}", vol.r#type),
                );
            }
            if vol.source.is_empty() {
                c.push(Some("Source"), "volume source is missing");
            }
        });
    }
    for (i, service) in group.services.iter().flatten().enumerate() {
        check_service(c, i, service);
    }
    let tasks = group.tasks();
    if tasks.is_empty() {
        c.push(Some("Tasks"), "a group needs at least one task");
    }
    let mut seen = BTreeSet::new();
    let mut leaders = 0;
    for (i, task) in tasks.iter().enumerate() {
        if !task.name.is_empty() && !seen.insert(task.name.as_str()) {
            c.push(None, format!("task {:?} is defined twice", task.name));
        }
        leaders += usize::from(task.leader);
        c.scoped(format!("task {:?}", task.name), format!("Tasks[{i}]"), |c| {
            check_task(c, task, group)
        });
    }
    if leaders > 1 {
        c.push(None, "only one task may be the leader");
    }
}

fn check_task(c: &mut Checker, task: &Task, group: &TaskGroup) {
    if task.name.is_empty() {
        c.push(Some("Name"), "task name is missing");
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
        c.scoped("resources".into(), "Resources".into(), |c| {
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
        });
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
        });
    }
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

fn check_service(c: &mut Checker, index: usize, s: &Service) {
    c.scoped(
        format!("service {:?}", s.name),
        format!("Services[{index}]"),
        |c| {
            if !matches!(s.provider.as_str(), "" | "consul" | "nomad") {
                c.push(
                    Some("Provider"),
                    format!("provider must be consul or nomad, not {:?}", s.provider),
                );
            }
            for (i, check) in s.checks.iter().flatten().enumerate() {
                c.scoped(format!("check {:?}", check.name), format!("Checks[{i}]"), |c| {
                    if !matches!(check.r#type.as_str(), "http" | "tcp" | "script" | "grpc") {
                        c.push(
                            Some("Type"),
                            format!(
                                "check type must be http, tcp, script or grpc, not {:?}",
                                check.r#type
                            ),
                        );
                    }
                    if check.r#type == "script" && check.command.is_empty() {
                        c.push(Some("Command"), "a script check needs a command");
                    }
                    if check.r#type == "http" && check.path.is_empty() {
                        c.push(Some("Path"), "an http check needs a path");
                    }
                    if check.interval.0 <= 0 {
                        c.push(Some("Interval"), "check interval must be positive");
                    }
                    if check.timeout.0 <= 0 {
                        c.push(Some("Timeout"), "check timeout must be positive");
                    }
                });
            }
        },
    );
}

fn check_constraint(c: &mut Checker, index: usize, con: &Constraint) {
    c.scoped("constraint".into(), format!("Constraints[{index}]"), |c| {
        let op = if con.operand.is_empty() {
            "="
        } else {
            con.operand.as_str()
        };
        if !CONSTRAINT_OPERATORS.contains(&op) {
            c.push(
                Some("Operand"),
                format!(
                    "unknown constraint operator {op:?}; expected one of {}",
                    CONSTRAINT_OPERATORS.join(" ")
                ),
            );
            return;
        }
        check_operand_value(c, op, &con.l_target, &con.r_target);
    });
}

fn check_affinity(c: &mut Checker, index: usize, aff: &Affinity) {
    c.scoped("affinity".into(), format!("Affinities[{index}]"), |c| {
        let op = if aff.operand.is_empty() {
            "="
        } else {
            aff.operand.as_str()
        };
        if !AFFINITY_OPERATORS.contains(&op) {
            c.push(
                Some("Operand"),
                format!(
                    "unknown affinity operator {op:?}; expected one of {}",
                    AFFINITY_OPERATORS.join(" ")
                ),
            );
            return;
        }
        if let Some(w) = aff.weight
            && (w == 0 || !(-100..=100).contains(&w))
        {
            c.push(
                Some("Weight"),
                format!("weight {w} must be non-zero and within -100..=100"),
            );
        }
        check_operand_value(c, op, &aff.l_target, &aff.r_target);
    });
}

fn check_operand_value(c: &mut Checker, op: &str, l: &str, r: &str) {
    match op {
        "distinct_hosts" => {}
        "distinct_property" => {
            if l.is_empty() {
                c.push(Some("LTarget"), "distinct_property needs an attribute");
            }
            if !r.is_empty() && r.parse::<u64>().map_or(true, |n| n == 0) {
                c.push(
                    Some("RTarget"),
                    format!("distinct_property limit {r:?} must be a positive integer"),
                );
            }
        }
        "is_set" | "is_not_set" => {
            if l.is_empty() {
                c.push(Some("LTarget"), format!("{op} needs an attribute"));
            }
        }
        "regexp" => {
            if let Err(e) = regex::Regex::new(r) {
                c.push(Some("RTarget"), format!("invalid regular expression {r:?}: {e}"));
            }
        }
        "version" | "semver" => {
            if super::version::parse_constraint(r, op == "semver").is_err() {
                c.push(Some("RTarget"), format!("invalid version constraint {r:?}"));
            }
        }
        _ => {
            if l.is_empty() && r.is_empty() {
                c.push(None, "constraint needs an attribute and a value");
            }
        }
    }
}

fn check_spreads(c: &mut Checker, spreads: &[Spread]) {
    for (i, s) in spreads.iter().enumerate() {
        c.scoped("spread".into(), format!("Spreads[{i}]"), |c| {
            if s.attribute.is_empty() {
                c.push(Some("Attribute"), "spread needs an attribute");
            }
            if let Some(w) = s.weight
                && !(0..=100).contains(&w)
            {
                c.push(Some("Weight"), format!("weight {w} is outside 0..=100"));
            }
            let sum: u32 = s
                .spread_target
                .iter()
                .flatten()
                .map(|t| u32::from(t.percent))
                .sum();
            if sum > 100 {
                c.push(
                    Some("SpreadTarget"),
                    format!("target percentages add up to {sum}, more than 100"),
                );
            }
        });
    }
}

fn check_restart(c: &mut Checker, r: &RestartPolicy) {
    if let Some(mode) = &r.mode
        && !matches!(mode.as_str(), "delay" | "fail")
    {
        c.push(Some("Mode"), format!("mode must be delay or fail, not {mode:?}"));
    }
    if r.attempts.is_some_and(|a| a < 0) {
        c.push(Some("Attempts"), "attempts must not be negative");
    }
    if let (Some(i), Some(d), Some(a)) = (r.interval, r.delay, r.attempts)
        && a > 0
        && i.0 > 0
        && d.0.saturating_mul(a) > i.0
    {
        c.push(
            Some("Interval"),
            format!("{a} attempts with a delay of {d} do not fit in an interval of {i}"),
        );
    }
}

fn check_reschedule(c: &mut Checker, r: &ReschedulePolicy) {
    if let Some(f) = &r.delay_function
        && !matches!(f.as_str(), "constant" | "exponential" | "fibonacci")
    {
        c.push(
            Some("DelayFunction"),
            format!("delay_function must be constant, exponential or fibonacci, not {f:?}"),
        );
    }
    if r.attempts.is_some_and(|a| a < 0) {
        c.push(Some("Attempts"), "attempts must not be negative");
    }
}

fn check_update(c: &mut Checker, u: &UpdateStrategy) {
    if u.max_parallel.is_some_and(|m| m < 0) {
        c.push(Some("MaxParallel"), "max_parallel must not be negative");
    }
    if let Some(h) = &u.health_check
        && !matches!(h.as_str(), "checks" | "task_states" | "manual")
    {
        c.push(
            Some("HealthCheck"),
            format!("health_check must be checks, task_states or manual, not {h:?}"),
        );
    }
    if let (Some(min), Some(deadline)) = (u.min_healthy_time, u.healthy_deadline)
        && min >= deadline
    {
        c.push(
            Some("MinHealthyTime"),
            format!("min_healthy_time ({min}) must be less than healthy_deadline ({deadline})"),
        );
    }
    if let (Some(deadline), Some(progress)) = (u.healthy_deadline, u.progress_deadline)
        && progress.0 != 0
        && deadline > progress
    {
        c.push(
            Some("ProgressDeadline"),
            format!("progress_deadline ({progress}) must be at least healthy_deadline ({deadline})"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Resources, Spread, SpreadTarget};

    fn valid() -> Job {
        Job {
            id: Some("web".into()),
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
    fn a_valid_job_has_no_problems() {
        assert_eq!(validate(&valid()), vec![]);
        assert_eq!(validate(&crate::spec::canonicalize(&valid())), vec![]);
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let mut job = valid();
        job.priority = Some(500);
        job.r#type = Some("cron".into());
        let group = &mut job.task_groups.as_mut().unwrap()[0];
        group.constraints = Some(vec![Constraint {
            l_target: "${attr.kernel.name}".into(),
            r_target: "linux".into(),
            operand: "~=".into(),
        }]);
        group.spreads = Some(vec![Spread {
            attribute: "${node.datacenter}".into(),
            weight: Some(50),
            spread_target: Some(vec![
                SpreadTarget {
                    value: "a".into(),
                    percent: 70,
                },
                SpreadTarget {
                    value: "b".into(),
                    percent: 40,
                },
            ]),
        }]);
        let task = &mut group.tasks.as_mut().unwrap()[0];
        task.driver.clear();
        task.resources = Some(Resources {
            memory_mb: Some(4),
            ..Resources::default()
        });
        let text: Vec<String> = validate(&job).iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "invalid job type \"cron\"; expected one of service, batch, system, sysbatch",
                "priority 500 is outside 1..=100",
                "group \"g\" > constraint: unknown constraint operator \"~=\"; expected one of = == is != not > >= < <= regexp version semver set_contains set_contains_all set_contains_any is_set is_not_set distinct_hosts distinct_property",
                "group \"g\" > spread: target percentages add up to 110, more than 100",
                "group \"g\" > task \"t\": driver is missing",
                "group \"g\" > task \"t\" > resources: memory = 4: at least 10 MB is required",
            ]
        );
    }

    #[test]
    fn periodic_needs_batch_and_a_valid_cron() {
        let mut job = valid();
        job.periodic = Some(crate::spec::PeriodicConfig {
            spec: Some("every day".into()),
            ..Default::default()
        });
        let text: Vec<String> = validate(&job).iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text[0].contains("only be used with batch"));
        assert!(text[1].contains("invalid cron expression"));
    }
}
