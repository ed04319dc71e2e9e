//! Validation of whole jobs: every problem, with its path.

use super::validate;
use crate::spec::{Constraint, Job, Task, TaskGroup};
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

#[test]
fn names_that_are_paths_are_refused_where_they_are() {
    let mut job = valid();
    job.id = Some("../x".into());
    let group = &mut job.task_groups.as_mut().unwrap()[0];
    group.name = Some("/etc".into());
    group.tasks.as_mut().unwrap()[0].name = "/tmp/x/escaped-task".into();
    let problems = validate(&job);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "job ID \"../x\" must not contain a slash: it becomes a directory name on clients; rename it",
            "group \"/etc\": group name \"/etc\" must not contain a slash: it becomes a directory name on clients; rename it",
            "group \"/etc\" > task \"/tmp/x/escaped-task\": task name \"/tmp/x/escaped-task\" must not contain a slash: it becomes a directory name on clients; rename it",
        ]
    );
    assert_eq!(problems[2].json_path, ["TaskGroups[0]", "Tasks[0]"]);
    assert_eq!(problems[2].field, Some("Name"));
}

#[test]
fn sizes_above_the_limits_name_the_limit_and_the_value() {
    let mut job = valid();
    job.id = Some("j".repeat(129));
    let mut group = job.task_groups.as_ref().unwrap()[0].clone();
    group.count = Some(1_000_000_000);
    let task = group.tasks.as_ref().unwrap()[0].clone();
    group.tasks = Some(
        (0..101)
            .map(|i| Task {
                name: format!("t{i}"),
                ..task.clone()
            })
            .collect(),
    );
    job.task_groups = Some(
        (0..101)
            .map(|i| TaskGroup {
                name: Some(format!("g{i}")),
                ..group.clone()
            })
            .collect(),
    );
    let text: Vec<String> = validate(&job).iter().map(ToString::to_string).collect();
    assert_eq!(
        text[0],
        "job ID is 129 bytes long, more than the limit of 128; shorten it"
    );
    assert_eq!(
        text[1],
        "the job has 101 groups, more than the limit of 100 (max_groups_per_job); split it into several jobs"
    );
    assert_eq!(
        text[2],
        "group \"g0\": count 1000000000 exceeds the limit of 10000 allocations per group (max_group_count); split the group or lower count"
    );
    assert_eq!(
        text[3],
        "group \"g0\": the group has 101 tasks, more than the limit of 100 (max_tasks_per_group); split it into several groups"
    );
}

#[test]
fn a_job_at_the_limits_is_valid() {
    use super::limits::{MAX_GROUP_COUNT, MAX_GROUPS_PER_JOB, MAX_TASKS_PER_GROUP};
    let mut job = valid();
    let mut group = job.task_groups.as_ref().unwrap()[0].clone();
    group.count = Some(MAX_GROUP_COUNT);
    let task = group.tasks.as_ref().unwrap()[0].clone();
    group.tasks = Some(
        (0..MAX_TASKS_PER_GROUP)
            .map(|i| Task {
                name: format!("t{i}"),
                ..task.clone()
            })
            .collect(),
    );
    job.task_groups = Some(
        (0..MAX_GROUPS_PER_JOB)
            .map(|i| TaskGroup {
                name: Some(format!("g{i}")),
                ..group.clone()
            })
            .collect(),
    );
    assert_eq!(validate(&job), vec![]);
}
