//! A running appliance: the devices of a topology, the data-plane thread, and
//! live reload.
//!
//! Contract: [`Appliance::reload`] is all-or-nothing for everything that can
//! fail: nodes whose device or kind changed are refused (restart to rebuild
//! them), new nodes are created before the data plane switches over — and
//! removed again if any fails — so a failed reload leaves the running
//! topology untouched. Once the data plane has switched, removed nodes'
//! ports are closed and their namespaces deleted.

use std::io;

use super::attach::{AttachError, AttachPolicy, Origin};
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
    /// An attach node the operator has not allowed.
    #[error(transparent)]
    Attach(#[from] AttachError),
}

/// Devices plus data plane.
pub struct Appliance {
    topo: Topology,
    attach: AttachPolicy,
    instance: Option<Instance>,
    dataplane: Option<DataPlane>,
}

impl Appliance {
    /// Builds the devices of `topo` (names prefixed with `prefix`) and starts forwarding.
    pub fn start(topo: Topology, prefix: &str, opts: Options) -> Result<Appliance, ApplianceError> {
        Appliance::start_with(topo, prefix, opts, AttachPolicy::default())
    }

    /// Like [`Appliance::start`], with the operator's attach allow-list
    /// (checked now for `topo`, and for every reload).
    pub fn start_with(
        topo: Topology,
        prefix: &str,
        opts: Options,
        attach: AttachPolicy,
    ) -> Result<Appliance, ApplianceError> {
        attach.check(&topo, None, Origin::CommandLine)?;
        let (instance, ports) = setup::realize(&topo, prefix)?;
        let engine = Engine::new(&topo, super::now());
        match DataPlane::start(engine, ports, opts) {
            Ok(dp) => Ok(Appliance { topo, attach, instance: Some(instance), dataplane: Some(dp) }),
            Err(e) => {
                let _ = instance.teardown();
                Err(e.into())
            }
        }
    }

    /// The running topology.
    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    /// The running topology, to record changes made through the API
    /// (scripts); impairments go through [`Appliance::set_link_impairments`].
    pub fn topology_mut(&mut self) -> &mut Topology {
        &mut self.topo
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

    /// Replaces the running topology without stopping traffic.
    pub fn reload(&mut self, new: Topology) -> Result<ReloadReport, ApplianceError> {
        let (Some(inst), Some(dp)) = (self.instance.as_mut(), self.dataplane.as_ref()) else {
            return Err(ApplianceError::Stopped);
        };
        let old = &self.topo;
        self.attach.check(&new, Some(old), Origin::Live)?;
        let new_places = inst.plan(&new);
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
                    if o.addresses != n.addresses || o.gateways != n.gateways || o.mtu != n.mtu {
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
        let ports: Vec<(usize, Port)> = match setup::add_nodes(inst, &new, &added) {
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
        let add: Vec<(String, Port)> = ports.into_iter().map(|(i, p)| (new.nodes[i].name.clone(), p)).collect();
        let remove: Vec<String> = removed.iter().map(|&j| old.nodes[j].name.clone()).collect();
        let report = dp.handle().reload(new.clone(), add, remove).ok_or(ApplianceError::Stopped)?;
        for &j in &removed {
            for e in inst.remove_node(&old_places[j], &old.nodes[j].kind) {
                tracing::warn!(node = %old.nodes[j].name, error = %e, "reload: removing node");
            }
        }
        inst.set_places(new_places);
        self.topo = new;
        Ok(report)
    }

    /// Sets the configured impairments of both directions of a link.
    pub fn set_link_impairments(
        &mut self,
        link: usize,
        a_to_b: crate::impair::Impairments,
        b_to_a: crate::impair::Impairments,
    ) -> Result<(), ApplianceError> {
        let handle = self.handle().ok_or(ApplianceError::Stopped)?;
        let l = self.topo.links.get_mut(link).ok_or(ApplianceError::Stopped)?;
        l.a_to_b = a_to_b;
        l.b_to_a = b_to_a;
        handle
            .apply(move |e, now| {
                e.set_impairments(link, 0, &a_to_b, now);
                e.set_impairments(link, 1, &b_to_a, now);
            })
            .ok_or(ApplianceError::Stopped)
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
