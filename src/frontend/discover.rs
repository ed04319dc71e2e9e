//! Finding the files of a stack and telling jobspecs, stack files, value files and Nomad
//! agent configurations apart.

use std::path::{Path, PathBuf};

use hcl::edit::structure::{Body, Structure};

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Has `job` blocks: its own variable scope.
    Jobs,
    /// Stack blocks only (`stack`, `variable`, `locals`, `output`, `module`, `dependency`).
    Stack,
    /// A Nomad agent configuration (`client`, `server`, `data_dir`, ...): skipped.
    AgentConfig,
    /// Only top-level attributes: a values file (skipped unless named `*.auto.vars.hcl`).
    Values,
    /// Nothing at all.
    Empty,
}

/// Top-level blocks of a stack file.
pub const STACK_BLOCKS: &[&str] = &[
    "stack",
    "variable",
    "locals",
    "output",
    "module",
    "dependency",
    "nomad_variable",
];

const AGENT_KEYS: &[&str] = &[
    "client",
    "server",
    "data_dir",
    "plugin",
    "ports",
    "advertise",
    "bind_addr",
    "acl",
    "telemetry",
    "consul",
    "vault",
    "tls",
    "addresses",
    "datacenter",
    "log_level",
    "enable_debug",
    "leave_on_terminate",
];

/// The jobspec and stack files of a directory, sorted, without value files.
pub fn stack_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !path.is_file() || name.starts_with('.') || name.ends_with(".auto.vars.hcl") {
            continue;
        }
        if name.ends_with(".hcl") || name.ends_with(".nomad") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The `*.auto.vars.hcl` files of a directory, sorted.
pub fn auto_var_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".auto.vars.hcl"))
        })
        .collect();
    files.sort();
    files
}

/// For files HCL2 cannot parse (agent configs often use HCL1 forms such as quoted keys):
/// true when the unindented lines name agent settings and no `job`.
pub fn looks_like_agent_config(text: &str) -> bool {
    let mut agent = false;
    for line in text
        .lines()
        .filter(|l| !l.starts_with([' ', '\t', '#', '/', '}']))
    {
        let word: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if word == "job" {
            return false;
        }
        agent |= AGENT_KEYS.contains(&word.as_str());
    }
    agent
}

/// Classifies a parsed body.
pub fn classify(body: &Body) -> FileKind {
    let mut has_job = false;
    let mut has_stack = false;
    let mut has_agent = false;
    let mut has_attr = false;
    let mut any = false;
    for s in body.iter() {
        any = true;
        match s {
            Structure::Block(b) => {
                let name = b.ident.value().as_str();
                has_job |= name == "job";
                has_stack |= STACK_BLOCKS.contains(&name);
                has_agent |= AGENT_KEYS.contains(&name);
            }
            Structure::Attribute(a) => {
                has_attr = true;
                has_agent |= AGENT_KEYS.contains(&a.key.value().as_str());
            }
        }
    }
    if has_job {
        FileKind::Jobs
    } else if has_agent && !has_stack {
        FileKind::AgentConfig
    } else if has_stack {
        FileKind::Stack
    } else if has_attr && body.blocks().next().is_none() {
        FileKind::Values
    } else if any {
        FileKind::Stack
    } else {
        FileKind::Empty
    }
}
