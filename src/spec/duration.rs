//! Nomad durations: nanoseconds on the wire, Go `time.ParseDuration` syntax in HCL.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A signed duration in nanoseconds, serialised as Nomad's JSON API does (an integer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub i64);

/// Why a duration string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationError {
    /// The text that was given.
    pub input: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

const NS: i64 = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
const M: i64 = 60 * S;
const H: i64 = 60 * M;

impl Duration {
    /// Zero.
    pub const ZERO: Duration = Duration(0);

    /// From whole seconds.
    pub const fn from_secs(s: i64) -> Self {
        Duration(s * S)
    }

    /// From whole minutes.
    pub const fn from_mins(m: i64) -> Self {
        Duration(m * M)
    }

    /// From whole hours.
    pub const fn from_hours(h: i64) -> Self {
        Duration(h * H)
    }

    /// From milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        Duration(ms * MS)
    }

    /// Nanoseconds.
    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// As a std duration (negative durations clamp to zero).
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.0.max(0) as u64)
    }

    /// Parses Go's `time.ParseDuration` syntax: `"1h30m"`, `"250ms"`, `"1.5s"`, `"-2m"`, `"0"`.
    pub fn parse(input: &str) -> Result<Self, DurationError> {
        let err = |reason| DurationError {
            input: input.to_string(),
            reason,
        };
        let mut s = input.trim();
        if s.is_empty() {
            return Err(err("empty string"));
        }
        let mut negative = false;
        if let Some(rest) = s.strip_prefix('-') {
            negative = true;
            s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest;
        }
        if s == "0" {
            return Ok(Duration(0));
        }
        let mut total: i128 = 0;
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            if start == i {
                return Err(err("expected a number, as in \"30s\" or \"1h30m\""));
            }
            let number = &s[start..i];
            let unit_start = i;
            while i < bytes.len() && !(bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            let unit = match &s[unit_start..i] {
                "ns" => NS,
                "us" | "µs" | "μs" => US,
                "ms" => MS,
                "s" => S,
                "m" => M,
                "h" => H,
                "" => return Err(err("missing unit (one of ns, us, ms, s, m, h)")),
                _ => return Err(err("unknown unit (use one of ns, us, ms, s, m, h)")),
            };
            let value: f64 = number.parse().map_err(|_| err("malformed number"))?;
            let (whole, frac) = match number.split_once('.') {
                Some((w, f)) => (w, f),
                None => (number, ""),
            };
            let whole: i128 = if whole.is_empty() {
                0
            } else {
                whole.parse().map_err(|_| err("malformed number"))?
            };
            let mut part = whole * unit as i128;
            if !frac.is_empty() {
                let frac_value = value - value.trunc();
                part += (frac_value * unit as f64).round() as i128;
            }
            total += part;
            if total > i64::MAX as i128 {
                return Err(err("out of range"));
            }
        }
        let total = total as i64;
        Ok(Duration(if negative { -total } else { total }))
    }
}

impl fmt::Display for Duration {
    /// Formats as Go's `time.Duration.String()` does: `1h30m0s`, `250ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut n = self.0;
        if n == 0 {
            return f.write_str("0s");
        }
        if n < 0 {
            f.write_str("-")?;
            n = -n;
        }
        if n < S {
            return if n < US {
                write!(f, "{n}ns")
            } else if n < MS {
                write_frac(f, n, US, "µs")
            } else {
                write_frac(f, n, MS, "ms")
            };
        }
        let h = n / H;
        let m = (n % H) / M;
        let rest = n % M;
        if h > 0 {
            write!(f, "{h}h{m}m")?;
        } else if m > 0 {
            write!(f, "{m}m")?;
        }
        write_frac(f, rest, S, "s")
    }
}

fn write_frac(f: &mut fmt::Formatter<'_>, n: i64, unit: i64, suffix: &str) -> fmt::Result {
    let whole = n / unit;
    let frac = n % unit;
    if frac == 0 {
        return write!(f, "{whole}{suffix}");
    }
    let digits = unit.ilog10() as usize;
    let frac = format!("{frac:0digits$}");
    write!(f, "{whole}.{}{suffix}", frac.trim_end_matches('0'))
}

impl Serialize for Duration {
    fn serialize<S2: Serializer>(&self, serializer: S2) -> Result<S2::Ok, S2::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Duration {
    /// Accepts nanoseconds (Nomad's wire form) or a duration string.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Int(i64),
            Float(f64),
            Text(String),
        }
        match Wire::deserialize(deserializer)? {
            Wire::Int(n) => Ok(Duration(n)),
            Wire::Float(n) => Ok(Duration(n as i64)),
            Wire::Text(s) => Duration::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_syntax() {
        assert_eq!(Duration::parse("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(Duration::parse("1h30m").unwrap(), Duration(H + 30 * M));
        assert_eq!(Duration::parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(Duration::parse("1.5s").unwrap(), Duration(1_500_000_000));
        assert_eq!(Duration::parse("-2m").unwrap(), Duration(-2 * M));
        assert_eq!(Duration::parse("0").unwrap(), Duration(0));
        assert_eq!(Duration::parse("10us").unwrap(), Duration(10_000));
        assert!(Duration::parse("10").is_err());
        assert!(Duration::parse("ten seconds").is_err());
        assert!(Duration::parse("5d").is_err());
        assert!(Duration::parse("").is_err());
    }

    #[test]
    fn displays_like_go() {
        assert_eq!(Duration(H + 30 * M).to_string(), "1h30m0s");
        assert_eq!(Duration::from_secs(30).to_string(), "30s");
        assert_eq!(Duration::from_millis(250).to_string(), "250ms");
        assert_eq!(Duration(1_500_000_000).to_string(), "1.5s");
        assert_eq!(Duration(0).to_string(), "0s");
        assert_eq!(Duration::from_mins(5).to_string(), "5m0s");
    }

    #[test]
    fn wire_form_is_nanoseconds() {
        assert_eq!(
            serde_json::to_string(&Duration::from_secs(1)).unwrap(),
            "1000000000"
        );
        let d: Duration = serde_json::from_str("\"15s\"").unwrap();
        assert_eq!(d, Duration::from_secs(15));
    }
}
