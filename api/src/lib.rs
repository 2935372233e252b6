//! faultmesh control plane: the HTTP API.
//!
//! Contract: every handler validates its input completely before changing
//! anything, answers bad input with a 4xx JSON error naming the field, and
//! changes the appliance only through the [`Controller`], the one owner of
//! desired state (topology, faults, scripts), which sends typed
//! [`EngineCommand`](faultmesh_emulator::io::command::EngineCommand)s to the
//! data plane through a [`Backend`]. Reads never wait: they load the
//! controller's published [`View`] and the counters the data plane publishes
//! every 100 ms. A write the data plane does not apply is a JSON 5xx (504
//! when it did not take the command in time) and is not recorded. Every
//! change is recorded in the event log. The OpenAPI document is generated
//! from the handlers (`utoipa`) and served at `/api/v1/openapi.json`.

pub mod auth;
pub mod backend;
pub mod controller;
pub mod error;
pub mod events;
pub mod faults;
pub mod metrics;
mod routes;
mod schema;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
pub use backend::{ApplianceBackend, Backend, BackendError, MemoryBackend};
pub use controller::{Controller, ScriptTarget, View};
pub use error::ApiError;
pub use events::{Event, EventLog};
use faultmesh_emulator::io::command::FilterPlan;
use faultmesh_emulator::topology::Topology;
pub use faults::{FaultRegistry, FaultRequest};
use tokio::net::TcpListener;

/// Hooks the binary provides for scripts.
pub trait ScriptHook: Send + Sync + 'static {
    /// Builds, on the calling (blocking) thread, the filters the scripts of
    /// `topo` need: for every link direction of `topo`, `Keep` where the
    /// filter running there has the fingerprint the script would have
    /// (`current`, per link of `topo`), `Set` with a new filter (Lua VM
    /// compiled, top level run) where it differs, `Clear` where no script is
    /// wanted. Returns the plan and the scripts that could not be built.
    fn prepare(&self, topo: &Topology, current: &[[Option<u64>; 2]]) -> (FilterPlan, Vec<String>);
    /// Checks that a script loads, without attaching it.
    fn check(&self, script: &faultmesh_emulator::topology::ScriptRef) -> Result<(), String>;
}

/// Shared state of the API.
pub struct AppState {
    /// The owner of desired state; every change goes through it.
    pub ctl: Arc<Controller>,
    /// Audit log.
    pub events: EventLog,
    /// The topology file, for `POST /topology/reload`.
    pub source: Mutex<Option<PathBuf>>,
    /// Directories (besides the topology file's) that script files may be
    /// read from (`--scripts-dir`).
    pub script_dirs: Mutex<Vec<PathBuf>>,
    /// Bearer token required on every request, if set.
    pub token: Option<String>,
    /// Start time (ms since epoch).
    pub started_ms: u64,
    /// Serve the debugging routes (`POST /api/v1/debug/stall`), off unless
    /// the appliance was started with `FAULTMESH_DEBUG_COMMANDS=1`.
    pub debug_commands: bool,
    /// Disabled scripts already reported as events.
    reported_disabled: Mutex<std::collections::HashSet<String>>,
    sweeps: std::sync::atomic::AtomicU64,
}

/// How to build an [`AppState`].
pub struct Options {
    /// The topology the backend runs.
    pub topology: Topology,
    /// The topology file, for `POST /topology/reload`.
    pub source: Option<PathBuf>,
    /// Bearer token.
    pub token: Option<String>,
    /// Script support.
    pub scripts: Option<Arc<dyn ScriptHook>>,
    /// How long a command may wait for the data plane to take it.
    pub command_timeout: Duration,
    /// Serve the debugging routes.
    pub debug_commands: bool,
}

