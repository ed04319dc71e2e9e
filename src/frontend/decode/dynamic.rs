//! HCL2's `dynamic` blocks, as Nomad's jobspec parser expands them:
//!
//! ```text
//!  dynamic "port" {               for each (key, value) of for_each:
//!    for_each = var.ports    ──►    bind ITERATOR = { key, value }
//!    iterator = p                   port <labels...> { <content body> }   (decoded as written)
//!    labels   = [p.key]
//!    content { static = p.value }
//!  }
//! ```
//!
//! The generated block keeps the spans of the `dynamic` block and of its `content` body, so
//! every later error points at what the user wrote. Nested `dynamic` blocks expand when the
//! generated block is decoded, with the outer iterator still bound.

use hcl::edit::expr::Expression;
use hcl::edit::structure::{Attribute, Block, BlockLabel, Structure};
use hcl::edit::{Decorated, Ident, Span};
use serde_json::{Map, Value};

use super::super::eval::{is_cascade, iteration_pairs, type_name};
use super::super::unit::label_span;
use super::schema::{Decoder, Schema};

/// The parts of one `dynamic` block.
struct Dynamic<'b> {
    name: String,
    for_each: &'b Attribute,
    iterator: String,
    labels: Option<&'b Attribute>,
    content: &'b Block,
}

impl Decoder<'_, '_> {
    /// Expands a `dynamic` block inside a body read with `schema`: the generated blocks are
    /// decoded as if written in its place. An unknown block name is reported even when
    /// `for_each` is empty.
    pub(super) fn dynamic_in_schema(
        &mut self,
        schema: &'static Schema,
        b: &Block,
        out: &mut Map<String, Value>,
    ) {
        let Some(name) = b.labels.first() else {
            self.error_at(
                b.ident.span(),
                "missing label on `dynamic` block",
                "the label names the block to generate",
            )
            .help = Some("write `dynamic \"port\" { for_each = ... content { ... } }`".into());
            return;
        };
        if !schema.blocks.iter().any(|r| r.hcl == name.as_str()) {
            self.unknown(schema, name.as_str(), label_span(name), "block");
            return;
        }
        self.expand_dynamic(b, |dec, generated| dec.block(schema, generated, out));
    }

    /// Reads a `dynamic` block's parts, evaluates `for_each`, and calls `each` with every
    /// generated block while its iterator is bound. Problems are recorded; nothing is generated
    /// then.
    pub(super) fn expand_dynamic(&mut self, b: &Block, mut each: impl FnMut(&mut Self, &Block)) {
        let Some(d) = self.dynamic_parts(b) else {
            return;
        };
        let coll = match self.ev.eval(&d.for_each.value) {
            Ok(v) => v,
            Err(diag) => {
                if !is_cascade(&diag) {
                    self.diags.push(diag);
                }
                return;
            }
        };
        let pairs = match iteration_pairs(coll) {
            Ok(pairs) => pairs,
            Err(other) => {
                self.error_at(
                    d.for_each.value.span(),
                    "`for_each` is not a collection",
                    format!("expected a list, a set or a map, found {}", type_name(&other)),
                )
                .help = Some("give `for_each` a list or a map; use `[]` to generate no block".into());
                return;
            }
        };
        for (key, value) in pairs {
            let mut it = Map::new();
            it.insert("key".into(), key);
            it.insert("value".into(), value);
            let depth = self.ev.bind(&d.iterator, Value::Object(it));
            if let Some(generated) = self.generate(b, &d) {
                each(self, &generated);
            }
            self.ev.unbind_to(depth);
        }
    }

    /// One generated block: the `dynamic` block renamed, with the evaluated labels and the
    /// `content` body.
    fn generate(&mut self, b: &Block, d: &Dynamic<'_>) -> Option<Block> {
        let labels = match d.labels {
            Some(attr) => self.dynamic_labels(attr)?,
            None => Vec::new(),
        };
        let mut generated = b.clone();
        *generated.ident.value_mut() = Ident::new_sanitized(&d.name);
        generated.labels = labels
            .into_iter()
            .map(|l| BlockLabel::String(Decorated::new(l)))
            .collect();
        generated.body = d.content.body.clone();
        Some(generated)
    }

