//! Apply is deterministic, check-and-set conflicts are results, versions are pruned, and
//! leases expire only by command.

use serde_json::json;

use super::*;
use crate::cluster::keyring::{Sealed, WrappedKey};

fn register(id: &str, image: &str, enforce: Option<u64>) -> Command {
    Command::JobRegister(Box::new(JobRegister {
        job: serde_json::from_value(json!({
            "ID": id, "Name": id, "Type": "service",
            "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "docker", "Config": {"image": image}}]}],
        }))
        .unwrap(),
        submission: Some(serde_json::from_value(json!({"Source": format!("job \"{id}\" {{}}"), "Format": "hcl2"})).unwrap()),
        enforce_index: enforce,
        eval: Some(Evaluation {
            id: format!("eval-{id}-{image}"),
            namespace: "default".into(),
            ..Default::default()
        }),
        submit_time: 1_700_000_000_000_000_000,
    }))
}

fn run(cmds: &[Command]) -> (State, Vec<CommandResponse>) {
    let mut state = State::default();
    let out = cmds
        .iter()
        .enumerate()
        .map(|(i, c)| state.apply(i as u64 + 1, c.clone()))
        .collect();
    (state, out)
}

#[test]
fn apply_is_deterministic() {
    let cmds = vec![
        register("web", "nginx:1", None),
        Command::VarPut {
            var: SealedVariable {
                namespace: "default".into(),
                path: "a/b".into(),
                ..Default::default()
            },
            cas: None,
            now: 5,
        },
        register("web", "nginx:2", None),
        Command::LeaseGrant {
            id: "l1".into(),
            ttl_millis: 10,
            expires_at_millis: 100,
        },
        Command::KvPut {
            key: "k".into(),
            value: "v".into(),
            cas: None,
            lease: Some("l1".into()),
        },
    ];
    let (a, ra) = run(&cmds);
    let (b, rb) = run(&cmds);
    assert_eq!(a, b);
    assert_eq!(ra, rb);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let restored: State = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(restored, a);
}

#[test]
fn register_sets_indexes_and_versions() {
    let (state, out) = run(&[
        register("web", "a", None),
        register("web", "a", None),
        register("web", "b", None),
    ]);
    assert_eq!(
        out[0].outcome,
        Outcome::JobWritten {
            job_modify_index: 1,
            eval_id: "eval-web-a".into(),
            eval_create_index: 1
        }
    );
    // An unchanged spec keeps its version and JobModifyIndex but still gets an evaluation.
    assert!(matches!(
        &out[1].outcome,
        Outcome::JobWritten {
            job_modify_index: 1,
            eval_create_index: 2,
            ..
        }
    ));
    let rec = state.job("default", "web").unwrap();
    assert_eq!(rec.count(), 2);
    let cur = rec.current();
    assert_eq!(cur.version, Some(1));
    assert_eq!(cur.create_index, Some(1));
    assert_eq!(cur.modify_index, Some(3));
    assert_eq!(cur.job_modify_index, Some(3));
    assert_eq!(state.evals["eval-web-b"].job_modify_index, 3);
    assert!(rec.version(0).unwrap().submission.is_some());
}

#[test]
fn enforce_index_conflicts_are_results() {
    let (_, out) = run(&[
        register("web", "a", Some(0)),
        register("web", "b", Some(0)),
        register("web", "b", Some(7)),
        register("web", "b", Some(1)),
        register("api", "b", Some(3)),
    ]);
    assert!(matches!(out[0].outcome, Outcome::JobWritten { .. }));
    let msg = |o: &Outcome| match o {
        Outcome::JobIndexConflict { message } => message.clone(),
        other => panic!("expected conflict, got {other:?}"),
    };
    assert_eq!(
        msg(&out[1].outcome),
        "Enforcing job modify index 0: job already exists"
    );
    assert_eq!(
        msg(&out[2].outcome),
        "Enforcing job modify index 7: job exists with conflicting job modify index: 1"
    );
    assert!(matches!(
        out[3].outcome,
        Outcome::JobWritten {
            job_modify_index: 4,
            ..
        }
    ));
    assert_eq!(
        msg(&out[4].outcome),
        "Enforcing job modify index 3: job does not exist"
    );
}

