//! String and number functions: format, join, split, replace, trim*, case, substr, ...

use serde_json::Value;

use super::super::{as_bool, num, stringify};
use super::{FnError, Res, arity, fail, n, s, strings};

/// `None` when `name` is not a function of this group.
pub fn call(name: &str, a: &[Value]) -> Option<Res> {
    match run(name, a) {
        Err(FnError::Unknown) => None,
        r => Some(r),
    }
}

fn run(name: &str, a: &[Value]) -> Res {
    match name {
        "abs" => Ok(num(n(&a[..].first().cloned().unwrap_or(Value::Null))?.abs())),
        "ceil" => {
            arity(a, 1)?;
            Ok(num(n(&a[0])?.ceil()))
        }
        "floor" => {
            arity(a, 1)?;
            Ok(num(n(&a[0])?.floor()))
        }
        "signum" => {
            arity(a, 1)?;
            Ok(num(n(&a[0])?.signum()))
        }
        "max" | "min" => {
            let ns: Vec<f64> = a.iter().map(n).collect::<Result<_, _>>()?;
            let r = if name == "max" {
                ns.iter().cloned().fold(f64::MIN, f64::max)
            } else {
                ns.iter().cloned().fold(f64::MAX, f64::min)
            };
            if ns.is_empty() {
                fail("expected at least one number")
            } else {
                Ok(num(r))
            }
        }
        "parseint" => {
            arity(a, 2)?;
            let base = n(&a[1])? as u32;
            if !(2..=36).contains(&base) {
                return fail("base must be between 2 and 36");
            }
            i64::from_str_radix(&s(&a[0])?, base)
                .map(Value::from)
                .or_else(|_| fail("not an integer in that base"))
        }
        "lower" => {
            arity(a, 1)?;
            Ok(Value::String(s(&a[0])?.to_lowercase()))
        }
        "upper" => {
            arity(a, 1)?;
            Ok(Value::String(s(&a[0])?.to_uppercase()))
        }
        "title" => {
            arity(a, 1)?;
            let mut out = String::new();
            let mut start = true;
            for c in s(&a[0])?.chars() {
                if start {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = c.is_whitespace();
            }
            Ok(Value::String(out))
        }
        "strrev" => {
            arity(a, 1)?;
            Ok(Value::String(s(&a[0])?.chars().rev().collect()))
        }
        "trimspace" => {
            arity(a, 1)?;
            Ok(Value::String(s(&a[0])?.trim().to_string()))
        }
        "chomp" => {
            arity(a, 1)?;
            Ok(Value::String(
                s(&a[0])?.trim_end_matches(['\r', '\n']).to_string(),
            ))
        }
        "trim" => {
            arity(a, 2)?;
            let cs: Vec<char> = s(&a[1])?.chars().collect();
            Ok(Value::String(s(&a[0])?.trim_matches(&cs[..]).to_string()))
        }
        "trimprefix" => {
            arity(a, 2)?;
            let (x, p) = (s(&a[0])?, s(&a[1])?);
            Ok(Value::String(x.strip_prefix(&p).unwrap_or(&x).to_string()))
        }
        "trimsuffix" => {
            arity(a, 2)?;
            let (x, p) = (s(&a[0])?, s(&a[1])?);
            Ok(Value::String(x.strip_suffix(&p).unwrap_or(&x).to_string()))
        }
        "indent" => {
            arity(a, 2)?;
            let pad = " ".repeat((n(&a[0])?.max(0.0) as usize).min(1024));
            Ok(Value::String(s(&a[1])?.replace('\n', &format!("\n{pad}"))))
        }
        "substr" => {
            arity(a, 3)?;
            let chars: Vec<char> = s(&a[0])?.chars().collect();
            let off = n(&a[1])? as i64;
            let len = n(&a[2])? as i64;
            let start = if off < 0 {
                (chars.len() as i64 + off).max(0)
            } else {
                off.min(chars.len() as i64)
            } as usize;
            let end = if len < 0 {
                chars.len()
            } else {
                (start + len as usize).min(chars.len())
            };
            Ok(Value::String(chars[start..end].iter().collect()))
        }
        "replace" => {
            arity(a, 3)?;
            let (x, from, to) = (s(&a[0])?, s(&a[1])?, s(&a[2])?);
            if from.len() > 2 && from.starts_with('/') && from.ends_with('/') {
                regex_replace(&x, &from[1..from.len() - 1], &to)
            } else {
                Ok(Value::String(x.replace(&from, &to)))
            }
        }
        "regex_replace" => {
            arity(a, 3)?;
            regex_replace(&s(&a[0])?, &s(&a[1])?, &s(&a[2])?)
        }
        "split" => {
            arity(a, 2)?;
            Ok(Value::Array(
                s(&a[1])?
                    .split(s(&a[0])?.as_str())
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            ))
        }
        "join" => {
            if a.len() < 2 {
                return fail("expected a separator and at least one list");
            }
            let sep = s(&a[0])?;
            let mut parts = Vec::new();
            for l in &a[1..] {
                parts.extend(strings(l)?);
            }
            Ok(Value::String(parts.join(&sep)))
        }
        "format" => format(a).map(Value::String),
        "formatlist" => {
            let len = a
                .iter()
                .filter_map(|v| v.as_array().map(Vec::len))
                .max()
                .unwrap_or(1);
            let mut out = Vec::new();
            for i in 0..len {
                let row: Vec<Value> = a
                    .iter()
                    .map(|v| match v {
                        Value::Array(l) => l.get(i).cloned().unwrap_or(Value::Null),
                        o => o.clone(),
                    })
                    .collect();
                out.push(Value::String(format(&row)?));
            }
            Ok(Value::Array(out))
        }
        _ => Err(FnError::Unknown),
    }
}

fn regex_replace(x: &str, pattern: &str, to: &str) -> Res {
    let re = regex::Regex::new(pattern).or_else(|e| fail(format!("invalid regular expression: {e}")))?;
    Ok(Value::String(re.replace_all(x, to).into_owned()))
}

fn format(a: &[Value]) -> Result<String, FnError> {
    let Some(spec) = a.first() else {
        return fail("expected a format string");
    };
    let spec = s(spec)?;
    let mut out = String::new();
    let mut args = a[1..].iter();
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '.' || d == '-' || d == '+' || d == '#' {
                flags.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else {
            return fail("format ends with %");
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            return fail("not enough arguments for the format");
        };
        let text = match verb {
            's' | 'v' => stringify(arg).unwrap_or_else(|| arg.to_string()),
            'q' => serde_json::to_string(&s(arg)?).unwrap_or_default(),
            'd' => format!("{}", n(arg)? as i64),
            't' => as_bool(arg)
                .map(|b| b.to_string())
                .map_or_else(|| fail("expected a bool"), Ok)?,
            'f' | 'g' | 'e' => {
                let prec = flags
                    .split_once('.')
                    .and_then(|(_, p)| p.parse::<usize>().ok())
                    .map(|p| p.min(64));
                match prec {
                    Some(p) => format!("{:.*}", p, n(arg)?),
                    None => format!("{:.6}", n(arg)?),
                }
            }
            'x' => format!("{:x}", n(arg)? as i64),
            other => return fail(format!("unsupported format verb %{other}")),
        };
        let width: usize = flags
            .trim_start_matches(['-', '+', '#'])
            .split('.')
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or(0)
            .min(1024);
        if flags.starts_with('-') {
            out.push_str(&format!("{text:<width$}"));
        } else if flags.starts_with('0') && "dfx".contains(verb) {
            let (sign, digits) = text.strip_prefix('-').map_or(("", text.as_str()), |d| ("-", d));
            out.push_str(&format!(
                "{sign}{digits:0>w$}",
                w = width.saturating_sub(sign.len())
            ));
        } else {
            out.push_str(&format!("{text:>width$}"));
        }
    }
    Ok(out)
}
