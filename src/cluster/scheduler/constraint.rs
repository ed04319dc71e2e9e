//! `CompiledConstraint`: a constraint or affinity parsed once per evaluation (regexes and
//! version ranges compiled), then checked against many nodes.

use std::cmp::Ordering;

use regex::Regex;

use super::target::Target;
use crate::api::Node;
use crate::spec::Constraint;
use crate::spec::version::{VersionConstraint, parse_constraint};

/// The operator, with whatever it needs precompiled.
#[derive(Clone, Debug)]
pub enum Operator {
    /// `=`, `==`, `is`.
    Equal,
    /// `!=`, `not`.
    NotEqual,
    /// `<`, `<=`, `>`, `>=`: numeric when both sides are numbers, lexical otherwise.
    Order(Ordering, bool),
    /// `regexp` (None: the pattern does not compile; nothing matches).
    Regexp(Option<Regex>),
    /// `version` / `semver` (None: the range does not parse; nothing matches).
    Version(Option<VersionConstraint>),
    /// `set_contains`, `set_contains_all`.
    SetContainsAll,
    /// `set_contains_any`.
    SetContainsAny,
    /// `is_set`.
    IsSet,
    /// `is_not_set`.
    IsNotSet,
    /// `distinct_hosts` (checked against the plan, not here).
    DistinctHosts,
    /// `distinct_property` (checked against the plan, not here).
    DistinctProperty,
    /// An operator Nomad does not have: nothing matches.
    Invalid(String),
}

/// A constraint ready to check.
#[derive(Clone, Debug)]
pub struct CompiledConstraint {
    /// Nomad's text of the constraint (`${meta.role} = db`), the key of `ConstraintFiltered`.
    pub key: String,
    /// Left side.
    pub left: Target,
    /// Right side.
    pub right: Target,
    /// Operator.
    pub op: Operator,
    /// Right side as written (distinct_property's limit, distinct_hosts' switch).
    pub right_text: String,
}

impl CompiledConstraint {
    /// Compiles a constraint.
    pub fn new(c: &Constraint) -> CompiledConstraint {
        Self::compile(&c.l_target, &c.operand, &c.r_target)
    }

    /// Compiles from parts (affinities share the operators).
    pub fn compile(l_target: &str, operand: &str, r_target: &str) -> CompiledConstraint {
        let operand = if operand.is_empty() { "=" } else { operand };
        let literal = |s: &str| !s.contains("${");
        let op = match operand {
            "=" | "==" | "is" => Operator::Equal,
            "!=" | "not" => Operator::NotEqual,
            "<" => Operator::Order(Ordering::Less, false),
            "<=" => Operator::Order(Ordering::Less, true),
            ">" => Operator::Order(Ordering::Greater, false),
            ">=" => Operator::Order(Ordering::Greater, true),
            "regexp" => Operator::Regexp(literal(r_target).then(|| Regex::new(r_target).ok()).flatten()),
            "version" | "semver" => Operator::Version(
                literal(r_target)
                    .then(|| parse_constraint(r_target, operand == "semver").ok())
                    .flatten(),
            ),
            "set_contains" | "set_contains_all" => Operator::SetContainsAll,
            "set_contains_any" => Operator::SetContainsAny,
            "is_set" => Operator::IsSet,
            "is_not_set" => Operator::IsNotSet,
            "distinct_hosts" => Operator::DistinctHosts,
            "distinct_property" => Operator::DistinctProperty,
            other => Operator::Invalid(other.to_string()),
        };
        let key = match op {
            Operator::DistinctHosts => "distinct_hosts".to_string(),
            Operator::DistinctProperty => format!("distinct_property {l_target} {r_target}").trim_end().to_string(),
            _ => format!("{l_target} {operand} {r_target}").trim_end().to_string(),
        };
        CompiledConstraint {
            key,
            left: Target::parse(l_target),
            right: Target::parse(r_target),
            op,
            right_text: r_target.to_string(),
        }
    }

    /// Whether this constraint is checked against the plan rather than the node alone.
    pub fn is_distinct(&self) -> bool {
        matches!(self.op, Operator::DistinctHosts | Operator::DistinctProperty)
    }

    /// Whether `node` satisfies the constraint (distinct_* always pass here).
    pub fn matches(&self, node: &Node) -> bool {
        let l = self.left.resolve(node);
        let r = self.right.resolve(node);
        match &self.op {
            Operator::Equal => l.is_some() && l == r,
            Operator::NotEqual => l != r,
            Operator::Order(ord, or_equal) => match (l, r) {
                (Some(l), Some(r)) => {
                    let got = compare(l, r);
                    got == *ord || (*or_equal && got == Ordering::Equal)
                }
                _ => false,
            },
            Operator::Regexp(re) => match (l, re) {
                (Some(l), Some(re)) => re.is_match(l),
                (Some(l), None) if !matches!(self.right, Target::Literal(_)) => {
                    r.and_then(|r| Regex::new(r).ok()).is_some_and(|re| re.is_match(l))
                }
                _ => false,
            },
            Operator::Version(range) => match (l, range) {
                (Some(l), Some(range)) => range.matches(l),
                _ => false,
            },
            Operator::SetContainsAll => match (l, r) {
                (Some(l), Some(r)) => split_set(r).all(|want| split_set(l).any(|have| have == want)),
                _ => false,
            },
            Operator::SetContainsAny => match (l, r) {
                (Some(l), Some(r)) => split_set(r).any(|want| split_set(l).any(|have| have == want)),
                _ => false,
            },
            Operator::IsSet => l.is_some(),
            Operator::IsNotSet => l.is_none(),
            Operator::DistinctHosts | Operator::DistinctProperty => true,
            Operator::Invalid(_) => false,
        }
    }
}

fn split_set(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Numbers compare as numbers, anything else lexically (as Nomad's order check does).
fn compare(l: &str, r: &str) -> Ordering {
    match (l.trim().parse::<f64>(), r.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        _ => l.cmp(r),
    }
}
