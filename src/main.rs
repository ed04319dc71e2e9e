//! The `deploy` binary: parses the command line and hands it to [`deploy::cli`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`deploy inspect ... | head`) instead of failing on every later write.
    // SAFETY: called before any other thread exists; SIG_DFL is always a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = deploy::cli::normalize_args(std::env::args_os());
    let cli = deploy::cli::Cli::parse_from(args);
    match deploy::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::from(1)
        }
    }
}
