//! Where a job may and would rather run: constraints, affinities, spreads.

use serde::{Deserialize, Serialize};

/// `constraint`: a hard placement rule. Operand defaults to `=`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Constraint {
    /// Left side: usually an interpolated node attribute (`${attr.kernel.name}`).
    #[serde(rename = "LTarget")]
    pub l_target: String,
    /// Right side: a literal or another attribute.
    #[serde(rename = "RTarget")]
    pub r_target: String,
    /// The operator (`=`, `!=`, `regexp`, `distinct_hosts`, ...).
    #[serde(rename = "Operand")]
    pub operand: String,
}

/// Every operator Nomad accepts in a `constraint` block.
pub const CONSTRAINT_OPERATORS: &[&str] = &[
    "=",
    "==",
    "is",
    "!=",
    "not",
    ">",
    ">=",
    "<",
    "<=",
    "regexp",
    "version",
    "semver",
    "set_contains",
    "set_contains_all",
    "set_contains_any",
    "is_set",
    "is_not_set",
    "distinct_hosts",
    "distinct_property",
];

/// Operators an `affinity` accepts (no distinct_*).
pub const AFFINITY_OPERATORS: &[&str] = &[
    "=",
    "==",
    "is",
    "!=",
    "not",
    ">",
    ">=",
    "<",
    "<=",
    "regexp",
    "version",
    "semver",
    "set_contains",
    "set_contains_all",
    "set_contains_any",
];

/// `affinity`: a soft placement preference with a weight in [-100, 100].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Affinity {
    /// Left side.
    #[serde(rename = "LTarget")]
    pub l_target: String,
    /// Right side.
    #[serde(rename = "RTarget")]
    pub r_target: String,
    /// The operator.
    #[serde(rename = "Operand")]
    pub operand: String,
    /// Preference strength, -100..=100 (default 50).
    #[serde(rename = "Weight")]
    pub weight: Option<i8>,
}

/// `spread`: distribute allocations over the values of an attribute.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Spread {
    /// The attribute to spread over (`${node.datacenter}`).
    pub attribute: String,
    /// 0..=100 (default 50).
    pub weight: Option<i8>,
    /// Desired percentages per value.
    pub spread_target: Option<Vec<SpreadTarget>>,
}

/// One `target` of a spread.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SpreadTarget {
    /// The attribute value.
    pub value: String,
    /// Share of allocations, 0..=100.
    pub percent: u8,
}
