//! Expression evaluation over `hcl::edit` syntax trees, with spans for every error.
//!
//! ```text
//!  Expression ──► Eval (scope: var, local, job, module; functions) ──► serde_json::Value
//!                   │ records: references to jobs/modules, use of sensitive variables
//! ```
//!
//! Values are JSON values. Interpolations rooted in anything but `var`, `local`, `module`
//! and `job` are runtime interpolations: they stay literally as `${...}` (see `template`).

mod functions;
mod template;

pub use template::stringify;
mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use hcl::edit::Span;
use hcl::edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use serde_json::{Map, Number, Value};

use super::source::SourceFile;
use crate::diag::{Diagnostic, SourceSpan};

pub use types::TypeConstraint;

/// Roots that are evaluated at parse time.
pub const EVALUATED_ROOTS: &[&str] = &["var", "local", "module", "job"];

/// What an expression may refer to.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// `var.*`.
    pub vars: BTreeMap<String, Value>,
    /// Names of sensitive variables.
    pub sensitive: BTreeSet<String>,
    /// `local.*`.
    pub locals: BTreeMap<String, Value>,
    /// `job.ID` objects (stack scope only). Shared: every job file's scope reads the same
    /// table, and a copy per file made loading quadratic in the number of files.
    pub jobs: Arc<BTreeMap<String, Value>>,
    /// `module.NAME` objects of outputs (stack scope only), shared like `jobs`.
    pub modules: Arc<BTreeMap<String, Value>>,
    /// Directory for `file()` and relative paths.
    pub base_dir: PathBuf,
    /// Whether `job.*` and `module.*` may be referenced here.
    pub stack_refs: bool,
    /// Variables whose value was already reported as wrong: reading them fails quietly.
    pub failed: BTreeSet<String>,
}

const CASCADE: &str = "\u{0}follows from an earlier error";

/// True for an error that only follows from one already reported (not shown).
pub fn is_cascade(d: &Diagnostic) -> bool {
    d.summary == CASCADE
}

/// A reference from an expression to a job or module of the stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// `job.ID...`
    Job(String, SourceSpan),
    /// `module.NAME...`
    Module(String, SourceSpan),
}

/// Evaluates expressions of one file in one scope.
pub struct Eval<'a> {
    /// The scope.
    pub scope: &'a Scope,
    /// The file the expressions come from.
    pub file: &'a SourceFile,
    iter_vars: Vec<(String, Value)>,
    /// Set when a sensitive variable was read.
    pub tainted: bool,
    /// Job and module references seen.
    pub refs: Vec<Reference>,
}

type R = Result<Value, Diagnostic>;

impl<'a> Eval<'a> {
    /// A new evaluator.
    pub fn new(scope: &'a Scope, file: &'a SourceFile) -> Self {
        Eval {
            scope,
            file,
            iter_vars: Vec::new(),
            tainted: false,
            refs: Vec::new(),
        }
    }

    /// The span of an expression.
    pub fn span_of(&self, expr: &Expression) -> SourceSpan {
        self.file.span_opt(expr.span())
    }

    fn err(&self, expr: &Expression, summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic::error(summary)
            .with_span(self.span_of(expr))
            .with_detail(detail)
    }

