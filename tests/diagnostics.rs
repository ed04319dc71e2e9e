//! Snapshot table of malformed stacks: every case must fail (or warn) with the rendered
//! diagnostic showing file:line:col, the line, a label and help.

use std::path::Path;

use deploy::diag::RenderOptions;
use deploy::frontend::{Inputs, load_stack};

struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    vars: &'static [(&'static str, &'static str)],
    var_files: &'static [&'static str],
}

const fn case(name: &'static str, files: &'static [(&'static str, &'static str)]) -> Case {
    Case {
        name,
        files,
        vars: &[],
        var_files: &[],
    }
}

const JOB_HEAD: &str = "";

const CASES: &[Case] = &[
    case(
        "syntax_error",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    count = \n  }\n}\n",
        )],
    ),
    case(
        "unknown_block_with_suggestion",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      resorces {\n        cpu = 100\n      }\n    }\n  }\n}\n",
        )],
    ),
    case(
        "unknown_attribute_with_suggestion",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    task \"t\" {\n      drivr = \"docker\"\n    }\n  }\n}\n",
        )],
    ),
    case(
        "wrong_type_list_for_string",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = [\"docker\"]\n    }\n  }\n}\n",
        )],
    ),
    case(
        "wrong_type_string_for_list",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  datacenters = \"dc1\"\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
        )],
    ),
    case(
        "missing_group_label",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
        )],
    ),
    case(
        "missing_job_label",
        &[("app.nomad.hcl", "job {\n  type = \"batch\"\n}\n")],
    ),
    case(
        "undefined_variable",
        &[(
            "app.nomad.hcl",
            "variable \"image\" {\n  default = \"redis:7\"\n}\n\njob \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      config {\n        image = var.imag\n      }\n    }\n  }\n}\n",
        )],
    ),
    Case {
        name: "undeclared_var_flag",
        files: &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
        )],
        vars: &[("image", "redis")],
        var_files: &[],
    },
    Case {
        name: "undeclared_name_in_var_file",
        files: &[
            (
                "app.nomad.hcl",
                "variable \"image\" {\n  default = \"a\"\n}\njob \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
            ),
            ("prod.vars", "image = \"b\"\nimgae = \"c\"\n"),
        ],
        vars: &[],
        var_files: &["prod.vars"],
    },
    case(
        "failed_variable_validation",
        &[(
            "app.nomad.hcl",
            "variable \"port\" {\n  type    = number\n  default = 70000\n  validation {\n    condition     = var.port < 65536\n    error_message = \"The port must be below 65536.\"\n  }\n}\n\njob \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
        )],
    ),
    case(
        "missing_required_variable",
        &[(
            "app.nomad.hcl",
            "variable \"image\" {\n  type = string\n}\n\njob \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      config {\n        image = var.image\n      }\n    }\n  }\n}\n",
        )],
    ),
    Case {
        name: "variable_value_of_wrong_type",
        files: &[(
            "app.nomad.hcl",
            "variable \"replicas\" {\n  type = number\n}\n\njob \"app\" {\n  group \"g\" {\n    count = var.replicas\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
        )],
        vars: &[("replicas", "three")],
        var_files: &[],
    },
    case(
        "duplicate_job_ids",
        &[
            (
                "a.nomad.hcl",
                "job \"web\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
            ),
            (
                "b.nomad.hcl",
                "job \"web\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"exec\"\n    }\n  }\n}\n",
            ),
        ],
    ),
    case(
        "invalid_constraint_operator",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  constraint {\n    attribute = \"${attr.kernel.name}\"\n    operator  = \"regex\"\n    value     = \"linux\"\n  }\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
        )],
    ),
    case(
        "bad_duration",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    restart {\n      interval = \"5 minutes\"\n    }\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
        )],
    ),
    case(
        "bad_port",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    network {\n      port \"http\" {\n        static = 70000\n      }\n    }\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
        )],
    ),
    case(
        "duplicate_port_label",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    network {\n      port \"http\" {}\n      port \"http\" {\n        to = 8080\n      }\n    }\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
        )],
    ),
    case(
        "missing_module_input",
        &[
            (
                "stack.hcl",
                "module \"data\" {\n  source = \"./modules/data\"\n}\n",
            ),
            (
                "modules/data/vars.hcl",
                "variable \"size\" {\n  type = number\n}\n",
            ),
            (
                "modules/data/db.nomad.hcl",
                "job \"db\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
            ),
        ],
    ),
    case(
        "unknown_module_input",
        &[
            (
                "stack.hcl",
                "module \"data\" {\n  source = \"./modules/data\"\n  size   = 3\n  sise   = 4\n}\n",
            ),
            (
                "modules/data/vars.hcl",
                "variable \"size\" {\n  type = number\n}\n",
            ),
            (
                "modules/data/db.nomad.hcl",
                "job \"db\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
            ),
        ],
    ),
    case(
        "missing_module_source",
        &[(
            "stack.hcl",
            "module \"data\" {\n  source = \"./modules/nowhere\"\n}\n",
        )],
    ),
    case(
        "module_without_source",
        &[("stack.hcl", "module \"data\" {\n  size = 3\n}\n")],
    ),
    case(
        "unknown_dependency_target",
        &[
            (
                "stack.hcl",
                "dependency \"api\" {\n  depends_on = [job.postgress]\n}\n",
            ),
            (
                "api.nomad.hcl",
                "job \"api\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
            ),
            (
                "db.nomad.hcl",
                "job \"postgres\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
            ),
        ],
    ),
    case(
        "bad_gate_name",
        &[
            ("stack.hcl", "dependency \"db\" {\n  gate = \"healty\"\n}\n"),
            (
                "db.nomad.hcl",
                "job \"db\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
            ),
        ],
    ),
    case(
        "unknown_dependency_attribute",
        &[
            ("stack.hcl", "dependency \"db\" {\n  timout = \"5m\"\n}\n"),
            (
                "db.nomad.hcl",
                "job \"db\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
            ),
        ],
    ),
    case(
        "bad_heredoc",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      template {\n        data = <<EOT\nhello\n        destination = \"local/x\"\n      }\n    }\n  }\n}\n",
        )],
    ),
    case(
        "unknown_function",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      user   = lowr(\"ROOT\")\n    }\n  }\n}\n",
        )],
    ),
    case(
        "dynamic_for_each_not_a_collection",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    dynamic \"constraint\" {\n      for_each = \"linux\"\n      content {\n        attribute = \"$${attr.kernel.name}\"\n      }\n    }\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
        )],
    ),
    case(
        "dynamic_missing_content",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      dynamic \"template\" {\n        for_each = [\"a\"]\n      }\n    }\n  }\n}\n",
        )],
    ),
    case(
        "runtime_reference_outside_string",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n      user   = node.unique.name\n    }\n  }\n}\n",
        )],
    ),
    case(
        "unknown_top_level_block",
        &[("stack.hcl", "stak {\n  name = \"x\"\n}\n")],
    ),
    case(
        "stack_block_in_job_file",
        &[(
            "app.nomad.hcl",
            "output \"x\" {\n  value = 1\n}\njob \"app\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
        )],
    ),
    case(
        "unknown_backend",
        &[(
            "stack.hcl",
            "stack {\n  backend \"consul\" {\n    address = \"x\"\n  }\n}\n",
        )],
    ),
    case(
        "output_without_value",
        &[("stack.hcl", "output \"addr\" {\n  description = \"where\"\n}\n")],
    ),
    case(
        "reference_to_unknown_job",
        &[
            ("stack.hcl", "output \"db\" {\n  value = job.dbb.id\n}\n"),
            (
                "db.nomad.hcl",
                "job \"db\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"docker\"\n    }\n  }\n}\n",
            ),
        ],
    ),
    case(
        "several_errors_at_once",
        &[(
            "app.nomad.hcl",
            "job \"app\" {\n  priorty = 50\n  group \"g\" {\n    count = \"many\"\n    task \"t\" {\n      driver = \"docker\"\n      kill_timeout = \"soon\"\n    }\n  }\n}\n",
        )],
    ),
];

