//! State files: round trips, refusals, atomic never-overwriting writes, the lock, age sealing.

use std::time::Duration;

use super::*;
use crate::spec::Job;
use crate::stack::JobAddress;

fn rev(serial: u64) -> Revision {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let spec: Job = serde_json::from_value(serde_json::json!({
        "ID": "api", "TaskGroups": [{ "Name": "g", "Tasks": [{ "Name": "t", "Env": { "TOKEN": "hunter2" } }] }]
    }))
    .expect("job");
    Revision {
        format_version: STATE_FORMAT_VERSION,
        lineage: "lin".into(),
        serial,
        created_at: at,
        stack: "s".into(),
        jobs: vec![JobRecord {
            address: JobAddress::root("api"),
            spec,
            sensitive_paths: vec![],
            encrypted: Default::default(),
            job_version: Some(3),
            job_modify_index: Some(42),
            gate: Some(GateResult {
                gate: crate::stack::Gate::Healthy,
                passed: true,
                detail: "1/1 healthy".into(),
            }),
            applied_at: at,
        }],
        variables: vec![],
        outputs: vec![],
        nomad_variables: vec![],
    }
}

#[test]
fn revisions_round_trip_and_are_never_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = StateStore::new(dir.path().join("s"));
    assert_eq!(store.latest().expect("empty"), None);
    store.write(&rev(1)).expect("write 1");
    store.write(&rev(2)).expect("write 2");
    assert_eq!(store.serials().expect("serials"), [1, 2]);
    assert_eq!(store.latest().expect("latest"), Some(rev(2)));
    let before = std::fs::read(dir.path().join("s/rev-000002.json")).expect("bytes");
    assert!(matches!(store.write(&rev(2)), Err(StateError::Exists { .. })));
    let mut other = rev(3);
    other.lineage = "other".into();
    assert!(matches!(
        store.write(&other),
        Err(StateError::LineageMismatch { .. })
    ));
    assert_eq!(
        before,
        std::fs::read(dir.path().join("s/rev-000002.json")).expect("bytes")
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("s"))
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn revisions_are_written_compact_and_pretty_files_still_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = StateStore::new(dir.path().join("s"));
    store.write(&rev(1)).expect("write 1");
    let written = std::fs::read(dir.path().join("s/rev-000001.json")).expect("bytes");
    // One line of JSON and its newline: no indentation.
    assert_eq!(written.iter().filter(|b| **b == b'\n').count(), 1);
    assert!(!written.windows(2).any(|w| w == b"  "));
    // A file as earlier builds wrote it (indented) reads as the same revision.
    let pretty = rev(2).to_pretty();
    assert!(pretty.lines().count() > 10);
    std::fs::write(dir.path().join("s/rev-000002.json"), &pretty).expect("pretty file");
    assert_eq!(store.read(2).expect("pretty revision"), rev(2));
}

