//! Command-line interface: argument parsing and dispatch.

mod bench;
mod cleanup;
mod client;
mod control;
mod demo;
mod run;
mod scripts;
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
        #[arg(long)]
        json: bool,
        /// Also allow script files from this directory (besides the topology file's own).
        #[arg(long = "scripts-dir", value_name = "DIR")]
        scripts_dir: Vec<PathBuf>,
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
        /// Serve the HTTP API on this address (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:7878")]
        api: std::net::SocketAddr,
        /// Do not serve the HTTP API.
        #[arg(long)]
        no_api: bool,
        /// Also allow script files from this directory (besides the topology
        /// file's own), for the file and for topologies sent through the API.
        #[arg(long = "scripts-dir", value_name = "DIR", env = "FAULTMESH_SCRIPTS_DIR", value_delimiter = ':')]
        scripts_dir: Vec<PathBuf>,
        /// Existing interfaces that topologies changed through the API may
        /// attach (`*` wildcards; default: none). Also needed to attach the
        /// interface that carries the default route.
        #[arg(long = "allow-attach", value_name = "PATTERN", env = "FAULTMESH_ALLOW_ATTACH", value_delimiter = ',')]
        allow_attach: Vec<String>,
        /// Bearer token the API requires (default: a random one, written
        /// root-only to /run/faultmesh/api-<port>.token; required off loopback).
        /// Prefer FAULTMESH_TOKEN: a command line is visible to every local user.
        #[arg(long, env = "FAULTMESH_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Serve the API without authentication: any local user or process can
        /// change the appliance. Only for throwaway rigs; refused off loopback.
        #[arg(long, conflicts_with = "token")]
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
    #[arg(long, default_value_t = 2000)]
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
        Command::Validate { files, json, scripts_dir } => validate::run(&files, json, &scripts_dir),
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
            tuning,
        } => run::run(
            &file,
            prefix,
            tuning.options(),
            stats_json.as_deref(),
            run::ApiOptions { listen: (!no_api).then_some(api), token, insecure_no_auth },
            run::Trust { scripts_dir, allow_attach },
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
        Command::Cleanup { prefix, force } => cleanup::run(prefix.as_deref(), force),
    }
}
