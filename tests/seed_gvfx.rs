//! The tv-goldviewfx seed as a stack (`examples/gvfx`): its job files are the seed's, read
//! through the same front end, and `stack.hcl` puts them in the runbook's deploy order.
//!
//! ```text
//!  phase 1  postgres, objectstore ─► convex                       (healthy)
//!  phase 2  rl-service ─► api                                     (healthy)
//!  phase 3  worker-egress-check (complete) ─► worker ─► bingx-full-backfill
//! ```
//!
//! The comparison with the seed reads `../shared/corpus/seeds/gvfx` in place; without it the
//! test skips with the reason, and fails when `CI=true`.

mod apply_support;
mod client_harness;
mod cluster_harness;
#[path = "support/fixture.rs"]
mod fixture;
mod seed_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use apply_support::{Deploy, DevAgent, TaskReaper, bin, get_json, repo_root, text, wait_until};
use deploy::frontend::{Inputs, load_stack, parse_job_file};
use deploy::graph::StackGraph;
use deploy::plan::{Action, PlanOptions, TextOptions, plan, render_markdown, render_text};
use deploy::stack::JobAddress;
use deploy::state::VariableRecord;
use seed_support::{assert_valid, offline_plan, snapshot_settings, tools_present};
use serde_json::Value;

/// The runbook's deploy order: (job, phase).
const PHASES: [(&str, u32); 8] = [
    ("gvfx-postgres", 1),
    ("gvfx-objectstore", 1),
    ("gvfx-convex", 1),
    ("gvfx-rl-service", 2),
    ("gvfx-api", 2),
    ("gvfx-worker-egress-check", 3),
    ("gvfx-worker", 3),
    ("gvfx-bingx-full-backfill", 3),
];

fn stack_dir() -> PathBuf {
    repo_root().join("examples/gvfx")
}

fn seed_dir() -> PathBuf {
    repo_root().join("../shared/corpus/seeds/gvfx")
}

/// The `gvfx-*.nomad.hcl` files of a directory, by file name.
fn job_files(dir: &Path) -> BTreeMap<String, PathBuf> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".nomad.hcl"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect()
}

/// The file's jobs in Nomad's JSON model.
fn jobs_of(path: &Path) -> Vec<Value> {
    let (jobs, _) = parse_job_file(path, &Inputs::default())
        .unwrap_or_else(|d| panic!("{} does not parse: {d:?}", path.display()));
    jobs.iter()
        .map(|j| serde_json::to_value(&j.job).expect("job to JSON"))
        .collect()
}

/// How many of `key` the value holds at any depth (array items counted).
fn count(v: &Value, key: &str) -> usize {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| {
                let here = if k == key {
                    x.as_array().map_or(0, Vec::len)
                } else {
                    0
                };
                here + count(x, key)
            })
            .sum(),
        Value::Array(items) => items.iter().map(|x| count(x, key)).sum(),
        _ => 0,
    }
}

#[test]
fn example_job_files_are_the_seed_jobs() {
    let seed = seed_dir();
    if !seed.is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} is missing (CI=true)",
            seed.display()
        );
        eprintln!(
            "skipping example_job_files_are_the_seed_jobs: {} is missing",
            seed.display()
        );
        return;
    }
    let mut ours = job_files(&stack_dir());
    ours.extend(job_files(&stack_dir().join("optional")));
    let theirs = job_files(&seed);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "examples/gvfx (with optional/) holds exactly the seed's job files"
    );
    assert_eq!(theirs.len(), 11, "the seed has eleven job files");
    for (name, seed_path) in &theirs {
        let (a, b) = (jobs_of(&ours[name]), jobs_of(seed_path));
        assert_eq!(a.len(), 1, "{name}: one job");
        for key in ["TaskGroups", "Tasks", "Constraints", "Templates"] {
            assert_eq!(count(&a[0], key), count(&b[0], key), "{name}: {key}");
        }
        assert!(count(&a[0], "Tasks") > 0, "{name}: the job has tasks");
        // No documented differences: the whole job, field for field.
        assert_eq!(a, b, "{name}: the example's job differs from the seed's");
    }
    let templates: usize = theirs.values().map(|p| count(&jobs_of(p)[0], "Templates")).sum();
    assert!(templates >= 11, "the seed reads its config through templates");
}