    /// Evaluates an expression.
    pub fn eval(&mut self, expr: &Expression) -> R {
        match expr {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => {
                let n = n.value();
                Ok(if let Some(i) = n.as_i64() {
                    Value::from(i)
                } else {
                    n.as_f64()
                        .and_then(Number::from_f64)
                        .map(Value::Number)
                        .unwrap_or(Value::Null)
                })
            }
            Expression::String(s) => Ok(Value::String(s.value().to_string())),
            Expression::Array(items) => items
                .iter()
                .map(|e| self.eval(e))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Expression::Object(obj) => {
                let mut out = Map::new();
                for (k, v) in obj.iter() {
                    let key = match k {
                        ObjectKey::Ident(id) => id.value().to_string(),
                        ObjectKey::Expression(Expression::Variable(id)) => id.value().to_string(),
                        ObjectKey::Expression(e) => {
                            let kv = self.eval(e)?;
                            to_key(&kv)
                                .ok_or_else(|| self.err(e, "invalid object key", "expected a string key"))?
                        }
                    };
                    let value = self.eval(v.expr())?;
                    out.insert(key, value);
                }
                Ok(Value::Object(out))
            }
            Expression::StringTemplate(t) => template::eval_template(self, t, None).map(Value::String),
            Expression::HeredocTemplate(h) => {
                template::eval_template(self, &h.template, h.indent()).map(Value::String)
            }
            Expression::Parenthesis(p) => self.eval(p.inner()),
            Expression::Variable(v) => self.variable(v.value().as_str(), expr),
            Expression::Conditional(c) => {
                let cond = self.eval(&c.cond_expr)?;
                match as_bool(&cond) {
                    Some(true) => self.eval(&c.true_expr),
                    Some(false) => self.eval(&c.false_expr),
                    None => Err(self.err(
                        &c.cond_expr,
                        "condition is not a bool",
                        format!("expected a bool, found {}", type_name(&cond)),
                    )),
                }
            }
            Expression::FuncCall(call) => {
                let name = call.name.name.value().as_str().to_string();
                if name == "try" || name == "can" {
                    return self.try_can(&name, call.args.iter().collect(), expr);
                }
                let mut args = Vec::new();
                for a in call.args.iter() {
                    args.push(self.eval(a)?);
                }
                if call.args.expand_final()
                    && let Some(Value::Array(last)) = args.pop()
                {
                    args.extend(last);
                }
                functions::call(&name, args, &self.scope.base_dir).map_err(|e| match e {
                    functions::FnError::Unknown => {
                        let mut d = self.err(expr, format!("unknown function `{name}`"), "no such function");
                        if let Some(s) = super::suggest::did_you_mean(&name, functions::NAMES.iter().copied())
                        {
                            d = d.with_help(format!("did you mean `{s}`?"));
                        }
                        d
                    }
                    functions::FnError::Failed(msg) => {
                        self.err(expr, format!("call to `{name}` failed"), msg)
                    }
                })
            }
            Expression::Traversal(t) => {
                let root_name = match &t.expr {
                    Expression::Variable(v) => Some(v.value().as_str()),
                    _ => None,
                };
                if let Some(root) = root_name.filter(|r| *r == "job" || *r == "module") {
                    return self.stack_ref(root, &t.operators, expr);
                }
                let (mut value, rest) = match self.direct_lookup(root_name, &t.operators)? {
                    Some(v) => (v, &t.operators[1..]),
                    None => (self.eval(&t.expr)?, &t.operators[..]),
                };
                for op in rest {
                    value = self.traverse(value, op.value(), expr)?;
                }
                Ok(value)
            }
            Expression::UnaryOp(u) => {
                let v = self.eval(&u.expr)?;
                match u.operator.value() {
                    UnaryOperator::Neg => match v.as_f64() {
                        Some(_) if v.is_i64() => Ok(Value::from(-v.as_i64().unwrap_or(0))),
                        Some(f) => Ok(num(-f)),
                        None => Err(self.err(
                            &u.expr,
                            "cannot negate",
                            format!("expected a number, found {}", type_name(&v)),
                        )),
                    },
                    UnaryOperator::Not => match as_bool(&v) {
                        Some(b) => Ok(Value::Bool(!b)),
                        None => Err(self.err(
                            &u.expr,
                            "cannot negate",
                            format!("expected a bool, found {}", type_name(&v)),
                        )),
                    },
                }
            }
            Expression::BinaryOp(b) => self.binary(&b.lhs_expr, *b.operator.value(), &b.rhs_expr, expr),
            Expression::ForExpr(f) => self.for_expr(f),
        }
    }

    fn variable(&mut self, name: &str, expr: &Expression) -> R {
        if let Some((_, v)) = self.iter_vars.iter().rev().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        match name {
            "var" => {
                let vars: Map<String, Value> = self.scope.vars.clone().into_iter().collect();
                Ok(Value::Object(vars))
            }
            "local" => Ok(Value::Object(self.scope.locals.clone().into_iter().collect())),
            _ => Err(self.err(expr, format!("unknown variable `{name}`"), "not defined here").with_help(
                "only `var`, `local`, `job` and `module` are evaluated; write runtime values inside a string as \"${...}\"",
            )),
        }
    }

    /// `var.x` / `local.x` without copying the whole table (the common case).
    fn direct_lookup(
        &mut self,
        root: Option<&str>,
        ops: &[hcl::edit::Decorated<TraversalOperator>],
    ) -> Result<Option<Value>, Diagnostic> {
        let Some(root) =
            root.filter(|r| (*r == "var" || *r == "local") && !self.iter_vars.iter().any(|(n, _)| n == r))
        else {
            return Ok(None);
        };
        let Some(TraversalOperator::GetAttr(name)) = ops.first().map(|o| o.value()) else {
            return Ok(None);
        };
        let name = name.value().as_str();
        let table = if root == "var" {
            &self.scope.vars
        } else {
            &self.scope.locals
        };
        if root == "var" && self.scope.failed.contains(name) {
            return Err(Diagnostic::error(CASCADE));
        }
        match table.get(name) {
            Some(v) => {
                if root == "var" && self.scope.sensitive.contains(name) {
                    self.tainted = true;
                }
                Ok(Some(v.clone()))
            }
            None => Ok(None),
        }
    }

