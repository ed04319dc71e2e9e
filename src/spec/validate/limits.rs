//! Names and sizes a job may have: the rules that keep a name usable as one path segment on a
//! client (no `/`, no NUL, not `.` or `..`) and the upper bounds that keep one job from
//! occupying the scheduler. `docs/limits.md` lists the same values.

use super::Checker;

/// Longest job ID, in bytes (Nomad's limit).
pub const MAX_JOB_ID_LEN: usize = 128;
/// Longest job name, group name or task name, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Largest `count` of one group.
pub const MAX_GROUP_COUNT: i64 = 10_000;
/// Most groups in one job.
pub const MAX_GROUPS_PER_JOB: usize = 100;
/// Most tasks in one group.
pub const MAX_TASKS_PER_GROUP: usize = 100;

/// Why `name` cannot name a job, group or task, if it cannot. `what` is "job ID", "group
/// name", ...; `max` the length limit. Empty names are reported by the caller (the message
/// differs per kind).
pub fn name_problem(what: &str, name: &str, max: usize) -> Option<String> {
    // Client directories and allocation names are built from these names: a separator or a
    // relative step would leave the allocation directory.
    const WHY: &str = "it becomes a directory name on clients; rename it";
    if name.contains('/') || name.contains('\\') {
        Some(format!("{what} {name:?} must not contain a slash: {WHY}"))
    } else if name.contains('\0') {
        Some(format!(
            "{what} {name:?} must not contain a null character: {WHY}"
        ))
    } else if name == "." || name == ".." {
        Some(format!("{what} must not be {name:?}: {WHY}"))
    } else if name.len() > max {
        Some(format!(
            "{what} is {} bytes long, more than the limit of {max}; shorten it",
            name.len()
        ))
    } else {
        None
    }
}

/// Checks a group's `count` against [`MAX_GROUP_COUNT`].
pub(super) fn check_count(c: &mut Checker, count: i64) {
    if count > MAX_GROUP_COUNT {
        c.push(
            Some("Count"),
            format!(
                "count {count} exceeds the limit of {MAX_GROUP_COUNT} allocations per group \
                 (max_group_count); split the group or lower count"
            ),
        );
    }
}

/// Checks the number of groups of a job against [`MAX_GROUPS_PER_JOB`].
pub(super) fn check_group_total(c: &mut Checker, groups: usize) {
    if groups > MAX_GROUPS_PER_JOB {
        c.push(
            Some("TaskGroups"),
            format!(
                "the job has {groups} groups, more than the limit of {MAX_GROUPS_PER_JOB} \
                 (max_groups_per_job); split it into several jobs"
            ),
        );
    }
}

/// Checks the number of tasks of a group against [`MAX_TASKS_PER_GROUP`].
pub(super) fn check_task_total(c: &mut Checker, tasks: usize) {
    if tasks > MAX_TASKS_PER_GROUP {
        c.push(
            Some("Tasks"),
            format!(
                "the group has {tasks} tasks, more than the limit of {MAX_TASKS_PER_GROUP} \
                 (max_tasks_per_group); split it into several groups"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_leave_a_directory_are_refused() {
        for bad in ["/etc", "../x", "/tmp/x/escaped-task", "a\\b", ".", "..", "a\0b"] {
            assert!(name_problem("task name", bad, MAX_NAME_LEN).is_some(), "{bad:?}");
        }
        for good in ["web", "a.b", "..x", "x..", "web-1_2", "héllo"] {
            assert_eq!(name_problem("task name", good, MAX_NAME_LEN), None, "{good:?}");
        }
    }

    #[test]
    fn the_length_limit_is_inclusive() {
        assert_eq!(name_problem("job ID", &"a".repeat(128), MAX_JOB_ID_LEN), None);
        let long = name_problem("job ID", &"a".repeat(129), MAX_JOB_ID_LEN).unwrap();
        assert!(long.contains("129 bytes") && long.contains("128"), "{long}");
    }
}
