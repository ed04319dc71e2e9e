//! Fidelity: HCL examples from Nomad's documentation convert to exactly the JSON Nomad produces.
//!
//! The documentation pages are read in place from `../shared/reference/`; the expected values
//! below are what those pages document (field, default and unit), after `canonicalize`.

use std::path::{Path, PathBuf};

use deploy::frontend::{Inputs, load_stack};
use deploy::spec;
use serde_json::{Value, json};

fn reference_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing: CI must run with ../shared beside the project",
        dir.display()
    );
    eprintln!(
        "skipping: {} is absent (a clone without ../shared)",
        dir.display()
    );
    None
}

/// Converts one HCL job text through the front end; returns the job as Nomad JSON.
fn try_convert(hcl: &str, canonical: bool) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("job.nomad.hcl");
    std::fs::write(&file, hcl).unwrap();
    let (stack, _warnings) = load_stack(&file, &Inputs::default())
        .map_err(|diags| format!("conversion failed:\n{diags}\n--- input ---\n{hcl}"))?;
    if stack.jobs.len() != 1 {
        return Err(format!("expected one job, found {}", stack.jobs.len()));
    }
    let job = &stack.jobs[0].job;
    let job = if canonical {
        spec::canonicalize(job)
    } else {
        job.clone()
    };
    Ok(serde_json::to_value(job).unwrap())
}

fn convert(hcl: &str, canonical: bool) -> Value {
    try_convert(hcl, canonical).unwrap_or_else(|e| panic!("{e}"))
}

/// The `n`th (1-based) fenced block of `lang` in a reference page.
fn example(page: &Path, lang: &str, n: usize) -> String {
    let text = std::fs::read_to_string(page).unwrap();
    let fence = format!("```{lang}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match current.as_mut() {
            Some(block) if line.starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            // Only top-level fences: indented ones belong to list items and are fragments.
            None if line == fence => current = Some(String::new()),
            None => {}
        }
    }
    blocks
        .into_iter()
        .nth(n - 1)
        .unwrap_or_else(|| panic!("{} has no {lang} block {n}", page.display()))
}

const SEC: i64 = 1_000_000_000;

