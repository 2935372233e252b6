//! Diagnostics for topology files: `file:line:column: message`, a source
//! snippet with the span underlined, and a hint.
//!
//! Contract: every problem found in a file becomes one [`Diagnostic`] with a
//! 1-based line/column (0 when unknown) and a message that names what is
//! wrong; rendering never panics, whatever the positions say.

use std::fmt::Write as _;

use serde::Serialize;
use serde_saphyr::{Location, Spanned};

use crate::impair::HINT_SEP;

/// One problem in a topology file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// 1-based line (0: unknown).
    pub line: u64,
    /// 1-based column (0: unknown).
    pub column: u64,
    /// Characters to underline (at least 1).
    pub len: u64,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at `loc`.
    pub fn at(loc: &Location, message: impl Into<String>) -> Self {
        Diagnostic {
            line: loc.line(),
            column: loc.column(),
            len: loc.span().len().max(1),
            message: message.into(),
            hint: None,
        }
    }

    /// A diagnostic at the location of a spanned value.
    pub fn spanned<T>(s: &Spanned<T>, message: impl Into<String>) -> Self {
        Self::at(&s.referenced, message)
    }

    /// A diagnostic with no location.
    pub fn global(message: impl Into<String>) -> Self {
        Diagnostic { line: 0, column: 0, len: 1, message: message.into(), hint: None }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Splits a `message; hint: …` string produced by a deserializer.
    pub fn from_message(line: u64, column: u64, len: u64, text: &str) -> Self {
        let (message, hint) = match text.split_once(HINT_SEP) {
            Some((m, h)) => (m.to_string(), Some(h.to_string())),
            None => (text.to_string(), None),
        };
        Diagnostic { line, column, len: len.max(1), message, hint }
    }

    /// `file:line:column: message` (one line, no snippet).
    pub fn headline(&self, file: &str) -> String {
        if self.line == 0 {
            format!("{file}: {}", self.message)
        } else {
            format!("{file}:{}:{}: {}", self.line, self.column, self.message)
        }
    }
}

/// All problems found in one file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// True when there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// Sorts by position (file order), keeping unlocated ones last.
    pub fn sort(&mut self) {
        self.0.sort_by_key(|d| (d.line == 0, d.line, d.column));
    }

    /// Renders every diagnostic with a snippet of `source`.
    pub fn render(&self, file: &str, source: &str) -> String {
        let mut out = String::new();
        let lines: Vec<&str> = source.lines().collect();
        for d in &self.0 {
            let _ = writeln!(out, "{}", d.headline(file));
            if d.line > 0 {
                if let Some(text) = lines.get((d.line - 1) as usize) {
                    let num = d.line.to_string();
                    let pad = " ".repeat(num.len());
                    let col = d.column.saturating_sub(1) as usize;
                    let width = text.chars().count();
                    let under = (d.len as usize).clamp(1, width.saturating_sub(col).max(1));
                    let _ = writeln!(out, "{pad} |");
                    let _ = writeln!(out, "{num} | {text}");
                    let _ = writeln!(out, "{pad} | {}{}", " ".repeat(col), "^".repeat(under));
                }
            }
            if let Some(h) = &d.hint {
                let _ = writeln!(out, "  = hint: {h}");
            }
        }
        out
    }
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for d in &self.0 {
            writeln!(f, "{}", d.headline("<topology>"))?;
        }
        Ok(())
    }
}
