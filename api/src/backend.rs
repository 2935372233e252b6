//! What the API drives: a running appliance, or (for tests and dry runs) an
//! engine in memory.
//!
//! Contract: a [`Backend`] executes [`EngineCommand`]s and reloads; it owns
//! no desired state (the [`Controller`](crate::controller::Controller) does)
//! and none of its reads waits for the data plane: [`Backend::counters`]
//! returns what the data plane last published. [`Backend::call`] resolves to
//! [`CommandError::Timeout`] only when the command was withdrawn unapplied,
//! so a caller that sees an error knows nothing changed.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use faultmesh_emulator::engine::{Engine, ReloadReport};
use faultmesh_emulator::io::appliance::{Appliance, ApplianceError};
use faultmesh_emulator::io::command::{self, CommandError, EngineCommand, EngineReply, ReloadPlan};
use faultmesh_emulator::io::dataplane::{DataPlaneHandle, DataPlaneSnapshot};
use faultmesh_emulator::io::setup::NodePlace;
use faultmesh_emulator::time::Instant;
use faultmesh_emulator::topology::Topology;
use tokio::sync::watch;

/// A failed reload or change.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Valid, but conflicts with what is running.
    #[error("{0}")]
    Conflict(String),
    /// The appliance failed.
    #[error("{0}")]
    Failed(String),
    /// The appliance is stopping or its data plane is gone.
    #[error("{0}")]
    Unavailable(String),
    /// The data plane did not take the command in time; nothing changed.
    #[error("{0}")]
    Timeout(String),
}

impl From<CommandError> for BackendError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Timeout(_) => BackendError::Timeout(e.to_string()),
            CommandError::Stopped => BackendError::Unavailable(e.to_string()),
            CommandError::Rejected(_) => BackendError::Failed(e.to_string()),
        }
    }
}

impl From<ApplianceError> for BackendError {
    fn from(e: ApplianceError) -> Self {
        match e {
            ApplianceError::NodeRebuild(_) | ApplianceError::Attach(_) => BackendError::Conflict(e.to_string()),
            ApplianceError::Setup(faultmesh_emulator::io::setup::SetupError::NamespaceExists(..)) => {
                BackendError::Conflict(e.to_string())
            }
            ApplianceError::Stopped => BackendError::Unavailable(e.to_string()),
            ApplianceError::Command(c) => c.into(),
            other => BackendError::Failed(other.to_string()),
        }
    }
}

/// The answer of [`Backend::call`].
pub type CommandFuture = Pin<Box<dyn Future<Output = Result<EngineReply, CommandError>> + Send>>;

/// The appliance as the API sees it.
pub trait Backend: Send + Sync + 'static {
    /// Sends one command to the engine. Resolves to `Err(Timeout)` if the
    /// data plane has not taken it within `timeout` (it is then withdrawn
    /// and never applied).
    fn call(&self, cmd: EngineCommand, timeout: Duration) -> CommandFuture;
    /// Replaces the running topology `old` with `plan` (devices, then one
    /// [`EngineCommand::Reload`]). Blocking: call from a blocking task.
    fn reload(&self, old: &Topology, plan: ReloadPlan) -> Result<ReloadReport, BackendError>;
    /// The counters the data plane published last. Never waits.
    fn counters(&self) -> Arc<DataPlaneSnapshot>;
    /// The engine clock.
    fn now(&self) -> Instant;
    /// Where each node lives. May wait for a reload in progress: the
    /// controller asks only while it holds its write lock.
    fn places(&self) -> Vec<NodePlace>;
}

/// A real appliance.
pub struct ApplianceBackend {
    app: Mutex<Appliance>,
    handle: DataPlaneHandle,
}

impl ApplianceBackend {
    /// Wraps a started appliance.
    pub fn new(app: Appliance) -> Option<Self> {
        let handle = app.handle()?;
        Some(ApplianceBackend { app: Mutex::new(app), handle })
    }

    /// The data plane's handle (blocking calls for the CLI and benches).
    pub fn handle(&self) -> &DataPlaneHandle {
        &self.handle
    }

