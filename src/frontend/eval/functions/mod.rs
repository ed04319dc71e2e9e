//! The HCL2 functions Nomad offers in jobspecs.
//!
//! `uuidv4` and `timestamp` give a new value on every evaluation, as in Nomad (which evaluates
//! them at parse time): the evaluator records their use (see [`VOLATILE`]) so that plans mark
//! the fields they feed as changing on every plan.

mod collections;
mod encoding;
mod strings;

use std::path::Path;

use serde_json::{Map, Value};

use super::template::stringify;
use super::{as_number, type_name};

/// Why a call failed.
pub enum FnError {
    /// No such function.
    Unknown,
    /// The call failed, with the reason.
    Failed(String),
}

/// Every function name (for suggestions).
pub const NAMES: &[&str] = &[
    "abs",
    "abspath",
    "base64decode",
    "base64encode",
    "basename",
    "ceil",
    "chomp",
    "coalesce",
    "coalescelist",
    "compact",
    "concat",
    "contains",
    "dirname",
    "distinct",
    "element",
    "file",
    "fileexists",
    "flatten",
    "floor",
    "format",
    "formatlist",
    "indent",
    "index",
    "join",
    "jsondecode",
    "jsonencode",
    "keys",
    "length",
    "lookup",
    "lower",
    "max",
    "merge",
    "min",
    "parseint",
    "pathexpand",
    "range",
    "regex_replace",
    "replace",
    "reverse",
    "setunion",
    "sha256",
    "signum",
    "slice",
    "sort",
    "split",
    "strrev",
    "substr",
    "timestamp",
    "title",
    "tobool",
    "tolist",
    "tomap",
    "tonumber",
    "toset",
    "tostring",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "upper",
    "uuidv4",
    "uuidv5",
    "values",
    "yamlencode",
    "zipmap",
];

/// The functions whose value differs on every call.
pub const VOLATILE: &[&str] = &["timestamp", "uuidv4"];

type Res = Result<Value, FnError>;

fn fail<T>(msg: impl Into<String>) -> Result<T, FnError> {
    Err(FnError::Failed(msg.into()))
}

fn arity(args: &[Value], n: usize) -> Result<(), FnError> {
    if args.len() == n {
        Ok(())
    } else {
        fail(format!("expected {n} argument(s), found {}", args.len()))
    }
}

fn s(v: &Value) -> Result<String, FnError> {
    stringify(v).map_or_else(|| fail(format!("expected a string, found {}", type_name(v))), Ok)
}

fn n(v: &Value) -> Result<f64, FnError> {
    as_number(v).map_or_else(|| fail(format!("expected a number, found {}", type_name(v))), Ok)
}

fn list(v: &Value) -> Result<Vec<Value>, FnError> {
    match v {
        Value::Array(a) => Ok(a.clone()),
        _ => fail(format!("expected a list, found {}", type_name(v))),
    }
}

fn obj(v: &Value) -> Result<Map<String, Value>, FnError> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        Value::Null => Ok(Map::new()),
        _ => fail(format!("expected a map, found {}", type_name(v))),
    }
}

fn strings(v: &Value) -> Result<Vec<String>, FnError> {
    list(v)?.iter().map(s).collect()
}