#[test]
fn example_validates_and_plans_in_phase_order() {
    assert_valid(&bin(), &stack_dir());
    let plan = offline_plan(&bin(), &stack_dir(), &[]);
    let wave_of = |job: &str| -> u32 {
        let line = plan
            .lines()
            .find(|l| l.starts_with(&format!("+ job.{job} (create), wave ")))
            .unwrap_or_else(|| panic!("{job} is not created by the plan:\n{plan}"));
        line.rsplit(' ').next().unwrap().parse().expect("wave number")
    };
    for (a, pa) in PHASES {
        for (b, pb) in PHASES {
            if pa < pb {
                assert!(
                    wave_of(a) < wave_of(b),
                    "{a} (phase {pa}) before {b} (phase {pb})"
                );
            }
        }
    }
    assert!(wave_of("gvfx-worker-egress-check") < wave_of("gvfx-worker"));
    assert!(wave_of("gvfx-worker") < wave_of("gvfx-bingx-full-backfill"));
    snapshot_settings().bind(|| insta::assert_snapshot!("plan_example_gvfx", plan));
}

/// `TIMESCALE_URL` after a secret change, which no view of the plan may show.
const NEW_TIMESCALE_URL: &str = "postgres://gvfx:rotated-7f3a@127.0.0.1:55432/marketdata";

#[test]
fn a_secret_change_plans_as_a_sensitive_item_update_and_nothing_else() {
    let load = |vars: Vec<(String, String)>| {
        let inputs = Inputs {
            vars,
            ..Inputs::default()
        };
        load_stack(&stack_dir(), &inputs).expect("examples/gvfx loads").0
    };
    let before = load(Vec::new());
    let mut rev = fixture::recorded(&before);
    rev.nomad_variables = before
        .nomad_variables
        .iter()
        .map(|v| VariableRecord {
            path: v.path.clone(),
            namespace: v.namespace.clone(),
            items: v.items.clone(),
            sensitive_items: v.sensitive_items.clone(),
            encrypted: Default::default(),
            modify_index: Some(42),
        })
        .collect();
    let after = load(vec![("timescale_url".into(), NEW_TIMESCALE_URL.into())]);
    let graph = StackGraph::build(&after).expect("graph");
    let p = plan(&after, &graph, Some(&rev), None, &PlanOptions::default()).expect("plan");
    assert!(
        p.jobs.iter().all(|j| j.action == Action::Noop),
        "only the variable changes"
    );
    let secrets = p
        .variables
        .iter()
        .find(|v| v.path == "nomad/jobs/gvfx/secrets")
        .expect("the secrets variable is planned");
    assert_eq!(secrets.action, Action::Update);
    assert_eq!(
        secrets.modify_index,
        Some(42),
        "written with the recorded index as cas"
    );
    let changed: Vec<_> = secrets
        .items
        .iter()
        .filter(|i| i.action != Action::Noop)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].key, "TIMESCALE_URL");
    assert_eq!(changed[0].before.as_deref(), Some("(sensitive)"));
    assert_eq!(changed[0].after.as_deref(), Some("(sensitive)"));
    assert!(secrets.read_by.contains(&JobAddress::root("gvfx-worker")));
    let config = p
        .variables
        .iter()
        .find(|v| v.path == "nomad/jobs/gvfx/config")
        .unwrap();
    assert_eq!(config.action, Action::Noop);
    let shown = render_text(&p, &TextOptions::default());
    let json = serde_json::to_string(&p).unwrap();
    let markdown = render_markdown(&p).unwrap();
    for view in [&shown, &json, &markdown] {
        assert!(!view.contains("rotated-7f3a"), "a view shows the secret:\n{view}");
    }
    assert!(
        markdown.contains("~ TIMESCALE_URL: \"(sensitive)\" => \"(sensitive)\""),
        "{markdown}"
    );
    snapshot_settings().bind(|| insta::assert_snapshot!("plan_gvfx_secret_change", shown));
}

