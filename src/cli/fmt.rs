//! `deploy fmt [-check] [-recursive] [PATH]`: rewrite HCL files in the canonical layout (as
//! `terraform fmt` and `nomad fmt`), keeping comments. PATH is a file, a directory (its `.hcl`,
//! `.nomad`, `.tf` and `.tfvars` files) or `-` (standard input to standard output).
//!
//! Exit codes: 0 success (with `-check`: every file is formatted), 1 error (a file that is not
//! valid HCL, unreadable or too large; the other files are still done), 3 with `-check`: some
//! files are not formatted.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use crate::format::{MAX_FILE_BYTES, format_source, hcl_files};

/// Flags of `deploy fmt`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 success, 1 error (invalid HCL, unreadable file), \
3 with -check: some files are not formatted (they are listed)."
)]
pub struct FmtArgs {
    /// A file, a directory, or `-` for standard input.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Change nothing; list the files that are not formatted and exit 3 if there are any.
    #[arg(long = "check")]
    pub check: bool,
    /// Also format the files of subdirectories.
    #[arg(long = "recursive")]
    pub recursive: bool,
    /// Print the outcome as JSON.
    #[arg(long = "json")]
    pub json: bool,
}

/// What `-json` prints.
#[derive(Debug, Default, Serialize)]
pub struct FmtOutcome {
    /// Files whose layout was not canonical (rewritten, or only listed with `-check`).
    pub unformatted: Vec<String>,
    /// Files read.
    pub checked: usize,
    /// Whether `-check` was given (nothing was written).
    pub check: bool,
}

/// Runs `deploy fmt`.
pub fn run(args: &FmtArgs) -> anyhow::Result<ExitCode> {
    if args.path.as_os_str() == "-" {
        return stdin(args);
    }
    let files = if args.path.is_dir() {
        hcl_files(&args.path, args.recursive)
            .map_err(|e| anyhow::anyhow!("reading directory {}: {e}", args.path.display()))?
    } else {
        vec![args.path.clone()]
    };
    let mut outcome = FmtOutcome {
        check: args.check,
        ..FmtOutcome::default()
    };
    let mut errors = 0;
    for file in &files {
        if let Err(e) = format_file(file, args, &mut outcome) {
            // Like `terraform fmt`: report the file and go on with the others.
            eprintln!("Error: {e:#}");
            errors += 1;
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else if args.check && !outcome.unformatted.is_empty() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// Formats one file (with `-check`, only compares), noting it in `outcome` when it changed.
fn format_file(file: &Path, args: &FmtArgs, outcome: &mut FmtOutcome) -> anyhow::Result<()> {
    let text = read(file)?;
    let formatted = format_source(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{e}: not valid HCL; fix it, then run `deploy fmt` again",
            file.display()
        )
    })?;
    outcome.checked += 1;
    if formatted == text {
        return Ok(());
    }
    if !args.check {
        std::fs::write(file, &formatted).map_err(|e| anyhow::anyhow!("writing {}: {e}", file.display()))?;
    }
    if !args.json {
        println!("{}", file.display());
    }
    outcome.unformatted.push(file.display().to_string());
    Ok(())
}

fn read(file: &Path) -> anyhow::Result<String> {
    let meta = std::fs::metadata(file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    if meta.len() > MAX_FILE_BYTES {
        anyhow::bail!(
            "{} is {} bytes, more than the {MAX_FILE_BYTES} `deploy fmt` reads",
            file.display(),
            meta.len()
        );
    }
    std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))
}

/// `deploy fmt -`: standard input to standard output (with `-check`, only the exit code).
fn stdin(args: &FmtArgs) -> anyhow::Result<ExitCode> {
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| anyhow::anyhow!("reading standard input: {e}"))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        anyhow::bail!("standard input is more than the {MAX_FILE_BYTES} bytes `deploy fmt` reads");
    }
    let formatted = format_source(&text).map_err(|e| anyhow::anyhow!("<stdin>:{e}: not valid HCL"))?;
    let changed = formatted != text;
    if args.json {
        let outcome = FmtOutcome {
            unformatted: if changed { vec!["-".into()] } else { Vec::new() },
            checked: 1,
            check: args.check,
        };
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else if !args.check {
        std::io::stdout().write_all(formatted.as_bytes())?;
    }
    Ok(if args.check && changed {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
