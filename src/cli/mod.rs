//! Command-line interface: argument parsing and dispatch.

mod cleanup;
mod demo;
mod run;
mod summary;
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
    /// Build a topology's namespaces and devices and forward its traffic until stopped.
    Run {
        /// Topology file.
        file: PathBuf,
        /// Prefix of every namespace and state file (default `fm-<topology name>-`).
        #[arg(long)]
        prefix: Option<String>,
        /// On exit, write every counter as JSON to this file.
        #[arg(long)]
        stats_json: Option<PathBuf>,
        #[command(flatten)]
        tuning: Tuning,
    },
    /// Run a built-in topology, send real traffic through it and compare what
    /// was measured with what was configured.
    Demo,
    /// Remove namespaces and devices left behind by killed instances.
    Cleanup {
        /// Only instances (and stray namespaces) whose names start with this.
        #[arg(long)]
        prefix: Option<String>,
        /// Also stop and clean instances that are still running.
        #[arg(long)]
        force: bool,
    },
}

/// Data-plane tuning.
#[derive(clap::Args, Debug, Clone, Copy)]
struct Tuning {
    /// Keep polling this many microseconds after the last packet before sleeping.
    #[arg(long, default_value_t = 100)]
    busy_poll_us: u64,
    /// Poll instead of sleeping when the next release is this many
    /// microseconds away or less (precise timing costs a busy core while
    /// packets are in flight; an idle appliance always sleeps).
    #[arg(long, default_value_t = 20_000)]
    spin_us: u64,
    /// SCHED_FIFO priority of the data-plane thread (0: normal scheduling).
    #[arg(long, default_value_t = 0)]
    realtime: i32,
}

impl Tuning {
    fn options(self) -> faultmesh_emulator::io::dataplane::Options {
        faultmesh_emulator::io::dataplane::Options {
            busy_poll_ns: self.busy_poll_us * 1000,
            spin_ns: self.spin_us * 1000,
            realtime_priority: self.realtime,
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate { files, json } => validate::run(&files, json),
        Command::Run { file, prefix, stats_json, tuning } => {
            run::run(&file, prefix, tuning.options(), stats_json.as_deref())
        }
        Command::Demo => demo::run(),
        Command::Cleanup { prefix, force } => cleanup::run(prefix.as_deref(), force),
    }
}
