//! Command-line interface: argument parsing and dispatch.

mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A programmable user-space network emulator.
#[derive(Parser, Debug)]
#[command(name = "faultmesh", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check topology files; print `file:line:column: message` for every problem.
    Validate {
        /// Topology files (YAML or JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the validated topology as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate { files, json } => validate::run(&files, json),
    }
}