#[test]
fn versions_are_pruned_to_ten() {
    let cmds: Vec<_> = (0..15)
        .map(|i| register("web", &format!("img:{i}"), None))
        .collect();
    let (state, _) = run(&cmds);
    let rec = state.job("default", "web").unwrap();
    assert_eq!(rec.count(), job::MAX_VERSIONS);
    assert_eq!(rec.current().version, Some(14));
    assert!(rec.version(5).is_some());
    assert!(rec.version(4).is_none());
}

#[test]
fn deregister_stops_then_purges() {
    let dereg = |purge| {
        Command::JobDeregister(Box::new(JobDeregister {
            namespace: "default".into(),
            id: "web".into(),
            purge,
            eval: None,
            submit_time: 9,
        }))
    };
    let (state, out) = run(&[register("web", "a", None), dereg(false)]);
    assert_eq!(state.job("default", "web").unwrap().current().stop, Some(true));
    assert_eq!(state.job("default", "web").unwrap().current().version, Some(1));
    assert!(matches!(
        out[1].outcome,
        Outcome::JobWritten {
            job_modify_index: 2,
            ..
        }
    ));
    let (state, out) = run(&[register("web", "a", None), dereg(true), dereg(true)]);
    assert!(state.job("default", "web").is_none());
    assert!(matches!(out[2].outcome, Outcome::NotFound { .. }));
}

#[test]
fn variable_check_and_set() {
    // The FSM never opens items: a marker in place of the ciphertext shows which write is kept.
    let put = |marker: &str, cas| Command::VarPut {
        var: SealedVariable {
            namespace: "default".into(),
            path: "app/db".into(),
            items: Sealed {
                key_id: "k1".into(),
                nonce: "n".into(),
                ciphertext: marker.into(),
            },
            ..Default::default()
        },
        cas,
        now: 42,
    };
    let (state, out) = run(&[
        put("a", Some(0)),
        put("b", Some(0)),
        put("c", Some(1)),
        put("d", Some(1)),
        Command::VarDelete {
            namespace: "default".into(),
            path: "app/db".into(),
            cas: Some(1),
        },
    ]);
    assert!(matches!(&out[0].outcome, Outcome::Variable(v) if v.create_index == 1 && v.modify_index == 1));
    assert!(
        matches!(&out[1].outcome, Outcome::VariableConflict { current: Some(v) } if v.items.ciphertext == "a")
    );
    assert!(matches!(&out[2].outcome, Outcome::Variable(v) if v.create_index == 1 && v.modify_index == 3));
    assert!(matches!(&out[3].outcome, Outcome::VariableConflict { current: Some(v) } if v.modify_index == 3));
    assert!(matches!(&out[4].outcome, Outcome::VariableConflict { .. }));
    assert_eq!(state.variable("default", "app/db").unwrap().items.ciphertext, "c");
    assert_eq!(state.table_index("vars"), 3);
}

/// A variable at `default/app/lock` with `marker` as its ciphertext, claiming lock `id`.
fn locked_var(marker: &str, lock: Option<VariableLock>) -> SealedVariable {
    let lock = lock.map(Box::new);
    SealedVariable {
        namespace: "default".into(),
        path: "app/lock".into(),
        items: Sealed {
            key_id: "k1".into(),
            nonce: "n".into(),
            ciphertext: marker.into(),
        },
        lock,
        ..Default::default()
    }
}

fn lock(id: &str, expires_at_millis: i64) -> VariableLock {
    VariableLock {
        id: id.into(),
        ttl_millis: 10_000,
        delay_millis: 1_000,
        expires_at_millis,
    }
}

fn renew(id: &str, expires_at_millis: i64, now_millis: i64) -> Command {
    Command::VarLockRenew {
        namespace: "default".into(),
        path: "app/lock".into(),
        id: id.into(),
        expires_at_millis,
        now_millis,
    }
}