fn render_case(c: &Case) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in c.files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, format!("{JOB_HEAD}{text}")).expect("write");
    }
    let inputs = Inputs {
        vars: c
            .vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        var_files: c.var_files.iter().map(|f| dir.path().join(f)).collect(),
        env: vec![],
    };
    let mut diags = match load_stack(dir.path(), &inputs) {
        Ok((_, warnings)) => panic!("case {} loaded without errors (warnings: {warnings})", c.name),
        Err(d) => d,
    };
    let base = dir.path().to_path_buf();
    diags.relativize(&base);
    let mut out = diags.render(&RenderOptions::plain());
    out = out.replace(&format!("{}/", base.display()), "");
    out
}

#[test]
fn malformed_stacks_render_diagnostics() {
    assert!(CASES.len() >= 25);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for c in CASES {
            let rendered = render_case(c);
            assert!(rendered.contains(":"), "{}: no location in\n{rendered}", c.name);
            insta::assert_snapshot!(format!("diag_{}", c.name), rendered);
        }
    });
}

#[test]
fn every_error_names_a_line() {
    for c in CASES {
        let rendered = render_case(c);
        let has_location = rendered
            .lines()
            .any(|l| l.contains("╭─[") || l.contains(".hcl:") || l.contains(".vars:"));
        let flag_case = c.name == "undeclared_var_flag";
        assert!(
            has_location || flag_case,
            "{} has no file:line:col:\n{rendered}",
            c.name
        );
    }
    let _ = Path::new(".");
}

/// Nomad's validation problems (`deploy validate`) are reported at the attribute at fault,
/// not at the job's label.
#[test]
fn validation_problems_point_at_the_attribute() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("app.nomad.hcl"),
        "job \"app\" {\n  group \"web\" {\n    count = -1\n    task \"t\" {\n      driver = \"docker\"\n      resources {\n        cpu    = 100\n        memory = 4\n      }\n    }\n  }\n}\n",
    )
    .expect("write");
    let (stack, mut diags) = load_stack(dir.path(), &Inputs::default()).expect("loads");
    let problems = deploy::frontend::validate_jobs(&stack.jobs);
    let lines: Vec<String> = problems
        .iter()
        .filter_map(|d| d.span.as_ref())
        .map(|s| s.line.to_string())
        .collect();
    assert_eq!(lines, ["3", "8"], "count on line 3, memory on line 8");
    for d in problems {
        diags.push(d);
    }
    diags.relativize(dir.path());
    let rendered = diags
        .render(&RenderOptions::plain())
        .replace(&format!("{}/", dir.path().display()), "");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("diag_validate_at_attribute", rendered));
}
