//! Shared by the seed example tests: the tools a test needs (a missing one skips the test with
//! the reason, or fails it when `CI=true`), and the offline plan of an example as users read it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

/// Whether `program args...` runs and exits 0.
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `Ok(())` when every check passes, else the first missing tool's reason. Each check is a
/// reason and a command line that must succeed.
pub fn missing_tool(checks: &[(&str, &[&str])]) -> Result<(), String> {
    for (why, cmd) in checks {
        if !runs(cmd[0], &cmd[1..]) {
            return Err((*why).to_owned());
        }
    }
    Ok(())
}

/// Whether the test should go on: prints the reason and returns false when a tool is missing,
/// panics instead when `CI=true` (CI installs every tool, see `.ci/run`).
pub fn tools_present(test: &str, checks: &[(&str, &[&str])]) -> bool {
    match missing_tool(checks) {
        Ok(()) => true,
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: {why} (CI=true)"
            );
            eprintln!("skipping {test}: {why}");
            false
        }
    }
}

/// `deploy plan STACK -refresh=false` with a fresh state directory: the offline plan's text.
pub fn offline_plan(bin: &str, stack: &Path, vars: &[&str]) -> String {
    let state = tempfile::tempdir().expect("state dir");
    let mut cmd = Command::new(bin);
    cmd.arg("plan")
        .arg(stack)
        .args(["-refresh=false", "-state"])
        .arg(state.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for v in vars {
        cmd.args(["-var", v]);
    }
    let out = cmd.output().expect("running deploy plan");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "deploy plan {} failed:\n{text}{}",
        stack.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// `deploy validate STACK` succeeds.
pub fn assert_valid(bin: &str, stack: &Path) {
    let out = Command::new(bin)
        .arg("validate")
        .arg(stack)
        .env("NO_COLOR", "1")
        .output()
        .expect("running deploy validate");
    assert!(
        out.status.success(),
        "deploy validate {} failed:\n{}{}",
        stack.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// insta settings that write into the repository's `snapshots/`.
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}
