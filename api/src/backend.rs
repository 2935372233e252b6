//! What the API drives: a running appliance, or (for tests and dry runs) an
//! engine in memory. Handlers only ever talk to a [`Backend`]; none holds a
//! lock the data plane needs.

use std::sync::Mutex;

use faultmesh_emulator::engine::{Engine, ReloadReport};
use faultmesh_emulator::impair::Impairments;
use faultmesh_emulator::io::appliance::{Appliance, ApplianceError};
use faultmesh_emulator::io::dataplane::{DataPlaneHandle, DataPlaneSnapshot, EngineFn, LoopStats};
use faultmesh_emulator::io::setup::NodePlace;
use faultmesh_emulator::time::Instant;
use faultmesh_emulator::topology::{LinkId, ScriptRef, Topology};

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
}

impl From<ApplianceError> for BackendError {
    fn from(e: ApplianceError) -> Self {
        match e {
            ApplianceError::NodeRebuild(_) | ApplianceError::Attach(_) => BackendError::Conflict(e.to_string()),
            ApplianceError::Setup(faultmesh_emulator::io::setup::SetupError::NamespaceExists(..)) => {
                BackendError::Conflict(e.to_string())
            }
            ApplianceError::Stopped => BackendError::Unavailable(e.to_string()),
            other => BackendError::Failed(other.to_string()),
        }
    }
}

/// The appliance as the API sees it.
pub trait Backend: Send + Sync + 'static {
    /// The running topology (with API patches applied).
    fn topology(&self) -> Topology;
    /// Replaces the running topology. Blocking: call from a blocking task.
    fn reload(&self, topo: Topology) -> Result<ReloadReport, BackendError>;
    /// Sets a link's configured impairments.
    fn set_link(&self, link: LinkId, a_to_b: Impairments, b_to_a: Impairments) -> Result<(), BackendError>;
    /// Runs `f` on the engine (on the data-plane thread).
    fn apply(&self, f: EngineFn) -> bool;
    /// Every counter.
    fn snapshot(&self) -> Option<DataPlaneSnapshot>;
    /// The engine clock.
    fn now(&self) -> Instant;
    /// Where each node lives.
    fn places(&self) -> Vec<NodePlace>;
    /// Sets (or clears) the script of a link or segment in the running topology.
    fn set_script(&self, target: ScriptTarget, script: Option<ScriptRef>) -> Result<(), BackendError>;
}

/// What a script attaches to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptTarget {
    /// A link.
    Link(LinkId),
    /// A segment.
    Segment(usize),
}

fn set_script_in(t: &mut Topology, target: ScriptTarget, script: Option<ScriptRef>) -> Result<(), BackendError> {
    match target {
        ScriptTarget::Link(l) => {
            t.links.get_mut(l).ok_or_else(|| BackendError::Conflict("no such link".into()))?.script = script
        }
        ScriptTarget::Segment(s) => {
            t.segments.get_mut(s).ok_or_else(|| BackendError::Conflict("no such segment".into()))?.script = script
        }
    }
    Ok(())
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

    /// Stops the appliance and returns its final engine.
    pub fn stop(&self) -> Option<Engine> {
        self.app.lock().ok().and_then(|mut a| a.stop())
    }
}

impl Backend for ApplianceBackend {
    fn topology(&self) -> Topology {
        self.app.lock().map(|a| a.topology().clone()).unwrap_or_else(|p| p.into_inner().topology().clone())
    }

    fn reload(&self, topo: Topology) -> Result<ReloadReport, BackendError> {
        let mut app = self.app.lock().map_err(|_| BackendError::Failed("appliance lock poisoned".into()))?;
        Ok(app.reload(topo)?)
    }

    fn set_link(&self, link: LinkId, a_to_b: Impairments, b_to_a: Impairments) -> Result<(), BackendError> {
        let mut app = self.app.lock().map_err(|_| BackendError::Failed("appliance lock poisoned".into()))?;
        Ok(app.set_link_impairments(link, a_to_b, b_to_a)?)
    }

    fn apply(&self, f: EngineFn) -> bool {
        self.handle.apply(f).is_some()
    }

    fn snapshot(&self) -> Option<DataPlaneSnapshot> {
        self.handle.snapshot()
    }

    fn now(&self) -> Instant {
        faultmesh_emulator::io::now()
    }

    fn places(&self) -> Vec<NodePlace> {
        self.app.lock().map(|a| a.places().to_vec()).unwrap_or_default()
    }

    fn set_script(&self, target: ScriptTarget, script: Option<ScriptRef>) -> Result<(), BackendError> {
        let mut app = self.app.lock().map_err(|_| BackendError::Failed("appliance lock poisoned".into()))?;
        set_script_in(app.topology_mut(), target, script)
    }
}

/// An engine in memory, clocked by the monotonic clock: the whole API without
/// devices (tests, `--dry-run`). Packets are not forwarded unless the caller
/// feeds the engine.
pub struct MemoryBackend {
    engine: Mutex<Engine>,
}

impl MemoryBackend {
    /// An engine for `topo`.
    pub fn new(topo: &Topology) -> Self {
        MemoryBackend { engine: Mutex::new(Engine::new(topo, faultmesh_emulator::io::now())) }
    }

    /// Runs `f` with the engine (tests).
    pub fn with_engine<R>(&self, f: impl FnOnce(&mut Engine) -> R) -> R {
        let mut e = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut e)
    }
}

impl Backend for MemoryBackend {
    fn topology(&self) -> Topology {
        self.with_engine(|e| e.topology().clone())
    }

    fn reload(&self, topo: Topology) -> Result<ReloadReport, BackendError> {
        let now = self.now();
        Ok(self.with_engine(|e| e.reload(&topo, now)))
    }

    fn set_link(&self, link: LinkId, a_to_b: Impairments, b_to_a: Impairments) -> Result<(), BackendError> {
        let now = self.now();
        self.with_engine(|e| {
            e.set_impairments(link, 0, &a_to_b, now);
            e.set_impairments(link, 1, &b_to_a, now);
        });
        Ok(())
    }

    fn apply(&self, f: EngineFn) -> bool {
        let now = self.now();
        self.with_engine(|e| f(e, now));
        true
    }

    fn snapshot(&self) -> Option<DataPlaneSnapshot> {
        Some(self.with_engine(|e| DataPlaneSnapshot {
            engine: e.snapshot(),
            ports: Vec::new(),
            loop_stats: LoopStats::default(),
        }))
    }

    fn now(&self) -> Instant {
        faultmesh_emulator::io::now()
    }

    fn places(&self) -> Vec<NodePlace> {
        Vec::new()
    }

    fn set_script(&self, target: ScriptTarget, script: Option<ScriptRef>) -> Result<(), BackendError> {
        self.with_engine(|e| set_script_in(e.topology_mut(), target, script))
    }
}
