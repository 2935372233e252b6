//! Snapshots: every counter of the engine copied out, for the control plane.
//!
//! Contract: a snapshot is a plain value taken between two engine calls, so
//! it is consistent (no packet is half counted). Taking one allocates and
//! copies; the data plane does it at the control plane's request, never per
//! packet. The types serialise to the JSON the API serves and `/metrics`
//! renders.

use serde::Serialize;

use super::{Engine, SegKind};
use crate::counters::{DirCounters, NodeCounters, SegmentCounters};
use crate::pipeline::Pipeline;

/// Counters and queue depths of one link direction.
#[derive(Clone, Debug, Serialize)]
pub struct DirSnapshot {
    /// Counters.
    #[serde(flatten)]
    pub counters: DirCounters,
    /// Wire packets waiting in the shaper.
    pub queue_packets: u64,
    /// Wire bytes waiting in the shaper.
    pub queue_bytes: u64,
    /// Wire packets in the delay line.
    pub delay_line_packets: u64,
    /// The impairments in force, netem style (configured, with fault rate limits).
    pub impairments: String,
    /// Ids of the faults installed on this direction.
    pub faults: Vec<u64>,
}

/// One link.
#[derive(Clone, Debug, Serialize)]
pub struct LinkSnapshot {
    /// Name.
    pub name: String,
    /// End a.
    pub a: String,
    /// End b.
    pub b: String,
    /// a → b.
    pub a_to_b: DirSnapshot,
    /// b → a.
    pub b_to_a: DirSnapshot,
}

/// One node.
#[derive(Clone, Debug, Serialize)]
pub struct NodeSnapshot {
    /// Name.
    pub name: String,
    /// Its link.
    pub link: String,
    /// Counters.
    #[serde(flatten)]
    pub counters: NodeCounters,
}

/// One segment.
#[derive(Clone, Debug, Serialize)]
pub struct SegmentSnapshot {
    /// Name.
    pub name: String,
    /// `switch` or `router`.
    pub kind: &'static str,
    /// Counters.
    #[serde(flatten)]
    pub counters: SegmentCounters,
    /// Learned MACs (switch) or neighbours (router).
    pub table_entries: usize,
    /// Neighbours the router's size cap forced out (0 for a switch).
    pub neighbor_evictions: u64,
    /// Packets the router holds for a next hop that has not resolved yet.
    pub neighbor_pending_packets: usize,
}

/// Everything countable, copied out of the engine.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// Engine time of the copy (ns).
    pub at_ns: u64,
    /// Links.
    pub links: Vec<LinkSnapshot>,
    /// Nodes.
    pub nodes: Vec<NodeSnapshot>,
    /// Segments.
    pub segments: Vec<SegmentSnapshot>,
}

impl Engine {
    /// Copies every counter out.
    pub fn snapshot(&self) -> Snapshot {
        let dir = |p: &Pipeline| DirSnapshot {
            counters: p.counters,
            queue_packets: p.shaper_queue_packets(),
            queue_bytes: p.shaper_queue_bytes(),
            delay_line_packets: p.delay_line_packets(),
            impairments: p.impairments().summary(),
            faults: p.faults().map(|f| f.id).collect(),
        };
        Snapshot {
            at_ns: self.now.as_nanos(),
            links: self
                .links
                .iter()
                .map(|l| LinkSnapshot {
                    name: l.name.clone(),
                    a: self.topo.endpoint_name(l.a).to_string(),
                    b: self.topo.endpoint_name(l.b).to_string(),
                    a_to_b: dir(&l.dirs[0]),
                    b_to_a: dir(&l.dirs[1]),
                })
                .collect(),
            nodes: self
                .nodes
                .iter()
                .map(|n| NodeSnapshot {
                    name: n.name.clone(),
                    link: self.links[n.link].name.clone(),
                    counters: n.counters,
                })
                .collect(),
            segments: self
                .segs
                .iter()
                .map(|s| SegmentSnapshot {
                    name: s.name.clone(),
                    kind: match s.kind {
                        SegKind::Switch(_) => "switch",
                        SegKind::Router(_) => "router",
                    },
                    counters: s.counters,
                    table_entries: match &s.kind {
                        SegKind::Switch(m) => m.len(),
                        SegKind::Router(r) => r.neighbors.len(),
                    },
                    neighbor_evictions: match &s.kind {
                        SegKind::Switch(_) => 0,
                        SegKind::Router(r) => r.neighbors.evictions(),
                    },
                    neighbor_pending_packets: match &s.kind {
                        SegKind::Switch(_) => 0,
                        SegKind::Router(r) => r.neighbors.pending_len(),
                    },
                })
                .collect(),
        }
    }
}