    fn dynamic_labels(&mut self, attr: &Attribute) -> Option<Vec<String>> {
        let v = match self.ev.eval(&attr.value) {
            Ok(v) => v,
            Err(diag) => {
                if !is_cascade(&diag) {
                    self.diags.push(diag);
                }
                return None;
            }
        };
        let strings = match &v {
            Value::Array(items) => items
                .iter()
                .map(|i| super::super::eval::stringify(i).filter(|_| !i.is_null()))
                .collect::<Option<Vec<_>>>(),
            _ => None,
        };
        if strings.is_none() {
            self.error_at(
                attr.value.span(),
                "invalid `labels` in `dynamic` block",
                format!("expected a list of strings, found {}", type_name(&v)),
            );
        }
        strings
    }

    /// Checks a `dynamic` block's shape: one label, `for_each`, an optional bare `iterator`
    /// name and `labels`, exactly one `content` block, nothing else.
    fn dynamic_parts<'b>(&mut self, b: &'b Block) -> Option<Dynamic<'b>> {
        let name = match b.labels.as_slice() {
            [one] => one.as_str().to_string(),
            [] => {
                self.error_at(
                    b.ident.span(),
                    "missing label on `dynamic` block",
                    "the label names the block to generate",
                )
                .help = Some("write `dynamic \"port\" { for_each = ... content { ... } }`".into());
                return None;
            }
            [_, extra, ..] => {
                self.error_at(
                    label_span(extra),
                    "extra label on `dynamic` block",
                    "a `dynamic` block has one label: the name of the block to generate",
                )
                .help = Some("set the generated block's labels with `labels = [...]`".into());
                return None;
            }
        };
        let before = self.diags.len();
        let (mut for_each, mut iterator, mut labels, mut content) = (None, None, None, None);
        for s in b.body.iter() {
            match s {
                Structure::Attribute(a) => match a.key.value().as_str() {
                    "for_each" => for_each = Some(a),
                    "labels" => labels = Some(a),
                    "iterator" => iterator = self.iterator_name(a),
                    other => {
                        self.error_at(
                            a.key.span(),
                            format!("unknown attribute `{other}` in `dynamic`"),
                            "a `dynamic` block takes `for_each`, `iterator`, `labels` and one `content` block",
                        );
                    }
                },
                Structure::Block(c) if c.ident.value().as_str() == "content" => {
                    if content.is_some() {
                        self.error_at(
                            c.ident.span(),
                            "duplicate `content` block",
                            "a `dynamic` block has exactly one `content` block",
                        );
                    }
                    content = Some(c);
                }
                Structure::Block(c) => {
                    self.error_at(
                        c.ident.span(),
                        format!("unknown block `{}` in `dynamic`", c.ident.value()),
                        "write the generated block's body inside `content { ... }`",
                    );
                }
            }
        }
        if for_each.is_none() {
            self.error_at(
                b.ident.span(),
                format!("missing `for_each` in `dynamic \"{name}\"`"),
                "`for_each` gives the collection to generate one block per element of",
            );
        }
        if content.is_none() {
            self.error_at(
                b.ident.span(),
                format!("missing `content` block in `dynamic \"{name}\"`"),
                "the `content` block is the body of each generated block",
            )
            .help = Some(format!(
                "add `content {{ ... }}` with the body of each `{name}` block"
            ));
        }
        if self.diags.len() > before {
            return None;
        }
        Some(Dynamic {
            iterator: iterator.unwrap_or_else(|| name.clone()),
            name,
            for_each: for_each?,
            labels,
            content: content?,
        })
    }

    fn iterator_name(&mut self, a: &Attribute) -> Option<String> {
        if let Expression::Variable(v) = &a.value {
            return Some(v.value().to_string());
        }
        self.error_at(
            a.value.span(),
            "invalid `iterator` in `dynamic`",
            "the iterator is a bare name, such as `iterator = port`",
        );
        None
    }
}
