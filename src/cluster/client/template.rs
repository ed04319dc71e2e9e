//! `template` blocks: Nomad's consul-template syntax rendered with gotmpl, with the functions
//! jobs use: `env`, `nomadVar`, `nomadVarList`, `nomadVarExists`, `nomadService`, `key`,
//! `keyOrDefault`, `secret` (backed by variables) and common string helpers.
//!
//! Rendering runs on a blocking thread; functions that read the cluster call the servers from
//! there. A variable that does not exist yet fails the render, and the task runner retries,
//! which is how Nomad's template runner blocks a task until its data exists.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::TemplateError;
use gotmpl::{Template, Value};
use tokio::runtime::Handle;

use super::error::ClientError;
use super::server_api::ServerApi;

/// What template functions read.
#[derive(Clone)]
pub struct TemplateData {
    /// Servers.
    pub api: Arc<ServerApi>,
    /// The job's namespace.
    pub namespace: String,
    /// The task environment (`env "X"`).
    pub env: BTreeMap<String, String>,
}

fn exec_err(msg: impl Into<String>) -> TemplateError {
    gotmpl::TemplateError::Exec(msg.into())
}

fn arg_str(args: &[Value], i: usize, func: &str) -> Result<String, TemplateError> {
    args.get(i)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| exec_err(format!("{func}: expected a string argument")))
}

fn map(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
    Value::from(entries.into_iter().collect::<BTreeMap<String, Value>>())
}

fn split_ns(path: &str, default: &str) -> (String, String) {
    match path.rsplit_once('@') {
        Some((p, ns)) => (p.to_owned(), ns.to_owned()),
        None => (path.to_owned(), default.to_owned()),
    }
}

fn block_on<T>(f: impl Future<Output = Result<T, ClientError>>) -> Result<T, TemplateError> {
    Handle::current().block_on(f).map_err(|e| exec_err(e.to_string()))
}

/// Every template function: those reading the cluster, then the string helpers.
fn with_functions(t: Template, data: &TemplateData) -> Template {
    with_string_functions(with_service_functions(with_variable_functions(t, data), data))
}

/// `env`, `nomadVar`, `nomadVarExists`, `nomadVarList` and `secret`: the task environment
/// and variables.
fn with_variable_functions(mut t: Template, data: &TemplateData) -> Template {
    let d = data.clone();
    t = t.func("env", move |args| {
        Ok(Value::from(
            d.env.get(&arg_str(args, 0, "env")?).cloned().unwrap_or_default(),
        ))
    });
    let d = data.clone();
    t = t.func("nomadVar", move |args| {
        let (path, ns) = split_ns(&arg_str(args, 0, "nomadVar")?, &d.namespace);
        let var = block_on(d.api.variable(&ns, &path))?;
        let var = var.ok_or_else(|| exec_err(format!("nomadVar: no variable at {path:?}")))?;
        Ok(map(var.items.into_iter().map(|(k, v)| (k, Value::from(v)))))
    });
    let d = data.clone();
    t = t.func("nomadVarExists", move |args| {
        let (path, ns) = split_ns(&arg_str(args, 0, "nomadVarExists")?, &d.namespace);
        Ok(Value::Bool(block_on(d.api.variable(&ns, &path))?.is_some()))
    });
    let d = data.clone();
    t = t.func("nomadVarList", move |args| {
        let prefix = if args.is_empty() {
            String::new()
        } else {
            arg_str(args, 0, "nomadVarList")?
        };
        let (prefix, ns) = split_ns(&prefix, &d.namespace);
        let list = block_on(d.api.variables(&ns, &prefix, 0, std::time::Duration::ZERO))?
            .value
            .unwrap_or_default();
        Ok(Value::from(
            list.into_iter()
                .map(|m| {
                    map([
                        ("Path".into(), Value::from(m.path)),
                        ("Namespace".into(), Value::from(m.namespace)),
                    ])
                })
                .collect::<Vec<_>>(),
        ))
    });
    let d = data.clone();
    t = t.func("secret", move |args| {
        let (path, ns) = split_ns(&arg_str(args, 0, "secret")?, &d.namespace);
        let var = block_on(d.api.variable(&ns, &path))?
            .ok_or_else(|| exec_err(format!("secret: no variable at {path:?}")))?;
        let data = map(var.items.into_iter().map(|(k, v)| (k, Value::from(v))));
        Ok(map([("Data".into(), data)]))
    });
    t
}

