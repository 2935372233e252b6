//! Command-line interface: argument parsing and dispatch.

mod bench;
mod cleanup;
mod client;
mod control;
mod demo;
mod extras;
mod import;
pub mod notify;
mod run;
mod scripts;
pub mod stdout;
mod summary;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: bad input (a topology that does not validate, a file that
/// cannot be read, any other failure).
pub const EXIT_INPUT: u8 = 1;
/// Exit status: bad usage, or refused (missing privileges, an unsafe option).
pub const EXIT_USAGE: u8 = 2;
/// Exit status: no appliance answered at `--api`.
pub const EXIT_UNREACHABLE: u8 = 3;
/// Exit status: the appliance answered with an error (401, 4xx, 5xx).
pub const EXIT_API_ERROR: u8 = 4;

/// The exit codes, as `--help` and the man page show them.
const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  bad input: a topology that does not validate, an unreadable file, any other failure
  2  usage error, or refused (missing privileges, an unsafe or invalid option)
  3  the appliance is unreachable (nothing listening at --api / FAULTMESH_API)
  4  the appliance answered with an error (401 without a valid token, 4xx, 5xx)

Environment: FAULTMESH_API, FAULTMESH_TOKEN for the commands that talk to an appliance;
every `run` option has a FAULTMESH_* variable (see `faultmesh run --help`).";

/// The exit status for an error a command returned.
pub fn exit_code_for(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if cause.is::<client::Unreachable>() {
            return EXIT_UNREACHABLE;
        }
        if cause.is::<client::ApiError>() {
            return EXIT_API_ERROR;
        }
    }
    EXIT_INPUT
}

/// A programmable user-space network emulator.
#[derive(Parser, Debug)]
#[command(name = "faultmesh", version, about, long_about = None, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr (`RUST_LOG` sets the level, default `info`).
    #[arg(long, value_enum, default_value = "text", env = "FAULTMESH_LOG_FORMAT", global = true)]
    pub log_format: LogFormat,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

