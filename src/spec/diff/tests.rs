//! Diff rules: what forces what, sets, masking, server fields.

use super::*;

fn job(v: serde_json::Value) -> Job {
    serde_json::from_value(v).expect("job")
}

fn base() -> serde_json::Value {
    serde_json::json!({
        "ID": "j", "Priority": 50, "Datacenters": ["dc1"],
        "TaskGroups": [{ "Name": "g", "Count": 2, "Tasks": [{
            "Name": "t", "Driver": "docker", "Config": { "image": "a:1" }, "KillTimeout": 5000000000u64,
            "Services": [{ "Name": "web", "PortLabel": "http" }]
        }]}]
    })
}

fn changed(pointer: &str, v: serde_json::Value) -> Job {
    let mut b = base();
    *b.pointer_mut(pointer).expect("pointer") = v;
    job(b)
}

fn d(new: &Job) -> JobDiff {
    diff(Some(&job(base())), Some(new), &SensitivePaths::new())
}

#[test]
fn equal_jobs_and_server_fields_make_no_diff() {
    let mut live = job(base());
    live.job_modify_index = Some(99);
    live.version = Some(4);
    assert_eq!(d(&live).r#type, DiffType::None);
}

#[test]
fn destructive_and_in_place_follow_nomad() {
    let cases = [
        ("/TaskGroups/0/Tasks/0/Driver", serde_json::json!("exec"), true),
        (
            "/TaskGroups/0/Tasks/0/Config/image",
            serde_json::json!("a:2"),
            true,
        ),
        ("/TaskGroups/0/Count", serde_json::json!(3), false),
        ("/TaskGroups/0/Tasks/0/KillTimeout", serde_json::json!(1), false),
        (
            "/TaskGroups/0/Tasks/0/Services/0/Name",
            serde_json::json!("api"),
            false,
        ),
        ("/Priority", serde_json::json!(70), false),
        ("/Datacenters", serde_json::json!(["dc2"]), true),
    ];
    for (ptr, v, destructive) in cases {
        let x = d(&changed(ptr, v));
        assert_eq!(x.r#type, DiffType::Edited, "{ptr}");
        assert_eq!(x.is_destructive(), destructive, "{ptr}: {x:#?}");
    }
}

#[test]
fn count_is_annotated_and_updates_counted() {
    let x = d(&changed("/TaskGroups/0/Count", serde_json::json!(5)));
    let g = &x.task_groups[0];
    assert_eq!(g.fields[0].annotations, Some(vec![FORCES_CREATE.to_string()]));
    assert_eq!(g.updates.get("create"), Some(&3));
    assert_eq!(g.updates.get("in-place update"), Some(&2));
}

#[test]
fn added_task_in_existing_group_forces_replacement() {
    let mut b = base();
    let extra = serde_json::json!({ "Name": "sidecar", "Driver": "docker" });
    b["TaskGroups"][0]["Tasks"]
        .as_array_mut()
        .expect("tasks")
        .push(extra);
    let x = d(&job(b));
    let t = x.task_groups[0]
        .tasks
        .iter()
        .find(|t| t.name == "sidecar")
        .expect("sidecar");
    assert_eq!(t.r#type, DiffType::Added);
    assert_eq!(t.annotations, [FORCES_CREATE_DESTROY]);
}

#[test]
fn sensitive_paths_are_masked() {
    let mut sens = SensitivePaths::new();
    sens.insert("TaskGroups[0].Tasks[0].Config.image".into());
    let x = diff(
        Some(&job(base())),
        Some(&changed(
            "/TaskGroups/0/Tasks/0/Config/image",
            serde_json::json!("b:9"),
        )),
        &sens,
    );
    let f = &x.task_groups[0].tasks[0].objects[0].fields[0];
    assert!(f.sensitive);
    assert_eq!((f.old.as_str(), f.new.as_str()), ("(sensitive)", "(sensitive)"));
}

#[test]
fn added_and_deleted_jobs() {
    let j = job(base());
    assert_eq!(
        diff(None, Some(&j), &SensitivePaths::new()).r#type,
        DiffType::Added
    );
    let del = diff(Some(&j), None, &SensitivePaths::new());
    assert_eq!(del.r#type, DiffType::Deleted);
    assert_eq!(del.task_groups[0].updates.get("destroy"), Some(&2));
}

#[test]
fn a_one_sided_job_diffs_as_its_whole_json_would() {
    // Two groups (one without a count, which means 1), one of them with two tasks, and a
    // sensitive path: the outline must give exactly the diff of the full JSON walk.
    let j = job(serde_json::json!({
        "ID": "j", "Datacenters": ["dc1"], "Meta": { "team": "a" },
        "TaskGroups": [
            { "Name": "g", "Count": 3, "Tasks": [{ "Name": "t", "Env": { "TOKEN": "x" } }, { "Name": "u" }] },
            { "Name": "h", "Tasks": [{ "Name": "v", "Driver": "exec" }] }
        ]
    }));
    let sensitive: SensitivePaths = ["TaskGroups[0].Tasks[0].Env.TOKEN".to_string()].into();
    let full = serde_json::to_value(rules::without_server_fields(&j)).expect("json");
    let walker = Walker::new(&sensitive);
    let added = diff(None, Some(&j), &sensitive);
    assert_eq!(added, walker.job("j".into(), None, Some(&full)));
    assert_eq!(added.task_groups.len(), 2);
    assert_eq!(added.task_groups[1].updates.get("create"), Some(&1));
    let deleted = diff(Some(&j), None, &sensitive);
    assert_eq!(deleted, walker.job("j".into(), Some(&full), None));
    assert_eq!(deleted.task_groups[0].tasks.len(), 2);
    assert_eq!(deleted.task_groups[0].updates.get("destroy"), Some(&3));
}
