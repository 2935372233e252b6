//! The controller: the one owner of desired state (topology, faults,
//! scripts), on the control side.
//!
//! Contract:
//! - **Reads never wait.** The state is published as an immutable [`View`]
//!   in an `ArcSwap`; a GET loads the current `Arc<View>` (no lock held, no
//!   I/O) and reads counters from the snapshot the data plane publishes
//!   ([`Backend::counters`]).
//! - **Writes are serialised and all-or-nothing.** A write takes the write
//!   lock (an async mutex, so a waiting writer holds no runtime worker),
//!   computes the new state from the current view, prepares everything the
//!   engine needs (fault effects per link direction, Lua VMs built here, on
//!   a blocking thread), sends *one* [`EngineCommand`], and publishes the new
//!   view only if the data plane applied it. A command the data plane does
//!   not take in time is withdrawn: the client gets a 504 and neither the
//!   view nor the engine changed.
//! - **Reload is one step.** The new topology, its faults, partitions and
//!   filters go to the data plane as one [`EngineCommand::Reload`], so a
//!   fault active before a reload stays active through it.
//! - Writes run to completion in their own task even if the client goes
//!   away ([`detached`]), so the view never misses a change the
//!   engine made.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::http::StatusCode;
use faultmesh_emulator::engine::ReloadReport;
use faultmesh_emulator::impair::Impairments;
use faultmesh_emulator::io::command::{EngineCommand, EngineReply, FilterPlan, FilterStatus, ReloadPlan, keep_filters};
use faultmesh_emulator::io::dataplane::DataPlaneSnapshot;
use faultmesh_emulator::io::setup::NodePlace;
use faultmesh_emulator::time::Instant;
use faultmesh_emulator::topology::{LinkId, ScriptRef, Topology};

use crate::ScriptHook;
use crate::backend::{Backend, BackendError};
use crate::error::ApiError;
use crate::faults::{Fault, FaultRegistry};

/// The default time a command may wait for the data plane to take it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// The desired state, as published to readers.
#[derive(Clone)]
pub struct View {
    /// The running topology (with API changes applied).
    pub topology: Arc<Topology>,
    /// The faults.
    pub faults: Arc<FaultRegistry>,
    /// Where each node lives.
    pub places: Arc<Vec<NodePlace>>,
}

/// What a script attaches to, by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptTarget {
    /// A link.
    Link(String),
    /// A segment.
    Segment(String),
}

/// What a reload did.
#[derive(Debug)]
pub struct Reloaded {
    /// The engine's report.
    pub report: ReloadReport,
    /// Faults removed because their target is gone.
    pub faults_removed: Vec<Fault>,
    /// Scripts that could not be attached.
    pub script_errors: Vec<String>,
}

/// The API error for a backend failure: 504 when the data plane did not take
/// the command (nothing changed), 503 when it is gone.
pub fn backend_error(e: BackendError) -> ApiError {
    match e {
        BackendError::Timeout(m) => {
            let mut e = ApiError::unavailable(m).with_hint("nothing was changed; retry when the data plane answers");
            e.status = StatusCode::GATEWAY_TIMEOUT;
            e.detail.code = "dataplane_timeout";
            e
        }
        BackendError::Unavailable(m) => ApiError::unavailable(m).with_hint("nothing was changed"),
        BackendError::Conflict(m) => ApiError::conflict(m),
        BackendError::Failed(m) => ApiError::internal("dataplane_failed", m).with_hint("nothing was changed"),
    }
}

/// Runs a write in its own task, so it completes (and the view follows the
/// engine) even if the request that started it is dropped.
pub async fn detached<T: Send + 'static>(
    f: impl std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(f).await.map_err(|_| ApiError::internal("controller_failed", "the change failed unexpectedly"))?
}

/// Owns the desired state; see the module documentation.
pub struct Controller {
    backend: Arc<dyn Backend>,
    scripts: Option<Arc<dyn ScriptHook>>,
    view: ArcSwap<View>,
    write: tokio::sync::Mutex<()>,
    timeout: Duration,
}

impl Controller {
    /// A controller for `backend`, running `topo`.
    pub fn new(
        backend: Arc<dyn Backend>,
        topo: Topology,
        scripts: Option<Arc<dyn ScriptHook>>,
        timeout: Duration,
    ) -> Controller {
        let places = Arc::new(backend.places());
        let view = View { topology: Arc::new(topo), faults: Arc::default(), places };
        Controller { backend, scripts, view: ArcSwap::from_pointee(view), write: Default::default(), timeout }
    }

