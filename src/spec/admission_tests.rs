//! One case per admission rule of Nomad's `jobImplicitConstraints`, and the inverse.

use serde_json::{Value, json};

use super::{admit, implicit_constraints, without_admission};
use crate::spec::{Constraint, Job, canonicalize};

fn job(group: Value) -> Job {
    serde_json::from_value(json!({"ID": "j", "Name": "j", "TaskGroups": [group]})).expect("a job")
}

fn c(l: &str, op: &str, r: &str) -> Constraint {
    Constraint {
        l_target: l.into(),
        r_target: r.into(),
        operand: op.into(),
    }
}

fn task(extra: Value) -> Value {
    let mut t = json!({"Name": "t", "Driver": "raw_exec"});
    if let (Some(t), Value::Object(e)) = (t.as_object_mut(), extra) {
        t.extend(e);
    }
    t
}

#[test]
fn each_rule_adds_its_constraint() {
    let cases: Vec<(&str, Value, Vec<Constraint>)> = vec![
        (
            "nothing used",
            json!({"Name": "g", "Tasks": [task(json!({}))]}),
            vec![],
        ),
        (
            "vault block",
            json!({"Name": "g", "Tasks": [task(json!({"Vault": {"Policies": ["p"]}}))]}),
            vec![c("${attr.vault.version}", "semver", ">= 0.6.1")],
        ),
        (
            "vault block in a named cluster",
            json!({"Name": "g", "Tasks": [task(json!({"Vault": {"Cluster": "infra"}}))]}),
            vec![c("${attr.vault.infra.version}", "semver", ">= 0.6.1")],
        ),
        (
            "kill_signal and a template change_signal, sorted and once",
            json!({"Name": "g", "Tasks": [task(json!({
                "KillSignal": "SIGTERM",
                "Templates": [
                    {"ChangeMode": "signal", "ChangeSignal": "SIGHUP"},
                    {"ChangeMode": "signal", "ChangeSignal": "SIGTERM"},
                    {"ChangeMode": "restart", "ChangeSignal": "SIGUSR1"}
                ]
            }))]}),
            vec![c("${attr.os.signals}", "set_contains", "SIGHUP,SIGTERM")],
        ),
        (
            "vault change_signal",
            json!({"Name": "g", "Tasks": [task(json!({
                "Vault": {"ChangeMode": "signal", "ChangeSignal": "SIGUSR1"}
            }))]}),
            vec![
                c("${attr.vault.version}", "semver", ">= 0.6.1"),
                c("${attr.os.signals}", "set_contains", "SIGUSR1"),
            ],
        ),
        (
            "nomad service",
            json!({"Name": "g", "Services": [{"Name": "web", "Provider": "nomad"}],
                   "Tasks": [task(json!({}))]}),
            vec![c("${attr.nomad.service_discovery}", "=", "true")],
        ),
        (
            "nomad service with a check, in a task",
            json!({"Name": "g", "Tasks": [task(json!({"Services": [{
                "Name": "web", "Provider": "nomad",
                "Checks": [{"Name": "alive", "Type": "tcp", "Interval": 10_000_000_000_i64, "Timeout": 2_000_000_000_i64}]
            }]}))]}),
            vec![
                c("${attr.nomad.service_discovery}", "=", "true"),
                c("${attr.nomad.version}", "semver", ">= 1.4.0"),
            ],
        ),
        (
            "consul service (the default provider)",
            json!({"Name": "g", "Services": [{"Name": "web"}, {"Name": "api", "Provider": "consul"}],
                   "Tasks": [task(json!({}))]}),
            vec![c("${attr.consul.version}", "semver", ">= 1.8.0")],
        ),
        (
            "a named workload identity",
            json!({"Name": "g", "Tasks": [task(json!({"Identities": [{"Name": "aws", "Audience": ["sts"]}]}))]}),
            vec![c("${attr.nomad.version}", "semver", ">= 1.7.0-a")],
        ),
    ];
    for (name, group, want) in cases {
        let tg = &job(group).task_groups.unwrap_or_default()[0];
        assert_eq!(implicit_constraints(tg), want, "{name}");
        let admitted = admit(job(serde_json::to_value(tg).expect("json")));
        let got = admitted.task_groups.unwrap_or_default()[0].constraints.clone();
        assert_eq!(got.unwrap_or_default(), want, "{name}: admit");
    }
}

#[test]
fn a_constraint_already_written_is_not_added_twice() {
    let written = job(json!({
        "Name": "g",
        "Constraints": [{"LTarget": "${attr.nomad.service_discovery}", "RTarget": "true", "Operand": "="}],
        "Services": [{"Name": "web", "Provider": "nomad"}],
        "Tasks": [task(json!({"KillSignal": "SIGINT"}))]
    }));
    let admitted = admit(written.clone());
    let got = admitted.task_groups.unwrap_or_default()[0]
        .constraints
        .clone()
        .unwrap_or_default();
    assert_eq!(
        got,
        vec![
            c("${attr.nomad.service_discovery}", "=", "true"),
            c("${attr.os.signals}", "set_contains", "SIGINT"),
        ]
    );
}

#[test]
fn without_admission_gives_back_what_was_written() {
    let written = canonicalize(&job(json!({
        "Name": "g",
        "Constraints": [{"LTarget": "${attr.os.signals}", "RTarget": "SIGINT", "Operand": "set_contains"}],
        "Services": [{"Name": "web", "Provider": "nomad"}],
        "Tasks": [task(json!({"KillSignal": "SIGINT", "Vault": {"Policies": ["p"]}}))]
    })));
    let live = admit(written.clone());
    assert_ne!(live, written);
    assert_eq!(without_admission(live.clone(), &written), written);
    // A constraint added by hand on the live job is drift, and stays.
    let mut edited = live;
    let groups = edited.task_groups.as_mut().expect("groups");
    let extra = c("${attr.kernel.name}", "=", "linux");
    groups[0]
        .constraints
        .get_or_insert_with(Vec::new)
        .push(extra.clone());
    let back = without_admission(edited, &written);
    let cs = back.task_groups.unwrap_or_default()[0]
        .constraints
        .clone()
        .unwrap_or_default();
    assert!(cs.contains(&extra), "{cs:?}");
    // A group with nothing implicit is left as it is.
    let plain = canonicalize(&job(json!({"Name": "g", "Tasks": [task(json!({}))]})));
    assert_eq!(without_admission(admit(plain.clone()), &plain), plain);
}