    /// A fresh copy of every counter (blocking, waits up to 5 s).
    pub fn snapshot(&self) -> Option<DataPlaneSnapshot> {
        self.handle.snapshot()
    }

    /// Sets a link's impairments (blocking, waits up to 5 s).
    pub fn set_link(
        &self,
        link: usize,
        a_to_b: faultmesh_emulator::impair::Impairments,
        b_to_a: faultmesh_emulator::impair::Impairments,
    ) -> Result<(), BackendError> {
        self.handle.call_blocking(EngineCommand::SetImpairments { link, a_to_b, b_to_a }, Duration::from_secs(5))?;
        Ok(())
    }

    /// Stops the appliance and returns its final engine.
    pub fn stop(&self) -> Option<Engine> {
        self.app.lock().unwrap_or_else(|p| p.into_inner()).stop()
    }
}

impl Backend for ApplianceBackend {
    fn call(&self, cmd: EngineCommand, timeout: Duration) -> CommandFuture {
        let h = self.handle.clone();
        Box::pin(async move { h.call(cmd, timeout).await })
    }

    fn reload(&self, old: &Topology, plan: ReloadPlan) -> Result<ReloadReport, BackendError> {
        let mut app = self.app.lock().map_err(|_| BackendError::Failed("appliance lock poisoned".into()))?;
        Ok(app.reload(old, plan)?)
    }

    fn counters(&self) -> Arc<DataPlaneSnapshot> {
        self.handle.counters()
    }

    fn now(&self) -> Instant {
        faultmesh_emulator::io::now()
    }

    fn places(&self) -> Vec<NodePlace> {
        self.app.lock().map(|a| a.places().to_vec()).unwrap_or_default()
    }
}

/// An engine in memory, clocked by the monotonic clock: the whole API without
/// devices (tests, `--dry-run`). Packets are not forwarded unless the caller
/// feeds the engine. Commands run through the same
/// [`command::execute`] as on the data plane, and every command publishes
/// fresh counters.
pub struct MemoryBackend {
    engine: Mutex<Engine>,
    counters: watch::Sender<Arc<DataPlaneSnapshot>>,
}

impl MemoryBackend {
    /// An engine for `topo`.
    pub fn new(topo: &Topology) -> Self {
        let engine = Engine::new(topo, faultmesh_emulator::io::now());
        let (counters, _) = watch::channel(Arc::new(command::engine_snapshot(&engine)));
        MemoryBackend { engine: Mutex::new(engine), counters }
    }

    /// Runs `f` with the engine (tests), then publishes its counters.
    pub fn with_engine<R>(&self, f: impl FnOnce(&mut Engine) -> R) -> R {
        let mut e = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        let r = f(&mut e);
        self.counters.send_replace(Arc::new(command::engine_snapshot(&e)));
        r
    }

    /// Runs one command now (what [`Backend::call`] does, without a future).
    pub fn execute(&self, cmd: EngineCommand) -> Result<EngineReply, CommandError> {
        let now = faultmesh_emulator::io::now();
        self.with_engine(|e| command::execute(e, cmd, now))
    }
}

impl Backend for MemoryBackend {
    fn call(&self, cmd: EngineCommand, _timeout: Duration) -> CommandFuture {
        let r = self.execute(cmd);
        Box::pin(async move { r })
    }

    fn reload(&self, _old: &Topology, plan: ReloadPlan) -> Result<ReloadReport, BackendError> {
        match self.execute(EngineCommand::Reload(Box::new(plan)))? {
            EngineReply::Reloaded(r) => Ok(r),
            other => Err(BackendError::Failed(format!("unexpected answer {other:?}"))),
        }
    }

    fn counters(&self) -> Arc<DataPlaneSnapshot> {
        Arc::clone(&self.counters.borrow())
    }

    fn now(&self) -> Instant {
        faultmesh_emulator::io::now()
    }

    fn places(&self) -> Vec<NodePlace> {
        Vec::new()
    }
}
