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
                    let (shown, at, under) = snippet(text, d.column.saturating_sub(1) as usize, d.len as usize);
                    let _ = writeln!(out, "{pad} |");
                    let _ = writeln!(out, "{num} | {shown}");
                    let _ = writeln!(out, "{pad} | {}{}", " ".repeat(at), "^".repeat(under));
                }
            }
            if let Some(h) = &d.hint {
                let _ = writeln!(out, "  = hint: {h}");
            }
        }
        out
    }
}

/// Widest source excerpt shown, in characters.
const SNIPPET_WIDTH: usize = 100;

/// The part of a source line around column `col` (0-based, in characters)
/// as it may be printed: at most [`SNIPPET_WIDTH`] characters (a 10 kB line
/// does not flood the terminal), control characters escaped (a hostile file
/// cannot send terminal escapes). Returns the text, where the underline
/// starts and how long it is.
fn snippet(text: &str, col: usize, len: usize) -> (String, usize, usize) {
    let chars: Vec<char> = text.chars().collect();
    let start = if chars.len() > SNIPPET_WIDTH { col.saturating_sub(SNIPPET_WIDTH / 2) } else { 0 };
    let end = chars.len().min(start + SNIPPET_WIDTH);
    let mut shown = String::new();
    let mut width = 0;
    if start > 0 {
        shown.push('…');
        width += 1;
    }
    let (mut at, mut under) = (None, 0);
    for (i, c) in chars.iter().enumerate().take(end).skip(start) {
        let piece: String = if c.is_control() { c.escape_default().collect() } else { c.to_string() };
        let w = piece.chars().count();
        if i == col {
            at = Some(width);
        }
        if i >= col && i < col + len.max(1) {
            under += w;
        }
        shown += &piece;
        width += w;
    }
    if end < chars.len() {
        shown.push('…');
    }
    (shown, at.unwrap_or(width), under.max(1))
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for d in &self.0 {
            writeln!(f, "{}", d.headline("<topology>"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod snippet_tests {
    use super::snippet;

    #[test]
    fn long_lines_are_cut_around_the_column_and_controls_escaped() {
        let line = format!("  {}: {{kind: host}}", "a".repeat(10_000));
        let (s, at, under) = snippet(&line, 2, 10_000);
        assert!(s.chars().count() <= 102 && s.ends_with('…'), "{s}");
        assert_eq!((at, under), (2, 98));
        let (s, at, _) = snippet(&line, 9_000, 1);
        assert!(s.starts_with('…') && at == 51, "{at} {s}");
        let (s, at, under) = snippet("x: \"a\u{1b}[2Jb\"", 4, 3);
        assert!(!s.contains('\u{1b}') && s.contains("\\u{1b}"), "{s}");
        assert_eq!((at, under), (4, 8));
    }
}
