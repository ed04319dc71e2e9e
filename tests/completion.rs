//! `deploy completion`: each shell's script names the commands, subcommands and flags.

use std::process::Command;

fn script(shell: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_deploy"))
        .args(["completion", shell])
        .output()
        .expect("run deploy");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn completion_scripts_cover_the_commands() {
    let bash = script("bash");
    assert!(bash.contains("complete -F _deploy"), "bash");
    for word in [
        "fmt",
        "logs",
        "dispatch",
        "import",
        "--recursive",
        "--idempotency-token",
    ] {
        assert!(bash.contains(word), "bash script lacks {word}");
    }
    assert!(script("zsh").starts_with("#compdef deploy"));
    let fish = script("fish");
    assert!(
        fish.contains("complete -c deploy") && fish.contains("__fish_seen_subcommand_from state"),
        "fish"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_deploy"))
        .args(["completion", "tcsh"])
        .output()
        .expect("run deploy");
    assert_eq!(bad.status.code(), Some(2), "an unknown shell is a usage error");
}
