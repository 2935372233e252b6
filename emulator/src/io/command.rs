//! The whole interface of a running engine: [`EngineCommand`].
//!
//! Contract (after firecracker's `VmmAction`): the control plane changes or
//! reads a running engine only by sending one of these commands to the
//! data-plane thread (through a [`DataPlaneHandle`](super::dataplane::DataPlaneHandle))
//! and getting an [`EngineReply`] or a [`CommandError`] back. A command
//! carries *prepared* state — fault effects already resolved to link
//! directions, filters already built (Lua VMs compiled and their top level
//! run on the control side), devices already created — so the data plane
//! only swaps it in. Each command is applied whole, between two packets: a
//! [`EngineCommand::Reload`] switches topology, faults, partitions and
//! filters in one step, so no packet ever sees the new topology without the
//! faults meant for it.
//!
//! A command the data plane has not *taken* when the caller's timeout runs
//! out is withdrawn and never applied ([`CommandError::Timeout`]); one it has
//! taken always runs to the end and its reply is waited for.
//!
//! [`execute`] applies the engine part of a command to an [`Engine`]; the
//! data-plane thread and the in-memory backend of the API both use it, so
//! there is one implementation of every command.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::dataplane::{DataPlaneSnapshot, LoopStats};
use super::port::Port;
use crate::engine::{Engine, ReloadReport};
use crate::fault::{FaultEffect, PartitionEffect};
use crate::impair::Impairments;
use crate::pipeline::{FilterStats, PacketFilter};
use crate::time::Instant;
use crate::topology::{LinkId, Topology};

/// The longest [`EngineCommand::Stall`] the data plane accepts.
pub const MAX_STALL: Duration = Duration::from_secs(10);

/// What to do with the filter of one link direction.
pub enum FilterChange {
    /// Leave it as it is (with its state).
    Keep,
    /// Remove it.
    Clear,
    /// Replace it with this one, built by the caller.
    Set(Box<dyn PacketFilter>),
}

impl fmt::Debug for FilterChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterChange::Keep => f.write_str("Keep"),
            FilterChange::Clear => f.write_str("Clear"),
            FilterChange::Set(x) => write!(f, "Set({:?} #{:016x})", x.stats().script, x.fingerprint()),
        }
    }
}

/// Filters compare by what they run (their fingerprint), not by their state.
impl PartialEq for FilterChange {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (FilterChange::Keep, FilterChange::Keep) | (FilterChange::Clear, FilterChange::Clear) => true,
            (FilterChange::Set(a), FilterChange::Set(b)) => a.fingerprint() == b.fingerprint(),
            _ => false,
        }
    }
}

/// Filter changes for every link of a topology: `[a_to_b, b_to_a]` per link.
pub type FilterPlan = Vec<[FilterChange; 2]>;

/// A filter plan that changes nothing on `links` links.
pub fn keep_filters(links: usize) -> FilterPlan {
    (0..links).map(|_| [FilterChange::Keep, FilterChange::Keep]).collect()
}

/// Every fault of a topology, resolved: the effects each link direction
/// carries (`[a_to_b, b_to_a]` per link) and the partitions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultPlan {
    /// Effects per link.
    pub links: Vec<[Vec<FaultEffect>; 2]>,
    /// Partitions between groups of nodes.
    pub partitions: Vec<PartitionEffect>,
}

impl FaultPlan {
    /// No fault on any of `links` links.
    pub fn none(links: usize) -> FaultPlan {
        FaultPlan { links: vec![[Vec::new(), Vec::new()]; links], partitions: Vec::new() }
    }
}

/// Everything a reload switches in one data-plane step.
pub struct ReloadPlan {
    /// The new topology.
    pub topo: Topology,
    /// The faults of the new topology.
    pub faults: FaultPlan,
    /// The filters of the new topology (`Keep` keeps the filter a link
    /// carried over by the reload had).
    pub filters: FilterPlan,
    /// Devices of nodes that are new, by node name (created by the caller).
    pub add: Vec<(String, Port)>,
    /// Nodes whose devices close.
    pub remove: Vec<String>,
}

impl ReloadPlan {
    /// A plan for `topo` with these faults and filters and no device changes.
    pub fn new(topo: Topology, faults: FaultPlan, filters: FilterPlan) -> ReloadPlan {
        ReloadPlan { topo, faults, filters, add: Vec::new(), remove: Vec::new() }
    }
}

impl fmt::Debug for ReloadPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadPlan")
            .field("topo", &self.topo.name)
            .field("faults", &self.faults)
            .field("filters", &self.filters)
            .field("add", &self.add.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .field("remove", &self.remove)
            .finish()
    }
}