#[test]
fn a_variable_lock_excludes_others_until_released_or_expired() {
    let acquire = |marker: &str, id: &str, keep_items| Command::VarLockAcquire {
        var: locked_var(marker, Some(lock(id, 20_000))),
        keep_items,
        now: 1,
    };
    let put = |marker: &str, claim: Option<&str>| Command::VarPut {
        var: locked_var(marker, claim.map(|id| lock(id, 0))),
        cas: None,
        now: 2,
    };
    let (mut state, out) = run(&[
        acquire("holder", "L1", false),
        acquire("other", "L2", false),
        put("intruder", None),
        put("intruder", Some("L2")),
        put("holders-write", Some("L1")),
        Command::VarDelete {
            namespace: "default".into(),
            path: "app/lock".into(),
            cas: None,
        },
        renew("L2", 30_000, 10_000),
        renew("L1", 30_000, 10_000),
    ]);
    assert!(matches!(&out[0].outcome, Outcome::Variable(v) if v.lock.as_ref().is_some_and(|l| l.id == "L1")));
    for (i, what) in [
        (1, "a second acquire"),
        (2, "a write without the ID"),
        (3, "a write with another ID"),
        (5, "a delete"),
    ] {
        assert!(
            matches!(&out[i].outcome, Outcome::VariableConflict { current: Some(v) } if v.lock.as_ref().is_some_and(|l| l.id == "L1")),
            "{what}: {:?}",
            out[i].outcome
        );
    }
    // The holder writes; the lock stays with the variable.
    let written = state.variable("default", "app/lock").unwrap();
    assert_eq!(written.items.ciphertext, "holders-write");
    assert_eq!(written.modify_index, 5);
    assert!(matches!(&out[6].outcome, Outcome::Refused { message } if message == variable::LOCKED));
    // A renewal moves the holder's time, not the variable's indexes.
    assert!(matches!(&out[7].outcome, Outcome::Variable(v) if v.modify_index == 5));
    assert_eq!(
        state
            .variable("default", "app/lock")
            .unwrap()
            .lock
            .as_ref()
            .unwrap()
            .expires_at_millis,
        30_000
    );

    // Past the holder's time, renewals are refused, but the lock stays for its delay.
    assert!(matches!(
        state.apply(9, renew("L1", 50_000, 30_000)).outcome,
        Outcome::Refused { .. }
    ));
    assert!(state.expired_variable_locks(30_500).is_empty());
    let expired = state.expired_variable_locks(31_000);
    assert_eq!(expired.len(), 1);
    // A clock reading before the delay ran out frees nothing; one after it frees the lock.
    state.apply(
        10,
        Command::VarLockExpire {
            locks: expired.clone(),
            now_millis: 30_999,
        },
    );
    assert!(state.variable("default", "app/lock").unwrap().lock.is_some());
    state.apply(
        11,
        Command::VarLockExpire {
            locks: expired,
            now_millis: 31_000,
        },
    );
    let freed = state.variable("default", "app/lock").unwrap();
    assert!(freed.lock.is_none());
    assert_eq!(freed.items.ciphertext, "holders-write", "the items stay");
    // Free again: a new holder takes it, keeping the items when it brings none.
    let out = state.apply(12, acquire("ignored", "L3", true));
    assert!(matches!(&out.outcome, Outcome::Variable(v) if v.items.ciphertext == "holders-write"));
}

#[test]
fn releasing_needs_the_holders_id() {
    let release = |id: &str| Command::VarLockRelease {
        namespace: "default".into(),
        path: "app/lock".into(),
        id: id.into(),
        now: 3,
    };
    let (state, out) = run(&[
        release("L1"),
        Command::VarLockAcquire {
            var: locked_var("x", Some(lock("L1", 20_000))),
            keep_items: false,
            now: 1,
        },
        release("L2"),
        release("L1"),
        release("L1"),
    ]);
    assert!(matches!(&out[0].outcome, Outcome::NotFound { message } if message == variable::NO_VARIABLE));
    assert!(matches!(&out[2].outcome, Outcome::Refused { message } if message == variable::LOCKED));
    assert!(matches!(&out[3].outcome, Outcome::Variable(v) if v.lock.is_none() && v.modify_index == 4));
    assert!(matches!(&out[4].outcome, Outcome::Refused { message } if message == variable::NO_LOCK));
    assert!(
        state.variable("default", "app/lock").is_some(),
        "a release keeps the variable"
    );
}

