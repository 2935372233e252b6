//! `faultmesh cleanup`: remove what killed instances left behind.

use std::process::ExitCode;

use faultmesh_emulator::io::setup;

pub(crate) fn run(prefix: Option<&str>, force: bool) -> anyhow::Result<ExitCode> {
    if let Some(code) = super::run::require_privileges("cleanup") {
        return Ok(code);
    }
    let r = setup::cleanup(prefix, force);
    for p in &r.removed {
        println!("removed instance {p}");
    }
    for n in &r.stray_namespaces {
        println!("removed namespace {n}");
    }
    for p in &r.running {
        println!("left running instance {p} alone (use --force to stop it)");
    }
    for e in &r.errors {
        eprintln!("error: {e}");
    }
    if r.removed.is_empty() && r.stray_namespaces.is_empty() && r.running.is_empty() && r.errors.is_empty() {
        println!("nothing to clean up");
    }
    Ok(if r.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