/// Calls a function by name./// Calls a function by name.
pub fn call(name: &str, args: Vec<Value>, base_dir: &Path) -> Res {
    let a = &args;
    strings::call(name, a)
        .or_else(|| collections::call(name, a))
        .or_else(|| encoding::call(name, a, base_dir))
        .unwrap_or(Err(FnError::Unknown))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, args: Vec<Value>) -> Value {
        match call(name, args, Path::new(".")) {
            Ok(v) => v,
            Err(FnError::Unknown) => panic!("unknown {name}"),
            Err(FnError::Failed(m)) => panic!("{name} failed: {m}"),
        }
    }

    #[test]
    fn string_functions() {
        assert_eq!(
            c("format", vec!["%s-%03d".into(), "a".into(), 7.into()]),
            Value::from("a-007")
        );
        assert_eq!(
            c("join", vec![",".into(), serde_json::json!(["a", "b"])]),
            Value::from("a,b")
        );
        assert_eq!(
            c("split", vec![",".into(), "a,b".into()]),
            serde_json::json!(["a", "b"])
        );
        assert_eq!(
            c("replace", vec!["a-b-c".into(), "-".into(), "_".into()]),
            Value::from("a_b_c")
        );
        assert_eq!(c("trimspace", vec!["  x \n".into()]), Value::from("x"));
        assert_eq!(c("base64encode", vec!["u:p".into()]), Value::from("dTpw"));
    }

    #[test]
    fn collection_functions() {
        assert_eq!(
            c(
                "merge",
                vec![serde_json::json!({"a": 1}), serde_json::json!({"b": 2})]
            ),
            serde_json::json!({"a": 1, "b": 2})
        );
        assert_eq!(
            c("lookup", vec![serde_json::json!({"a": 1}), "b".into(), 3.into()]),
            Value::from(3)
        );
        assert_eq!(
            c("element", vec![serde_json::json!(["a", "b"]), 3.into()]),
            Value::from("b")
        );
        assert_eq!(
            c("coalesce", vec![Value::Null, "".into(), "x".into()]),
            Value::from("x")
        );
        assert_eq!(
            c("concat", vec![serde_json::json!([1]), serde_json::json!([2])]),
            serde_json::json!([1, 2])
        );
    }

    #[test]
    fn uuidv5_matches_rfc_example() {
        // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
        assert_eq!(
            c("uuidv5", vec!["dns".into(), "python.org".into()]),
            Value::from("886313e1-3b8a-5372-9b90-0c9aee199e5d")
        );
    }

    #[test]
    fn uuidv5_matches_known_vectors_in_every_namespace() {
        // Python's uuid.uuid5 with the same namespace and name.
        let vectors = [
            (
                "url",
                "http://python.org/",
                "4c565f0d-3f5a-5890-b41b-20cf47701c5e",
            ),
            ("oid", "1.3.6.1", "1447fa61-5277-5fef-a9b3-fbc6e44f4af3"),
            ("x500", "cn=deploy", "a67ea347-063b-5164-aac4-3c35dfd59e8b"),
            (
                "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
                "www.example.com",
                "2ed6657d-e927-568b-95e1-2665a8aea6a2",
            ),
            (
                "123e4567-e89b-12d3-a456-426614174000",
                "",
                "6e27877b-6f4b-5895-9a0f-9a16080460b6",
            ),
        ];
        for (ns, name, want) in vectors {
            assert_eq!(
                c("uuidv5", vec![ns.into(), name.into()]),
                Value::from(want),
                "{ns} {name}"
            );
        }
        // A name longer than one SHA-1 block.
        assert_eq!(
            c("uuidv5", vec!["dns".into(), "x".repeat(100).into()]),
            Value::from("897f5b43-a3c8-582d-9c8d-9cfe358a534d")
        );
        assert!(matches!(
            call("uuidv5", vec!["nope".into(), "a".into()], Path::new(".")),
            Err(FnError::Failed(_))
        ));
    }

    #[test]
    fn uuidv4_and_timestamp_give_values_of_their_format() {
        let a = c("uuidv4", vec![]);
        let b = c("uuidv4", vec![]);
        assert_ne!(a, b);
        let a = a.as_str().unwrap_or_default();
        let parsed = uuid::Uuid::parse_str(a).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(a, a.to_lowercase());
        let t = c("timestamp", vec![]);
        let t = t.as_str().unwrap_or_default();
        let parsed = chrono::DateTime::parse_from_rfc3339(t).expect("RFC 3339");
        assert_eq!(parsed.offset().local_minus_utc(), 0);
        assert!(t.ends_with('Z') && !t.contains('.'), "{t}");
        assert!(matches!(
            call("uuidv4", vec![Value::from(1)], Path::new(".")),
            Err(FnError::Failed(_))
        ));
    }
}
