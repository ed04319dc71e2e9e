//! Expression evaluation over `hcl::edit` syntax trees, with spans for every error.
//!
//! ```text
//!  Expression ──► Eval (scope: var, local, job, module; functions) ──► serde_json::Value
//!                   │ records: references to jobs/modules, use of sensitive variables
//! ```
//!
//! Values are JSON values. Interpolations rooted in anything but `var`, `local`, `module`
//! and `job` are runtime interpolations: they stay literally as `${...}` (see `template`).
//!
//! This file dispatches on the expression; `lookup` reads names and traversals, `operators`
//! operators and `for` expressions, `template` string templates, `functions` the function
//! library, `types` type constraints, `value` HCL's loose conversions.

mod functions;
mod lookup;
mod operators;
mod template;

pub use template::stringify;
mod types;
mod value;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use hcl::edit::Span;
use hcl::edit::expr::{Expression, ObjectKey};
use serde_json::{Map, Value};

use super::source::SourceFile;
use crate::diag::{Diagnostic, SourceSpan};

pub use types::TypeConstraint;
pub(crate) use value::iteration_pairs;
use value::number;
pub use value::{as_bool, as_number, num, to_key, type_name};

/// Roots that are evaluated at parse time.
pub const EVALUATED_ROOTS: &[&str] = &["var", "local", "module", "job"];

/// What an expression may refer to.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// `var.*`.
    pub vars: BTreeMap<String, Value>,
    /// Names of sensitive variables.
    pub sensitive: BTreeSet<String>,
    /// `local.*`.
    pub locals: BTreeMap<String, Value>,
    /// Locals whose value came from `uuidv4()` or `timestamp()`, with those functions: reading
    /// one marks the field it feeds as changing on every plan.
    pub volatile_locals: BTreeMap<String, Vec<&'static str>>,
    /// `job.ID` objects (stack scope only). Shared: every job file's scope reads the same
    /// table, and a copy per file made loading quadratic in the number of files.
    pub jobs: Arc<BTreeMap<String, Value>>,
    /// `module.NAME` objects of outputs (stack scope only), shared like `jobs`.
    pub modules: Arc<BTreeMap<String, Value>>,
    /// Directory for `file()` and relative paths.
    pub base_dir: PathBuf,
    /// Whether `job.*` and `module.*` may be referenced here.
    pub stack_refs: bool,
    /// Variables whose value was already reported as wrong: reading them fails quietly.
    pub failed: BTreeSet<String>,
}

const CASCADE: &str = "\u{0}follows from an earlier error";

/// True for an error that only follows from one already reported (not shown).
pub fn is_cascade(d: &Diagnostic) -> bool {
    d.summary == CASCADE
}

/// A reference from an expression to a job or module of the stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// `job.ID...`
    Job(String, SourceSpan),
    /// `module.NAME...`
    Module(String, SourceSpan),
}

/// Evaluates expressions of one file in one scope.
pub struct Eval<'a> {
    /// The scope.
    pub scope: &'a Scope,
    /// The file the expressions come from.
    pub file: &'a SourceFile,
    iter_vars: Vec<(String, Value)>,
    /// Set when a sensitive variable was read.
    pub tainted: bool,
    /// The functions called that give a new value on every evaluation (`uuidv4`, ...).
    pub volatile: Vec<&'static str>,
    /// Job and module references seen.
    pub refs: Vec<Reference>,
    /// Set when an expression looked in the `job.ID` or `module.NAME` tables: what it gave
    /// depends on the other files of the stack.
    pub read_stack_tables: bool,
}

type R = Result<Value, Diagnostic>;

impl<'a> Eval<'a> {
    /// A new evaluator.
    pub fn new(scope: &'a Scope, file: &'a SourceFile) -> Self {
        Eval {
            scope,
            file,
            iter_vars: Vec::new(),
            tainted: false,
            volatile: Vec::new(),
            refs: Vec::new(),
            read_stack_tables: false,
        }
    }

    /// Binds `name` for the expressions evaluated until [`Eval::unbind_to`] (a `dynamic`
    /// block's iterator); returns the depth to unbind to.
    pub fn bind(&mut self, name: &str, value: Value) -> usize {
        let depth = self.iter_vars.len();
        self.iter_vars.push((name.to_string(), value));
        depth
    }

    /// Drops the bindings made since `depth`.
    pub fn unbind_to(&mut self, depth: usize) {
        self.iter_vars.truncate(depth);
    }