impl Options {
    /// Defaults for `topology`: no file, no token, no scripts, 5 s timeout,
    /// debugging routes as `FAULTMESH_DEBUG_COMMANDS` says.
    pub fn new(topology: Topology) -> Options {
        Options {
            topology,
            source: None,
            token: None,
            scripts: None,
            command_timeout: controller::COMMAND_TIMEOUT,
            debug_commands: std::env::var("FAULTMESH_DEBUG_COMMANDS").is_ok_and(|v| v == "1"),
        }
    }
}

impl AppState {
    /// State for `backend` running `topo`, reloading from `source` when asked.
    pub fn new(
        backend: Arc<dyn Backend>,
        topo: Topology,
        source: Option<PathBuf>,
        token: Option<String>,
    ) -> Arc<AppState> {
        AppState::with(backend, Options { source, token, ..Options::new(topo) })
    }

    /// State for `backend` with every option.
    pub fn with(backend: Arc<dyn Backend>, o: Options) -> Arc<AppState> {
        Arc::new(AppState {
            ctl: Arc::new(Controller::new(backend, o.topology, o.scripts, o.command_timeout)),
            events: EventLog::default(),
            source: Mutex::new(o.source),
            script_dirs: Mutex::default(),
            token: o.token,
            started_ms: events::unix_ms(),
            debug_commands: o.debug_commands,
            reported_disabled: Mutex::default(),
            sweeps: Default::default(),
        })
    }

    /// Where script files named by a topology or a request may be read from.
    pub fn script_dirs(&self) -> faultmesh_emulator::topology::ScriptDirs {
        let base = self.source.lock().ok().and_then(|p| p.as_ref().and_then(|p| p.parent().map(|d| d.to_path_buf())));
        let extra = self.script_dirs.lock().map(|d| d.clone()).unwrap_or_default();
        faultmesh_emulator::topology::ScriptDirs::new(base.as_deref(), &extra)
    }

    /// Records an event for every script that got disabled since the last
    /// look (from the published counters).
    pub fn report_disabled_scripts(&self) {
        let snap = self.ctl.counters();
        for x in snap.filters.iter().filter(|x| x.stats.disabled) {
            let key = format!("{}:{}:{}", x.link, x.direction, x.stats.script);
            let new = self.reported_disabled.lock().map(|mut r| r.insert(key)).unwrap_or(false);
            if new {
                self.events.record(
                    "system",
                    "script.disabled",
                    serde_json::json!({"link": x.link, "direction": x.direction, "script": x.stats.script, "error": x.stats.last_error}),
                );
            }
        }
    }

    /// Forgets reported script failures (after scripts are reinstalled).
    pub fn reset_script_reports(&self) {
        if let Ok(mut r) = self.reported_disabled.lock() {
            r.clear();
        }
    }

    /// Removes expired faults (called periodically); every 5th call also
    /// looks for disabled scripts. A data plane that does not take the
    /// change leaves the faults in place until the next call.
    pub async fn sweep(&self) {
        if self.sweeps.fetch_add(1, std::sync::atomic::Ordering::Relaxed).is_multiple_of(5) {
            self.report_disabled_scripts();
        }
        let ctl = Arc::clone(&self.ctl);
        let expired = match controller::detached(async move { ctl.expire().await }).await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e.detail.message, "expiring faults");
                return;
            }
        };
        for f in expired {
            self.events.record(
                "system",
                "fault.expire",
                serde_json::json!({"id": f.id, "kind": f.request.kind, "scenario": f.request.scenario}),
            );
        }
    }
}

/// Builds the router and the OpenAPI document.
pub fn router(state: Arc<AppState>) -> (Router, utoipa::openapi::OpenApi) {
    routes::build(state)
}

/// The OpenAPI document, without a running appliance (`faultmesh openapi`).
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    routes::openapi()
}

/// True when an address is loopback-only.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Serves the API on `listener` until `shutdown` completes; sweeps expired
/// faults every 100 ms.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (app, _) = router(Arc::clone(&state));
    let sweeper = {
        let st = Arc::clone(&state);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                st.sweep().await;
            }
        })
    };
    let r = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    r
}
