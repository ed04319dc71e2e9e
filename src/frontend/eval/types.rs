//! Variable type constraints: `string number bool any list(T) set(T) map(T) object({..}) tuple([..])`.

use std::collections::BTreeMap;

use hcl::edit::expr::{Expression, ObjectKey};
use serde_json::{Map, Value};

use super::template::stringify;
use super::{as_bool, as_number, num, type_name};

/// A declared variable type.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeConstraint {
    /// Anything.
    Any,
    /// A string (numbers and bools convert).
    String,
    /// A number (numeric strings convert).
    Number,
    /// A bool (`"true"`/`"false"` convert).
    Bool,
    /// A list of T.
    List(Box<TypeConstraint>),
    /// A map of T.
    Map(Box<TypeConstraint>),
    /// An object with typed attributes.
    Object(BTreeMap<String, TypeConstraint>),
    /// A tuple.
    Tuple(Vec<TypeConstraint>),
}

impl TypeConstraint {
    /// Reads a type expression; `Err` holds what was wrong.
    pub fn parse(expr: &Expression) -> Result<Self, String> {
        match expr {
            Expression::Variable(v) => match v.value().as_str() {
                "string" => Ok(TypeConstraint::String),
                "number" => Ok(TypeConstraint::Number),
                "bool" => Ok(TypeConstraint::Bool),
                "any" => Ok(TypeConstraint::Any),
                other => Err(format!("unknown type `{other}`")),
            },
            Expression::FuncCall(f) => {
                let name = f.name.name.value().as_str();
                let args: Vec<&Expression> = f.args.iter().collect();
                let [arg] = args[..] else {
                    return Err(format!("`{name}(...)` takes one type argument"));
                };
                match name {
                    "list" | "set" => Ok(TypeConstraint::List(Box::new(Self::parse(arg)?))),
                    "map" => Ok(TypeConstraint::Map(Box::new(Self::parse(arg)?))),
                    "object" => match arg {
                        Expression::Object(o) => {
                            let mut fields = BTreeMap::new();
                            for (k, v) in o.iter() {
                                let key = match k {
                                    ObjectKey::Ident(i) => i.value().to_string(),
                                    ObjectKey::Expression(Expression::Variable(i)) => i.value().to_string(),
                                    ObjectKey::Expression(Expression::String(s)) => s.value().to_string(),
                                    _ => return Err("object attribute names must be identifiers".into()),
                                };
                                fields.insert(key, Self::parse(v.expr())?);
                            }
                            Ok(TypeConstraint::Object(fields))
                        }
                        _ => Err("object(...) takes an object of attribute types".into()),
                    },
                    "tuple" => match arg {
                        Expression::Array(a) => Ok(TypeConstraint::Tuple(
                            a.iter().map(Self::parse).collect::<Result<_, _>>()?,
                        )),
                        _ => Err("tuple(...) takes a list of types".into()),
                    },
                    other => Err(format!("unknown type constructor `{other}`")),
                }
            }
            _ => Err("expected a type such as string, number, bool, list(string) or map(string)".into()),
        }
    }

    /// Converts `v` to this type, or says why it cannot.
    pub fn convert(&self, v: Value) -> Result<Value, String> {
        if v.is_null() {
            return Ok(v);
        }
        match self {
            TypeConstraint::Any => Ok(v),
            TypeConstraint::String => stringify(&v)
                .map(Value::String)
                .ok_or_else(|| format!("expected a string, found {}", type_name(&v))),
            TypeConstraint::Number => as_number(&v)
                .map(num)
                .ok_or_else(|| format!("expected a number, found {}", type_name(&v))),
            TypeConstraint::Bool => as_bool(&v)
                .map(Value::Bool)
                .ok_or_else(|| format!("expected a bool, found {}", type_name(&v))),
            TypeConstraint::List(t) => match v {
                Value::Array(a) => a
                    .into_iter()
                    .map(|x| t.convert(x))
                    .collect::<Result<_, _>>()
                    .map(Value::Array),
                other => Err(format!("expected a list, found {}", type_name(&other))),
            },
            TypeConstraint::Map(t) => match v {
                Value::Object(m) => {
                    let mut out = Map::new();
                    for (k, x) in m {
                        out.insert(k, t.convert(x)?);
                    }
                    Ok(Value::Object(out))
                }
                other => Err(format!("expected a map, found {}", type_name(&other))),
            },
            TypeConstraint::Object(fields) => match v {
                Value::Object(mut m) => {
                    let mut out = Map::new();
                    for (k, t) in fields {
                        let x = m
                            .remove(k)
                            .ok_or_else(|| format!("attribute `{k}` is required"))?;
                        out.insert(
                            k.clone(),
                            t.convert(x).map_err(|e| format!("attribute `{k}`: {e}"))?,
                        );
                    }
                    Ok(Value::Object(out))
                }
                other => Err(format!("expected an object, found {}", type_name(&other))),
            },
            TypeConstraint::Tuple(ts) => match v {
                Value::Array(a) if a.len() == ts.len() => a
                    .into_iter()
                    .zip(ts)
                    .map(|(x, t)| t.convert(x))
                    .collect::<Result<_, _>>()
                    .map(Value::Array),
                other => Err(format!(
                    "expected a tuple of {} elements, found {}",
                    ts.len(),
                    type_name(&other)
                )),
            },
        }
    }

    /// Numbers and bools: a `-var` text is converted, not parsed as an expression.
    pub fn is_primitive(&self) -> bool {
        matches!(self, TypeConstraint::Number | TypeConstraint::Bool)
    }

    /// Whether a raw `-var` string is taken verbatim (strings) or parsed as an HCL expression.
    pub fn takes_raw_string(&self) -> bool {
        matches!(self, TypeConstraint::String | TypeConstraint::Any)
    }
}