#[test]
fn json_jobs_example_matches_field_for_field() {
    let Some(reference) = reference_dir() else { return };
    let documented: Value =
        serde_json::from_str(&example(&reference.join("nomad-api/json-jobs.mdx"), "json", 1)).unwrap();
    // The `nomad init` job the page shows as JSON (its `-output` form: unset fields are null).
    let hcl = r#"
job "example" {
  datacenters = ["dc1"]
  node_pool   = "prod"
  type        = "service"

  update {
    max_parallel      = 1
    min_healthy_time  = "10s"
    healthy_deadline  = "3m"
    progress_deadline = "10m"
    auto_revert       = false
    canary            = 0
  }

  migrate {
    max_parallel     = 1
    health_check     = "checks"
    min_healthy_time = "10s"
    healthy_deadline = "5m"
  }

  group "cache" {
    count = 1

    network {
      port "db" {
        to = 6379
      }
    }

    service {
      name     = "redis-cache"
      tags     = ["global", "cache"]
      port     = "db"
      provider = "nomad"
    }

    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    ephemeral_disk {
      size = 300
    }

    task "redis" {
      driver = "docker"

      config {
        image          = "redis:7"
        ports          = ["db"]
        auth_soft_fail = true
      }

      identity {
        env  = true
        file = true
      }

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
"#;
    let ours = json!({ "Job": convert(hcl, false) });
    assert_eq!(
        ours, documented,
        "\nours:\n{ours:#}\n\ndocumented:\n{documented:#}"
    );
}

/// One golden case: a page's example, how to wrap it into a whole job, where to look, and what
/// Nomad documents there.
struct Case {
    page: &'static str,
    example: usize,
    wrap: fn(&str) -> String,
    pointer: &'static str,
    expected: Value,
}

fn as_is(s: &str) -> String {
    s.to_string()
}

fn in_task(s: &str) -> String {
    format!(
        "job \"docs\" {{\n group \"example\" {{\n  task \"server\" {{\n driver = \"exec\"\n{s}\n }}\n }}\n}}\n"
    )
}

fn in_group(s: &str) -> String {
    format!(
        "job \"docs\" {{\n group \"example\" {{\n{s}\n task \"server\" {{ driver = \"exec\" }}\n }}\n}}\n"
    )
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            page: "restart.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/RestartPolicy",
            expected: json!({"Interval": 1800 * SEC, "Attempts": 3, "Delay": 30 * SEC, "Mode": "fail", "RenderTemplates": false}),
        },
        Case {
            page: "restart.mdx",
            example: 2,
            wrap: in_group,
            pointer: "/TaskGroups/0/Tasks/0/RestartPolicy",
            expected: json!({"Interval": 1800 * SEC, "Attempts": 2, "Delay": 15 * SEC, "Mode": "fail", "RenderTemplates": true}),
        },
        Case {
            page: "reschedule.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/ReschedulePolicy",
            expected: json!({"Attempts": 15, "Interval": 3600 * SEC, "Delay": 30 * SEC, "DelayFunction": "exponential", "MaxDelay": 120 * SEC, "Unlimited": false}),
        },
        Case {
            page: "update.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/Update",
            expected: json!({"Stagger": 30 * SEC, "MaxParallel": 3, "HealthCheck": "checks", "MinHealthyTime": 10 * SEC, "HealthyDeadline": 300 * SEC, "ProgressDeadline": 600 * SEC, "Canary": 1, "AutoRevert": true, "AutoPromote": true}),
        },
        Case {
            page: "migrate.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/Migrate",
            expected: json!({"MaxParallel": 1, "HealthCheck": "checks", "MinHealthyTime": 10 * SEC, "HealthyDeadline": 300 * SEC}),
        },
        Case {
            page: "periodic.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/Periodic",
            expected: json!({"Enabled": true, "Spec": "*/15 * * * * *", "SpecType": "cron", "ProhibitOverlap": true, "TimeZone": "UTC"}),
        },
        Case {
            page: "parameterized.mdx",
            example: 2,
            wrap: as_is,
            pointer: "",
            expected: json!({"ParameterizedJob": {"Payload": "required", "MetaRequired": ["dispatcher_email"], "MetaOptional": null}}),
        },
        Case {
            page: "parameterized.mdx",
            example: 2,
            wrap: as_is,
            pointer: "/TaskGroups/0/Tasks/0",
            expected: json!({"Name": "ffmpeg", "Driver": "exec", "DispatchPayload": {"File": "config.json"}, "Config": {"command": "ffmpeg-wrapper", "args": ["-config=${NOMAD_TASK_DIR}/config.json"]}}),
        },
        Case {
            page: "logs.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/Tasks/0/LogConfig",
            expected: json!({"MaxFiles": 10, "MaxFileSizeMB": 10, "Disabled": false}),
        },
        Case {
            page: "ephemeral_disk.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/EphemeralDisk",
            expected: json!({"Sticky": true, "Migrate": true, "SizeMB": 500}),
        },
        Case {
            page: "affinity.mdx",
            example: 1,
            wrap: as_is,
            pointer: "",
            expected: json!({
                "Affinities": [{"LTarget": "${node.datacenter}", "RTarget": "us-west1", "Operand": "=", "Weight": 100}],
                "TaskGroups": [{
                    "Affinities": [{"LTarget": "${meta.rack}", "RTarget": "r1", "Operand": "=", "Weight": 50}],
                    "Tasks": [{"Affinities": [{"LTarget": "${meta.my_custom_value}", "RTarget": "3", "Operand": ">", "Weight": 50}]}],
                }],
            }),
        },
        Case {
            page: "spread.mdx",
            example: 1,
            wrap: as_is,
            pointer: "",
            expected: json!({
                "Spreads": [{"Attribute": "${node.datacenter}", "Weight": 50, "SpreadTarget": null}],
                "TaskGroups": [{"Spreads": [{"Attribute": "${meta.rack}", "Weight": 50, "SpreadTarget": [
                    {"Value": "r1", "Percent": 60}, {"Value": "r2", "Percent": 40}]}]}],
            }),
        },
        Case {
            page: "constraint.mdx",
            example: 1,
            wrap: as_is,
            pointer: "",
            expected: json!({
                "Constraints": [{"LTarget": "${attr.kernel.name}", "RTarget": "linux", "Operand": "="}],
                "TaskGroups": [{
                    "Constraints": [{"LTarget": "", "RTarget": "true", "Operand": "distinct_hosts"}],
                    "Tasks": [{"Constraints": [{"LTarget": "${meta.my_custom_value}", "RTarget": "3", "Operand": ">"}]}],
                }],
            }),
        },
        Case {
            page: "constraint.mdx",
            example: 3,
            wrap: in_task,
            pointer: "/TaskGroups/0/Tasks/0/Constraints",
            expected: json!([{"LTarget": "${attr.kernel.version}", "RTarget": "> 3.19", "Operand": "version"}]),
        },
        Case {
            page: "resources.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/Tasks/0/Resources",
            expected: json!({"CPU": 100, "Cores": 0, "MemoryMB": 256, "MemoryMaxMB": 0, "DiskMB": null, "Networks": null,
                "Devices": [{"Name": "nvidia/gpu", "Count": 2, "Constraints": null, "Affinities": null}], "IOPS": null}),
        },
        Case {
            page: "artifact.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/Tasks/0/Artifacts",
            expected: json!([{"GetterSource": "https://example.com/file.tar.gz", "GetterOptions": {"checksum": "md5:df6a4178aec9fbdc1d6d7e3634d1bc33"},
                "GetterHeaders": null, "GetterMode": "any", "RelativeDest": "local/some-directory"}]),
        },
        Case {
            page: "artifact.mdx",
            example: 3,
            wrap: in_task,
            pointer: "/TaskGroups/0/Tasks/0/Artifacts/0/GetterHeaders",
            expected: json!({"User-Agent": "nomad-[${NOMAD_JOB_ID}]-[${NOMAD_GROUP_NAME}]-[${NOMAD_TASK_NAME}]", "X-Nomad-Alloc": "${NOMAD_ALLOC_ID}"}),
        },
        Case {
            page: "template.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/Tasks/0/Templates/0",
            expected: json!({"SourcePath": "local/redis.conf.tpl", "DestPath": "local/redis.conf", "EmbeddedTmpl": "", "ChangeMode": "signal",
                "ChangeScript": null, "ChangeSignal": "SIGINT", "Splay": 5 * SEC, "Perms": "0644", "Uid": null, "Gid": null,
                "LeftDelim": "{{", "RightDelim": "}}", "Envvars": false, "VaultGrace": null, "Wait": null, "ErrMissingKey": false}),
        },
        Case {
            page: "template.mdx",
            example: 2,
            wrap: in_task,
            pointer: "/TaskGroups/0/Tasks/0/Templates/0/EmbeddedTmpl",
            expected: json!("---\nkey: {{ key \"service/my-key\" }}"),
        },
        Case {
            page: "network.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/Networks",
            expected: json!([{"Mode": "", "Device": "", "CIDR": "", "IP": "", "DNS": null, "Hostname": "", "MBits": null,
                "ReservedPorts": [{"Label": "lb", "Value": 8889, "To": 0, "HostNetwork": ""}],
                "DynamicPorts": [{"Label": "http", "Value": 0, "To": 0, "HostNetwork": ""}, {"Label": "https", "Value": 0, "To": 0, "HostNetwork": ""}]}]),
        },
        Case {
            page: "check_restart.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/Tasks/0/Services/0/Checks/1",
            expected: json!({"Name": "check_table", "Type": "script", "Command": "/usr/local/bin/check_mysql_table_status", "Args": ["--verbose"],
                "Interval": 60 * SEC, "Timeout": 5 * SEC, "OnUpdate": "require_healthy",
                "CheckRestart": {"Limit": 3, "Grace": 90 * SEC, "IgnoreWarnings": false}}),
        },
        Case {
            page: "disconnect.mdx",
            example: 1,
            wrap: as_is,
            pointer: "",
            expected: json!({"TaskGroups": [
                {"Name": "example", "Disconnect": {"LostAfter": 6 * 3600 * SEC, "Replace": false, "Reconcile": "keep_original", "StopOnClientAfter": null}},
                {"Name": "example2", "Disconnect": {"LostAfter": null, "Replace": false, "Reconcile": "keep_original", "StopOnClientAfter": 12 * 3600 * SEC}},
            ]}),
        },
        Case {
            page: "meta.mdx",
            example: 1,
            wrap: as_is,
            pointer: "",
            expected: json!({"Meta": {"my-key": "my-value"}, "TaskGroups": [{"Meta": {"my-key": "my-value"},
                "Tasks": [{"Meta": {"my-key": "my-value"}}]}]}),
        },
        Case {
            page: "env.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/Tasks/0/Env",
            expected: json!({"my_key": "my-value"}),
        },
        Case {
            page: "volume_mount.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0",
            expected: json!({
                "Volumes": {"certs": {"Name": "certs", "Type": "host", "Source": "ca-certificates", "ReadOnly": true, "AccessMode": "",
                    "AttachmentMode": "", "MountOptions": null, "PerAlloc": false}},
                "Tasks": [{"VolumeMounts": [{"Volume": "certs", "Destination": "/etc/ssl/certs", "ReadOnly": null, "PropagationMode": "private"}]}],
            }),
        },
        Case {
            page: "dispatch_payload.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/Tasks/0/DispatchPayload",
            expected: json!({"File": "config.json"}),
        },
        Case {
            page: "vault.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/Tasks/0/Vault",
            expected: json!({"Policies": null, "Role": "prod", "Namespace": "", "Cluster": "default", "Env": true,
                "ChangeMode": "signal", "ChangeSignal": "SIGUSR1"}),
        },
        Case {
            page: "scaling.mdx",
            example: 1,
            wrap: as_is,
            pointer: "/TaskGroups/0/Scaling",
            expected: json!({"Type": "horizontal", "Target": null, "Min": 0, "Max": 10, "Policy": {}, "Enabled": true,
                "CreateIndex": 0, "ModifyIndex": 0}),
        },
    ]
}

/// `expected` must be contained in `actual`: every key it names has the same value (objects
/// recursively, arrays element by element with equal lengths).
fn contains(actual: &Value, expected: &Value, at: &str) -> Result<(), String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (k, ev) in e {
                let av = a.get(k).ok_or_else(|| format!("{at}/{k}: missing"))?;
                contains(av, ev, &format!("{at}/{k}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Err(format!("{at}: {} elements, expected {}", a.len(), e.len()));
            }
            for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                contains(av, ev, &format!("{at}/{i}"))?;
            }
            Ok(())
        }
        _ if actual == expected => Ok(()),
        _ => Err(format!("{at}: found {actual}, documented {expected}")),
    }
}

#[test]
fn jobspec_page_examples_convert_as_documented() {
    let Some(reference) = reference_dir() else { return };
    let cases = cases();
    let pages: std::collections::BTreeSet<_> = cases.iter().map(|c| c.page).collect();
    assert!(
        pages.len() >= 15,
        "golden cases must cover at least 15 jobspec pages"
    );
    let mut failures = Vec::new();
    for case in &cases {
        let hcl = (case.wrap)(&example(
            &reference.join("nomad-jobspec").join(case.page),
            "hcl",
            case.example,
        ));
        let job = match try_convert(&hcl, true) {
            Ok(job) => job,
            Err(e) => {
                failures.push(format!("{} example {}: {e}", case.page, case.example));
                continue;
            }
        };
        let actual = job.pointer(case.pointer).unwrap_or(&Value::Null);
        if let Err(e) = contains(actual, &case.expected, case.pointer) {
            failures.push(format!("{} example {}: {e}", case.page, case.example));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!(
        "golden: {} cases over {} jobspec pages match",
        cases.len(),
        pages.len()
    );
}
