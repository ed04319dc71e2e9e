//! The rule language: Nomad's documented examples parse and grant what they say; mistakes are
//! reported at line:col (HCL) or key path (JSON).

use super::capability::Level;
use super::need::Need;
use super::policy::parse;
use super::{Acl, Rules};

fn acl(texts: &[&str]) -> Acl {
    let rules: Vec<Rules> = texts.iter().map(|t| parse(t).expect("policy parses")).collect();
    Acl::from_rules(&rules)
}

const READ_JOB: Need = Need::Namespace(&["read-job"]);
const SUBMIT_JOB: Need = Need::Namespace(&["submit-job"]);

#[test]
fn the_variables_concept_example() {
    let text = r#"
namespace "dev" {
  policy       = "write"
  capabilities = ["alloc-node-exec"]

  variables {
    # full access to variables in all "project" paths
    path "project/*" {
      capabilities = ["write", "read", "destroy", "list"]
    }
    path "system/*" {
      capabilities = ["read"]
    }
  }
}
"#;
    let rules = parse(text).unwrap();
    let ns = &rules.namespaces[0];
    assert_eq!(ns.rule.name, "dev");
    assert!(ns.rule.capabilities.contains("submit-job"));
    assert!(ns.rule.capabilities.contains("alloc-node-exec"));
    assert!(ns.variables[1].capabilities.contains("list"), "read implies list");
    let a = Acl::from_rules([&rules]);
    assert!(a.allows(&Need::Variables("write"), "dev", "project/a/b"));
    assert!(a.allows(&Need::Variables("read"), "dev", "system/x"));
    assert!(!a.allows(&Need::Variables("write"), "dev", "system/x"));
    assert!(
        !a.allows(&Need::Variables("read"), "dev", "system"),
        "no trailing slash"
    );
    assert!(!a.allows(&Need::Variables("read"), "prod", "project/a"));
}

#[test]
fn coarse_policies_and_blocks() {
    let a = acl(&[r#"
namespace "default" { policy = "read" }
namespace "team-*" { policy = "write" }
node { policy = "read" }
agent { policy = "write" }
operator { policy = "read" }
quota { policy = "read" }
plugin { policy = "list" }
host_volume "ssd-*" { policy = "write" }
"#]);
    assert!(a.allows(&READ_JOB, "default", ""));
    assert!(a.allows(&Need::Namespace(&["list-jobs"]), "default", ""));
    assert!(!a.allows(&SUBMIT_JOB, "default", ""));
    assert!(a.allows(&SUBMIT_JOB, "team-a", ""));
    assert!(!a.allows(&READ_JOB, "other", ""));
    assert!(a.allows(&Need::Node(Level::Read), "", ""));
    assert!(!a.allows(&Need::Node(Level::Write), "", ""));
    assert!(a.allows(&Need::Agent(Level::Read), "", ""));
    assert!(!a.allows(&Need::Operator(Level::Write), "", ""));
    assert!(!a.allows(&Need::Management, "", ""));
}

#[test]
fn deny_wins_and_the_most_specific_glob_governs() {
    let a = acl(&[
        r#"namespace "*" { policy = "write" }"#,
        r#"namespace "prod-*" { policy = "deny" }"#,
        r#"namespace "prod-sandbox" { policy = "read" }"#,
    ]);
    assert!(a.allows(&SUBMIT_JOB, "dev", ""));
    assert!(!a.allows(&READ_JOB, "prod-api", ""), "deny on the closer glob");
    assert!(
        a.allows(&READ_JOB, "prod-sandbox", ""),
        "an exact name beats globs"
    );
    assert!(!a.allows(&SUBMIT_JOB, "prod-sandbox", ""));
    // The same name denied by one policy and granted by another: deny wins.
    let b = acl(&[
        r#"namespace "web-*" { policy = "write" }"#,
        r#"namespace "web-*" { capabilities = ["deny"] }"#,
    ]);
    assert!(!b.allows(&READ_JOB, "web-1", ""));
    let c = acl(&[r#"node { policy = "write" }"#, r#"node { policy = "deny" }"#]);
    assert!(!c.allows(&Need::Node(Level::Read), "", ""));
}

#[test]
fn json_rules_read_as_hcl() {
    let json = r#"{
      "namespace": {
        "default": {"policy": "read", "capabilities": ["submit-job"],
                    "variables": {"path": {"app/*": {"capabilities": ["read"]}}}}
      },
      "node": {"policy": "write"}
    }"#;
    let hcl = r#"
namespace "default" {
  policy = "read"
  capabilities = ["submit-job"]
  variables {
    path "app/*" { capabilities = ["read"] }
  }
}
node { policy = "write" }
"#;
    assert_eq!(parse(json).unwrap(), parse(hcl).unwrap());
    let listed = r#"{"namespace": [{"default": {"policy": "read"}}]}"#;
    assert_eq!(parse(listed).unwrap().namespaces[0].rule.name, "default");
}

#[test]
fn mistakes_say_where() {
    let cases = [
        (
            "namespace \"a\" {\n  policy = \"admin\"\n}\n",
            "2:3",
            "unknown policy \"admin\"",
        ),
        (
            "namespace \"a\" {\n  capabilities = [\"fly\"]\n}\n",
            "2:3",
            "unknown capability \"fly\"",
        ),
        ("\n\nnamespaces \"a\" {}\n", "3:1", "unknown block `namespaces`"),
        ("namespace {\n}\n", "1:1", "exactly one label"),
        ("node {\n  policy = \"scale\"\n}\n", "2:3", "unknown node policy"),
        ("agent {}\n", "1:1", "needs a policy"),
        ("policy = \"read\"\n", "1:1", "unexpected attribute `policy`"),
        ("namespace \"a\" {\n  policy = \n", "", ""),
        (
            "{\"namespace\": {\"a\": {\"policy\": 3}}}",
            "namespace.a.policy",
            "must be a string",
        ),
        ("{\"node\": {\"policy\": \"x\"}", "1:", "invalid JSON"),
    ];
    for (text, at, message) in cases {
        let e = parse(text).expect_err(text);
        assert!(e.at.starts_with(at), "{text:?}: at {:?}, want {at:?}", e.at);
        assert!(e.message.contains(message), "{text:?}: {}", e.message);
        assert!(e.at.contains(':') || e.at.contains('.'), "{text:?}: {}", e.at);
    }
}

#[test]
fn anonymous_without_rules_grants_nothing() {
    let a = acl(&[]);
    assert!(!a.allows(&READ_JOB, "default", ""));
    assert!(!a.allows(&Need::Node(Level::Read), "", ""));
    assert!(Acl::Management.allows(&Need::Management, "x", ""));
}
