//! The schema walker: HCL body + a static per-block schema → a JSON object in Nomad's API shape.
//!
//! ```text
//!  Block ──► Schema { attrs: hcl name → JSON field + kind, blocks: hcl name → rule } ──► Map
//!              │ unknown names: error with a suggestion; wrong types: error at the value
//!              └ post hook (sugar such as `distinct_hosts = true`, ports, identities)
//! ```

use hcl::edit::Span;
use hcl::edit::structure::{Attribute, Block, Body, Structure};
use serde_json::{Map, Value};

use super::super::eval::Eval;
use super::super::suggest::did_you_mean;
use super::super::unit::label_span;
use super::convert::convert;
use crate::diag::Diagnostic;
use crate::stack::VolatileField;

/// The type an attribute must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string (numbers and bools are converted, as HCL does).
    Str,
    /// An integer.
    Int,
    /// A bool.
    Bool,
    /// A Go duration string (or a number of nanoseconds) → nanoseconds.
    Dur,
    /// A list of strings.
    StrList,
    /// A map of strings.
    StrMap,
    /// A map of lists of strings (HTTP headers).
    StrListMap,
    /// Any value, kept as JSON.
    Any,
}

/// One attribute: HCL name, JSON field, kind.
pub struct Attr(pub &'static str, pub &'static str, pub Kind);

/// How a block's values are placed in the parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// At most one: `"Field": {...}`.
    One,
    /// Repeated: `"Field": [{...}, ...]`.
    List,
    /// Keyed by the label: `"Field": {"label": {...}}`.
    Map,
}

/// A block's label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// No label.
    None,
    /// One required label, stored in this JSON field ("" to store nowhere).
    Required(&'static str),
}

