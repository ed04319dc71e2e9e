//! Fidelity of HCL2 `dynamic` blocks: a jobspec that generates `port`, `template` and
//! `constraint` blocks converts to the JSON job Nomad's parser gives, which is the JSON of the
//! same jobspec with the blocks written out; and a malformed `dynamic` block is refused at the
//! place it is written.

use deploy::frontend::{Inputs, load_stack};
use serde_json::{Value, json};

/// Converts one HCL job text through the front end: the job as Nomad JSON, or the rendered
/// diagnostics.
fn convert(hcl: &str) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("job.nomad.hcl");
    std::fs::write(&file, hcl).unwrap();
    let (stack, _warnings) = load_stack(&file, &Inputs::default()).map_err(|d| d.to_string())?;
    assert_eq!(stack.jobs.len(), 1, "one job in {hcl}");
    Ok(serde_json::to_value(&stack.jobs[0].job).unwrap())
}

fn ok(hcl: &str) -> Value {
    convert(hcl).unwrap_or_else(|e| panic!("conversion failed:\n{e}\n--- input ---\n{hcl}"))
}

fn err(hcl: &str) -> String {
    match convert(hcl) {
        Ok(v) => panic!("expected an error, converted to {v}\n--- input ---\n{hcl}"),
        Err(e) => e,
    }
}

fn job(group_body: &str) -> String {
    format!(
        "variable \"ports\" {{\n  default = {{ http = 8080, metrics = 0 }}\n}}\n\
         job \"web\" {{\n  group \"g\" {{\n{group_body}\n  }}\n}}\n"
    )
}

#[test]
fn dynamic_ports_convert_as_written_out() {
    let dynamic = ok(&job(r#"
    network {
      dynamic "port" {
        for_each = var.ports
        labels   = [port.key]
        content {
          static = port.value
        }
      }
    }
    task "t" {
      driver = "docker"
    }"#));
    let written = ok(&job(r#"
    network {
      port "http" {
        static = 8080
      }
      port "metrics" {
        static = 0
      }
    }
    task "t" {
      driver = "docker"
    }"#));
    assert_eq!(dynamic, written);
    let network = &dynamic["TaskGroups"][0]["Networks"][0];
    let ports = |kind: &str| -> Vec<Value> {
        network[kind]
            .as_array()
            .unwrap_or_else(|| panic!("{kind} in {network}"))
            .iter()
            .map(|p| json!([p["Label"], p["Value"]]))
            .collect()
    };
    assert_eq!(ports("ReservedPorts"), vec![json!(["http", 8080])]);
    assert_eq!(ports("DynamicPorts"), vec![json!(["metrics", 0])]);
}

#[test]
fn dynamic_templates_with_a_named_iterator_and_runtime_interpolations() {
    let v = ok(&job(r#"
    task "t" {
      driver = "docker"
      dynamic "template" {
        for_each = ["app.conf", "db.conf"]
        iterator = f
        content {
          data        = "name=${f.value} alloc=${NOMAD_ALLOC_ID}"
          destination = "local/${f.value}"
          change_mode = f.key == 0 ? "restart" : "noop"
        }
      }
    }"#));
    let templates = &v["TaskGroups"][0]["Tasks"][0]["Templates"];
    assert_eq!(templates.as_array().map(Vec::len), Some(2));
    assert_eq!(
        templates[0]["EmbeddedTmpl"],
        json!("name=app.conf alloc=${NOMAD_ALLOC_ID}")
    );
    assert_eq!(templates[0]["DestPath"], json!("local/app.conf"));
    assert_eq!(templates[0]["ChangeMode"], json!("restart"));
    assert_eq!(templates[1]["DestPath"], json!("local/db.conf"));
    assert_eq!(templates[1]["ChangeMode"], json!("noop"));
}

#[test]
fn dynamic_constraints_from_a_map_in_key_order() {
    let v = ok(r#"
locals {
  rules = {
    kernel = ["linux"]
    arch   = ["amd64", "arm64"]
  }
}
job "web" {
  dynamic "constraint" {
    for_each = local.rules
    iterator = rule
    content {
      attribute = "$${attr.${rule.key}.name}"
      operator  = "set_contains_any"
      value     = join(",", rule.value)
    }
  }
  group "g" {
    task "t" {
      driver = "docker"
    }
  }
}
"#);
    assert_eq!(
        v["Constraints"],
        json!([
            {"LTarget": "${attr.arch.name}", "Operand": "set_contains_any", "RTarget": "amd64,arm64"},
            {"LTarget": "${attr.kernel.name}", "Operand": "set_contains_any", "RTarget": "linux"},
        ])
    );
}

#[test]
fn a_dynamic_block_inside_a_generated_block_expands_per_outer_element() {
    let v = ok(&job(r#"
    dynamic "task" {
      for_each = { api = ["a.tpl", "b.tpl"], worker = ["c.tpl"] }
      iterator = t
      labels   = [t.key]
      content {
        driver = "docker"
        dynamic "template" {
          for_each = t.value
          content {
            data        = "${t.key}/${template.value}"
            destination = "local/${template.key}"
          }
        }
      }
    }"#));
    let tasks = &v["TaskGroups"][0]["Tasks"];
    assert_eq!(tasks[0]["Name"], json!("api"));
    assert_eq!(tasks[1]["Name"], json!("worker"));
    let data = |t: usize| -> Vec<Value> {
        tasks[t]["Templates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| json!([x["EmbeddedTmpl"], x["DestPath"]]))
            .collect()
    };
    assert_eq!(
        data(0),
        vec![json!(["api/a.tpl", "local/0"]), json!(["api/b.tpl", "local/1"])]
    );
    assert_eq!(data(1), vec![json!(["worker/c.tpl", "local/0"])]);
}

#[test]
fn dynamic_blocks_in_driver_config() {
    let v = ok(&job(r#"
    task "t" {
      driver = "docker"
      config {
        image = "nginx"
        dynamic "mount" {
          for_each = ["/a", "/b"]
          content {
            type   = "bind"
            target = mount.value
          }
        }
      }
    }"#));
    assert_eq!(
        v["TaskGroups"][0]["Tasks"][0]["Config"]["mount"],
        json!([{"type": "bind", "target": "/a"}, {"type": "bind", "target": "/b"}])
    );
}

#[test]
fn for_each_that_is_not_a_collection_is_refused_where_written() {
    let e = err(&job(r#"
    dynamic "constraint" {
      for_each = "linux"
      content {
        attribute = "$${attr.kernel.name}"
      }
    }
    task "t" {
      driver = "docker"
    }"#));
    assert!(e.contains("`for_each` is not a collection"), "{e}");
    assert!(e.contains("job.nomad.hcl:8:18"), "{e}");
}

#[test]
fn an_unknown_block_name_is_refused_with_a_suggestion() {
    let e = err(&job(r#"
    dynamic "constrant" {
      for_each = []
      content {}
    }
    task "t" {
      driver = "docker"
    }"#));
    assert!(e.contains("unknown block `constrant` in `group`"), "{e}");
    assert!(e.contains("did you mean `constraint`?"), "{e}");
    assert!(e.contains("job.nomad.hcl:7:13"), "{e}");
}

#[test]
fn a_missing_content_block_is_refused() {
    let e = err(&job(r#"
    task "t" {
      driver = "docker"
      dynamic "template" {
        for_each = ["a"]
      }
    }"#));
    assert!(
        e.contains("missing `content` block in `dynamic \"template\"`"),
        "{e}"
    );
    assert!(e.contains("job.nomad.hcl:9:7"), "{e}");
}
