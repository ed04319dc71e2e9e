//! Stack-level behaviour: modules, dependencies, references, variable precedence,
//! sensitive values, outputs, settings.

use std::path::Path;

use deploy::frontend::{Inputs, load_stack};
use deploy::stack::{DependencyKind, Gate, JobAddress};
use serde_json::json;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, text).expect("write");
    }
}

fn job(id: &str, extra: &str) -> String {
    format!(
        "job \"{id}\" {{\n  {extra}\n  group \"g\" {{\n    task \"t\" {{\n      driver = \"docker\"\n    }}\n  }}\n}}\n"
    )
}

#[test]
fn modules_dependencies_and_references() {
    let dir = tempfile::tempdir().expect("tmp");
    let api = "job \"api\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      env {\n        DB = job.postgres.name\n        CACHE = module.data.cache_addr\n      }\n    }\n  }\n}\n";
    write(
        dir.path(),
        &[
            (
                "stack.hcl",
                "stack {\n  name = \"demo\"\n  backend \"nomad\" {\n    address = \"http://127.0.0.1:4646\"\n  }\n  apply {\n    parallelism = 4\n    atomic = true\n    timeout = \"10m\"\n  }\n}\nmodule \"data\" {\n  source = \"./modules/data\"\n  size = 3\n  depends_on = [job.postgres]\n}\ndependency \"api\" {\n  depends_on = [job.postgres]\n}\ndependency \"postgres\" {\n  gate = \"running\"\n  timeout = \"5m\"\n}\noutput \"api_id\" {\n  value = job.api.id\n}\n",
            ),
            ("postgres.nomad.hcl", &job("postgres", "")),
            ("api.nomad.hcl", api),
            (
                "modules/data/vars.hcl",
                "variable \"size\" {\n  type = number\n}\noutput \"cache_addr\" {\n  value = \"cache:${var.size}\"\n}\n",
            ),
            ("modules/data/cache.nomad.hcl", &job("cache", "")),
        ],
    );
    let (stack, _) = load_stack(dir.path(), &Inputs::default()).unwrap_or_else(|d| panic!("{d}"));
    let addrs: Vec<&str> = stack.jobs.iter().map(|j| j.address.0.as_str()).collect();
    assert_eq!(addrs, ["job.api", "job.postgres", "module.data.job.cache"]);
    assert_eq!(stack.settings.name, "demo");
    assert_eq!(stack.settings.parallelism, Some(4));
    assert!(stack.settings.atomic);
    let api = stack.job(&JobAddress::root("api")).expect("api");
    let env = api.job.groups()[0].tasks()[0].env.clone().expect("env");
    assert_eq!(env["DB"], "postgres");
    assert_eq!(env["CACHE"], "cache:3");
    let edges: Vec<(String, String, DependencyKind)> = stack
        .dependencies
        .iter()
        .map(|d| (d.from.0.clone(), d.to.0.clone(), d.kind))
        .collect();
    assert!(edges.contains(&("job.api".into(), "job.postgres".into(), DependencyKind::Declared)));
    assert!(edges.contains(&("job.api".into(), "job.postgres".into(), DependencyKind::Reference)));
    assert!(edges.contains(&(
        "job.api".into(),
        "module.data.job.cache".into(),
        DependencyKind::Reference
    )));
    assert!(edges.contains(&(
        "module.data.job.cache".into(),
        "job.postgres".into(),
        DependencyKind::Declared
    )));
    let opts = &stack.job_options[&JobAddress::root("postgres")];
    assert_eq!(opts.gate, Some(Gate::Running));
    assert!(
        stack
            .dependencies
            .iter()
            .filter(|d| d.to.0 == "job.postgres")
            .all(|d| d.gate == Some(Gate::Running))
    );
    assert_eq!(
        stack
            .outputs
            .iter()
            .find(|o| o.name == "api_id")
            .map(|o| o.value.clone()),
        Some(json!("api"))
    );
    assert_eq!(stack.modules.len(), 1);
}