/// Devices compare by the node they belong to.
impl PartialEq for ReloadPlan {
    fn eq(&self, o: &Self) -> bool {
        self.topo == o.topo
            && self.faults == o.faults
            && self.filters == o.filters
            && self.add.iter().map(|(n, _)| n).eq(o.add.iter().map(|(n, _)| n))
            && self.remove == o.remove
    }
}

/// A command to a running engine. This enum is the whole public interface of
/// the data plane.
// A command crosses a channel once, a few times a second at most: its size
// does not matter, and boxing the impairments would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq)]
pub enum EngineCommand {
    /// Sets the configured impairments of both directions of a link, in
    /// place (queues, credit and counters kept).
    SetImpairments {
        /// The link.
        link: LinkId,
        /// a → b.
        a_to_b: Impairments,
        /// b → a.
        b_to_a: Impairments,
    },
    /// Replaces every fault effect and partition.
    InstallFaults(FaultPlan),
    /// Removes every fault and partition at once (the kill switch).
    ClearFaults,
    /// Changes the filters of every link direction.
    SetFilters(FilterPlan),
    /// Replaces the topology, its faults, partitions, filters and devices in
    /// one step.
    Reload(Box<ReloadPlan>),
    /// Copies every counter out.
    Snapshot,
    /// The filters installed, with their counters.
    FilterStats,
    /// Holds the data plane for this long (at most [`MAX_STALL`]): a
    /// debugging and test aid that shows what a slow command does to the
    /// rest of the system. Reachable from the API only when the appliance
    /// was started with `FAULTMESH_DEBUG_COMMANDS=1`.
    Stall {
        /// How long, in milliseconds.
        ms: u64,
    },
    /// Stops the data plane.
    Shutdown,
}

impl EngineCommand {
    /// Short name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            EngineCommand::SetImpairments { .. } => "set_impairments",
            EngineCommand::InstallFaults(_) => "install_faults",
            EngineCommand::ClearFaults => "clear_faults",
            EngineCommand::SetFilters(_) => "set_filters",
            EngineCommand::Reload(_) => "reload",
            EngineCommand::Snapshot => "snapshot",
            EngineCommand::FilterStats => "filter_stats",
            EngineCommand::Stall { .. } => "stall",
            EngineCommand::Shutdown => "shutdown",
        }
    }

    /// True when it changes the engine (the data plane publishes fresh
    /// counters before it answers one).
    pub fn changes_engine(&self) -> bool {
        !matches!(self, EngineCommand::Snapshot | EngineCommand::FilterStats | EngineCommand::Stall { .. })
    }
}

/// The filter of one link direction.
#[derive(Clone, Debug, Serialize)]
pub struct FilterStatus {
    /// The link.
    pub link: String,
    /// `a_to_b` or `b_to_a`.
    pub direction: &'static str,
    /// Identifies its configuration.
    pub fingerprint: u64,
    /// Its counters.
    #[serde(flatten)]
    pub stats: FilterStats,
}

/// What a command answers.
#[derive(Debug)]
pub enum EngineReply {
    /// Applied.
    Done,
    /// The reload is in force.
    Reloaded(ReloadReport),
    /// Every counter.
    Snapshot(Box<DataPlaneSnapshot>),
    /// The filters installed.
    Filters(Vec<FilterStatus>),
}

/// Why a command failed. Whatever the reason, a failed command changed nothing.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The data plane did not take the command in time; it was withdrawn
    /// and will never be applied.
    #[error("the data plane did not take the command within {} ms; it was not applied", .0.as_millis())]
    Timeout(Duration),
    /// The data plane is not running.
    #[error("the data plane is not running")]
    Stopped,
    /// The command does not fit the running engine (e.g. a plan for another
    /// number of links).
    #[error("the data plane refused the command: {0}")]
    Rejected(String),
}

/// The filters installed on `engine`.
pub fn filter_statuses(engine: &Engine) -> Vec<FilterStatus> {
    let mut out = Vec::new();
    for (li, l) in engine.topology().links.iter().enumerate() {
        for d in 0..2u8 {
            if let Some(f) = engine.pipeline(li, d).filter() {
                out.push(FilterStatus {
                    link: l.name.clone(),
                    direction: if d == 0 { "a_to_b" } else { "b_to_a" },
                    fingerprint: f.fingerprint(),
                    stats: f.stats(),
                });
            }
        }
    }
    out
}

