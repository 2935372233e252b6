//! Reload: replace the running topology while traffic flows.
//!
//! Contract: a link with the same name and the same ends keeps its pipeline
//! (queues, token-bucket credit, random streams, counters) and takes new
//! impairments in place; a removed or re-ended link drops what it held and
//! counts it; node indices of held packets are remapped by name; segments
//! are rebuilt (a router's neighbour cache starts empty, and what it held
//! waiting for a resolution is counted as dropped). Faults, filters and rules
//! are not carried over: the caller installs them again.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use super::build::build_segments;
use super::{Engine, LinkState, NodeState, SegKind};
use crate::counters::DropReason;
use crate::packet::Packet;
use crate::pipeline::Pipeline;
use crate::time::Instant;
use crate::topology::Topology;

/// What a reload kept, changed, added and removed.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ReloadReport {
    /// Links carried over untouched (queues, buckets and counters kept).
    pub links_kept: Vec<String>,
    /// Links carried over with new impairments, applied in place.
    pub links_changed: Vec<String>,
    /// New links (and links whose ends changed, rebuilt).
    pub links_added: Vec<String>,
    /// Links that are gone.
    pub links_removed: Vec<String>,
    /// Packets that were queued on removed links and were dropped.
    pub packets_dropped: u64,
    /// Nodes added.
    pub nodes_added: Vec<String>,
    /// Nodes removed.
    pub nodes_removed: Vec<String>,
}

impl Engine {
    /// Replaces the running topology. Links with the same name and the same
    /// ends keep their pipelines — queues, token-bucket credit, random streams
    /// and counters — and take new impairments in place; removed links drop
    /// (and count) what they held; node indices of held packets are remapped.
    /// Faults, filters and rules must be installed again by the caller.
    pub fn reload(&mut self, topo: &Topology, now: Instant) -> ReloadReport {
        let mut report = ReloadReport::default();
        let remap: Vec<u32> =
            self.nodes.iter().map(|n| topo.node_index(&n.name).map_or(u32::MAX, |i| i as u32)).collect();
        let fix = |p: &mut Packet| {
            if let Some(&m) = remap.get(p.meta.origin as usize) {
                p.meta.origin = m;
            }
            if let Some(r) = p.meta.route_to {
                p.meta.route_to = remap.get(r as usize).copied().filter(|&m| m != u32::MAX);
            }
        };
        let old_topo = std::mem::replace(&mut self.topo, topo.clone());
        let mut old: HashMap<String, LinkState> = self.links.drain(..).map(|l| (l.name.clone(), l)).collect();
        let mut links = Vec::with_capacity(topo.links.len());
        for l in &topo.links {
            let reuse = old.remove(&l.name).and_then(|mut st| {
                let same_ends = old_topo.endpoint_name(st.a) == topo.endpoint_name(l.a)
                    && old_topo.endpoint_name(st.b) == topo.endpoint_name(l.b);
                if same_ends {
                    Some(st)
                } else {
                    report.packets_dropped +=
                        st.dirs[0].drain(DropReason::LinkRemoved) + st.dirs[1].drain(DropReason::LinkRemoved);
                    st.dirs[0].set_filter(None);
                    None
                }
            });
            match reuse {
                Some(mut st) => {
                    st.a = l.a;
                    st.b = l.b;
                    let changed =
                        *st.dirs[0].base_impairments() != l.a_to_b || *st.dirs[1].base_impairments() != l.b_to_a;
                    st.dirs[0].set_impairments(&l.a_to_b, now);
                    st.dirs[1].set_impairments(&l.b_to_a, now);
                    st.dirs[0].set_faults(Vec::new(), now);
                    st.dirs[1].set_faults(Vec::new(), now);
                    st.dirs[0].for_each_held_mut(fix);
                    st.dirs[1].for_each_held_mut(fix);
                    if changed {
                        report.links_changed.push(l.name.clone());
                    } else {
                        report.links_kept.push(l.name.clone());
                    }
                    links.push(st);
                }
                None => {
                    report.links_added.push(l.name.clone());
                    links.push(LinkState {
                        name: l.name.clone(),
                        a: l.a,
                        b: l.b,
                        dirs: [
                            Pipeline::new(&l.a_to_b, topo.seed, &l.name, 0, now),
                            Pipeline::new(&l.b_to_a, topo.seed, &l.name, 1, now),
                        ],
                    });
                }
            }
        }
        for (name, mut st) in old {
            report.packets_dropped +=
                st.dirs[0].drain(DropReason::LinkRemoved) + st.dirs[1].drain(DropReason::LinkRemoved);
            report.links_removed.push(name);
        }
        self.links = links;
        // Nodes: keep counters (and learned MACs of attached interfaces) by name.
        let mut old_nodes: HashMap<String, NodeState> = self.nodes.drain(..).map(|n| (n.name.clone(), n)).collect();
        let mut old_tx: HashMap<String, VecDeque<Packet>> = HashMap::new();
        for (i, q) in std::mem::take(&mut self.tx).into_iter().enumerate() {
            if let Some(name) = old_topo.nodes.get(i).map(|n| n.name.clone()) {
                old_tx.insert(name, q);
            }
        }
        self.nodes = topo
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let prev = old_nodes.remove(&n.name);
                if prev.is_none() {
                    report.nodes_added.push(n.name.clone());
                }
                NodeState {
                    name: n.name.clone(),
                    mac: n.mac.or_else(|| prev.as_ref().and_then(|p| p.mac)),
                    l3: n.is_l3(),
                    link: n.link,
                    dir_out: topo.node_attachment(i).1,
                    counters: prev.map(|p| p.counters).unwrap_or_default(),
                }
            })
            .collect();
        report.nodes_removed = old_nodes.into_keys().collect();
        report.nodes_removed.sort();
        self.tx = topo.nodes.iter().map(|n| old_tx.remove(&n.name).unwrap_or_default()).collect();
        for q in &mut self.tx {
            for p in q.iter_mut() {
                fix(p);
            }
        }
        // Segments are rebuilt: packets a router held for a resolution go.
        for seg in &mut self.segs {
            if let SegKind::Router(r) = &mut seg.kind {
                report.packets_dropped +=
                    r.neighbors.drain_pending().map(|(p, _)| u64::from(p.segments())).sum::<u64>();
            }
        }
        self.segs = build_segments(topo);
        self.partitions.clear();
        self.timers.clear();
        self.armed = vec![None; self.links.len() * 2];
        self.armed_segs = vec![None; self.segs.len()];
        for d in 0..self.links.len() * 2 {
            self.rearm(d);
        }
        report
    }
}