    fn stack_ref(
        &mut self,
        root: &str,
        ops: &[hcl::edit::Decorated<TraversalOperator>],
        expr: &Expression,
    ) -> R {
        let span = self.span_of(expr);
        if !self.scope.stack_refs {
            return Err(self.err(
                expr,
                format!("`{root}` references are not allowed here"),
                "only stack files may refer to jobs and modules",
            ));
        }
        let Some(TraversalOperator::GetAttr(first)) = ops.first().map(|o| o.value()) else {
            return Err(self.err(
                expr,
                format!("invalid `{root}` reference"),
                format!("expected `{root}.NAME`"),
            ));
        };
        let name = first.value().as_str().to_string();
        let table = if root == "job" {
            &self.scope.jobs
        } else {
            &self.scope.modules
        };
        let Some(mut value) = table.get(&name).cloned() else {
            let mut d = self.err(
                expr,
                format!("reference to undeclared {root} `{name}`"),
                format!("no {root} `{name}` in this stack"),
            );
            if let Some(s) = super::suggest::did_you_mean(&name, table.keys().map(String::as_str)) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            return Err(d);
        };
        self.refs.push(if root == "job" {
            Reference::Job(name, span)
        } else {
            Reference::Module(name, span)
        });
        for op in &ops[1..] {
            value = self.traverse(value, op.value(), expr)?;
        }
        Ok(value)
    }

    fn traverse(&mut self, value: Value, op: &TraversalOperator, expr: &Expression) -> R {
        match op {
            TraversalOperator::GetAttr(name) => {
                self.index(value, &Value::String(name.value().to_string()), expr)
            }
            TraversalOperator::Index(i) => {
                let key = self.eval(i)?;
                self.index(value, &key, expr)
            }
            TraversalOperator::LegacyIndex(i) => self.index(value, &Value::from(*i.value()), expr),
            TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => match value {
                Value::Array(a) => Ok(Value::Array(a)),
                Value::Null => Ok(Value::Array(vec![])),
                other => Ok(Value::Array(vec![other])),
            },
        }
    }

    fn index(&mut self, value: Value, key: &Value, expr: &Expression) -> R {
        match (&value, key) {
            (Value::Object(m), _) => {
                let k = to_key(key).unwrap_or_default();
                if self.is_var_object(expr) && self.scope.failed.contains(&k) {
                    return Err(Diagnostic::error(CASCADE));
                }
                if let Some(v) = m.get(&k) {
                    if self.is_var_object(expr) && self.scope.sensitive.contains(&k) {
                        self.tainted = true;
                    }
                    return Ok(v.clone());
                }
                let mut d = self.err(
                    expr,
                    format!("unsupported attribute `{k}`"),
                    format!("this object has no attribute `{k}`"),
                );
                if let Some(s) = super::suggest::did_you_mean(&k, m.keys().map(String::as_str)) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                Err(d)
            }
            (Value::Array(a), k) => {
                let i = k.as_u64().or_else(|| k.as_str().and_then(|s| s.parse().ok()));
                match i.and_then(|i| a.get(i as usize)) {
                    Some(v) => Ok(v.clone()),
                    None => Err(self.err(
                        expr,
                        "invalid index",
                        format!("index {k} is out of range for a list of {}", a.len()),
                    )),
                }
            }
            _ => Err(self.err(
                expr,
                "cannot index this value",
                format!("expected an object or a list, found {}", type_name(&value)),
            )),
        }
    }

    fn is_var_object(&self, expr: &Expression) -> bool {
        matches!(expr, Expression::Traversal(t) if matches!(&t.expr, Expression::Variable(v) if v.value().as_str() == "var"))
    }

    fn try_can(&mut self, name: &str, args: Vec<&Expression>, expr: &Expression) -> R {
        if name == "can" {
            let Some(a) = args.first() else {
                return Err(self.err(expr, "call to `can` failed", "expected one argument"));
            };
            return Ok(Value::Bool(self.eval(a).is_ok()));
        }
        let mut last = None;
        for a in args {
            match self.eval(a) {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| self.err(expr, "call to `try` failed", "expected at least one argument")))
    }

