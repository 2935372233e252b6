//! faultmesh control plane: the HTTP API.
//!
//! Contract: every handler validates its input completely before changing
//! anything, answers bad input with a 4xx JSON error naming the field, and
//! changes the appliance only through the [`Backend`] — which sends commands
//! to the data-plane thread; no handler holds a lock the data plane needs.
//! Every change is recorded in the event log. The OpenAPI document is
//! generated from the handlers (`utoipa`) and served at
//! `/api/v1/openapi.json`.
//!
//! With a token set (`faultmesh run` always sets one unless told
//! `--insecure-no-auth`; see [`auth`]), every request but
//! `GET /api/v1/openapi.json` needs `Authorization: Bearer <token>`, checked
//! before routing; without it the answer is a JSON 401 with
//! `WWW-Authenticate: Bearer`.

pub mod auth;
pub mod backend;
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
pub use backend::{ApplianceBackend, Backend, BackendError, MemoryBackend, ScriptTarget};
pub use error::ApiError;
pub use events::{Event, EventLog};
pub use faults::{FaultRegistry, FaultRequest};
use tokio::net::TcpListener;

/// Hooks the binary provides for scripts (installed again after every change).
pub trait ScriptHook: Send + Sync + 'static {
    /// Installs the scripts the topology names; returns problems to report.
    fn install(&self, backend: &dyn Backend, topo: &faultmesh_emulator::topology::Topology) -> Vec<String>;
    /// Per-script counters as JSON (for `/scripts` and `/metrics`).
    fn stats(&self, backend: &dyn Backend) -> serde_json::Value;
    /// Checks that a script loads, without attaching it.
    fn check(&self, script: &faultmesh_emulator::topology::ScriptRef) -> Result<(), String>;
}

/// Shared state of the API.
pub struct AppState {
    /// What the API drives.
    pub backend: Arc<dyn Backend>,
    /// Faults.
    pub faults: Mutex<FaultRegistry>,
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
    /// Script support, if built in.
    pub scripts: Option<Arc<dyn ScriptHook>>,
    /// Disabled scripts already reported as events.
    reported_disabled: Mutex<std::collections::HashSet<String>>,
    sweeps: std::sync::atomic::AtomicU64,
}

impl AppState {
    /// State for `backend`, reloading from `source` when asked.
    pub fn new(backend: Arc<dyn Backend>, source: Option<PathBuf>, token: Option<String>) -> Arc<AppState> {
        Arc::new(AppState {
            backend,
            faults: Mutex::new(FaultRegistry::default()),
            events: EventLog::default(),
            source: Mutex::new(source),
            script_dirs: Mutex::default(),
            token,
            started_ms: events::unix_ms(),
            scripts: None,
            reported_disabled: Mutex::default(),
            sweeps: Default::default(),
        })
    }

    /// Like [`AppState::new`], with script support.
    pub fn with_scripts(
        backend: Arc<dyn Backend>,
        source: Option<PathBuf>,
        token: Option<String>,
        scripts: Arc<dyn ScriptHook>,
    ) -> Arc<AppState> {
        Arc::new(AppState {
            backend,
            faults: Mutex::new(FaultRegistry::default()),
            events: EventLog::default(),
            source: Mutex::new(source),
            script_dirs: Mutex::default(),
            token,
            started_ms: events::unix_ms(),
            scripts: Some(scripts),
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

    /// Pushes the faults to the engine.
    pub fn install_faults(&self) -> bool {
        let topo = self.backend.topology();
        let plan = match self.faults.lock() {
            Ok(f) => f.plan(&topo),
            Err(_) => return false,
        };
        self.backend.apply(Box::new(move |e, now| {
            for (i, effects) in plan.dirs.into_iter().enumerate() {
                e.set_faults(i / 2, (i % 2) as u8, effects, now);
            }
            e.set_partitions(plan.partitions);
        }))
    }

    /// Records an event for every script that got disabled since the last look.
    pub fn report_disabled_scripts(&self) {
        let Some(h) = &self.scripts else { return };
        let stats = h.stats(self.backend.as_ref());
        for x in stats.as_array().into_iter().flatten() {
            if x["disabled"].as_bool() != Some(true) {
                continue;
            }
            let key = format!("{}:{}:{}", x["link"], x["direction"], x["script"]);
            let new = self.reported_disabled.lock().map(|mut r| r.insert(key)).unwrap_or(false);
            if new {
                self.events.record(
                    "system",
                    "script.disabled",
                    serde_json::json!({"link": x["link"], "direction": x["direction"], "script": x["script"], "error": x["last_error"]}),
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
    /// looks for disabled scripts.
    pub fn sweep(&self) {
        if self.sweeps.fetch_add(1, std::sync::atomic::Ordering::Relaxed).is_multiple_of(5) {
            self.report_disabled_scripts();
        }
        let now = self.backend.now();
        let expired = match self.faults.lock() {
            Ok(mut f) => f.expire(now),
            Err(_) => return,
        };
        if expired.is_empty() {
            return;
        }
        self.install_faults();
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
                let s = Arc::clone(&st);
                let _ = tokio::task::spawn_blocking(move || s.sweep()).await;
            }
        })
    };
    let r = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    r
}