    /// The current desired state. Never waits.
    pub fn view(&self) -> Arc<View> {
        self.view.load_full()
    }

    /// The counters the data plane published last. Never waits.
    pub fn counters(&self) -> Arc<DataPlaneSnapshot> {
        self.backend.counters()
    }

    /// The engine clock.
    pub fn now(&self) -> Instant {
        self.backend.now()
    }

    /// Script support, if built in.
    pub fn scripts(&self) -> Option<&Arc<dyn ScriptHook>> {
        self.scripts.as_ref()
    }

    /// The time a command may wait for the data plane.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one command.
    pub async fn call(&self, cmd: EngineCommand) -> Result<EngineReply, ApiError> {
        let what = cmd.name();
        self.backend.call(cmd, self.timeout).await.map_err(|e| {
            tracing::warn!(command = what, error = %e, "engine command failed");
            backend_error(e.into())
        })
    }

    fn publish(&self, v: View) -> Arc<View> {
        let v = Arc::new(v);
        self.view.store(Arc::clone(&v));
        v
    }

    /// Sets a link's impairments: `f` edits the current ones (under the
    /// write lock, so concurrent patches compose).
    pub async fn patch_link(
        &self,
        name: &str,
        f: impl FnOnce(&mut Impairments, &mut Impairments) -> Result<(), ApiError>,
    ) -> Result<(LinkId, Arc<View>), ApiError> {
        let _w = self.write.lock().await;
        let cur = self.view();
        let link = cur.topology.link_index(name).ok_or_else(|| ApiError::not_found("link", name))?;
        let mut topo = (*cur.topology).clone();
        let l = &mut topo.links[link];
        f(&mut l.a_to_b, &mut l.b_to_a)?;
        self.call(EngineCommand::SetImpairments { link, a_to_b: l.a_to_b, b_to_a: l.b_to_a }).await?;
        Ok((link, self.publish(View { topology: Arc::new(topo), ..(*cur).clone() })))
    }

    /// Changes the faults: `f` edits a copy of the registry and returns a
    /// value; the new faults are installed in one command and published
    /// only if the data plane applied them.
    pub async fn edit_faults<T>(
        &self,
        f: impl FnOnce(&mut FaultRegistry, &Topology) -> Result<T, ApiError>,
    ) -> Result<(T, Arc<View>), ApiError> {
        let _w = self.write.lock().await;
        let cur = self.view();
        let mut reg = (*cur.faults).clone();
        let out = f(&mut reg, &cur.topology)?;
        self.call(EngineCommand::InstallFaults(reg.plan(&cur.topology))).await?;
        Ok((out, self.publish(View { faults: Arc::new(reg), ..(*cur).clone() })))
    }

    /// The kill switch: every fault and partition goes, in one command.
    pub async fn killswitch(&self) -> Result<Vec<Fault>, ApiError> {
        let _w = self.write.lock().await;
        let cur = self.view();
        let mut reg = (*cur.faults).clone();
        let removed = reg.clear();
        self.call(EngineCommand::ClearFaults).await?;
        self.publish(View { faults: Arc::new(reg), ..(*cur).clone() });
        Ok(removed)
    }

    /// Removes the faults that ended by now (the engine already stopped
    /// applying them); returns them.
    pub async fn expire(&self) -> Result<Vec<Fault>, ApiError> {
        let now = self.now();
        if !self.view().faults.all().any(|f| f.end.is_some_and(|e| e <= now)) {
            return Ok(Vec::new());
        }
        self.edit_faults(|reg, _| Ok(reg.expire(now))).await.map(|(x, _)| x)
    }

    /// The filters the engine runs now.
    async fn filter_statuses(&self) -> Result<Vec<FilterStatus>, ApiError> {
        match self.call(EngineCommand::FilterStats).await? {
            EngineReply::Filters(f) => Ok(f),
            other => Err(ApiError::internal("dataplane_failed", format!("unexpected answer {other:?}"))),
        }
    }