#[test]
fn variable_precedence_env_auto_file_flag() {
    let dir = tempfile::tempdir().expect("tmp");
    let decl = "variable \"a\" {\n  default = \"default\"\n}\nvariable \"b\" {\n  default = \"default\"\n}\nvariable \"c\" {\n  default = \"default\"\n}\nvariable \"d\" {\n  default = \"default\"\n}\n";
    let body = "  meta {\n    a = var.a\n    b = var.b\n    c = var.c\n    d = var.d\n  }";
    write(
        dir.path(),
        &[
            ("app.nomad.hcl", &format!("{decl}{}", job("app", body))),
            ("x.auto.vars.hcl", "b = \"auto\"\nc = \"auto\"\nd = \"auto\"\n"),
            ("prod.vars.hcl", "c = \"file\"\nd = \"file\"\n"),
        ],
    );
    let inputs = Inputs {
        vars: vec![("d".into(), "flag".into())],
        var_files: vec![dir.path().join("prod.vars.hcl")],
        env: vec![
            ("NOMAD_VAR_a".into(), "env".into()),
            ("DEPLOY_VAR_b".into(), "env".into()),
            ("HOME".into(), "/root".into()),
        ],
    };
    let (stack, _) = load_stack(dir.path(), &inputs).unwrap_or_else(|d| panic!("{d}"));
    let meta = stack.jobs[0].job.meta.clone().expect("meta");
    assert_eq!(meta["a"], "env");
    assert_eq!(meta["b"], "auto");
    assert_eq!(meta["c"], "file");
    assert_eq!(meta["d"], "flag");
}

#[test]
fn sensitive_values_are_tracked_by_path() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = "variable \"token\" {\n  sensitive = true\n  default = \"s3cret\"\n}\njob \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      env {\n        TOKEN = \"Bearer ${var.token}\"\n        PLAIN = \"x\"\n      }\n    }\n  }\n}\n";
    write(dir.path(), &[("app.nomad.hcl", src)]);
    let (stack, _) = load_stack(dir.path(), &Inputs::default()).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(
        stack.jobs[0].sensitive_paths,
        ["TaskGroups[0].Tasks[0].Env.TOKEN"]
    );
    assert!(stack.variables.iter().any(|v| v.name == "token" && v.sensitive));
}

#[test]
fn each_job_file_is_its_own_scope() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = format!(
        "variable \"region\" {{\n  default = \"eu\"\n}}\n{}",
        job("a", "region = var.region")
    );
    let b = format!(
        "variable \"region\" {{\n  default = \"us\"\n}}\n{}",
        job("b", "region = var.region")
    );
    write(dir.path(), &[("a.nomad.hcl", &a), ("b.nomad.hcl", &b)]);
    let (stack, _) = load_stack(dir.path(), &Inputs::default()).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(stack.jobs[0].job.region.as_deref(), Some("eu"));
    assert_eq!(stack.jobs[1].job.region.as_deref(), Some("us"));
    let inputs = Inputs {
        vars: vec![("region".into(), "ap".into())],
        ..Inputs::default()
    };
    let (stack, _) = load_stack(dir.path(), &inputs).unwrap_or_else(|d| panic!("{d}"));
    assert!(stack.jobs.iter().all(|j| j.job.region.as_deref() == Some("ap")));
}

#[test]
fn jobspec_translation_matches_nomad_json_names() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = r#"job "web" {
  datacenters = ["dc1"]
  constraint {
    distinct_hosts = true
  }
  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }
  group "g" {
    count = 2
    network {
      port "http" {
        static = 8080
        to     = 80
      }
      port "metrics" {}
    }
    restart {
      interval = "5m"
      attempts = 3
    }
    task "t" {
      driver = "docker"
      config {
        image = "nginx"
        ports = ["http"]
        mount {
          type   = "bind"
          source = "local"
        }
      }
      template {
        data        = "x=$${NOMAD_ALLOC_ID} ${NOMAD_TASK_NAME}"
        destination = "local/x"
      }
      artifact {
        source      = "https://example.com/a.tgz"
        destination = "local/a"
        options {
          checksum = "sha256:abc"
        }
      }
    }
  }
}
"#;
    write(dir.path(), &[("web.nomad.hcl", src)]);
    let (stack, _) = load_stack(dir.path(), &Inputs::default()).unwrap_or_else(|d| panic!("{d}"));
    let v = serde_json::to_value(&stack.jobs[0].job).expect("json");
    assert_eq!(v["Constraints"][0]["Operand"], "distinct_hosts");
    assert_eq!(v["Constraints"][1]["LTarget"], "${attr.kernel.name}");
    let g = &v["TaskGroups"][0];
    assert_eq!(
        g["Networks"][0]["ReservedPorts"][0],
        json!({"Label": "http", "Value": 8080, "To": 80, "HostNetwork": ""})
    );
    assert_eq!(g["Networks"][0]["DynamicPorts"][0]["Label"], "metrics");
    assert_eq!(g["RestartPolicy"]["Interval"], 300_000_000_000i64);
    let t = &g["Tasks"][0];
    assert_eq!(t["Config"]["mount"], json!([{"type": "bind", "source": "local"}]));
    assert_eq!(
        t["Templates"][0]["EmbeddedTmpl"],
        "x=${NOMAD_ALLOC_ID} ${NOMAD_TASK_NAME}"
    );
    assert_eq!(t["Artifacts"][0]["GetterOptions"]["checksum"], "sha256:abc");
}