/// The counters of `engine` alone (no ports, no loop).
pub fn engine_snapshot(engine: &Engine) -> DataPlaneSnapshot {
    DataPlaneSnapshot {
        engine: engine.snapshot(),
        ports: Vec::new(),
        loop_stats: LoopStats::default(),
        filters: filter_statuses(engine),
    }
}

fn check_links(what: &str, got: usize, engine_links: usize) -> Result<(), CommandError> {
    if got == engine_links {
        Ok(())
    } else {
        Err(CommandError::Rejected(format!("{what} for {got} links, the topology has {engine_links}")))
    }
}

fn check_faults(plan: &FaultPlan, topo: &Topology) -> Result<(), CommandError> {
    check_links("a fault plan", plan.links.len(), topo.links.len())?;
    if let Some(p) = plan.partitions.iter().find(|p| p.side.len() != topo.nodes.len()) {
        return Err(CommandError::Rejected(format!(
            "partition {} names {} nodes, the topology has {}",
            p.id,
            p.side.len(),
            topo.nodes.len()
        )));
    }
    Ok(())
}

fn install_faults(engine: &mut Engine, plan: FaultPlan, now: Instant) {
    for (l, [ab, ba]) in plan.links.into_iter().enumerate() {
        engine.set_faults(l, 0, ab, now);
        engine.set_faults(l, 1, ba, now);
    }
    engine.set_partitions(plan.partitions);
}

fn set_filters(engine: &mut Engine, plan: FilterPlan) {
    for (l, pair) in plan.into_iter().enumerate() {
        for (d, change) in (0u8..).zip(pair) {
            match change {
                FilterChange::Keep => {}
                FilterChange::Clear => engine.set_filter(l, d, None),
                FilterChange::Set(f) => engine.set_filter(l, d, Some(f)),
            }
        }
    }
}

/// Checks a reload plan against itself before anything changes.
pub fn check_reload(plan: &ReloadPlan) -> Result<(), CommandError> {
    check_faults(&plan.faults, &plan.topo)?;
    check_links("a filter plan", plan.filters.len(), plan.topo.links.len())
}

/// The engine part of a reload: topology, then faults, partitions and
/// filters, with no packet in between. `plan` must have passed
/// [`check_reload`]; its devices are the caller's business.
pub fn reload_engine(
    engine: &mut Engine,
    topo: &Topology,
    faults: FaultPlan,
    filters: FilterPlan,
    now: Instant,
) -> ReloadReport {
    let report = engine.reload(topo, now);
    install_faults(engine, faults, now);
    set_filters(engine, filters);
    report
}

/// Applies `cmd` to `engine` at `now`. [`EngineCommand::Shutdown`] only
/// answers (stopping is the caller's business); a reload's devices are
/// ignored (see [`reload_engine`]).
pub fn execute(engine: &mut Engine, cmd: EngineCommand, now: Instant) -> Result<EngineReply, CommandError> {
    let links = engine.topology().links.len();
    match cmd {
        EngineCommand::SetImpairments { link, a_to_b, b_to_a } => {
            if link >= links {
                return Err(CommandError::Rejected(format!("no link {link}: the topology has {links}")));
            }
            engine.set_impairments(link, 0, &a_to_b, now);
            engine.set_impairments(link, 1, &b_to_a, now);
            Ok(EngineReply::Done)
        }
        EngineCommand::InstallFaults(plan) => {
            check_faults(&plan, engine.topology())?;
            install_faults(engine, plan, now);
            Ok(EngineReply::Done)
        }
        EngineCommand::ClearFaults => {
            engine.clear_faults(now);
            Ok(EngineReply::Done)
        }
        EngineCommand::SetFilters(plan) => {
            check_links("a filter plan", plan.len(), links)?;
            set_filters(engine, plan);
            Ok(EngineReply::Done)
        }
        EngineCommand::Reload(plan) => {
            check_reload(&plan)?;
            let ReloadPlan { topo, faults, filters, .. } = *plan;
            Ok(EngineReply::Reloaded(reload_engine(engine, &topo, faults, filters, now)))
        }
        EngineCommand::Snapshot => Ok(EngineReply::Snapshot(Box::new(engine_snapshot(engine)))),
        EngineCommand::FilterStats => Ok(EngineReply::Filters(filter_statuses(engine))),
        EngineCommand::Stall { ms } => {
            std::thread::sleep(Duration::from_millis(ms).min(MAX_STALL));
            Ok(EngineReply::Done)
        }
        EngineCommand::Shutdown => Ok(EngineReply::Done),
    }
}
