//! Cron expressions as Nomad reads them (5, 6 or 7 fields, `@daily` and friends), mapped onto
//! the `cron` crate, which always wants a seconds field first.

use std::str::FromStr;

/// A parsed periodic spec.
pub type Schedule = cron::Schedule;

/// Parses a Nomad `periodic` cron expression.
///
/// Nomad (cronexpr) reads 5 fields as `min hour dom month dow`, 6 as those plus a year, and 7
/// as seconds first plus a year.
pub fn parse(spec: &str) -> Result<Schedule, String> {
    let spec = spec.trim();
    let normalized = if spec.starts_with('@') {
        match spec {
            "@annually" => "@yearly".to_string(),
            other => other.to_string(),
        }
    } else {
        match spec.split_whitespace().count() {
            5 | 6 => format!("0 {spec}"),
            7 => spec.to_string(),
            n => return Err(format!("expected 5, 6 or 7 fields, found {n}")),
        }
    };
    Schedule::from_str(&normalized).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nomad_forms() {
        assert!(parse("*/15 * * * *").is_ok());
        assert!(parse("0 3 * * 1-5").is_ok());
        assert!(parse("@daily").is_ok());
        assert!(parse("0 0 * * * 2030").is_ok());
        assert!(parse("not a cron").is_err());
        assert!(parse("* * *").is_err());
    }
}
