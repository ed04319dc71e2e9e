//! The `deploy` binary: parses the command line and hands it to [`deploy::cli`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
