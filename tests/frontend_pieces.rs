//! A job file cut into pieces (parsed and decoded piece by piece, on every core) loads exactly
//! as the whole file: `deploy plan` prints the same plan, and the same diagnostics at the same
//! file:line:col, with every file cut into the smallest pieces (`DEPLOY_TEST_PIECE_BYTES=1`),
//! never cut (`=0`), and cut as a large file is by default.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// `deploy plan -refresh=false` of `dir` with `DEPLOY_TEST_PIECE_BYTES` set to `pieces` (or
/// unset): exit status, stdout and stderr.
fn plan(dir: &Path, pieces: Option<&str>) -> (Option<i32>, String, String) {
    let state = tempfile::tempdir().expect("temporary directory");
    let mut cmd = Command::new(BIN);
    cmd.args(["plan", "-refresh=false", "-state"])
        .arg(state.path())
        .arg(dir)
        .env("NO_COLOR", "1")
        .env_remove("DEPLOY_TEST_PIECE_BYTES");
    if let Some(p) = pieces {
        cmd.env("DEPLOY_TEST_PIECE_BYTES", p);
    }
    let out = cmd.output().expect("deploy runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_same_cut_or_whole(dir: &Path) -> (Option<i32>, String, String) {
    let whole = plan(dir, Some("0"));
    assert_eq!(
        plan(dir, Some("1")),
        whole,
        "{} cut into the smallest pieces",
        dir.display()
    );
    assert_eq!(plan(dir, None), whole, "{} with the default cut", dir.display());
    whole
}

#[test]
fn examples_plan_the_same_cut_or_whole() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<_> = std::fs::read_dir(&examples)
        .expect("examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5);
    for dir in dirs {
        let (code, out, err) = assert_same_cut_or_whole(&dir);
        assert_eq!(code, Some(0), "{}: {err}", dir.display());
        assert!(out.contains("to create"), "{out}");
    }
}

/// One small job; `extra` goes inside the task.
fn job(i: usize, extra: &str) -> String {
    format!(
        "job \"svc-{i}\" {{\n  # a comment with }} and \"\n  meta {{\n    index = \"{i}\"\n    note  = \"${{var.tag}}-${{local.n}}-%{{ if true }}x%{{ endif }}}}\"\n  }}\n  group \"app\" {{\n    task \"server\" {{\n      driver = \"docker\"\n      config {{\n        image = \"registry.local/app:{i}\"\n        args  = [<<-EOT\n          }}\n        job \"not-a-job\" {{\n        EOT\n        ]\n      }}\n      env {{\n        ALLOC = \"${{NOMAD_ALLOC_ID}}\"\n      }}\n{extra}    }}\n  }}\n}}\n"
    )
}

/// A stack of one large job file (past the size that is cut by default): 1,200 jobs, a variable
/// declared after them, one job reading another's `job.ID` object; with `broken`, a syntax
/// error in the middle and an unknown block near the end.
fn large_stack(broken: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut text = String::from("/* leading\n   comment } */\nlocals {\n  n = 3\n}\n\n");
    for i in 0..1200 {
        let extra = match i {
            7 => "      meta {\n        upstream = job.svc-3.name\n      }\n",
            300 if broken => "      count = \n",
            590 if broken => "      resorces {\n        cpu = 100\n      }\n",
            _ => "",
        };
        text.push_str(&job(i, extra));
    }
    text.push_str("\nvariable \"tag\" {\n  default = \"v3\"\n}\n");
    assert!(text.len() > 300 << 10, "{} bytes", text.len());
    std::fs::write(dir.path().join("jobs.nomad.hcl"), text).expect("job file");
    std::fs::write(
        dir.path().join("stack.hcl"),
        "stack {\n  name = \"big\"\n}\n\ndependency \"svc-2\" {\n  depends_on = [job.svc-1]\n}\n",
    )
    .expect("stack file");
    dir
}

#[test]
fn a_large_file_plans_the_same_cut_or_whole() {
    let dir = large_stack(false);
    let (code, out, err) = assert_same_cut_or_whole(dir.path());
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("1200 to create"), "{out}");
    assert!(out.contains("waits for: job.svc-3"), "{out}");
}

#[test]
fn a_large_file_with_errors_reports_the_same_cut_or_whole() {
    let dir = large_stack(true);
    let (code, _, err) = assert_same_cut_or_whole(dir.path());
    assert_eq!(code, Some(1));
    assert!(err.contains("jobs.nomad.hcl:"), "{err}");
}
