//! Diagnostics: what went wrong, where, and what to do about it.
//!
//! ```text
//!  frontend / spec / plan ──► Diagnostic { severity, summary, span, labels, help }
//!                                   │ collected in Diagnostics (with the source texts)
//!                                   ▼
//!                      render(): rustc-style text via miette
//! ```
//!
//! This module depends on nothing else in the crate.

mod diagnostic;
mod render;
mod span;

pub use diagnostic::{Diagnostic, Diagnostics, Label, Severity};
pub use render::{RenderOptions, render_diagnostic};
pub use span::SourceSpan;
