//! No input may panic or hang the front end: random bytes and mutated corpus files.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// Parses in a thread; fails on a panic or when it takes longer than the limit.
fn parse_bounded(text: String) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let r = deploy::frontend::parse_job_text(Path::new("fuzz.nomad.hcl"), &text);
        let _ = tx.send(r.is_ok());
    });
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(_) => handle.join().map_err(|_| "panicked".to_string()),
        Err(mpsc::RecvTimeoutError::Timeout) => Err("took longer than 5 s".into()),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("panicked".into()),
    }
}

fn corpus_texts() -> Vec<String> {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("corpus {CORPUS} is missing and CI=true");
        }
        println!("skipping corpus mutations: {CORPUS} not found");
        return Vec::new();
    }
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![
        root.join("seeds"),
        root.join("nomad/hashicorp+nomad/command/asset"),
    ];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "hcl" || x == "nomad") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert_eq!(parse_bounded(text), Ok(()));
    }

    #[test]
    fn hcl_shaped_noise_never_panics(parts in proptest::collection::vec(
        prop_oneof![
            Just("job \"a\" {".to_string()), Just("group \"g\" {".to_string()), Just("task \"t\" {".to_string()),
            Just("}".to_string()), Just("\n".to_string()), Just("x = ".to_string()), Just("\"${".to_string()),
            Just("%{ for x in var.l }".to_string()), Just("%{ endfor }".to_string()), Just("<<-EOT\n".to_string()),
            Just("EOT\n".to_string()), Just("var.".to_string()), Just("[1, 2]".to_string()), Just("{ a = 1 }".to_string()),
            Just("variable \"v\" { default = 1 }".to_string()), Just("format(\"%d\", 1)".to_string()), "[a-z_]{1,8}".prop_map(|s| s),
        ], 0..40)) {
        prop_assert_eq!(parse_bounded(parts.concat()), Ok(()));
    }
}

#[test]
fn mutated_corpus_files_never_panic() {
    let texts = corpus_texts();
    if texts.is_empty() {
        return;
    }
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 1000,
        ..ProptestConfig::default()
    });
    let strategy = (0..texts.len(), any::<u64>(), 0u8..4, any::<u8>());
    let result = runner.run(&strategy, |(idx, pos, op, byte)| {
        let mut bytes = texts[idx].clone().into_bytes();
        if bytes.is_empty() {
            return Ok(());
        }
        let at = (pos % bytes.len() as u64) as usize;
        match op {
            0 => bytes[at] ^= byte | 1,
            1 => bytes.truncate(at),
            2 => {
                let end = (at + (byte as usize % 32) + 1).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => bytes.insert(at, byte),
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert_eq!(parse_bounded(text), Ok(()));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    for open in ["[", "{", "(", "\"${", "-", "!"] {
        let text = format!("job \"a\" {{\n  meta = {}\n}}\n", open.repeat(20_000));
        assert_eq!(parse_bounded(text), Ok(()), "nesting with {open}");
    }
    for (open, close) in [("[", "]"), ("(", ")"), ("{ a = ", " }")] {
        let text = format!(
            "job \"a\" {{\n  meta = {}1{}\n}}\n",
            open.repeat(5_000),
            close.repeat(5_000)
        );
        assert_eq!(parse_bounded(text), Ok(()), "balanced nesting with {open}");
    }
}
