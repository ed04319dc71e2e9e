//! The README's own commands, run as a user would: from a copy of the repository's `examples/`,
//! with no backend configured, so `deploy` starts the embedded local cluster itself at Nomad's
//! default address (`127.0.0.1:4646`), exactly as the README's main command does.
//!
//! ```text
//!  deploy apply examples/nightly -auto-approve   (starts the local agent; revision 1)
//!  deploy status examples/nightly                (three jobs)
//!  deploy plan examples/nightly                  (3 unchanged)
//!  deploy apply examples/hello -auto-approve     (a service, gated on health)
//!  deploy agent stop -state examples/state       (the agent is gone)
//! ```
//!
//! The default address is shared by the whole machine: when something already answers there,
//! the test cannot run as the README says; it skips with the reason, and fails when `CI=true`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_deploy");

/// A copy of the README's examples in a temporary directory, whose local agent is stopped when
/// the test ends, however it ends.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let examples = dir.path().join("examples");
        for name in ["hello", "nightly"] {
            copy_dir(&repo_examples().join(name), &examples.join(name));
        }
        Workspace { dir }
    }

    /// `deploy ARGS`, run in the copy, with no `NOMAD_*` variable from the environment.
    fn deploy(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(self.dir.path()).stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("NOMAD_") || k.starts_with("DEPLOY_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("NO_COLOR", "1").output().expect("running deploy")
    }

    /// Like [`Workspace::deploy`], and the command must succeed.
    fn deploy_ok(&self, args: &[&str]) -> String {
        let out = self.deploy(args);
        let text = text(&out);
        assert!(out.status.success(), "deploy {} failed:\n{text}", args.join(" "));
        text
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = self.deploy(&["agent", "stop", "-state", "examples/state"]);
    }
}

fn repo_examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read examples") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy example file");
        }
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn default_address_taken() -> bool {
    TcpStream::connect_timeout(&"127.0.0.1:4646".parse().unwrap(), Duration::from_millis(300)).is_ok()
}

#[test]
fn the_readme_commands_work_as_written() {
    if default_address_taken() {
        let why = "something already listens on 127.0.0.1:4646, the address the README's main command uses";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why} (CI=true)");
        eprintln!("skipping: {why}");
        return;
    }
    let ws = Workspace::new();

    // The main command: starts the local cluster and applies the nightly stack.
    let out = ws.deploy_ok(&["apply", "examples/nightly", "-auto-approve"]);
    assert!(out.contains("Starting a local cluster"), "{out}");
    assert!(out.contains("revision 1"), "{out}");
    assert!(
        ws.dir.path().join("examples/state/nightly").is_dir(),
        "the state is recorded beside the stack, as the README says"
    );

    let status = ws.deploy_ok(&["status", "examples/nightly"]);
    for job in ["backup", "report", "cleanup"] {
        // Periodic and parameterized parents are running while registered, as Nomad says.
        let row = status.lines().find(|l| l.contains(job));
        assert!(
            row.is_some_and(|l| l.contains("running")),
            "status lists {job} as running:\n{status}"
        );
    }

    let plan = ws.deploy_ok(&["plan", "examples/nightly"]);
    assert!(
        plan.contains("0 to create") && plan.contains("3 unchanged"),
        "{plan}"
    );

    // The second example: a service that must become healthy on the same local cluster.
    let hello = ws.deploy_ok(&["apply", "examples/hello", "-auto-approve"]);
    assert!(hello.contains("revision 1"), "{hello}");
    assert!(
        !hello.contains("Starting a local cluster"),
        "the running agent is reused:\n{hello}"
    );
    let hello_status = ws.deploy_ok(&["status", "examples/hello"]);
    assert!(hello_status.contains("running"), "{hello_status}");

    ws.deploy_ok(&["destroy", "examples/hello", "-auto-approve"]);
    ws.deploy_ok(&["destroy", "examples/nightly", "-auto-approve"]);
    let stop = ws.deploy_ok(&["agent", "stop", "-state", "examples/state"]);
    assert!(!stop.trim().is_empty(), "agent stop says what it stopped");
    assert!(
        !default_address_taken(),
        "the local cluster is gone after `agent stop`"
    );
}
