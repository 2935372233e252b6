//! Programs run inside a namespace, without `ip netns exec` or a shell.
//!
//! A process forked by a thread inherits that thread's network namespace,
//! so the program is spawned from a thread that entered the namespace. The
//! arguments are an argument vector: nothing is parsed by a shell.

use std::process::{Child, Command, Output, Stdio};

use faultmesh_emulator::io::netns;

use crate::{ProbeError, io_err};

/// Runs `argv` inside namespace `ns` to completion and returns its output.
pub fn output_in(ns: &str, argv: &[&str]) -> Result<Output, ProbeError> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| ProbeError::Output { what: "exec".into(), detail: "empty argument vector".into() })?;
    netns::run_in(Some(ns), || Command::new(prog).args(args).stdin(Stdio::null()).output())
        .map_err(io_err(format!("running {prog} in {ns}")))
}

/// Starts `argv` inside namespace `ns` (stdout and stderr discarded).
pub fn spawn_in(ns: &str, argv: &[&str]) -> Result<Child, ProbeError> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| ProbeError::Output { what: "exec".into(), detail: "empty argument vector".into() })?;
    netns::run_in(Some(ns), || {
        Command::new(prog).args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn()
    })
    .map_err(io_err(format!("starting {prog} in {ns}")))
}
