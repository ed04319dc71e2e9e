//! Version constraints for the `version` and `semver` constraint operators
//! (`">= 1.2, < 2.0"`, `"~> 1.4"`, `"= 1.0.0-beta"`).

use std::cmp::Ordering;

/// One comparison in a constraint.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Clause {
    op: Op,
    version: Version,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Pessimistic,
}

/// A lenient version: 1 to 4 numeric segments and an optional pre-release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    segments: Vec<u64>,
    given: usize,
    pre: String,
}

impl Version {
    /// Parses `1`, `1.2`, `v1.2.3`, `1.2.3-beta.1+build`.
    pub fn parse(s: &str) -> Result<Version, String> {
        let s = s.trim().trim_start_matches('v');
        let s = s.split('+').next().unwrap_or("");
        let (nums, pre) = match s.split_once('-') {
            Some((n, p)) => (n, p.to_string()),
            None => (s, String::new()),
        };
        if nums.is_empty() {
            return Err(format!("{s:?} is not a version"));
        }
        let mut segments = Vec::new();
        for part in nums.split('.') {
            segments.push(
                part.parse::<u64>()
                    .map_err(|_| format!("{s:?} is not a version"))?,
            );
        }
        if segments.len() > 4 {
            return Err(format!("{s:?} has too many segments"));
        }
        let given = segments.len();
        segments.resize(4, 0);
        Ok(Version { segments, given, pre })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.segments
            .cmp(&other.segments)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

/// A parsed constraint: every clause must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionConstraint {
    clauses: Vec<Clause>,
    strict: bool,
}

/// Parses a constraint; `strict` (the `semver` operator) requires full `X.Y.Z` versions.
pub fn parse_constraint(s: &str, strict: bool) -> Result<VersionConstraint, String> {
    let mut clauses = Vec::new();
    for raw in s.split(',') {
        let raw = raw.trim();
        let (op, rest) = [
            ("~>", Op::Pessimistic),
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("!=", Op::Ne),
            ("==", Op::Eq),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("=", Op::Eq),
        ]
        .iter()
        .find_map(|(p, op)| raw.strip_prefix(p).map(|rest| (*op, rest)))
        .unwrap_or((Op::Eq, raw));
        let version = Version::parse(rest)?;
        if strict && version.given != 3 {
            return Err(format!("{rest:?} is not a full semantic version (X.Y.Z)"));
        }
        clauses.push(Clause { op, version });
    }
    Ok(VersionConstraint { clauses, strict })
}

impl VersionConstraint {
    /// Whether `version` satisfies every clause; an unparsable version never does.
    pub fn matches(&self, version: &str) -> bool {
        let Ok(v) = Version::parse(version) else {
            return false;
        };
        if self.strict && v.given != 3 {
            return false;
        }
        self.clauses.iter().all(|c| match c.op {
            Op::Eq => v == c.version,
            Op::Ne => v != c.version,
            Op::Gt => v > c.version,
            Op::Ge => v >= c.version,
            Op::Lt => v < c.version,
            Op::Le => v <= c.version,
            Op::Pessimistic => {
                // ~> 1.2 means >= 1.2, < 2; ~> 1.2.3 means >= 1.2.3, < 1.3
                let fixed = c.version.given.saturating_sub(1).max(1);
                v >= c.version && v.segments[..fixed - 1] == c.version.segments[..fixed - 1] && {
                    let i = fixed - 1;
                    if c.version.given == 1 {
                        true
                    } else {
                        v.segments[i] == c.version.segments[i]
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let c = parse_constraint(">= 1.2, < 2.0", false).unwrap();
        assert!(c.matches("1.2.0"));
        assert!(c.matches("1.9"));
        assert!(!c.matches("2.0.0"));
        assert!(!c.matches("1.1"));
    }

    #[test]
    fn pessimistic() {
        let c = parse_constraint("~> 1.2", false).unwrap();
        assert!(c.matches("1.2.0") && c.matches("1.9.3"));
        assert!(!c.matches("2.0.0"));
        let c = parse_constraint("~> 1.2.3", false).unwrap();
        assert!(c.matches("1.2.9"));
        assert!(!c.matches("1.3.0"));
    }

    #[test]
    fn semver_is_strict_and_prerelease_sorts_first() {
        assert!(parse_constraint(">= 1.2", true).is_err());
        let c = parse_constraint(">= 1.0.0", true).unwrap();
        assert!(!c.matches("1.0.0-beta"));
        assert!(c.matches("1.0.0"));
        assert!(parse_constraint("banana", false).is_err());
    }
}