    /// The span of an expression.
    pub fn span_of(&self, expr: &Expression) -> SourceSpan {
        self.file.span_opt(expr.span())
    }

    fn err(&self, expr: &Expression, summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic::error(summary)
            .with_span(self.span_of(expr))
            .with_detail(detail)
    }

    /// Evaluates an expression.
    pub fn eval(&mut self, expr: &Expression) -> R {
        match expr {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => Ok(number(n.value())),
            Expression::String(s) => Ok(Value::String(s.value().to_string())),
            Expression::Array(items) => items
                .iter()
                .map(|e| self.eval(e))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Expression::Object(obj) => self.object(obj),
            Expression::StringTemplate(t) => template::eval_template(self, t, None).map(Value::String),
            Expression::HeredocTemplate(h) => {
                template::eval_template(self, &h.template, h.indent()).map(Value::String)
            }
            Expression::Parenthesis(p) => self.eval(p.inner()),
            Expression::Variable(v) => self.variable(v.value().as_str(), expr),
            Expression::Conditional(c) => {
                let cond = self.eval(&c.cond_expr)?;
                match as_bool(&cond) {
                    Some(true) => self.eval(&c.true_expr),
                    Some(false) => self.eval(&c.false_expr),
                    None => Err(self.err(
                        &c.cond_expr,
                        "condition is not a bool",
                        format!("expected a bool, found {}", type_name(&cond)),
                    )),
                }
            }
            Expression::FuncCall(call) => self.func_call(call, expr),
            Expression::Traversal(t) => self.traversal(t, expr),
            Expression::UnaryOp(u) => self.unary(u),
            Expression::BinaryOp(b) => self.binary(&b.lhs_expr, *b.operator.value(), &b.rhs_expr, expr),
            Expression::ForExpr(f) => self.for_expr(f),
        }
    }

    /// An object constructor; keys are names or expressions that give strings.
    fn object(&mut self, obj: &hcl::edit::expr::Object) -> R {
        let mut out = Map::new();
        for (k, v) in obj.iter() {
            let key = match k {
                ObjectKey::Ident(id) => id.value().to_string(),
                ObjectKey::Expression(Expression::Variable(id)) => id.value().to_string(),
                ObjectKey::Expression(e) => {
                    let kv = self.eval(e)?;
                    to_key(&kv).ok_or_else(|| self.err(e, "invalid object key", "expected a string key"))?
                }
            };
            let value = self.eval(v.expr())?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }

    /// A function call: `try` and `can` see their arguments' errors; the others their values.
    fn func_call(&mut self, call: &hcl::edit::expr::FuncCall, expr: &Expression) -> R {
        let name = call.name.name.value().as_str().to_string();
        if name == "try" || name == "can" {
            return self.try_can(&name, call.args.iter().collect(), expr);
        }
        if let Some(f) = functions::VOLATILE.iter().find(|f| **f == name) {
            self.volatile.push(f);
        }
        let mut args = Vec::new();
        for a in call.args.iter() {
            args.push(self.eval(a)?);
        }
        if call.args.expand_final()
            && let Some(Value::Array(last)) = args.pop()
        {
            args.extend(last);
        }
        functions::call(&name, args, &self.scope.base_dir).map_err(|e| match e {
            functions::FnError::Unknown => {
                let mut d = self.err(expr, format!("unknown function `{name}`"), "no such function");
                if let Some(s) = super::suggest::did_you_mean(&name, functions::NAMES.iter().copied()) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                d
            }
            functions::FnError::Failed(msg) => self.err(expr, format!("call to `{name}` failed"), msg),
        })
    }

    /// `a.b[c]...`: `job.*` and `module.*` are stack references; `var.x`/`local.x` are read
    /// without copying their tables.
    fn traversal(&mut self, t: &hcl::edit::expr::Traversal, expr: &Expression) -> R {
        let root_name = match &t.expr {
            Expression::Variable(v) => Some(v.value().as_str()),
            _ => None,
        };
        if let Some(root) = root_name.filter(|r| *r == "job" || *r == "module") {
            return self.stack_ref(root, &t.operators, expr);
        }
        let (mut value, rest) = match self.direct_lookup(root_name, &t.operators)? {
            Some(v) => (v, &t.operators[1..]),
            None => (self.eval(&t.expr)?, &t.operators[..]),
        };
        for op in rest {
            value = self.traverse(value, op.value(), expr)?;
        }
        Ok(value)
    }
}