/// How a block's body is read.
#[derive(Clone, Copy)]
pub enum BodyKind {
    /// With a schema.
    Schema(&'static Schema),
    /// Free-form JSON (driver config, connect): nested blocks become lists of objects.
    FreeForm,
    /// Every attribute a string (meta, env).
    StrMap,
    /// Every attribute a list of strings (check `header`).
    StrListMap,
}

/// A nested block.
#[derive(Clone, Copy)]
pub struct BlockRule {
    /// HCL name.
    pub hcl: &'static str,
    /// JSON field.
    pub json: &'static str,
    /// Placement.
    pub shape: Shape,
    /// Label rule.
    pub label: Label,
    /// Body.
    pub body: BodyKind,
}

/// Post-processing after a block was read.
pub type Post = fn(&mut Decoder<'_, '_>, &Block, &mut Map<String, Value>);

/// The schema of one block type.
pub struct Schema {
    /// Block name for messages.
    pub name: &'static str,
    /// Attributes.
    pub attrs: &'static [Attr],
    /// Nested blocks.
    pub blocks: &'static [BlockRule],
    /// Optional post hook.
    pub post: Option<Post>,
}

/// One step of the JSON path being decoded. Only a path to a sensitive value is ever written
/// out, so steps borrow the schema's names instead of formatting a string per block.
enum Seg {
    /// `"Field"`: a block read once, or a nested free-form block.
    Field(&'static str),
    /// `"Field[i]"`: the i-th block of a repeated kind.
    Item(&'static str, usize),
    /// `"Field.label"`: a block keyed by its label.
    Keyed(&'static str, String),
    /// A nested block of a free-form body (driver config), named by the user.
    Free(String),
}

/// Walks bodies, collecting every error.
pub struct Decoder<'a, 'e> {
    /// Expression evaluator.
    pub ev: &'e mut Eval<'a>,
    /// Problems found.
    pub diags: Vec<Diagnostic>,
    /// JSON paths of values that came from sensitive variables.
    pub sensitive_paths: Vec<String>,
    /// Fields whose values came from `uuidv4()` or `timestamp()`.
    pub volatile: Vec<VolatileField>,
    path: Vec<Seg>,
}

/// Name equality for schema lookups: most candidates differ in length or first byte, which
/// is decided inline instead of calling `memcmp` for every entry of a schema table.
#[inline]
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

impl<'a, 'e> Decoder<'a, 'e> {
    /// A decoder over an evaluator.
    pub fn new(ev: &'e mut Eval<'a>) -> Self {
        Decoder {
            ev,
            diags: Vec::new(),
            sensitive_paths: Vec::new(),
            volatile: Vec::new(),
            path: Vec::new(),
        }
    }

    /// Records an error at a byte range.
    pub fn error_at(
        &mut self,
        range: Option<std::ops::Range<usize>>,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) -> &mut Diagnostic {
        let span = self.ev.file.span_opt(range);
        self.diags
            .push(Diagnostic::error(summary).with_span(span).with_detail(detail));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn current_path(&self, leaf: &str) -> String {
        use std::fmt::Write;
        let mut p = String::new();
        for seg in &self.path {
            if !p.is_empty() {
                p.push('.');
            }
            // Writing to a String cannot fail.
            let _ = match seg {
                Seg::Field(f) => write!(p, "{f}"),
                Seg::Item(f, i) => write!(p, "{f}[{i}]"),
                Seg::Keyed(f, k) => write!(p, "{f}.{k}"),
                Seg::Free(k) => write!(p, "{k}"),
            };
        }
        if !p.is_empty() {
            p.push('.');
        }
        p.push_str(leaf);
        p
    }

    /// Evaluates an attribute as `kind`, recording taint at JSON field `json`.
    pub fn attr_value(&mut self, attr: &Attribute, kind: Kind, json: &str) -> Option<Value> {
        self.ev.tainted = false;
        self.ev.volatile.clear();
        let v = match self.ev.eval(&attr.value) {
            Ok(v) => v,
            Err(d) => {
                if !super::super::eval::is_cascade(&d) {
                    self.diags.push(d);
                }
                return None;
            }
        };
        if self.ev.tainted {
            let p = self.current_path(json);
            self.sensitive_paths.push(p);
        }
        if !self.ev.volatile.is_empty() {
            let mut functions: Vec<String> = self.ev.volatile.iter().map(|f| f.to_string()).collect();
            functions.sort();
            functions.dedup();
            let path = self.current_path(json);
            self.volatile.push(VolatileField { path, functions });
        }
        match convert(v, kind) {
            Ok(v) => Some(v),
            Err(msg) => {
                self.error_at(
                    attr.value.span(),
                    format!("invalid value for `{}`", attr.key.value()),
                    msg,
                );
                None
            }
        }
    }

    /// Reads a block body with a schema into `out`.
    pub fn body(&mut self, schema: &'static Schema, block: &Block, out: &mut Map<String, Value>) {
        for s in block.body.iter() {
            match s {
                Structure::Attribute(a) => self.attribute(schema, a, out),
                Structure::Block(b) => self.block(schema, b, out),
            }
        }
        if let Some(post) = schema.post {
            post(self, block, out);
        }
    }

    pub(super) fn unknown(
        &mut self,
        schema: &'static Schema,
        name: &str,
        range: Option<std::ops::Range<usize>>,
        what: &str,
    ) {
        let names = schema
            .attrs
            .iter()
            .map(|a| a.0)
            .chain(schema.blocks.iter().map(|b| b.hcl));
        let suggestion = did_you_mean(name, names);
        let d = self.error_at(
            range,
            format!("unknown {what} `{name}` in `{}`", schema.name),
            format!("`{}` has no {what} `{name}`", schema.name),
        );
        if let Some(s) = suggestion {
            d.help = Some(format!("did you mean `{s}`?"));
        }
    }

    fn attribute(&mut self, schema: &'static Schema, a: &Attribute, out: &mut Map<String, Value>) {
        let key = a.key.value().as_str();
        if let Some(Attr(_, json, kind)) = schema.attrs.iter().find(|x| same_name(x.0, key)) {
            if let Some(v) = self.attr_value(a, *kind, json) {
                out.insert((*json).to_string(), v);
            }
            return;
        }
        // `meta = {...}` / `env = {...}` / `config = {...}` as attributes.
        if let Some(rule) = schema
            .blocks
            .iter()
            .find(|r| r.shape == Shape::One && same_name(r.hcl, key))
        {
            let kind = match rule.body {
                BodyKind::StrMap => Some(Kind::StrMap),
                BodyKind::StrListMap => Some(Kind::StrListMap),
                BodyKind::FreeForm => Some(Kind::Any),
                BodyKind::Schema(_) => None,
            };
            if let Some(kind) = kind {
                if let Some(v) = self.attr_value(a, kind, rule.json) {
                    out.insert(rule.json.to_string(), v);
                }
                return;
            }
        }
        self.unknown(schema, key, a.key.span(), "attribute");
    }

    pub(super) fn block(&mut self, schema: &'static Schema, b: &Block, out: &mut Map<String, Value>) {
        let name = b.ident.value().as_str();
        if name == "dynamic" {
            self.dynamic_in_schema(schema, b, out);
            return;
        }
        let Some(rule) = schema.blocks.iter().find(|r| same_name(r.hcl, name)) else {
            self.unknown(schema, name, b.ident.span(), "block");
            return;
        };
        let label = match self.check_labels(rule, b) {
            Ok(l) => l,
            Err(()) => return,
        };
        let seg = match rule.shape {
            Shape::One => Seg::Field(rule.json),
            Shape::List => {
                let n = out.get(rule.json).and_then(Value::as_array).map_or(0, Vec::len);
                Seg::Item(rule.json, n)
            }
            Shape::Map => Seg::Keyed(rule.json, label.clone().unwrap_or_default()),
        };
        self.path.push(seg);
        let mut inner = Map::new();
        if let (Label::Required(f), Some(l)) = (rule.label, &label)
            && !f.is_empty()
        {
            inner.insert(f.to_string(), Value::String(l.clone()));
        }
        let value = match rule.body {
            BodyKind::Schema(s) => {
                self.body(s, b, &mut inner);
                Value::Object(inner)
            }
            BodyKind::FreeForm => {
                let mut v = self.free_form(&b.body);
                if let (Value::Object(m), Label::Required(f)) = (&mut v, rule.label)
                    && let (Some(l), false) = (&label, f.is_empty())
                {
                    m.insert(f.to_string(), Value::String(l.clone()));
                }
                v
            }
            BodyKind::StrMap => self.string_map(&b.body, Kind::Str),
            BodyKind::StrListMap => self.string_map(&b.body, Kind::StrList),
        };
        self.path.pop();
        match rule.shape {
            Shape::One => {
                if out.contains_key(rule.json) && !matches!(rule.body, BodyKind::StrMap | BodyKind::FreeForm)
                {
                    self.error_at(
                        b.ident.span(),
                        format!("duplicate `{name}` block"),
                        "only one is allowed here",
                    );
                } else if let (Some(Value::Object(prev)), Value::Object(new)) =
                    (out.get_mut(rule.json), &value)
                {
                    prev.extend(new.clone());
                } else {
                    out.insert(rule.json.to_string(), value);
                }
            }
            Shape::List => match out.entry(rule.json).or_insert_with(|| Value::Array(vec![])) {
                Value::Array(a) => a.push(value),
                other => *other = Value::Array(vec![value]),
            },
            Shape::Map => {
                let key = label.unwrap_or_default();
                if let Value::Object(m) = out.entry(rule.json).or_insert_with(|| Value::Object(Map::new())) {
                    if m.contains_key(&key) {
                        self.error_at(
                            b.span(),
                            format!("duplicate `{name} \"{key}\"` block"),
                            "this name is already used",
                        );
                    } else {
                        m.insert(key, value);
                    }
                }
            }
        }
    }

    fn check_labels(&mut self, rule: &BlockRule, b: &Block) -> Result<Option<String>, ()> {
        let labels: Vec<&str> = b.labels.iter().map(|l| l.as_str()).collect();
        match (rule.label, labels.len()) {
            (Label::None, 0) => Ok(None),
            (Label::Required(_), 1) => Ok(Some(labels[0].to_string())),
            (Label::Required(_), 0) => {
                self.error_at(
                    b.ident.span(),
                    format!("missing label on `{}` block", rule.hcl),
                    "a name is required",
                )
                .help = Some(format!("write `{} \"name\" {{ ... }}`", rule.hcl));
                Err(())
            }
            (_, n) => {
                let range = b
                    .labels
                    .get(if matches!(rule.label, Label::None) { 0 } else { 1 })
                    .and_then(label_span);
                let expected = if matches!(rule.label, Label::None) { 0 } else { 1 };
                self.error_at(
                    range,
                    format!("extra label on `{}` block", rule.hcl),
                    format!("expected {expected} label(s), found {n}"),
                );
                Err(())
            }
        }
    }

    /// Free-form body → JSON object (nested blocks become lists of objects).
    pub fn free_form(&mut self, body: &Body) -> Value {
        let mut out = Map::new();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let key = a.key.value().to_string();
                    if let Some(v) = self.attr_value(a, Kind::Any, &key) {
                        out.insert(key, v);
                    }
                }
                Structure::Block(b) if b.ident.value().as_str() == "dynamic" => {
                    self.expand_dynamic(b, |dec, generated| dec.free_block(generated, &mut out));
                }
                Structure::Block(b) => self.free_block(b, &mut out),
            }
        }
        Value::Object(out)
    }

    /// One nested block of a free-form body: a list item under its name, nested in its labels.
    fn free_block(&mut self, b: &Block, out: &mut Map<String, Value>) {
        let key = b.ident.value().to_string();
        self.path.push(Seg::Free(key.clone()));
        let mut v = self.free_form(&b.body);
        self.path.pop();
        for l in b.labels.iter().rev() {
            let mut m = Map::new();
            m.insert(l.as_str().to_string(), v);
            v = Value::Object(m);
        }
        match out.entry(key).or_insert_with(|| Value::Array(vec![])) {
            Value::Array(a) => a.push(v),
            other => *other = Value::Array(vec![v]),
        }
    }

    fn string_map(&mut self, body: &Body, kind: Kind) -> Value {
        let mut out = Map::new();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let key = a.key.value().to_string();
                    if let Some(v) = self.attr_value(a, kind, &key) {
                        out.insert(key, v);
                    }
                }
                Structure::Block(b) => {
                    self.error_at(
                        b.ident.span(),
                        format!("unexpected block `{}`", b.ident.value()),
                        "only attributes are allowed here",
                    );
                }
            }
        }
        Value::Object(out)
    }
}