#[test]
fn kv_check_and_set_and_lease_expiry() {
    let (mut state, out) = run(&[
        Command::LeaseGrant {
            id: "l".into(),
            ttl_millis: 1000,
            expires_at_millis: 2000,
        },
        Command::KvPut {
            key: "stack/lock".into(),
            value: "me".into(),
            cas: Some(0),
            lease: Some("l".into()),
        },
        Command::KvPut {
            key: "stack/lock".into(),
            value: "you".into(),
            cas: Some(0),
            lease: None,
        },
        Command::KvPut {
            key: "stack/rev".into(),
            value: "1".into(),
            cas: None,
            lease: None,
        },
        Command::KvPut {
            key: "x".into(),
            value: "1".into(),
            cas: None,
            lease: Some("nope".into()),
        },
    ]);
    assert!(matches!(&out[2].outcome, Outcome::KvConflict { current: Some(e) } if e.value == "me"));
    assert!(matches!(&out[4].outcome, Outcome::NotFound { .. }));
    assert!(state.expired_leases(1999).is_empty());
    assert_eq!(state.expired_leases(2000), vec!["l".to_string()]);
    // A renewal that lands before the expire command wins: the lease is not expired at 2500.
    state.apply(
        6,
        Command::LeaseRenew {
            id: "l".into(),
            expires_at_millis: 3000,
        },
    );
    state.apply(
        7,
        Command::LeaseExpire {
            ids: vec!["l".into()],
            now_millis: 2500,
        },
    );
    assert!(state.kv_get("stack/lock").is_some());
    state.apply(
        8,
        Command::LeaseExpire {
            ids: vec!["l".into()],
            now_millis: 3000,
        },
    );
    assert!(state.kv_get("stack/lock").is_none());
    assert!(state.lease("l").is_none());
    assert_eq!(state.kv_list("stack/").count(), 1);
}

#[test]
fn node_registration_computes_the_class() {
    let node = |id: &str, ip: &str, rack: &str, bogus_class: &str| {
        let mut n = crate::api::Node {
            id: id.into(),
            datacenter: "dc1".into(),
            computed_class: bogus_class.into(),
            ..Default::default()
        };
        n.attributes.insert("kernel.name".into(), "linux".into());
        n.attributes.insert("unique.network.ip-address".into(), ip.into());
        n.meta.insert("rack".into(), rack.into());
        Command::NodeUpsert { node: Box::new(n) }
    };
    let (mut state, _) = run(&[
        node("a", "10.0.0.1", "r1", "v1:1"),
        node("b", "10.0.0.2", "r1", ""),
    ]);
    let before = state.nodes["a"].computed_class.clone();
    // Unique attributes are left out, and what the client sent is replaced.
    assert!(before.starts_with("v1:"), "{before}");
    assert_ne!(before, "v1:1");
    assert_eq!(before, state.nodes["b"].computed_class);
    // Re-registering with other meta gives another class.
    state.apply(3, node("a", "10.0.0.1", "r2", ""));
    assert_ne!(state.nodes["a"].computed_class, before);
    assert_eq!(state.nodes["a"].computed_class, state.nodes["a"].class_of());
}

#[test]
fn acl_bootstrap_keeps_only_the_secret_hash() {
    let token = AclToken {
        accessor_id: "acc".into(),
        secret_id: "leaked-if-kept".into(),
        ..Default::default()
    };
    let (state, out) = run(&[Command::AclBootstrap {
        token: Box::new(token),
        secret_hash: secret_hash("s3cret"),
        reset_index: 0,
    }]);
    assert!(matches!(&out[0].outcome, Outcome::AclToken(t) if t.secret_id.is_empty()));
    assert_eq!(state.acl_token("s3cret").unwrap().accessor_id, "acc");
    assert!(state.acl_token(&secret_hash("s3cret")).is_none());
    assert!(state.acl_token("leaked-if-kept").is_none());
    let json = serde_json::to_string(&state).unwrap();
    assert!(!json.contains("s3cret") && !json.contains("leaked-if-kept"));
}

#[test]
fn first_root_key_is_added_once_and_rotation_replaces_the_active_key() {
    let key = |id: &str| WrappedKey {
        key_id: id.into(),
        ..Default::default()
    };
    let add = |id: &str, only_if_none| Command::KeyringAdd {
        key: Box::new(key(id)),
        only_if_none,
    };
    let (state, _) = run(&[add("k1", true), add("k2", true), add("k3", false)]);
    assert_eq!(state.keyring.active, "k3");
    assert!(state.keyring.get("k1").is_some());
    assert!(state.keyring.get("k2").is_none());
    assert_eq!(state.keyring.metadata().len(), 2);
    assert_eq!(state.table_index("keyring"), 3);
}

