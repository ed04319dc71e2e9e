//! Conversions, encodings, hashes and files: tostring, jsonencode, base64, sha256, uuidv5, file, ...

use std::path::Path;

use base64::Engine;
use serde_json::Value;

use super::super::{as_bool, num, to_key};
use super::{FnError, Res, arity, fail, n, s};

/// `None` when `name` is not a function of this group.
pub fn call(name: &str, a: &[Value], base_dir: &Path) -> Option<Res> {
    match run(name, a, base_dir) {
        Err(FnError::Unknown) => None,
        r => Some(r),
    }
}

fn run(name: &str, a: &[Value], base_dir: &Path) -> Res {
    match name {
        "tostring" => {
            arity(a, 1)?;
            if a[0].is_null() {
                Ok(Value::Null)
            } else {
                s(&a[0]).map(Value::String)
            }
        }
        "tonumber" => {
            arity(a, 1)?;
            if a[0].is_null() {
                Ok(Value::Null)
            } else {
                n(&a[0]).map(num)
            }
        }
        "tobool" => {
            arity(a, 1)?;
            if a[0].is_null() {
                Ok(Value::Null)
            } else {
                as_bool(&a[0])
                    .map(Value::Bool)
                    .map_or_else(|| fail("expected a bool"), Ok)
            }
        }
        "jsonencode" => {
            arity(a, 1)?;
            serde_json::to_string(&a[0])
                .map(Value::String)
                .or_else(|e| fail(e.to_string()))
        }
        "jsondecode" => {
            arity(a, 1)?;
            serde_json::from_str(&s(&a[0])?).or_else(|e| fail(format!("invalid JSON: {e}")))
        }
        "yamlencode" => {
            arity(a, 1)?;
            let mut out = String::new();
            yaml(&a[0], 0, &mut out);
            Ok(Value::String(out))
        }
        "base64encode" => {
            arity(a, 1)?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s(&a[0])?),
            ))
        }
        "base64decode" => {
            arity(a, 1)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s(&a[0])?)
                .or_else(|e| fail(format!("invalid base64: {e}")))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .or_else(|_| fail("the decoded bytes are not UTF-8"))
        }
        "sha256" => {
            use sha2::Digest;
            arity(a, 1)?;
            Ok(Value::String(hex::encode(sha2::Sha256::digest(
                s(&a[0])?.as_bytes(),
            ))))
        }
        "uuidv5" => {
            arity(a, 2)?;
            uuidv5(&s(&a[0])?, &s(&a[1])?)
        }
        "file" => {
            arity(a, 1)?;
            let p = resolve(base_dir, &s(&a[0])?);
            std::fs::read_to_string(&p)
                .map(Value::String)
                .or_else(|e| fail(format!("cannot read {}: {e}", p.display())))
        }
        "fileexists" => {
            arity(a, 1)?;
            Ok(Value::Bool(resolve(base_dir, &s(&a[0])?).is_file()))
        }
        "abspath" => {
            arity(a, 1)?;
            Ok(Value::String(resolve(base_dir, &s(&a[0])?).display().to_string()))
        }
        "pathexpand" => {
            arity(a, 1)?;
            let p = s(&a[0])?;
            let home = std::env::var("HOME").unwrap_or_default();
            Ok(Value::String(if p == "~" {
                home
            } else if let Some(rest) = p.strip_prefix("~/") {
                format!("{home}/{rest}")
            } else {
                p
            }))
        }
        "basename" => {
            arity(a, 1)?;
            Ok(Value::String(
                Path::new(&s(&a[0])?)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ))
        }
        "dirname" => {
            arity(a, 1)?;
            Ok(Value::String(
                Path::new(&s(&a[0])?)
                    .parent()
                    .map(|f| f.display().to_string())
                    .unwrap_or_else(|| ".".into()),
            ))
        }
        // As Nomad (go-cty's stdlib): a random version 4 UUID, and the time in UTC as RFC 3339
        // with whole seconds.
        "uuidv4" => {
            arity(a, 0)?;
            Ok(Value::String(uuid::Uuid::new_v4().to_string()))
        }
        "timestamp" => {
            arity(a, 0)?;
            Ok(Value::String(
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ))
        }
        _ => Err(FnError::Unknown),
    }
}

fn resolve(base: &Path, p: &str) -> std::path::PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// RFC 4122 name-based UUID (version 5, SHA-1) of `name` in a namespace: `dns`, `url`, `oid`,
/// `x500` or a UUID, as Terraform's `uuidv5`.
fn uuidv5(namespace: &str, name: &str) -> Res {
    let ns = match namespace {
        "dns" => uuid::Uuid::NAMESPACE_DNS,
        "url" => uuid::Uuid::NAMESPACE_URL,
        "oid" => uuid::Uuid::NAMESPACE_OID,
        "x500" => uuid::Uuid::NAMESPACE_X500,
        other => match uuid::Uuid::parse_str(other) {
            Ok(u) => u,
            Err(_) => return fail("namespace must be dns, url, oid, x500 or a UUID"),
        },
    };
    Ok(Value::String(
        uuid::Uuid::new_v5(&ns, name.as_bytes()).to_string(),
    ))
}

fn yaml(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                match x {
                    Value::Object(i) if !i.is_empty() => {
                        out.push_str(&format!("{pad}\"{k}\":\n"));
                        yaml(x, indent + 2, out);
                    }
                    Value::Array(i) if !i.is_empty() => {
                        out.push_str(&format!("{pad}\"{k}\":\n"));
                        yaml(x, indent, out);
                    }
                    _ => out.push_str(&format!("{pad}\"{k}\": {}\n", scalar(x))),
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for x in a {
                match x {
                    Value::Object(_) | Value::Array(_) => {
                        let mut inner = String::new();
                        yaml(x, indent + 2, &mut inner);
                        let trimmed = inner.trim_start().to_string();
                        out.push_str(&format!("{pad}- {trimmed}"));
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", scalar(x))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(x) => serde_json::to_string(x).unwrap_or_default(),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        Value::Null => "null".into(),
        o => to_key(o).unwrap_or_default(),
    }
}
