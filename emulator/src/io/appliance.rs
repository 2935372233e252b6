//! A running appliance: the devices of a topology and the data-plane thread.
//!
//! Contract: the appliance owns devices, not desired state — whoever drives
//! it (the API's controller, the CLI) owns the topology and passes the
//! running one to [`Appliance::reload`]. A reload is all-or-nothing for
//! everything that can fail: nodes whose device or kind changed are refused
//! (restart to rebuild them), new nodes are created before the data plane
//! switches over — and removed again if anything fails, including a data
//! plane that does not take the command — so a failed reload leaves the
//! running topology untouched. The switch itself is one
//! [`EngineCommand::Reload`](super::command::EngineCommand::Reload): topology,
//! faults, partitions, filters and ports change in one data-plane step. Once
//! it is in force, removed nodes' ports are closed and their namespaces
//! deleted.

use std::io;

use super::attach::{AttachError, AttachPolicy, Origin};
use super::command::{CommandError, ReloadPlan};
use super::dataplane::{DataPlane, DataPlaneHandle, Options};
use super::port::Port;
use super::setup::{self, Instance, NodePlace, SetupError};
use crate::engine::{Engine, ReloadReport};
use crate::topology::Topology;

/// Why the appliance could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum ApplianceError {
    /// Building devices failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The data-plane thread could not start.
    #[error("starting the data plane: {0}")]
    DataPlane(#[from] io::Error),
    /// A node changed in a way that needs its device rebuilt.
    #[error("node `{0}` changed its kind, device, namespace or MAC; that needs a restart (live reload keeps devices)")]
    NodeRebuild(String),
    /// The appliance is stopped.
    #[error("the appliance is not running")]
    Stopped,
    /// The data plane did not carry out the switch.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// An attach node the operator has not allowed.
    #[error(transparent)]
    Attach(#[from] AttachError),
}

/// Devices plus data plane.
pub struct Appliance {
    attach: AttachPolicy,
    instance: Option<Instance>,
    dataplane: Option<DataPlane>,
}

impl Appliance {
    /// Builds the devices of `topo` (names prefixed with `prefix`) and starts forwarding.
    pub fn start(topo: &Topology, prefix: &str, opts: Options) -> Result<Appliance, ApplianceError> {
        Appliance::start_with(topo, prefix, opts, AttachPolicy::default())
    }

    /// Like [`Appliance::start`], with the operator's attach allow-list
    /// (checked now for `topo`, and for every reload).
    pub fn start_with(
        topo: &Topology,
        prefix: &str,
        opts: Options,
        attach: AttachPolicy,
    ) -> Result<Appliance, ApplianceError> {
        attach.check(topo, None, Origin::CommandLine)?;
        let (instance, ports) = setup::realize(topo, prefix)?;
        let engine = Engine::new(topo, super::now());
        match DataPlane::start(engine, ports, opts) {
            Ok(dp) => Ok(Appliance { attach, instance: Some(instance), dataplane: Some(dp) }),
            Err(e) => {
                let _ = instance.teardown();
                Err(e.into())
            }
        }
    }

    /// A handle to the data plane.
    pub fn handle(&self) -> Option<DataPlaneHandle> {
        self.dataplane.as_ref().map(|d| d.handle())
    }

    /// Where each node lives.
    pub fn places(&self) -> &[NodePlace] {
        self.instance.as_ref().map_or(&[], |i| &i.places)
    }

    /// The name prefix.
    pub fn prefix(&self) -> &str {
        self.instance.as_ref().map_or("", |i| &i.state().prefix)
    }

    /// Replaces the running topology `old` with `plan.topo` (and its
    /// faults and filters) without stopping traffic: builds the devices of
    /// new nodes, adds them to `plan`, and sends the plan to the data plane
    /// as one command.
    pub fn reload(&mut self, old: &Topology, mut plan: ReloadPlan) -> Result<ReloadReport, ApplianceError> {
        let (Some(inst), Some(dp)) = (self.instance.as_mut(), self.dataplane.as_ref()) else {
            return Err(ApplianceError::Stopped);
        };
        let new = &plan.topo;
        self.attach.check(new, Some(old), Origin::Live)?;
        let new_places = inst.plan(new);
        let old_places = inst.places.clone();
        let mut added = Vec::new();
        let mut reconf = Vec::new();
        for (i, n) in new.nodes.iter().enumerate() {
            match old.node_index(&n.name) {
                Some(j) => {
                    let o = &old.nodes[j];
                    if o.kind != n.kind
                        || o.mac != n.mac
                        || old_places[j].netns != new_places[i].netns
                        || old_places[j].interface != new_places[i].interface
                    {
                        return Err(ApplianceError::NodeRebuild(n.name.clone()));
                    }
                    // An attached interface is the operator's: its addresses
                    // describe what lies behind it and are never applied.
                    let owned = !matches!(n.kind, crate::topology::NodeKind::Attach { .. });
                    if owned && (o.addresses != n.addresses || o.gateways != n.gateways || o.mtu != n.mtu) {
                        reconf.push((j, i));
                    }
                }
                None => added.push(i),
            }
        }
        let removed: Vec<usize> =
            (0..old.nodes.len()).filter(|&j| new.node_index(&old.nodes[j].name).is_none()).collect();
        // Create new nodes first; undo them if anything fails.
        let saved_places = std::mem::replace(&mut inst.places, new_places.clone());
        let ports: Vec<(usize, Port)> = match setup::add_nodes(inst, new, &added) {
            Ok(p) => p,
            Err(e) => {
                for &i in &added {
                    let _ = inst.remove_node(&new_places[i], &new.nodes[i].kind);
                }
                inst.places = saved_places;
                return Err(e.into());
            }
        };
        for &(j, i) in &reconf {
            if let Err(e) = inst.reconfigure_node(&new_places[i], &old.nodes[j], &new.nodes[i]) {
                // Addresses are best effort: report, keep going (traffic is unaffected).
                tracing::warn!(node = %new.nodes[i].name, error = %e, "reload: reconfiguring node");
            }
        }
        plan.add = ports.into_iter().map(|(i, p)| (new.nodes[i].name.clone(), p)).collect();
        plan.remove = removed.iter().map(|&j| old.nodes[j].name.clone()).collect();
        // Kept for undoing: `plan` moves into the command.
        let added_nodes: Vec<(NodePlace, crate::topology::NodeKind)> =
            added.iter().map(|&i| (new_places[i].clone(), new.nodes[i].kind.clone())).collect();
        let report = match dp.handle().reload(plan) {
            Ok(r) => r,
            Err(e) => {
                // Not switched (withdrawn, refused or stopped): the devices
                // built for it go, the running topology stays.
                for (place, kind) in &added_nodes {
                    let _ = inst.remove_node(place, kind);
                }
                inst.places = saved_places;
                return Err(e.into());
            }
        };
        for &j in &removed {
            for e in inst.remove_node(&old_places[j], &old.nodes[j].kind) {
                tracing::warn!(node = %old.nodes[j].name, error = %e, "reload: removing node");
            }
        }
        inst.set_places(new_places);
        Ok(report)
    }

    /// Stops forwarding and removes every device; returns the final engine.
    pub fn stop(&mut self) -> Option<Engine> {
        let engine = self.dataplane.take().and_then(|d| d.stop());
        if let Some(inst) = self.instance.take() {
            for e in inst.teardown() {
                tracing::warn!(error = %e, "cleanup");
            }
        }
        engine
    }
}

impl Drop for Appliance {
    fn drop(&mut self) {
        self.stop();
    }
}