/// Where the test's agent answers, and the ACL token it wants (`None`: ACLs off).
struct Api<'a> {
    address: &'a str,
    token: Option<&'a str>,
}

impl Api<'_> {
    /// `GET path` as JSON; `None` on any failure (a 404 included).
    fn get(&self, path: &str) -> Option<Value> {
        let Some(token) = self.token else {
            return get_json(self.address, path);
        };
        let out = Command::new("curl")
            .args(["-sf", "--max-time", "10", "-H"])
            .arg(format!("X-Nomad-Token: {token}"))
            .arg(format!("{}{path}", self.address))
            .output()
            .ok()?;
        out.status.success().then_some(())?;
        serde_json::from_slice(&out.stdout).ok()
    }

    /// The reader's restart count while its one allocation runs.
    fn task_restarts(&self) -> Option<u64> {
        let allocs = self.get("/v1/job/vt-reader/allocations")?;
        let running: Vec<&Value> = allocs
            .as_array()?
            .iter()
            .filter(|a| a["ClientStatus"] == "running")
            .collect();
        let [a] = running.as_slice() else { return None };
        let full = self.get(&format!("/v1/allocation/{}", a["ID"].as_str()?))?;
        let t = &full["TaskStates"]["t"];
        (t["State"] == "running").then(|| t["Restarts"].as_u64().unwrap_or(0))
    }

    /// The managed variable's `TOKEN` item, `None` once it is gone.
    fn token(&self) -> Option<String> {
        let v = self.get("/v1/var/nomad/jobs/vt/secrets")?;
        v["Items"]["TOKEN"].as_str().map(str::to_owned)
    }
}

/// A stack of one raw_exec service whose template reads a managed variable (stack.hcl and
/// reader.nomad.hcl); `backend` is written into its `stack` block.
fn write_variable_stack(dir: &Path, backend: &str) -> PathBuf {
    let stack = dir.join("vt");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::write(
        stack.join("stack.hcl"),
        format!(
            r#"
stack {{
  name = "vt"
{backend}
}}

variable "token" {{
  type      = string
  sensitive = true
}}

nomad_variable "nomad/jobs/vt/secrets" {{
  items = {{
    TOKEN = var.token
    MODE  = "live"
  }}
}}
"#
        ),
    )
    .unwrap();
    std::fs::write(
        stack.join("reader.nomad.hcl"),
        r#"
job "vt-reader" {
  datacenters = ["dc1"]

  group "g" {
    update {
      min_healthy_time = "1s"
    }

    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "cat \"$NOMAD_SECRETS_DIR/token.env\"; exec sleep 600"]
      }

      template {
        destination = "secrets/token.env"
        change_mode = "restart"
        data        = "{{ with nomadVar \"nomad/jobs/vt/secrets\" }}TOKEN={{ .TOKEN }}{{ end }}\n"
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
"#,
    )
    .unwrap();
    stack
}

/// Apply, a secret change, rollback and destroy of the variable stack, checked on the cluster.
fn variable_lifecycle(deploy: &Deploy, stack: &Path, state: &Path, api: &Api<'_>) {
    let (s, st) = (stack.to_str().unwrap(), state.to_str().unwrap());
    let run = |cmd: &[&str]| {
        let mut a = cmd.to_vec();
        a.extend(["-state", st]);
        deploy.run(&a)
    };

    let first = run(&["apply", s, "-auto-approve", "-var", "token=tok-one-51c2"]);
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(api.token().as_deref(), Some("tok-one-51c2"));
    let restarts = wait_until(Duration::from_secs(30), "the reader running", || {
        api.task_restarts()
    });
    let revision = std::fs::read_to_string(state.join("rev-000001.json")).expect("revision 1");
    assert!(revision.contains("nomad/jobs/vt/secrets") && !revision.contains("tok-one-51c2"));

    let planned = run(&["plan", s, "-var", "token=tok-two-9e07"]);
    let shown = text(&planned);
    assert!(
        shown.contains("~ TOKEN: \"(sensitive)\" => \"(sensitive)\""),
        "{shown}"
    );
    assert!(
        !shown.contains("tok-two-9e07") && !shown.contains("tok-one-51c2"),
        "{shown}"
    );

    let second = run(&["apply", s, "-auto-approve", "-var", "token=tok-two-9e07"]);
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(api.token().as_deref(), Some("tok-two-9e07"));
    wait_until(
        Duration::from_secs(30),
        "the reader restarting on the new item",
        || api.task_restarts().filter(|r| *r > restarts),
    );
    assert!(
        state.join("rev-000002.json").exists(),
        "a variable-only change is a revision"
    );

    let back = deploy.run(&[
        "rollback",
        "1",
        "-stack",
        s,
        "-state",
        st,
        "-auto-approve",
        "-var",
        "token=tok-two-9e07",
    ]);
    assert!(back.status.success(), "{}", text(&back));
    assert_eq!(api.token().as_deref(), Some("tok-one-51c2"));

    let gone = run(&["destroy", s, "-auto-approve", "-var", "token=tok-one-51c2"]);
    assert!(gone.status.success(), "{}", text(&gone));
    let job = api.get("/v1/job/vt-reader").expect("job");
    assert_eq!(job["Stop"], true, "the reader is stopped");
    assert!(api.token().is_none(), "the variable is deleted");
}

#[test]
fn a_managed_variable_is_written_first_restarts_its_readers_and_is_deleted_last() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _reaper = TaskReaper::new(dir.path());
    let agent = DevAgent::start(dir.path());
    let stack = write_variable_stack(dir.path(), "");
    let api = Api {
        address: &agent.address,
        token: None,
    };
    variable_lifecycle(
        &agent.deploy().with_age_key(),
        &stack,
        &dir.path().join("state"),
        &api,
    );
}

