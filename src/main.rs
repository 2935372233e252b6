//! The `faultmesh` command: validate topologies, run the appliance, talk to a
//! running one, benchmark it.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("faultmesh: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
