//! Operators and comprehensions: unary and binary operators (HCL's short-circuit `&&`/`||`,
//! integer arithmetic where both sides are integers), `try`/`can`, and `for` expressions.

use hcl::edit::expr::{BinaryOperator, Expression, UnaryOperator};
use serde_json::{Map, Value};

use super::value::{as_int, iteration_pairs, loose_eq};
use super::{Eval, R, as_bool, as_number, num, to_key, type_name};
use crate::diag::Diagnostic;

impl Eval<'_> {
    /// `-x` and `!x`.
    pub(super) fn unary(&mut self, u: &hcl::edit::expr::UnaryOp) -> R {
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

    pub(super) fn try_can(&mut self, name: &str, args: Vec<&Expression>, expr: &Expression) -> R {
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

    pub(super) fn binary(
        &mut self,
        lhs: &Expression,
        op: BinaryOperator,
        rhs: &Expression,
        expr: &Expression,
    ) -> R {
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

    pub(super) fn for_expr(&mut self, f: &hcl::edit::expr::ForExpr) -> R {
        let coll = self.eval(&f.intro.collection_expr)?;
        let pairs = match iteration_pairs(coll) {
            Ok(pairs) => pairs,
            Err(other) => {
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
