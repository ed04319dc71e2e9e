//! `deploy fmt`: the examples and the shared corpus format idempotently and mean the same after
//! (their parse is unchanged); `-check` lists unformatted files and exits 3, as `terraform fmt`.

use std::path::{Path, PathBuf};
use std::process::Command;

use deploy::format::{format_source, hcl_files};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

fn corpus_dir() -> Option<PathBuf> {
    let p = Path::new(CORPUS);
    if p.is_dir() {
        return Some(p.to_path_buf());
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("corpus {CORPUS} is missing and CI=true");
    }
    println!("skipping the corpus: {CORPUS} not found");
    None
}

/// Formats every file under `dir`; returns how many were valid HCL, and the failures.
fn check_tree(dir: &Path) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut formatted = 0;
    for file in hcl_files(dir, true).expect("walk") {
        let src = std::fs::read_to_string(&file).expect("read");
        let Ok(before) = hcl::parse(&src) else {
            assert!(
                format_source(&src).is_err(),
                "{}: invalid HCL formatted",
                file.display()
            );
            continue;
        };
        let out = match format_source(&src) {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        formatted += 1;
        match hcl::parse(&out) {
            Ok(after) if after == before => {}
            Ok(_) => failures.push(format!("{}: the parse changed:\n{out}", file.display())),
            Err(e) => failures.push(format!("{}: output does not parse: {e}\n{out}", file.display())),
        }
        let again = format_source(&out).expect("formats its own output");
        if again != out {
            failures.push(format!("{}: not idempotent", file.display()));
        }
        let comments = |s: &str| s.lines().filter(|l| l.trim_start().starts_with('#')).count();
        if comments(&out) != comments(&src) {
            failures.push(format!("{}: comment lines were lost", file.display()));
        }
    }
    (formatted, failures)
}

#[test]
fn examples_format_idempotently_and_mean_the_same() {
    let (n, failures) = check_tree(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples")));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n >= 10, "only {n} example files");
}

#[test]
fn corpus_formats_idempotently_and_means_the_same() {
    let Some(root) = corpus_dir() else { return };
    let (n, failures) = check_tree(&root);
    println!("formatted {n} corpus files");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n >= 100, "only {n} corpus files");
}

fn deploy(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_deploy"))
        .args(args)
        .output()
        .expect("run deploy")
}

#[test]
fn check_lists_unformatted_files_and_exits_3() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let nested = tmp.path().join("jobs");
    std::fs::create_dir_all(&nested).expect("mkdir");
    let messy = nested.join("web.nomad.hcl");
    std::fs::write(&messy, "job \"web\" {\n# the count\ncount=1\n}\n").expect("write");
    std::fs::write(tmp.path().join("ok.hcl"), "a = 1\n").expect("write");
    let dir = tmp.path().to_str().expect("utf-8");
    let flat = deploy(&["fmt", "-check", dir]);
    assert_eq!(
        flat.status.code(),
        Some(0),
        "{flat:?}: the nested file is not looked at"
    );
    let check = deploy(&["fmt", "-check", "-recursive", dir]);
    assert_eq!(check.status.code(), Some(3), "{check:?}");
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        messy.display().to_string()
    );
    assert!(
        std::fs::read_to_string(&messy).expect("read").contains("count=1"),
        "-check wrote"
    );
    let json = deploy(&["fmt", "-recursive", "-json", dir]);
    assert!(json.status.success(), "{json:?}");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["unformatted"][0], messy.display().to_string());
    assert_eq!(v["checked"], 2);
    assert_eq!(
        std::fs::read_to_string(&messy).expect("read"),
        "job \"web\" {\n  # the count\n  count = 1\n}\n"
    );
    let clean = deploy(&["fmt", "-check", "-recursive", dir]);
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
}

#[test]
fn invalid_files_are_reported_with_their_position() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bad = tmp.path().join("bad.hcl");
    std::fs::write(&bad, "job \"x\" {\n  count = = 1\n}\n").expect("write");
    let out = deploy(&["fmt", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:2:", bad.display())), "{err}");
}
