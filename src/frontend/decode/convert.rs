//! Converting an evaluated value to the kind a schema attribute declares (string, integer,
//! bool, duration, lists and maps of strings), as HCL converts: numbers and bools become
//! strings, numeric strings numbers, Go duration strings nanoseconds.

use serde_json::{Map, Value};

use super::schema::Kind;
use crate::frontend::eval::{as_bool, as_number, num, stringify, type_name};
use crate::spec::Duration;

/// A scalar as a string value, moving a string rather than copying it.
fn into_string(v: Value) -> Option<Value> {
    match v {
        Value::String(_) => Some(v),
        other => stringify(&other).map(Value::String),
    }
}

/// Converts an evaluated value to a kind.
pub fn convert(v: Value, kind: Kind) -> Result<Value, String> {
    let found = type_name(&v);
    match kind {
        Kind::Any => Ok(v),
        Kind::Str => into_string(v).ok_or_else(|| format!("expected a string, found {found}")),
        Kind::Int => match as_number(&v) {
            Some(f) if f.fract() == 0.0 => Ok(num(f)),
            Some(_) => Err(format!("expected a whole number, found {v}")),
            None => Err(format!("expected a number, found {found}")),
        },
        Kind::Bool => as_bool(&v)
            .map(Value::Bool)
            .ok_or_else(|| format!("expected a bool, found {found}")),
        Kind::Dur => match &v {
            Value::String(s) => Duration::parse(s)
                .map(|d| Value::from(d.nanos()))
                .map_err(|e| e.to_string()),
            Value::Number(n) => n
                .as_i64()
                .map(Value::from)
                .ok_or_else(|| "expected a duration".to_string()),
            _ => Err(format!("expected a duration string, found {found}")),
        },
        Kind::StrList => match v {
            Value::Array(a) => a
                .into_iter()
                .map(|x| {
                    let inner = type_name(&x);
                    into_string(x)
                        .ok_or_else(|| format!("expected a list of strings, found a list containing {inner}"))
                })
                .collect::<Result<_, _>>()
                .map(Value::Array),
            _ => Err(format!("expected a list of strings, found {found}")),
        },
        Kind::StrMap => match v {
            Value::Object(m) => m
                .into_iter()
                .map(|(k, x)| {
                    let inner = type_name(&x);
                    into_string(x)
                        .map(|s| (k, s))
                        .ok_or_else(|| format!("expected a map of strings, found a map containing {inner}"))
                })
                .collect::<Result<Map<_, _>, _>>()
                .map(Value::Object),
            _ => Err(format!("expected a map of strings, found {found}")),
        },
        Kind::StrListMap => match v {
            Value::Object(m) => m
                .into_iter()
                .map(|(k, x)| convert(x, Kind::StrList).map(|l| (k, l)))
                .collect::<Result<Map<_, _>, _>>()
                .map(Value::Object),
            _ => Err(format!("expected a map of string lists, found {found}")),
        },
    }
}