/// `nomadService`, `key` and `keyOrDefault`: services and the KV store.
fn with_service_functions(mut t: Template, data: &TemplateData) -> Template {
    let d = data.clone();
    t = t.func("nomadService", move |args| {
        let name = arg_str(args, args.len().saturating_sub(1), "nomadService")?;
        let regs = block_on(d.api.service(&d.namespace, &name))?;
        Ok(Value::from(
            regs.into_iter()
                .map(|r| {
                    map([
                        ("ID".into(), Value::from(r.id)),
                        ("Name".into(), Value::from(r.service_name)),
                        ("Address".into(), Value::from(r.address)),
                        ("Port".into(), Value::Int(i64::from(r.port))),
                        (
                            "Tags".into(),
                            Value::from(r.tags.into_iter().map(Value::from).collect::<Vec<_>>()),
                        ),
                        ("AllocID".into(), Value::from(r.alloc_id)),
                        ("NodeID".into(), Value::from(r.node_id)),
                        ("Datacenter".into(), Value::from(r.datacenter)),
                    ])
                })
                .collect::<Vec<_>>(),
        ))
    });
    let d = data.clone();
    t = t.func("key", move |args| {
        let key = arg_str(args, 0, "key")?;
        let e = block_on(d.api.kv(&key))?.ok_or_else(|| exec_err(format!("key: {key:?} not found")))?;
        Ok(Value::from(e.value))
    });
    let d = data.clone();
    t = t.func("keyOrDefault", move |args| {
        let key = arg_str(args, 0, "keyOrDefault")?;
        let default = arg_str(args, 1, "keyOrDefault")?;
        Ok(Value::from(
            block_on(d.api.kv(&key))?.map_or(default, |e| e.value),
        ))
    });
    t
}

/// The string helpers: a table of small pure functions.
fn with_string_functions(mut t: Template) -> Template {
    t = t.func("toUpper", |args| {
        Ok(Value::from(arg_str(args, 0, "toUpper")?.to_uppercase()))
    });
    t = t.func("toLower", |args| {
        Ok(Value::from(arg_str(args, 0, "toLower")?.to_lowercase()))
    });
    t = t.func("trimSpace", |args| {
        Ok(Value::from(arg_str(args, 0, "trimSpace")?.trim().to_owned()))
    });
    t = t.func("split", |args| {
        let (sep, s) = (arg_str(args, 0, "split")?, arg_str(args, 1, "split")?);
        Ok(Value::from(
            s.split(sep.as_str())
                .map(|x| Value::from(x.to_owned()))
                .collect::<Vec<_>>(),
        ))
    });
    t = t.func("join", |args| {
        let sep = arg_str(args, 0, "join")?;
        let Some(Value::List(items)) = args.get(1) else {
            return Err(exec_err("join: expected a list"));
        };
        Ok(Value::from(
            items
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(&sep),
        ))
    });
    t = t.func("replaceAll", |args| {
        let (from, to, s) = (
            arg_str(args, 0, "replaceAll")?,
            arg_str(args, 1, "replaceAll")?,
            arg_str(args, 2, "replaceAll")?,
        );
        Ok(Value::from(s.replace(&from, &to)))
    });
    t = t.func("parseInt", |args| {
        let s = arg_str(args, 0, "parseInt")?;
        s.trim()
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|e| exec_err(format!("parseInt: {e}")))
    });
    t = t.func("toJSON", |args| {
        let v = args
            .first()
            .ok_or_else(|| exec_err("toJSON: expected an argument"))?;
        Ok(Value::from(
            serde_json::to_string(&to_json(v)).unwrap_or_default(),
        ))
    });
    t
}

fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Nil => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Uint(u) => (*u).into(),
        Value::Float(f) => (*f).into(),
        Value::String(s) => s.as_ref().into(),
        Value::List(l) => l.iter().map(to_json).collect(),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| (k.to_string(), to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => other.to_string().into(),
    }
}

/// Renders `text` with Nomad's template functions; run it on a blocking thread.
pub fn render(text: &str, left: &str, right: &str, data: &TemplateData) -> Result<String, String> {
    let mut t = Template::new("template");
    if !left.is_empty() && !right.is_empty() {
        t = t.delims(left, right);
    }
    let t = with_functions(t, data).parse(text).map_err(|e| e.to_string())?;
    t.execute_to_string(&Value::from(BTreeMap::<String, Value>::new()))
        .map_err(|e| e.to_string())
}

/// Parses `KEY=value` lines of an `env = true` template into variables.
pub fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(v);
            Some((k.trim().to_owned(), v.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_lines() {
        let vars = parse_env_file("# c\nA=1\nexport B=\"two words\"\n\nC = x\n");
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "two words");
        assert_eq!(vars["C"], "x");
    }

    #[test]
    fn renders_env_and_helpers_without_servers() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let data = TemplateData {
            api: Arc::new(ServerApi::new(vec![]).unwrap()),
            namespace: "default".into(),
            env: BTreeMap::from([("NOMAD_ALLOC_ID".into(), "abc".into())]),
        };
        let out = render(
            r#"id={{ env "NOMAD_ALLOC_ID" | toUpper }} {{- " x" }}"#,
            "",
            "",
            &data,
        )
        .unwrap();
        assert_eq!(out, "id=ABC x");
        assert!(render("{{ nope }}", "", "", &data).is_err());
    }
}