#[test]
fn a_batch_applies_its_writes_in_order_at_one_index_with_one_outcome_each() {
    let batch = Command::Batch(vec![
        register("web", "nginx:1", None),
        register("web", "nginx:2", Some(999)),
        Command::KvDelete {
            key: "missing".into(),
            cas: None,
        },
        register("api", "nginx:1", None),
    ]);
    let (state, out) = run(&[batch]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].index, 1);
    let Outcome::Batch(outcomes) = &out[0].outcome else {
        panic!("a batch answers with one outcome per write: {:?}", out[0].outcome);
    };
    assert_eq!(outcomes.len(), 4);
    assert!(matches!(
        outcomes[0],
        Outcome::JobWritten {
            job_modify_index: 1,
            ..
        }
    ));
    assert!(
        matches!(outcomes[1], Outcome::JobIndexConflict { .. }),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(outcomes[2], Outcome::Done);
    assert!(matches!(
        outcomes[3],
        Outcome::JobWritten {
            job_modify_index: 1,
            ..
        }
    ));
    assert_eq!(state.index, 1);
    assert_eq!(state.jobs["default"].len(), 2);

    // The same writes one entry each end in the same state, but for the indexes.
    let (one_by_one, _) = run(&[
        register("web", "nginx:1", None),
        register("web", "nginx:2", Some(999)),
        register("api", "nginx:1", None),
    ]);
    let keys = |s: &State| s.jobs["default"].keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&state), keys(&one_by_one));
}

fn request(id: &str, cmd: Command) -> Command {
    Command::Request(Box::new(ClientRequest {
        id: id.into(),
        at_millis: 1_000,
        cmd,
    }))
}

#[test]
fn a_request_proposed_twice_applies_once_and_answers_with_its_first_outcome() {
    let kv = Command::KvPut {
        key: "k".into(),
        value: "v".into(),
        cas: Some(0),
        lease: None,
    };
    let cmds = vec![
        request("r1", register("web", "nginx:1", None)),
        request("r1", register("web", "nginx:1", None)),
        request("r2", kv.clone()),
        request("r2", kv.clone()),
    ];
    let (state, out) = run(&cmds);
    assert_eq!(out[1], out[0], "the duplicate answers with the first response");
    assert_eq!(out[3], out[2]);
    assert!(matches!(out[2].outcome, Outcome::Kv(_)), "{:?}", out[2]);
    assert_eq!(state.evals.len(), 1);
    assert_eq!(
        state.evals.get("eval-web-nginx:1").unwrap().create_index,
        1,
        "created once"
    );
    assert_eq!(state.job("default", "web").unwrap().count(), 1);
    assert_eq!(state.kv["k"].modify_index, 3);
    assert_eq!(state.index, 4, "the duplicate's index is still applied");
    assert_eq!(state.requests.len(), 2);
}

#[test]
fn the_same_write_without_a_request_id_applies_again() {
    // What the table prevents: a re-proposed cas=0 create conflicts with itself, and a
    // re-proposed register creates its evaluation again (pending anew, at the later index).
    let kv = Command::KvPut {
        key: "k".into(),
        value: "v".into(),
        cas: Some(0),
        lease: None,
    };
    let (state, out) = run(&[
        register("web", "nginx:1", None),
        register("web", "nginx:1", None),
        kv.clone(),
        kv,
    ]);
    assert_eq!(state.evals.get("eval-web-nginx:1").unwrap().create_index, 2);
    assert!(matches!(out[3].outcome, Outcome::KvConflict { .. }));
}

#[test]
fn applied_requests_survive_a_snapshot() {
    let (state, _) = run(&[request("r1", register("web", "nginx:1", None))]);
    let mut back: State = serde_json::from_slice(&serde_json::to_vec(&state).unwrap()).unwrap();
    assert_eq!(back, state);
    let again = back.apply(2, request("r1", register("web", "nginx:1", None)));
    assert_eq!(again.index, 1, "answered from the restored table");
    assert_eq!(back.evals.len(), 1);
}
