//! Names and traversals: iteration variables, `var`, `local`, `job.ID` and `module.NAME`
//! references (recorded for dependency edges), attribute and index steps. Reading a sensitive
//! variable taints the value; reading one already reported as wrong fails quietly.

use hcl::edit::expr::{Expression, TraversalOperator};
use serde_json::{Map, Value};

use super::{CASCADE, Eval, R, Reference, to_key, type_name};
use crate::diag::Diagnostic;
use crate::frontend::suggest::did_you_mean;

impl Eval<'_> {
    pub(super) fn variable(&mut self, name: &str, expr: &Expression) -> R {
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
    pub(super) fn direct_lookup(
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
                if root == "local"
                    && let Some(functions) = self.scope.volatile_locals.get(name)
                {
                    self.volatile.extend(functions.iter().copied());
                }
                Ok(Some(v.clone()))
            }
            None => Ok(None),
        }
    }

    pub(super) fn stack_ref(
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
        self.read_stack_tables = true;
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
            if let Some(s) = did_you_mean(&name, table.keys().map(String::as_str)) {
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

    pub(super) fn traverse(&mut self, value: Value, op: &TraversalOperator, expr: &Expression) -> R {
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
                if let Some(s) = did_you_mean(&k, m.keys().map(String::as_str)) {
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
}
