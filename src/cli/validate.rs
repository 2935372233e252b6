//! `faultmesh validate`.

use std::path::PathBuf;
use std::process::ExitCode;

use faultmesh_emulator::topology::{self, Endpoint};
use serde_json::json;

/// How `validate` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// `file:line:column: message` with a snippet and a hint, on stderr.
    Text,
    /// One JSON document on stdout (see [`run_json`]).
    Json,
}

pub(crate) fn run(files: &[PathBuf], json: bool, format: Format, scripts_dir: &[PathBuf]) -> anyhow::Result<ExitCode> {
    if format == Format::Json {
        return run_json(files, scripts_dir);
    }
    let mut ok = true;
    for f in files {
        let name = f.display().to_string();
        match topology::load_file_with(f, scripts_dir) {
            Ok((t, _)) => {
                if json {
                    println!("{}", serde_json::to_string_pretty(&t)?);
                    continue;
                }
                let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
                println!(
                    "{name}: ok — `{}`: {}, {}, {}, seed {}",
                    t.name,
                    plural(t.nodes.len(), "node"),
                    plural(t.segments.len(), "segment"),
                    plural(t.links.len(), "link"),
                    t.seed
                );
                for l in &t.links {
                    let end = |e: Endpoint| t.endpoint_name(e).to_string();
                    if l.a_to_b == l.b_to_a {
                        if !l.a_to_b.is_clean() {
                            println!("  {:<16} {} <-> {}: {}", l.name, end(l.a), end(l.b), l.a_to_b.summary());
                        }
                    } else {
                        println!("  {:<16} {} -> {}: {}", l.name, end(l.a), end(l.b), l.a_to_b.summary());
                        println!("  {:<16} {} -> {}: {}", "", end(l.b), end(l.a), l.b_to_a.summary());
                    }
                }
            }
            Err((diags, source)) => {
                ok = false;
                eprint!("{}", diags.render(&name, &source));
                eprintln!("{name}: {} error{}", diags.0.len(), if diags.0.len() == 1 { "" } else { "s" });
            }
        }
    }
    Ok(if ok { ExitCode::from(super::EXIT_OK) } else { ExitCode::from(super::EXIT_INPUT) })
}

/// `validate --format json`: one document on stdout,
/// `{"ok": bool, "files": [{"file", "ok", "errors", "topology"?}], "diagnostics": [...]}`,
/// each diagnostic `{"file", "line", "column", "length", "severity": "error",
/// "message", "hint"}` (line and column 1-based; 0 when the problem has no
/// place in the file; `hint` null when there is none). Exit code as for text.
pub(crate) fn run_json(files: &[PathBuf], scripts_dir: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut all_ok = true;
    let mut out_files = Vec::new();
    let mut out_diags = Vec::new();
    for f in files {
        let name = f.display().to_string();
        match topology::load_file_with(f, scripts_dir) {
            Ok((t, _)) => out_files.push(json!({
                "file": name,
                "ok": true,
                "errors": 0,
                "topology": {
                    "name": t.name,
                    "seed": t.seed,
                    "nodes": t.nodes.len(),
                    "segments": t.segments.len(),
                    "links": t.links.len(),
                },
            })),
            Err((diags, _)) => {
                all_ok = false;
                out_files.push(json!({"file": name, "ok": false, "errors": diags.0.len()}));
                for d in &diags.0 {
                    out_diags.push(json!({
                        "file": name,
                        "line": d.line,
                        "column": d.column,
                        "length": d.len,
                        "severity": "error",
                        "message": d.message,
                        "hint": d.hint,
                    }));
                }
            }
        }
    }
    let doc = json!({"ok": all_ok, "files": out_files, "diagnostics": out_diags});
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(if all_ok { ExitCode::from(super::EXIT_OK) } else { ExitCode::from(super::EXIT_INPUT) })
}
