//! The `faultmesh` command: validate topologies, run the appliance, talk to a
//! running one, benchmark it.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // `--help | head -1` and every command that owns nothing end quietly
    // when their reader goes away; see cli::stdout.
    cli::stdout::restore_default_sigpipe();
    let args = cli::Cli::parse();
    let mut shields = Vec::new();
    if args.owns_resources() {
        // These must clean up whatever happens to their output.
        cli::stdout::ignore_sigpipe();
        // Under systemd (Type=notify), `run` reports readiness through its stdout relay.
        let notify = args.is_run() && std::env::var_os("NOTIFY_SOCKET").is_some();
        shields.extend(cli::stdout::shield(1, notify));
        shields.extend(cli::stdout::shield(2, false));
    }
    init_logging(args.log_format);
    let code = match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("faultmesh: error: {e:#}");
            ExitCode::from(cli::exit_code_for(&e))
        }
    };
    for s in shields {
        s.finish();
    }
    code
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`), as text or
/// one JSON object per line. What a command prints as its result (tables,
/// JSON, "ready") stays on stdout and is not a log.
fn init_logging(format: cli::LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        cli::LogFormat::Text => {
            builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).with_target(false).try_init()
        }
        cli::LogFormat::Json => builder.json().with_current_span(false).try_init(),
    };
}