/// The same through the stack's `backend "nomad"` block, against a built-in server with ACLs
/// on: the block names the address and the token, and nothing comes from NOMAD_*. A TLS
/// listener only adds `ca_cert`, `client_cert` and `client_key` to the block.
#[test]
fn the_variable_lifecycle_through_the_nomad_backend_block_with_an_acl_token() {
    if !tools_present(
        "the_variable_lifecycle_through_the_nomad_backend_block_with_an_acl_token",
        &[("curl is missing", &["curl", "--version"])],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let _reaper = TaskReaper::new(dir.path());
    let server = client_harness::Agent::start(
        &bin(),
        dir.path().join("server"),
        &["--server", "--bootstrap-expect", "1", "--acl-enabled"],
    );
    let address = server.url("");
    let bootstrap = wait_until(Duration::from_secs(30), "the ACL bootstrap", || {
        let out = Command::new("curl")
            .args(["-sf", "--max-time", "10", "-X", "POST"])
            .arg(server.url("/v1/acl/bootstrap"))
            .output()
            .ok()?;
        serde_json::from_slice::<Value>(&out.stdout).ok()
    });
    let token = bootstrap["SecretID"]
        .as_str()
        .expect("a bootstrap token")
        .to_owned();
    let _client = client_harness::Agent::start(
        &bin(),
        dir.path().join("client"),
        &[
            "--client",
            "--raw-exec",
            "--node",
            "c1",
            "--servers",
            &server.rpc_addr,
        ],
    );
    let api = Api {
        address: &address,
        token: Some(&token),
    };
    wait_until(Duration::from_secs(60), "the client registering", || {
        let nodes = api.get("/v1/nodes")?;
        nodes
            .as_array()?
            .iter()
            .any(|n| n["Status"] == "ready")
            .then_some(())
    });
    let backend =
        format!("\n  backend \"nomad\" {{\n    address = \"{address}\"\n    token   = \"{token}\"\n  }}");
    let stack = write_variable_stack(dir.path(), &backend);
    let deploy = Deploy::without_address().with_age_key();
    variable_lifecycle(&deploy, &stack, &dir.path().join("state"), &api);
}
