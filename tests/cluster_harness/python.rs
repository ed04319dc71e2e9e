//! python-nomad, a real Nomad API client from PyPI, driven against test agents by the scripts
//! in `tests/python/`.

use std::process::Command;

/// Whether `python3` can import python-nomad. Without it a test prints why and skips; in CI
/// (`CI=true`) it fails instead, since `.ci/run` installs it.
pub fn python_nomad_available() -> bool {
    let available = Command::new("python3")
        .args(["-c", "import nomad"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "python-nomad is required in CI (pip install python-nomad)"
        );
        eprintln!("skipping: python3 cannot import nomad (pip install python-nomad)");
    }
    available
}

/// Runs `tests/python/<script>` with `args` and `env`; fails unless it exits 0 and prints
/// `expect`. Returns what it printed.
pub async fn run_script(script: &str, args: Vec<String>, env: Vec<(String, String)>, expect: &str) -> String {
    let path = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let out =
        tokio::task::spawn_blocking(move || Command::new("python3").arg(path).args(args).envs(env).output())
            .await
            .expect("join")
            .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python-nomad script {script} failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(expect),
        "{script} did not print {expect:?}:\n{stdout}"
    );
    stdout
}
