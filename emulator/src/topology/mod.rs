//! Topology files: the format network engineers write, its validation, and
//! the validated model the engine is built from.
//!
//! Contract: [`parse_str`] and [`load_file`] never panic on any input; they
//! return a [`Topology`] or [`Diagnostics`] with `line:column` positions,
//! messages and hints (rendered with a source snippet by
//! [`Diagnostics::render`]). YAML and JSON are both accepted (JSON is YAML).

pub mod config;
pub mod diag;
pub mod model;
pub mod schema;
pub mod scripts;
pub mod validate;

use std::path::Path;

use serde_saphyr::MessageFormatter;

pub use config::{Cidr, TopologyConfig};
pub use diag::{Diagnostic, Diagnostics};
pub use model::*;
pub use scripts::ScriptDirs;

/// Largest topology accepted, in bytes.
pub const MAX_TOPOLOGY_BYTES: usize = 4 << 20;

fn yaml_error(e: &serde_saphyr::Error) -> Diagnostic {
    let inner = e.without_snippet();
    let text = serde_saphyr::DefaultMessageFormatter.format_message(inner);
    let (line, column, len) = match e.location() {
        Some(l) => (l.line(), l.column(), l.span().len()),
        None => (0, 0, 1),
    };
    let mut d = Diagnostic::from_message(line, column, len, &text);
    if d.hint.is_none() {
        if d.message.starts_with("unknown field") {
            d.hint = Some("check the spelling; `faultmesh validate --help` lists the format".into());
        } else if d.message.contains("duplicate mapping key") {
            d.message = d.message.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
            d.hint = Some("every name must be unique; rename one of them".into());
        } else if d.message.contains("while parsing") || d.message.contains("while scanning") {
            d.hint = Some(
                "a YAML syntax error: check brackets, quotes and indentation on this line and the one before".into(),
            );
        } else {
            d.hint = Some("see the topology format in README.md".into());
        }
    }
    d
}

/// Parses and validates a topology from text. `default_name` names it when
/// the file has no `name:`; scripts are resolved relative to `base_dir`.
pub fn parse_str(source: &str, default_name: &str, base_dir: Option<&Path>) -> Result<Topology, Diagnostics> {
    parse_str_with(source, default_name, &ScriptDirs::new(base_dir, &[]))
}

/// Like [`parse_str`], reading script files only from inside `scripts`.
pub fn parse_str_with(source: &str, default_name: &str, scripts: &ScriptDirs) -> Result<Topology, Diagnostics> {
    if source.len() > MAX_TOPOLOGY_BYTES {
        return Err(Diagnostics(vec![Diagnostic::global(format!(
            "topology is {} bytes, more than the {MAX_TOPOLOGY_BYTES}-byte limit",
            source.len()
        ))]));
    }
    // An empty document parses as a topology with nothing in it, and applying
    // that tears every node down. Nobody means that by an empty file or body
    // (a truncated upload, a wrong path, `echo > file`): refuse it.
    if is_empty_document(source) {
        return Err(empty_topology());
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 64,
            max_nodes: 1_000_000,
        },
    };
    let cfg: TopologyConfig = match serde_saphyr::from_str_with_options(source, options) {
        Ok(c) => c,
        Err(e) => return Err(Diagnostics(vec![yaml_error(&e)])),
    };
    // `{}`, `nodes: {}` or a lone `name:` say the same as an empty file.
    if cfg.nodes.0.is_empty() && cfg.segments.0.is_empty() && cfg.links.0.is_empty() {
        return Err(empty_topology());
    }
    validate::validate(cfg, default_name, scripts)
}

fn empty_topology() -> Diagnostics {
    Diagnostics(vec![
        Diagnostic::global("the topology is empty: no nodes, segments or links")
            .hint("a topology needs at least `nodes:` and `links:`; to stop the appliance, stop `faultmesh run`"),
    ])
}

/// True when `source` holds no YAML content: only whitespace, comments and
/// document markers.
fn is_empty_document(source: &str) -> bool {
    source.lines().map(str::trim).all(|l| l.is_empty() || l.starts_with('#') || l == "---" || l == "...")
}

/// Reads and validates a topology file.
pub fn load_file(path: &Path) -> Result<(Topology, String), (Diagnostics, String)> {
    load_file_with(path, &[])
}

/// Like [`load_file`], also allowing scripts from `script_dirs`.
pub fn load_file_with(
    path: &Path,
    script_dirs: &[std::path::PathBuf],
) -> Result<(Topology, String), (Diagnostics, String)> {
    let source = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            return Err((
                Diagnostics(vec![Diagnostic::global(format!("cannot read {}: {e}", path.display()))]),
                String::new(),
            ));
        }
    };
    let default_name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("topology")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect::<String>();
    let base = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p });
    match parse_str_with(&source, &default_name, &ScriptDirs::new(base, script_dirs)) {
        Ok(t) => Ok((t, source)),
        Err(d) => Err((d, source)),
    }
}