// Parsed once at start-up: variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Check topology files; print `file:line:column: message` for every problem.
    Validate {
        /// Topology files (YAML or JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the validated topology as JSON.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// `text` (default), or `json`: one JSON document on stdout with every
        /// file's result and each diagnostic's file, line, column, message and hint.
        #[arg(long, value_enum, default_value = "text")]
        format: validate::Format,
        /// Also allow script files from this directory (besides the topology file's own).
        #[arg(long = "scripts-dir", value_name = "DIR")]
        scripts_dir: Vec<PathBuf>,
    },
    /// Build a topology's namespaces and devices and forward its traffic until stopped.
    Run {
        /// Topology file.
        #[arg(env = "FAULTMESH_TOPOLOGY")]
        file: PathBuf,
        /// Prefix of every namespace and state file (default `fm-<topology name>-`).
        #[arg(long, env = "FAULTMESH_PREFIX")]
        prefix: Option<String>,
        /// On exit, write every counter as JSON to this file.
        #[arg(long, env = "FAULTMESH_STATS_JSON")]
        stats_json: Option<PathBuf>,
        /// Serve the HTTP API on this address (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:7878", env = "FAULTMESH_LISTEN")]
        api: std::net::SocketAddr,
        /// Do not serve the HTTP API.
        #[arg(long, env = "FAULTMESH_NO_API")]
        no_api: bool,
        /// Also allow script files from this directory (besides the topology
        /// file's own), for the file and for topologies sent through the API.
        #[arg(long = "scripts-dir", value_name = "DIR", env = "FAULTMESH_SCRIPTS_DIR", value_delimiter = ':')]
        scripts_dir: Vec<PathBuf>,
        /// Interfaces (`[NAMESPACE/]INTERFACE`, `*` wildcards) that
        /// topologies changed through the API may attach or create TUN/TAP
        /// devices as (default: none). The interface that carries the default
        /// route needs a pattern naming it exactly, from a file too.
        #[arg(long = "allow-attach", value_name = "PATTERN", env = "FAULTMESH_ALLOW_ATTACH", value_delimiter = ',')]
        allow_attach: Vec<String>,
        /// Docker containers (name patterns, `*` wildcards) that topologies
        /// changed through the API may wire into (default: none; a process's
        /// namespace, `pid:`, only from the file given at start).
        #[arg(long = "allow-container", value_name = "NAME", env = "FAULTMESH_ALLOW_CONTAINER", value_delimiter = ',')]
        allow_container: Vec<String>,
        /// Bearer token the API requires (default: a random one, written
        /// root-only to /run/faultmesh/api-<port>.token; required off loopback).
        /// Prefer FAULTMESH_TOKEN: a command line is visible to every local user.
        #[arg(long, env = "FAULTMESH_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Serve the API without authentication: any local user or process can
        /// change the appliance. Only for throwaway rigs; refused off loopback.
        #[arg(long, conflicts_with = "token", env = "FAULTMESH_INSECURE_NO_AUTH")]
        insecure_no_auth: bool,
        #[command(flatten)]
        tuning: Tuning,
    },
    /// Show or change link impairments on a running appliance.
    Link {
        #[command(subcommand)]
        cmd: LinkCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Add, list and remove faults on a running appliance.
    Fault {
        #[command(subcommand)]
        cmd: FaultCmd,
        #[command(flatten)]
        conn: Conn,
    },
    /// Per-link counters of a running appliance, as a table.
    Counters {
        /// Refresh every SECONDS (default 1).
        #[arg(long, num_args = 0..=1, default_missing_value = "1")]
        watch: Option<f64>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        conn: Conn,
    },
    /// Replace the running topology from FILE, or reload its own file.
    Reload {
        /// The new topology (default: the file the appliance was started with).
        file: Option<PathBuf>,
        #[command(flatten)]
        conn: Conn,
    },
    /// The audit log of a running appliance.
    Events {
        /// Keep printing new events as they happen.
        #[arg(long, short)]
        follow: bool,
        #[command(flatten)]
        conn: Conn,
    },
    /// Measure throughput, packet rate, latency and fidelity against the kernel (needs root, iperf3).
    Bench(bench::BenchArgs),
    /// Status of a running appliance.
    Status {
        #[command(flatten)]
        conn: Conn,
    },
    /// Run a built-in topology, send real traffic through it and compare what
    /// was measured with what was configured.
    Demo,
    /// Print the API's OpenAPI document (no appliance needed).
    Openapi,
    /// Print the JSON Schema of topology files (for editors: yaml-language-server).
    Schema,
    /// Print a shell completion script: `faultmesh completions bash > /etc/bash_completion.d/faultmesh`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, or write one page per command into DIR.
    Man {
        /// Write faultmesh.1 and faultmesh-COMMAND.1 pages into this directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Turn another tool's lab into a faultmesh topology (YAML on stdout).
    Import {
        #[command(subcommand)]
        from: ImportCmd,
    },
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

/// How to reach a running appliance.
#[derive(clap::Args, Debug)]
struct Conn {
    /// The appliance's API.
    #[arg(long, env = "FAULTMESH_API", default_value = "http://127.0.0.1:7878", global = true)]
    api: String,
    /// Bearer token (default: read from /run/faultmesh/api-<port>.token,
    /// which only root can read).
    #[arg(long, env = "FAULTMESH_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
}

impl Conn {
    fn client(&self) -> client::Client {
        client::Client::with_token_lookup(&self.api, self.token.clone())
    }
}

#[derive(Subcommand, Debug)]
enum ImportCmd {
    /// A containerlab topology (`LAB.clab.yml`): its nodes become `kind: container`
    /// nodes attached to the lab's containers, each link a switch between two faultmesh links.
    Containerlab(import::ClabArgs),
}

#[derive(Subcommand, Debug)]
enum LinkCmd {
    /// Links with their impairments and counters.
    Show {
        /// One link.
        name: Option<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Change impairments, tc style: `link set wan delay 10ms 2ms 25% loss 1% rate 100mbit` (`KEYWORD off` clears).
    Set {
        /// The link.
        name: String,
        /// a_to_b, b_to_a or both.
        #[arg(long, default_value = "both")]
        direction: String,
        /// Impairments: delay, loss, corrupt, duplicate, reorder, rate, mtu.
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum FaultCmd {
    /// Add a fault, e.g. `fault add --kind down --target node=db --ttl 30s --scenario db-outage`.
    Add(control::FaultAdd),
    /// List faults.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete one fault.
    Del {
        /// Its id.
        id: String,
    },
    /// Delete the faults of a scenario, or all of them (the kill switch).
    Clear {
        /// Only this scenario.
        #[arg(long)]
        scenario: Option<String>,
    },
}

/// Data-plane tuning.
#[derive(clap::Args, Debug, Clone, Copy)]
struct Tuning {
    /// Keep polling this many microseconds after the last packet before
    /// sleeping (lower: less CPU under light traffic, more latency jitter).
    #[arg(long, default_value_t = 2000, env = "FAULTMESH_BUSY_POLL_US")]
    busy_poll_us: u64,
    /// Poll instead of sleeping when the next release is this many
    /// microseconds away or less (precise timing costs a busy core while
    /// packets are in flight; an idle appliance always sleeps).
    #[arg(long, default_value_t = 20_000, env = "FAULTMESH_SPIN_US")]
    spin_us: u64,
    /// SCHED_FIFO priority of the data-plane thread (0: normal scheduling).
    #[arg(long, default_value_t = 0, env = "FAULTMESH_REALTIME")]
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

impl Cli {
    /// True for commands that own namespaces and devices while they run
    /// (`run`, `demo`, `bench`): they must clean up, so a closed stdout must
    /// not kill them (see [`stdout::shield`]). Every other command may simply
    /// end, as `cat` does, when its reader goes away.
    pub fn owns_resources(&self) -> bool {
        matches!(self.command, Command::Run { .. } | Command::Demo | Command::Bench(_))
    }

    /// True for `faultmesh run`.
    pub fn is_run(&self) -> bool {
        matches!(self.command, Command::Run { .. })
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate { files, json, format, scripts_dir } => validate::run(&files, json, format, &scripts_dir),
        Command::Run {
            file,
            prefix,
            stats_json,
            api,
            no_api,
            token,
            insecure_no_auth,
            scripts_dir,
            allow_attach,
            allow_container,
            tuning,
        } => run::run(
            &file,
            prefix,
            tuning.options(),
            stats_json.as_deref(),
            run::ApiOptions { listen: (!no_api).then_some(api), token, insecure_no_auth },
            run::Trust { scripts_dir, allow_attach, allow_container },
        ),
        Command::Link { cmd, conn } => match cmd {
            LinkCmd::Show { name, json } => control::link_show(&conn.client(), name.as_deref(), json),
            LinkCmd::Set { name, direction, args } => control::link_set(&conn.client(), &name, &direction, &args),
        },
        Command::Fault { cmd, conn } => match cmd {
            FaultCmd::Add(a) => control::fault_add(&conn.client(), &a),
            FaultCmd::List { json } => control::fault_list(&conn.client(), json),
            FaultCmd::Del { id } => control::fault_del(&conn.client(), &id),
            FaultCmd::Clear { scenario } => control::fault_clear(&conn.client(), scenario.as_deref()),
        },
        Command::Counters { watch, json, conn } => control::counters(&conn.client(), watch, json),
        Command::Reload { file, conn } => control::reload(&conn.client(), file.as_deref()),
        Command::Events { follow, conn } => control::events(&conn.client(), follow),
        Command::Status { conn } => control::status(&conn.client()),
        Command::Bench(a) => bench::run(a),
        Command::Demo => demo::run(),
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(faultmesh_api::openapi())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => extras::schema(),
        Command::Completions { shell } => extras::completions(shell),
        Command::Man { dir } => extras::man(dir.as_deref()),
        Command::Import { from: ImportCmd::Containerlab(a) } => import::containerlab(&a),
        Command::Cleanup { prefix, force } => cleanup::run(prefix.as_deref(), force),
    }
}
