//! What the client lets tasks do beyond their sandbox, read from the agent's configuration file
//! with Nomad's names: `client { chroot_env, options { "user.denylist" }, artifact { ... } }`
//! and `plugin "docker" { config { allow_caps, allow_privileged, volumes { enabled },
//! pids_limit, allow_network_modes } }`.
//!
//! Every default is the closed one: a job asking for more than these settings allow fails its
//! task with a message naming the setting that would allow it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// Nomad's default `chroot_env`: host paths bound into an `exec` task's chroot.
pub const DEFAULT_CHROOT_ENV: [&str; 8] = [
    "/bin",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/run/resolvconf",
    "/sbin",
    "/usr",
];

/// Nomad's default `allow_caps` of the docker plugin (no `NET_RAW`, no `NET_ADMIN`).
pub const DEFAULT_ALLOW_CAPS: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The docker plugin's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerPolicy {
    /// Capabilities a task may add (`allow_caps`), upper case without `CAP_`.
    pub allow_caps: Vec<String>,
    /// Whether tasks may run privileged containers (`allow_privileged`).
    pub allow_privileged: bool,
    /// Whether tasks may bind-mount host paths outside their allocation and use named volumes
    /// (`volumes { enabled }`).
    pub volumes_enabled: bool,
    /// Network modes a task may set (`allow_network_modes`; `host` is not among the defaults).
    pub allow_network_modes: Vec<String>,
    /// The most processes a container may have (`pids_limit`); tasks may only ask for less.
    pub pids_limit: i64,
}

impl Default for DockerPolicy {
    fn default() -> Self {
        Self {
            allow_caps: DEFAULT_ALLOW_CAPS.iter().map(|s| (*s).to_owned()).collect(),
            allow_privileged: false,
            volumes_enabled: false,
            allow_network_modes: ["bridge", "none", "default"].map(str::to_owned).to_vec(),
            pids_limit: 4096,
        }
    }
}

/// Limits on artifact downloads (`client { artifact { ... } }`, Nomad's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactLimits {
    /// Time for a whole download (`http_read_timeout`).
    pub timeout: Duration,
    /// Largest download in bytes (`http_max_size`).
    pub max_size: u64,
    /// Largest total size an archive may unpack to (`decompression_size_limit`).
    pub max_unpacked_size: u64,
    /// Most entries an archive may hold (`decompression_file_count_limit`).
    pub max_files: u64,
}

impl Default for ArtifactLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30 * 60),
            max_size: 100_000_000_000,
            max_unpacked_size: 100_000_000_000,
            max_files: 4096,
        }
    }
}