    fn binary(&mut self, lhs: &Expression, op: BinaryOperator, rhs: &Expression, expr: &Expression) -> R {
        let l = self.eval(lhs)?;
        if op == BinaryOperator::And && as_bool(&l) == Some(false) {
            return Ok(Value::Bool(false));
        }
        if op == BinaryOperator::Or && as_bool(&l) == Some(true) {
            return Ok(Value::Bool(true));
        }
        let r = self.eval(rhs)?;
        use BinaryOperator as B;
        match op {
            B::Eq => Ok(Value::Bool(loose_eq(&l, &r))),
            B::NotEq => Ok(Value::Bool(!loose_eq(&l, &r))),
            B::And | B::Or => match (as_bool(&l), as_bool(&r)) {
                (Some(a), Some(b)) => Ok(Value::Bool(if op == B::And { a && b } else { a || b })),
                _ => Err(self.err(expr, "invalid operand", "expected bool operands")),
            },
            _ => {
                let (Some(a), Some(b)) = (as_number(&l), as_number(&r)) else {
                    let bad = if as_number(&l).is_none() {
                        (lhs, &l)
                    } else {
                        (rhs, &r)
                    };
                    return Err(self.err(
                        bad.0,
                        "invalid operand",
                        format!("expected a number, found {}", type_name(bad.1)),
                    ));
                };
                let ints = l.is_i64() && r.is_i64() || as_int(&l).is_some() && as_int(&r).is_some();
                Ok(match op {
                    B::Less => Value::Bool(a < b),
                    B::LessEq => Value::Bool(a <= b),
                    B::Greater => Value::Bool(a > b),
                    B::GreaterEq => Value::Bool(a >= b),
                    B::Plus if ints => Value::from(a as i64 + b as i64),
                    B::Minus if ints => Value::from(a as i64 - b as i64),
                    B::Mul if ints => Value::from((a as i64).saturating_mul(b as i64)),
                    B::Plus => num(a + b),
                    B::Minus => num(a - b),
                    B::Mul => num(a * b),
                    B::Div if b == 0.0 => return Err(self.err(rhs, "division by zero", "this is zero")),
                    B::Div => num(a / b),
                    B::Mod if b == 0.0 => return Err(self.err(rhs, "division by zero", "this is zero")),
                    B::Mod if ints => Value::from(a as i64 % b as i64),
                    B::Mod => num(a % b),
                    _ => Value::Null,
                })
            }
        }
    }

    fn for_expr(&mut self, f: &hcl::edit::expr::ForExpr) -> R {
        let coll = self.eval(&f.intro.collection_expr)?;
        let pairs: Vec<(Value, Value)> = match coll {
            Value::Array(a) => a
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::from(i), v))
                .collect(),
            Value::Object(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            other => {
                return Err(self.err(
                    &f.intro.collection_expr,
                    "cannot iterate",
                    format!("expected a list or an object, found {}", type_name(&other)),
                ));
            }
        };
        let key_var = f.intro.key_var.as_ref().map(|k| k.value().to_string());
        let val_var = f.intro.value_var.value().to_string();
        let mut list = Vec::new();
        let mut map = Map::new();
        for (k, v) in pairs {
            let depth = self.iter_vars.len();
            if let Some(kv) = &key_var {
                self.iter_vars.push((kv.clone(), k));
            }
            self.iter_vars.push((val_var.clone(), v));
            let result = self.for_item(f, &mut list, &mut map);
            self.iter_vars.truncate(depth);
            result?;
        }
        Ok(if f.key_expr.is_some() {
            Value::Object(map)
        } else {
            Value::Array(list)
        })
    }

    fn for_item(
        &mut self,
        f: &hcl::edit::expr::ForExpr,
        list: &mut Vec<Value>,
        map: &mut Map<String, Value>,
    ) -> Result<(), Diagnostic> {
        if let Some(c) = &f.cond {
            let keep = self.eval(&c.expr)?;
            if as_bool(&keep) != Some(true) {
                return Ok(());
            }
        }
        let value = self.eval(&f.value_expr)?;
        match &f.key_expr {
            Some(ke) => {
                let k = self.eval(ke)?;
                let k = to_key(&k).ok_or_else(|| self.err(ke, "invalid object key", "expected a string"))?;
                if f.grouping {
                    match map.entry(k).or_insert_with(|| Value::Array(vec![])) {
                        Value::Array(a) => a.push(value),
                        other => *other = Value::Array(vec![value]),
                    }
                } else {
                    map.insert(k, value);
                }
            }
            None => list.push(value),
        }
        Ok(())
    }
}

/// A number value from an f64 (integral values stay integers).
pub fn num(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
    }
}

fn as_int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// A value as a number, converting numeric strings.
pub fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value as a bool, converting `"true"`/`"false"`.
pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => as_number(a) == as_number(b),
        _ => a == b,
    }
}

/// A value usable as an object key or string.
pub fn to_key(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// "a string", "a list", ... for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
