//! `deploy completion bash|zsh|fish`: print a shell completion script for `deploy`.
//!
//! Exit codes: 0 success.

use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

/// The shells `deploy completion` writes scripts for.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum CompletionShell {
    /// Bash: `source <(deploy completion bash)`.
    Bash,
    /// Zsh: `deploy completion zsh > "${fpath[1]}/_deploy"`.
    Zsh,
    /// Fish: `deploy completion fish > ~/.config/fish/completions/deploy.fish`.
    Fish,
}

/// Flags of `deploy completion`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit codes: 0 success.")]
pub struct CompletionArgs {
    /// The shell.
    pub shell: CompletionShell,
}

/// Writes the completion script for `shell` to `out`.
pub fn write_script(shell: CompletionShell, out: &mut dyn std::io::Write) {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "deploy", out);
}

/// Runs `deploy completion`.
pub fn run(args: &CompletionArgs) -> anyhow::Result<ExitCode> {
    write_script(args.shell, &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