/// The client's sandbox settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Host path → path in the chroot of `exec` tasks (`client { chroot_env }`).
    pub chroot_env: BTreeMap<String, String>,
    /// Users `exec` tasks may not run as (`options { "user.denylist" }`, default `root`).
    pub user_denylist: Vec<String>,
    /// The docker plugin's policy.
    pub docker: DockerPolicy,
    /// Artifact download limits.
    pub artifact: ArtifactLimits,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            chroot_env: DEFAULT_CHROOT_ENV
                .iter()
                .map(|p| ((*p).to_owned(), (*p).to_owned()))
                .collect(),
            user_denylist: vec!["root".into()],
            docker: DockerPolicy::default(),
            artifact: ArtifactLimits::default(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclFile {
    client: Option<HclClient>,
    plugin: BTreeMap<String, HclPlugin>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclClient {
    chroot_env: Option<BTreeMap<String, String>>,
    options: BTreeMap<String, String>,
    artifact: Option<HclArtifact>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclArtifact {
    http_read_timeout: Option<String>,
    http_max_size: Option<String>,
    decompression_size_limit: Option<String>,
    decompression_file_count_limit: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclPlugin {
    config: Option<HclDocker>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclDocker {
    allow_caps: Option<Vec<String>>,
    allow_privileged: Option<bool>,
    volumes: Option<HclVolumes>,
    pids_limit: Option<i64>,
    allow_network_modes: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HclVolumes {
    enabled: Option<bool>,
}

fn invalid(message: String) -> hcl::Error {
    <hcl::Error as serde::de::Error>::custom(message)
}

/// A capability name as Docker wants it: upper case, without `CAP_`.
pub fn cap_name(cap: &str) -> String {
    let up = cap.trim().to_uppercase();
    up.strip_prefix("CAP_").unwrap_or(&up).to_owned()
}

impl SandboxConfig {
    /// Overlays the sandbox settings of agent HCL text (other settings are ignored here).
    pub fn merge_hcl_str(&mut self, text: &str) -> Result<(), hcl::Error> {
        let file: HclFile = hcl::from_str(text)?;
        if let Some(c) = file.client {
            if let Some(env) = c.chroot_env {
                self.chroot_env = env;
            }
            if let Some(list) = c.options.get("user.denylist") {
                self.user_denylist = list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            if let Some(a) = c.artifact {
                self.artifact.merge(a)?;
            }
        }
        if let Some(d) = file.plugin.get("docker").and_then(|p| p.config.as_ref()) {
            let p = &mut self.docker;
            if let Some(caps) = &d.allow_caps {
                p.allow_caps = caps.iter().map(|c| cap_name(c)).collect();
            }
            p.allow_privileged = d.allow_privileged.unwrap_or(p.allow_privileged);
            p.volumes_enabled = d
                .volumes
                .as_ref()
                .and_then(|v| v.enabled)
                .unwrap_or(p.volumes_enabled);
            p.pids_limit = d.pids_limit.unwrap_or(p.pids_limit);
            if let Some(modes) = &d.allow_network_modes {
                p.allow_network_modes.clone_from(modes);
            }
        }
        Ok(())
    }
}

impl ArtifactLimits {
    fn merge(&mut self, a: HclArtifact) -> Result<(), hcl::Error> {
        if let Some(t) = a.http_read_timeout {
            self.timeout = parse_duration(&t)
                .ok_or_else(|| invalid(format!("artifact http_read_timeout {t:?} is not a duration")))?;
        }
        let size = |s: Option<String>, name: &str, slot: &mut u64| -> Result<(), hcl::Error> {
            if let Some(s) = s {
                *slot =
                    parse_size(&s).ok_or_else(|| invalid(format!("artifact {name} {s:?} is not a size")))?;
            }
            Ok(())
        };
        size(a.http_max_size, "http_max_size", &mut self.max_size)?;
        size(
            a.decompression_size_limit,
            "decompression_size_limit",
            &mut self.max_unpacked_size,
        )?;
        if let Some(n) = a.decompression_file_count_limit {
            self.max_files = n;
        }
        Ok(())
    }
}

/// A duration such as `30m`, `10s`, `1h30m` or `500ms`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            _ => return None,
        };
        total += unit;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// A size such as `100GB`, `10MiB`, `512KB` or `1024` (bytes), as Nomad (go-humanize) reads it.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..split].parse().ok()?;
    let mult: u64 = match s[split..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "tb" | "t" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_closed() {
        let c = SandboxConfig::default();
        assert_eq!(c.user_denylist, vec!["root"]);
        assert!(!c.docker.volumes_enabled && !c.docker.allow_privileged);
        assert!(
            !c.docker
                .allow_caps
                .iter()
                .any(|c| c == "NET_ADMIN" || c == "NET_RAW")
        );
        assert!(!c.docker.allow_network_modes.iter().any(|m| m == "host"));
        assert_eq!(c.chroot_env.get("/etc").map(String::as_str), Some("/etc"));
    }

    #[test]
    fn reads_nomad_style_settings() {
        let mut c = SandboxConfig::default();
        c.merge_hcl_str(
            r#"
            client {
              enabled = true
              chroot_env = { "/bin" = "/bin", "/etc/ssl" = "/etc/ssl" }
              options = { "user.denylist" = "root, admin" }
              artifact {
                http_read_timeout = "2s"
                http_max_size = "1MB"
              }
            }
            plugin "raw_exec" {
              config { enabled = true }
            }
            plugin "docker" {
              config {
                allow_caps = ["net_admin", "CAP_NET_RAW", "chown"]
                volumes { enabled = true }
                pids_limit = 100
              }
            }
            "#,
        )
        .unwrap();
        assert_eq!(c.chroot_env.len(), 2);
        assert_eq!(c.user_denylist, vec!["root", "admin"]);
        assert_eq!(c.artifact.timeout, Duration::from_secs(2));
        assert_eq!(c.artifact.max_size, 1_000_000);
        assert_eq!(c.docker.allow_caps, vec!["NET_ADMIN", "NET_RAW", "CHOWN"]);
        assert!(c.docker.volumes_enabled);
        assert_eq!(c.docker.pids_limit, 100);
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("100GB"), Some(100_000_000_000));
        assert_eq!(parse_size("2MiB"), Some(2 << 20));
        assert_eq!(parse_size("12"), Some(12));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5"), None);
    }
}
