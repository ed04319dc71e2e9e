//! List and map functions: concat, merge, lookup, element, keys, range, ...

use serde_json::{Map, Value};

use super::super::{num, type_name};
use super::{FnError, Res, arity, fail, list, n, obj, s, strings};

/// `None` when `name` is not a function of this group.
pub fn call(name: &str, a: &[Value]) -> Option<Res> {
    match run(name, a) {
        Err(FnError::Unknown) => None,
        r => Some(r),
    }
}

fn run(name: &str, a: &[Value]) -> Res {
    match name {
        "length" => {
            arity(a, 1)?;
            Ok(Value::from(match &a[0] {
                Value::Array(l) => l.len(),
                Value::Object(m) => m.len(),
                Value::String(x) => x.chars().count(),
                other => return fail(format!("cannot take the length of {}", type_name(other))),
            }))
        }
        "concat" => {
            let mut out = Vec::new();
            for l in a {
                out.extend(list(l)?);
            }
            Ok(Value::Array(out))
        }
        "merge" => {
            let mut out = Map::new();
            for m in a {
                out.extend(obj(m)?);
            }
            Ok(Value::Object(out))
        }
        "lookup" => {
            if !(2..=3).contains(&a.len()) {
                return fail("expected 2 or 3 arguments");
            }
            let m = obj(&a[0])?;
            match m.get(&s(&a[1])?) {
                Some(v) => Ok(v.clone()),
                None => a
                    .get(2)
                    .cloned()
                    .map_or_else(|| fail("the key is not in the map and no default was given"), Ok),
            }
        }
        "element" => {
            arity(a, 2)?;
            let l = list(&a[0])?;
            if l.is_empty() {
                return fail("cannot use element on an empty list");
            }
            Ok(l[(n(&a[1])?.max(0.0) as usize) % l.len()].clone())
        }
        "index" => {
            arity(a, 2)?;
            list(&a[0])?
                .iter()
                .position(|x| x == &a[1])
                .map(Value::from)
                .map_or_else(|| fail("item not found"), Ok)
        }
        "contains" => {
            arity(a, 2)?;
            Ok(Value::Bool(list(&a[0])?.contains(&a[1])))
        }
        "keys" => {
            arity(a, 1)?;
            Ok(Value::Array(
                obj(&a[0])?.keys().map(|k| Value::String(k.clone())).collect(),
            ))
        }
        "values" => {
            arity(a, 1)?;
            Ok(Value::Array(obj(&a[0])?.values().cloned().collect()))
        }
        "zipmap" => {
            arity(a, 2)?;
            Ok(Value::Object(
                strings(&a[0])?.into_iter().zip(list(&a[1])?).collect(),
            ))
        }
        "coalesce" => a
            .iter()
            .find(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned()
            .map_or_else(|| fail("no non-null, non-empty argument"), Ok),
        "coalescelist" => a
            .iter()
            .find(|v| v.as_array().is_some_and(|l| !l.is_empty()))
            .cloned()
            .map_or_else(|| fail("no non-empty list"), Ok),
        "compact" => {
            arity(a, 1)?;
            Ok(Value::Array(
                list(&a[0])?
                    .into_iter()
                    .filter(|v| !v.is_null() && v.as_str() != Some(""))
                    .collect(),
            ))
        }
        "distinct" | "toset" => {
            arity(a, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in list(&a[0])? {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Ok(Value::Array(out))
        }
        "setunion" => {
            let mut out: Vec<Value> = Vec::new();
            for l in a {
                for v in list(l)? {
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
            }
            Ok(Value::Array(out))
        }
        "flatten" => {
            arity(a, 1)?;
            let mut out = Vec::new();
            flatten(&a[0], &mut out);
            Ok(Value::Array(out))
        }
        "reverse" => {
            arity(a, 1)?;
            let mut l = list(&a[0])?;
            l.reverse();
            Ok(Value::Array(l))
        }
        "sort" => {
            arity(a, 1)?;
            let mut l = strings(&a[0])?;
            l.sort();
            Ok(Value::Array(l.into_iter().map(Value::String).collect()))
        }
        "slice" => {
            arity(a, 3)?;
            let l = list(&a[0])?;
            let (i, j) = (n(&a[1])? as usize, n(&a[2])? as usize);
            if i > j || j > l.len() {
                return fail("index out of range");
            }
            Ok(Value::Array(l[i..j].to_vec()))
        }
        "range" => {
            let ns: Vec<f64> = a.iter().map(n).collect::<Result<_, _>>()?;
            let (start, end, step) = match ns[..] {
                [e] => (0.0, e, 1.0),
                [s0, e] => (s0, e, 1.0),
                [s0, e, st] => (s0, e, st),
                _ => return fail("expected 1 to 3 arguments"),
            };
            if step == 0.0 {
                return fail("step must not be zero");
            }
            let mut out = Vec::new();
            let mut x = start;
            while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
                out.push(num(x));
                x += step;
                if out.len() > 1_000_000 {
                    return fail("range too large");
                }
            }
            Ok(Value::Array(out))
        }
        "tolist" => {
            arity(a, 1)?;
            list(&a[0]).map(Value::Array)
        }
        "tomap" => {
            arity(a, 1)?;
            obj(&a[0]).map(Value::Object)
        }
        _ => Err(FnError::Unknown),
    }
}

fn flatten(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flatten(x, out)),
        o => out.push(o.clone()),
    }
}
