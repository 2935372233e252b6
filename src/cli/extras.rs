//! Commands that describe faultmesh itself: `schema`, `completions`, `man`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

/// `faultmesh schema`: the JSON Schema of topology files
/// (`docs/topology.schema.json` is a copy, checked by a test).
pub(crate) fn schema() -> anyhow::Result<ExitCode> {
    println!("{}", schema_text());
    Ok(ExitCode::SUCCESS)
}

/// The schema as `faultmesh schema` prints it (without the final newline).
pub(crate) fn schema_text() -> String {
    serde_json::to_string_pretty(&faultmesh_emulator::topology::schema::topology_schema()).unwrap_or_default()
}

/// `faultmesh completions SHELL`.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "faultmesh", &mut out);
    std::io::stdout().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// `faultmesh man [--dir DIR]`.
pub(crate) fn man(dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let cmd = super::Cli::command();
    match dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            std::io::stdout().write_all(&out)?;
        }
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            clap_mangen::generate_to(cmd, d).with_context(|| format!("writing man pages into {}", d.display()))?;
            let mut pages: Vec<_> = std::fs::read_dir(d)?
                .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .filter(|n| n.ends_with(".1"))
                .collect();
            pages.sort();
            println!("wrote {} man pages into {}: {}", pages.len(), d.display(), pages.join(" "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
