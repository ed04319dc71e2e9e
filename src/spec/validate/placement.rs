//! Placement checks: constraint and affinity operators with what each needs of its operands,
//! and spread attributes, weights and target percentages.

use super::Checker;
use crate::spec::placement::{AFFINITY_OPERATORS, Affinity, CONSTRAINT_OPERATORS, Constraint, Spread};

/// Checks constraint `index` of a job, group or task.
pub(super) fn check_constraint(c: &mut Checker, index: usize, con: &Constraint) {
    c.scoped("constraint".into(), format!("Constraints[{index}]"), |c| {
        let op = if con.operand.is_empty() {
            "="
        } else {
            con.operand.as_str()
        };
        if !CONSTRAINT_OPERATORS.contains(&op) {
            c.push(
                Some("Operand"),
                format!(
                    "unknown constraint operator {op:?}; expected one of {}",
                    CONSTRAINT_OPERATORS.join(" ")
                ),
            );
            return;
        }
        check_operand_value(c, op, &con.l_target, &con.r_target);
    });
}

/// Checks affinity `index` of a job, group or task.
pub(super) fn check_affinity(c: &mut Checker, index: usize, aff: &Affinity) {
    c.scoped("affinity".into(), format!("Affinities[{index}]"), |c| {
        let op = if aff.operand.is_empty() {
            "="
        } else {
            aff.operand.as_str()
        };
        if !AFFINITY_OPERATORS.contains(&op) {
            c.push(
                Some("Operand"),
                format!(
                    "unknown affinity operator {op:?}; expected one of {}",
                    AFFINITY_OPERATORS.join(" ")
                ),
            );
            return;
        }
        if let Some(w) = aff.weight
            && (w == 0 || !(-100..=100).contains(&w))
        {
            c.push(
                Some("Weight"),
                format!("weight {w} must be non-zero and within -100..=100"),
            );
        }
        check_operand_value(c, op, &aff.l_target, &aff.r_target);
    });
}

/// What each operator needs of its attribute and value.
fn check_operand_value(c: &mut Checker, op: &str, l: &str, r: &str) {
    match op {
        "distinct_hosts" => {}
        "distinct_property" => {
            if l.is_empty() {
                c.push(Some("LTarget"), "distinct_property needs an attribute");
            }
            if !r.is_empty() && r.parse::<u64>().map_or(true, |n| n == 0) {
                c.push(
                    Some("RTarget"),
                    format!("distinct_property limit {r:?} must be a positive integer"),
                );
            }
        }
        "is_set" | "is_not_set" => {
            if l.is_empty() {
                c.push(Some("LTarget"), format!("{op} needs an attribute"));
            }
        }
        "regexp" => {
            if let Err(e) = regex::Regex::new(r) {
                c.push(Some("RTarget"), format!("invalid regular expression {r:?}: {e}"));
            }
        }
        "version" | "semver" => {
            if crate::spec::version::parse_constraint(r, op == "semver").is_err() {
                c.push(Some("RTarget"), format!("invalid version constraint {r:?}"));
            }
        }
        _ => {
            if l.is_empty() && r.is_empty() {
                c.push(None, "constraint needs an attribute and a value");
            }
        }
    }
}

/// Checks the spreads of a job or group.
pub(super) fn check_spreads(c: &mut Checker, spreads: &[Spread]) {
    for (i, s) in spreads.iter().enumerate() {
        c.scoped("spread".into(), format!("Spreads[{i}]"), |c| {
            if s.attribute.is_empty() {
                c.push(Some("Attribute"), "spread needs an attribute");
            }
            if let Some(w) = s.weight
                && !(0..=100).contains(&w)
            {
                c.push(Some("Weight"), format!("weight {w} is outside 0..=100"));
            }
            let sum: u32 = s
                .spread_target
                .iter()
                .flatten()
                .map(|t| u32::from(t.percent))
                .sum();
            if sum > 100 {
                c.push(
                    Some("SpreadTarget"),
                    format!("target percentages add up to {sum}, more than 100"),
                );
            }
        });
    }
}