    /// The filter plan that takes the engine from `old` (running `statuses`)
    /// to the scripts of `new`: Lua VMs are built here, on a blocking thread;
    /// an unchanged script keeps running with its state.
    async fn filter_plan(&self, old: &Topology, new: &Topology) -> Result<(FilterPlan, Vec<String>), ApiError> {
        let Some(hook) = self.scripts.clone() else { return Ok((keep_filters(new.links.len()), Vec::new())) };
        let statuses = self.filter_statuses().await?;
        let current: Vec<[Option<u64>; 2]> = new
            .links
            .iter()
            .map(|l| {
                // A reload keeps a link's pipeline (and filter) only if its
                // name and ends are the same.
                let kept = old.link_index(&l.name).is_some_and(|j| {
                    let o = &old.links[j];
                    old.endpoint_name(o.a) == new.endpoint_name(l.a) && old.endpoint_name(o.b) == new.endpoint_name(l.b)
                });
                let fp = |dir: &str| {
                    kept.then(|| {
                        statuses.iter().find(|s| s.link == l.name && s.direction == dir).map(|s| s.fingerprint)
                    })
                    .flatten()
                };
                [fp("a_to_b"), fp("b_to_a")]
            })
            .collect();
        let t = new.clone();
        tokio::task::spawn_blocking(move || hook.prepare(&t, &current))
            .await
            .map_err(|_| ApiError::internal("script_build_failed", "building the scripts failed unexpectedly"))
    }

    /// Replaces the running topology: faults re-targeted by name (those whose
    /// target is gone are removed), scripts rebuilt where they changed, and
    /// all of it switched in one data-plane step.
    pub async fn reload(&self, new: Topology) -> Result<Reloaded, ApiError> {
        let _w = self.write.lock().await;
        let cur = self.view();
        let mut reg = (*cur.faults).clone();
        let faults_removed = reg.prune(&new);
        let faults = reg.plan(&new);
        let (filters, script_errors) = self.filter_plan(&cur.topology, &new).await?;
        let plan = ReloadPlan::new(new.clone(), faults, filters);
        let (b, old) = (Arc::clone(&self.backend), Arc::clone(&cur.topology));
        let (report, places) = tokio::task::spawn_blocking(move || b.reload(&old, plan).map(|r| (r, b.places())))
            .await
            .map_err(|_| ApiError::internal("reload_failed", "the reload task failed unexpectedly"))?
            .map_err(reload_error)?;
        self.publish(View { topology: Arc::new(new), faults: Arc::new(reg), places: Arc::new(places) });
        Ok(Reloaded { report, faults_removed, script_errors })
    }

    /// Attaches (`Some`) or detaches (`None`) a script; returns problems
    /// attaching the scripts of the topology.
    pub async fn set_script(&self, target: &ScriptTarget, script: Option<ScriptRef>) -> Result<Vec<String>, ApiError> {
        let _w = self.write.lock().await;
        let cur = self.view();
        let mut topo = (*cur.topology).clone();
        match target {
            ScriptTarget::Link(n) => {
                let i = topo.link_index(n).ok_or_else(|| ApiError::not_found("link", n))?;
                topo.links[i].script = script;
            }
            ScriptTarget::Segment(n) => {
                let i = topo.segment_index(n).ok_or_else(|| ApiError::not_found("segment", n))?;
                topo.segments[i].script = script;
            }
        }
        let (filters, errors) = self.filter_plan(&cur.topology, &topo).await?;
        self.call(EngineCommand::SetFilters(filters)).await?;
        self.publish(View { topology: Arc::new(topo), ..(*cur).clone() });
        Ok(errors)
    }

    /// The filters with fresh counters, or (if the data plane does not answer
    /// within 200 ms) the published ones.
    pub async fn script_stats(&self) -> Vec<FilterStatus> {
        match self.backend.call(EngineCommand::FilterStats, Duration::from_millis(200)).await {
            Ok(EngineReply::Filters(f)) => f,
            _ => self.counters().filters.clone(),
        }
    }
}

/// A reload the backend refused or could not carry out. The backend has
/// already undone whatever it built for it; the answer says what failed and
/// that the running topology is unchanged.
pub(crate) fn reload_error(e: BackendError) -> ApiError {
    const UNCHANGED: &str =
        "nothing was changed: the devices created for it were removed and the running topology is as it was";
    match e {
        BackendError::Conflict(m) => ApiError::conflict(format!("the topology cannot be applied live: {m}"))
            .with_hint(format!("{UNCHANGED}; restart `faultmesh run` for changes that need rebuilt devices")),
        BackendError::Failed(m) => {
            ApiError::internal("reload_failed", format!("building the new topology failed: {m}")).with_hint(UNCHANGED)
        }
        other => backend_error(other).with_hint(UNCHANGED),
    }
}