/// `POST /v1/jobs/parse` goes through this: variable values in var-file form are read like a
/// `-var-file`, and a parse error is a diagnostic, not a panic.
#[test]
fn jobspec_text_parses_with_variable_values() {
    let hcl = "variable \"n\" {\n  type = number\n}\njob \"x\" {\n  group \"g\" {\n    count = var.n\n    task \"t\" {\n      driver = \"raw_exec\"\n      config {\n        command = \"true\"\n      }\n    }\n  }\n}\n";
    let jobs = deploy::frontend::parse_job_with_variables(hcl, "n = 3\n").expect("parses");
    assert_eq!(jobs[0].groups()[0].count, Some(3));
    assert!(deploy::frontend::parse_job_with_variables("job \"x\" {", "").is_err());
    assert!(deploy::frontend::parse_job_with_variables(hcl, "n = \"three\"\n").is_err());
}

/// A stack large enough that the trees of its later job files are dropped after the first pass
/// and parsed again to decode: those jobs decode the same (their own variables, references to
/// other jobs) and a problem in them is still reported at its file, line and column.
#[test]
fn job_files_past_the_kept_tree_budget_decode_and_report_the_same() {
    let dir = tempfile::tempdir().expect("tmp");
    // About 1.5 MiB of job files: more than the text whose trees are kept.
    let padding = format!("meta {{\n    note = \"{}\"\n  }}", "x".repeat(2_000));
    let n = 800;
    for i in 0..n {
        let extra = format!(
            "{padding}\n  type = \"batch\"\n  datacenters = [var.dc]\n  namespace = \"ns{}\"",
            i % 3
        );
        let text = format!(
            "variable \"dc\" {{\n  default = \"dc-{i}\"\n}}\n{}",
            job(&format!("j{i:03}"), &extra)
        );
        write(dir.path(), &[(&format!("j{i:03}.nomad.hcl"), &text)]);
    }
    let last = format!(
        "job \"uses\" {{\n  group \"g\" {{\n    task \"t\" {{\n      driver = \"docker\"\n      env {{\n        FIRST = job.j000.name\n        LAST = job.j{:03}.namespace\n      }}\n    }}\n  }}\n}}\n",
        n - 1
    );
    write(
        dir.path(),
        &[
            ("zz-uses.nomad.hcl", &last),
            ("stack.hcl", "stack {\n  name = \"big\"\n}\n"),
        ],
    );
    let (stack, _) = load_stack(dir.path(), &Inputs::default()).expect("the stack loads");
    assert_eq!(stack.jobs.len(), n + 1);
    let job_json = |id: &str| {
        let j = stack
            .jobs
            .iter()
            .find(|j| j.address == JobAddress::root(id))
            .unwrap_or_else(|| panic!("no job {id}"));
        serde_json::to_value(&j.job).unwrap()
    };
    for i in [0, n / 2, n - 1] {
        let j = job_json(&format!("j{i:03}"));
        assert_eq!(j["Datacenters"], json!([format!("dc-{i}")]), "job {i}");
        assert_eq!(j["Namespace"], json!(format!("ns{}", i % 3)), "job {i}");
    }
    let uses = job_json("uses");
    assert_eq!(uses["TaskGroups"][0]["Tasks"][0]["Env"]["FIRST"], json!("j000"));
    assert_eq!(
        uses["TaskGroups"][0]["Tasks"][0]["Env"]["LAST"],
        json!(format!("ns{}", (n - 1) % 3))
    );
    let targets: Vec<String> = stack
        .dependencies
        .iter()
        .filter(|d| d.from == JobAddress::root("uses"))
        .map(|d| d.to.0.clone())
        .collect();
    assert_eq!(
        targets,
        vec!["job.j000".to_string(), format!("job.j{:03}", n - 1)]
    );

    // A problem in the last file, whose tree was parsed again, points at its line.
    write(
        dir.path(),
        &[(
            "zz-uses.nomad.hcl",
            "job \"uses\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      user = var.nope\n    }\n  }\n}\n",
        )],
    );
    let err = match load_stack(dir.path(), &Inputs::default()) {
        Ok(_) => panic!("an undeclared variable must be refused"),
        Err(d) => d.to_string(),
    };
    assert!(err.contains("zz-uses.nomad.hcl:5:14"), "{err}");
}
