//! The variables pages: the paths a token lists, and one variable's item keys, with its
//! values only when the user asks to reveal them.

use serde_json::{Value, json};

use super::View;
use super::fetch::{Caller, enc, enc_path};
use super::pages::{Page, in_each_namespace, ns_of};
use super::shape::{entries, s, u, when};

fn var_href(path: &str, ns: &str) -> String {
    format!("#/var/{}?namespace={}", enc_path(path), enc(ns))
}

/// `#/vars`: every variable path the token lists.
pub async fn vars(c: &Caller) -> Page {
    let (list, watched, index) = in_each_namespace(c, "/v1/vars").await?;
    let rows: Vec<Value> = list
        .iter()
        .map(|v| {
            json!({
                "path": s(v, "Path"),
                "href": var_href(s(v, "Path"), ns_of(v)),
                "namespace": ns_of(v),
                "modified": when(v.get("ModifyTime")),
            })
        })
        .collect();
    Ok(View::new("vars.html", json!({ "vars": rows }), watched, index))
}

/// `#/var/PATH?namespace=NS[&reveal=1]`: the item keys; the values only when asked for.
pub async fn var(c: &Caller, path: &str, ns: &str, reveal: bool) -> Page {
    let read = format!("/v1/var/{}?namespace={}", enc_path(path), enc(ns));
    let answer = c.get(&read).await?;
    let v = &answer.body;
    let items: Vec<Value> = entries(v, "Items")
        .into_iter()
        .map(|(k, val)| {
            // A value leaves the agent only when the user asked to reveal it.
            let value = reveal.then(|| val.as_str().map_or_else(|| val.to_string(), str::to_string));
            json!({"key": k, "value": value})
        })
        .collect();
    let ctx = json!({
        "path": path,
        "namespace": ns,
        "items": items,
        "reveal": reveal,
        "reveal_href": format!("{}&reveal=1", var_href(path, ns)),
        "hide_href": var_href(path, ns),
        "modified": when(v.get("ModifyTime")),
        "modify_index": u(v, "ModifyIndex"),
    });
    Ok(View::new("var.html", ctx, Vec::new(), answer.index))
}