#[test]
fn newer_and_corrupt_files_are_refused() {
    let p = std::path::Path::new("rev-000001.json");
    let newer = br#"{"format_version": 7, "anything": "else"}"#;
    assert!(matches!(
        Revision::from_bytes(p, newer),
        Err(StateError::NewerFormat { found: 7, .. })
    ));
    for bad in [
        &b"{"[..],
        b"[]",
        br#"{"lineage":"x"}"#,
        br#"{"format_version":1,"serial":1}"#,
    ] {
        assert!(
            matches!(Revision::from_bytes(p, bad), Err(StateError::Corrupt { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn a_second_lock_waits_then_names_the_holder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let held = StateLock::acquire(
        dir.path(),
        &LockHolder {
            command: "deploy apply".into(),
        },
        Duration::ZERO,
    )
    .expect("first");
    let err = StateLock::acquire(
        dir.path(),
        &LockHolder {
            command: "deploy plan".into(),
        },
        Duration::from_millis(120),
    )
    .expect_err("held");
    let msg = err.to_string();
    assert!(
        msg.contains("deploy apply") && msg.contains(&std::process::id().to_string()),
        "{msg}"
    );
    drop(held);
    StateLock::acquire(
        dir.path(),
        &LockHolder {
            command: "deploy plan".into(),
        },
        Duration::ZERO,
    )
    .expect("freed");
}

#[test]
fn sensitive_values_are_sealed_and_opened_with_age() {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let secret = {
        use age::secrecy::ExposeSecret;
        identity.to_string().expose_secret().to_string()
    };
    let sealer = Sealer::from_settings(&[], Some(&recipient)).expect("sealer");
    let job = rev(1).jobs[0].spec.clone();
    let path = "TaskGroups[0].Tasks[0].Env.TOKEN".to_string();
    let (sealed_job, ciphertexts) = seal_job(&job, std::slice::from_ref(&path), &sealer).expect("seal");
    let text = serde_json::to_string(&sealed_job).expect("json") + &format!("{ciphertexts:?}");
    assert!(!text.contains("hunter2"));
    assert!(ciphertexts[&path].starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    let opened = open_job(
        &sealed_job,
        &ciphertexts,
        &Opener::from_env_value(&secret).expect("opener"),
    )
    .expect("open");
    assert_eq!(opened, job);
    let no_one = Sealer::from_settings(&[], None).expect("sealer");
    assert!(seal_job(&job, &[path], &no_one).is_err());
}

fn holder(command: &str) -> LockHolder {
    LockHolder {
        command: command.into(),
    }
}

#[test]
fn state_rm_and_mv_write_a_new_revision_and_keep_the_old_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = StateStore::new(dir.path());
    let first = rev(1);
    store.write(&first).expect("write");
    let to = parse_address("module.api.job.api").expect("address");
    let moved = edit_state(
        &StateStore::new(dir.path()),
        &StateEdit::Move {
            from: JobAddress::root("api"),
            to: to.clone(),
        },
        &holder("deploy state mv"),
    )
    .expect("mv");
    assert_eq!((moved.serial, moved.lineage.as_str()), (2, "lin"));
    assert_eq!(moved.jobs[0].address, to);
    assert_eq!(moved.jobs[0].spec, first.jobs[0].spec);
    let removed = edit_state(
        &StateStore::new(dir.path()),
        &StateEdit::Remove(to),
        &holder("deploy state rm"),
    )
    .expect("rm");
    assert_eq!((removed.serial, removed.jobs.len()), (3, 0));
    assert_eq!(store.read(1).expect("rev 1"), first, "revision 1 is never edited");
    assert_eq!(store.read(2).expect("rev 2"), moved);
    assert_eq!(store.serials().expect("serials"), [1, 2, 3]);
}

#[test]
fn state_edits_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let none = edit_state(
        &StateStore::new(dir.path()),
        &StateEdit::Remove(JobAddress::root("api")),
        &holder("rm"),
    );
    assert!(matches!(none, Err(StateEditError::NoState { .. })), "{none:?}");
    StateStore::new(dir.path()).write(&rev(1)).expect("write");
    let missing = edited(
        &rev(1),
        &StateEdit::Remove(JobAddress::root("web")),
        chrono::Utc::now(),
    );
    assert!(
        missing
            .expect_err("missing")
            .to_string()
            .contains("job.web is not in the latest revision (1)")
    );
    let other_id = StateEdit::Move {
        from: JobAddress::root("api"),
        to: parse_address("module.m.job.web").expect("address"),
    };
    let msg = edited(&rev(1), &other_id, chrono::Utc::now())
        .expect_err("id")
        .to_string();
    assert!(msg.contains("use `module.m.job.api`"), "{msg}");
    let onto_itself = StateEdit::Move {
        from: JobAddress::root("api"),
        to: JobAddress::root("api"),
    };
    assert!(matches!(
        edited(&rev(1), &onto_itself, chrono::Utc::now()),
        Err(StateEditError::Taken { .. })
    ));
    for bad in ["", "job.", "module.job.a", "jobs.a", "module.m.x.job.a", "a b"] {
        assert!(parse_address(bad).is_err(), "{bad:?} accepted");
    }
    assert_eq!(parse_address("web").expect("bare id"), JobAddress::root("web"));
}

#[test]
fn state_edits_are_refused_while_the_lock_is_held() {
    let dir = tempfile::tempdir().expect("tempdir");
    StateStore::new(dir.path()).write(&rev(1)).expect("write");
    let held = StateLock::acquire(dir.path(), &holder("deploy apply"), Duration::ZERO).expect("lock");
    let err = edit_state(
        &StateStore::new(dir.path()),
        &StateEdit::Remove(JobAddress::root("api")),
        &holder("rm"),
    )
    .expect_err("locked");
    assert!(err.to_string().contains("deploy apply"), "{err}");
    drop(held);
    assert_eq!(StateStore::new(dir.path()).serials().expect("serials"), [1]);
}

#[test]
fn cluster_prefixes_stay_beneath_their_own_keys() {
    assert_eq!(default_prefix("web"), "deploy/stacks/web");
    assert!(check_prefix("deploy/stacks/web").is_ok());
    assert!(check_prefix("teams/ops-1/web_2.x").is_ok());
    for bad in [
        "",
        "/abs",
        "a//b",
        "a/../b",
        "..",
        "a/./b",
        "a b",
        "a/b/",
        "a?b",
        &"x".repeat(300),
    ] {
        let err = check_prefix(bad).expect_err(bad);
        assert!(err.contains("is not valid"), "{err}");
    }
}
