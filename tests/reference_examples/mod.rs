//! Nomad's API reference examples (`../shared/reference/nomad-api/*.mdx`), for comparing a real
//! agent's answers with them field by field. Absent reference: a printed reason and `None`, or
//! a failure when `CI=true`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// The `nth` JSON example under the page's `## heading`.
pub fn example(page: &str, heading: &str, nth: usize) -> Option<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/nomad-api")
        .join(format!("{page}.mdx"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} is missing and CI=true",
            path.display()
        );
        eprintln!(
            "skipping the comparison with Nomad's examples: {} is absent",
            path.display()
        );
        return None;
    };
    let (mut section, mut block, mut found) = (String::new(), None::<String>, Vec::new());
    for line in text.lines() {
        let t = line.trim();
        match (&mut block, t) {
            (None, _) if t.starts_with("## ") => section = t[3..].to_owned(),
            (None, "```json") => block = Some(String::new()),
            (Some(_), "```") => {
                let b = block.take().unwrap_or_default();
                if section == heading {
                    found.push(b);
                }
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    let text = found
        .get(nth)
        .unwrap_or_else(|| panic!("{page}.mdx has no JSON example #{nth} under `## {heading}`"));
    Some(serde_json::from_str(text).unwrap_or_else(|e| panic!("{page}.mdx `{heading}`: {e}")))
}

/// Every key path of `v`; array elements share their parent's path, and the keys of the objects
/// named in `maps` (free-form maps such as task group names) are written `*`.
fn paths(v: &Value, prefix: &str, maps: &[&str], out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            let free = maps.iter().any(|m| prefix.ends_with(&format!("/{m}")));
            for (k, child) in map {
                let path = format!("{prefix}/{}", if free { "*" } else { k.as_str() });
                out.insert(path.clone());
                paths(child, &path, maps, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| paths(i, prefix, maps, out)),
        _ => {}
    }
}

/// Fails naming every field of Nomad's example that `ours` lacks.
pub fn assert_has_fields(what: &str, example: &Value, ours: &Value, maps: &[&str]) {
    let (mut want, mut got) = (BTreeSet::new(), BTreeSet::new());
    paths(example, "", maps, &mut want);
    paths(ours, "", maps, &mut got);
    let missing: Vec<_> = want.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "{what}: fields of Nomad's example missing from ours: {missing:?}\n{ours}"
    );
}
