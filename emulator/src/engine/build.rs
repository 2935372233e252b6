//! Building segment state from a topology: ports, the first hop from every
//! segment toward every node, switch MAC seeds and router tables.
//!
//! Contract: a pure function of the topology, run at start and at every
//! reload. Paths between segments are breadth-first (fewest segments), and
//! the first router on a path is recorded so that a segment can address a
//! frame to that router's MAC without asking anyone.

use std::collections::VecDeque;

use super::router::RouterState;
use super::{Hop, SegKind, SegState};
use crate::counters::SegmentCounters;
use crate::forward::{Action, Lpm, MacTable, Port, RouteEntry, RuleTable};
use crate::topology::{Cidr, Endpoint, SegmentId, SegmentKind, Topology};

/// Builds segment state: ports, first hops toward every node, switch MAC
/// seeds and router tables.
pub(super) fn build_segments(topo: &Topology) -> Vec<SegState> {
    let nseg = topo.segments.len();
    // Segment adjacency: (neighbour segment, port on this side).
    let mut adj: Vec<Vec<(SegmentId, Port)>> = vec![Vec::new(); nseg];
    let mut ports: Vec<Vec<Port>> = vec![Vec::new(); nseg];
    for (li, l) in topo.links.iter().enumerate() {
        for (end, dir_out) in [(l.a, 0u8), (l.b, 1u8)] {
            if let Endpoint::Segment(s) = end {
                ports[s].push(Port { link: li, dir: dir_out });
                if let Endpoint::Segment(o) = l.to(dir_out) {
                    adj[s].push((o, Port { link: li, dir: dir_out }));
                }
            }
        }
    }
    let mut out = Vec::with_capacity(nseg);
    for s in 0..nseg {
        // BFS over segments: first-hop port and the first router after `s`.
        let mut first: Vec<Option<(Port, Option<SegmentId>)>> = vec![None; nseg];
        let mut seen = vec![false; nseg];
        seen[s] = true;
        let mut q = VecDeque::new();
        for &(o, p) in &adj[s] {
            if !seen[o] {
                seen[o] = true;
                let via = topo.segments[o].is_router().then_some(o);
                first[o] = Some((p, via));
                q.push_back(o);
            }
        }
        while let Some(x) = q.pop_front() {
            let (p, via) = first[x].expect("queued segments have a first hop");
            for &(o, _) in &adj[x] {
                if !seen[o] {
                    seen[o] = true;
                    let v = via.or_else(|| topo.segments[o].is_router().then_some(o));
                    first[o] = Some((p, v));
                    q.push_back(o);
                }
            }
        }
        let toward: Vec<Option<Hop>> = topo
            .nodes
            .iter()
            .enumerate()
            .map(|(n, node)| {
                let (att, _) = topo.node_attachment(n);
                if att == s {
                    ports[s].iter().copied().find(|p| p.link == node.link).map(|port| Hop { port, via_router: None })
                } else {
                    first[att].map(|(port, via)| Hop { port, via_router: via.map(|r| topo.segments[r].mac) })
                }
            })
            .collect();
        let seg = &topo.segments[s];
        let kind = match &seg.kind {
            SegmentKind::Switch => {
                let mut macs = MacTable::default();
                for (n, node) in topo.nodes.iter().enumerate() {
                    if let (Some(mac), Some(Hop { port, via_router: None })) = (node.mac, toward[n]) {
                        macs.seed(mac, port.link);
                    }
                }
                for (r, rs) in topo.segments.iter().enumerate() {
                    if rs.is_router() && r != s {
                        if let Some((p, _)) = first[r] {
                            macs.seed(rs.mac, p.link);
                        }
                    }
                }
                SegKind::Switch(macs)
            }
            SegmentKind::Router { addresses } => {
                let mut lpm = Lpm::default();
                for (n, node) in topo.nodes.iter().enumerate() {
                    if let Some(hop) = toward[n] {
                        for a in &node.addresses {
                            let host = Cidr { addr: a.addr, prefix: if a.addr.is_ipv4() { 32 } else { 128 } };
                            lpm.insert(host, RouteEntry { port: hop.port, node: Some(n) }, false);
                        }
                    }
                }
                for r in &topo.routes {
                    if let Some(hop) = toward[r.via] {
                        lpm.insert(r.prefix, RouteEntry { port: hop.port, node: Some(r.via) }, false);
                    }
                }
                // Sources seen through another router are that router's to
                // know: they are not learned.
                let router_links =
                    adj[s].iter().filter(|(o, _)| topo.segments[*o].is_router()).map(|(_, p)| p.link).collect();
                SegKind::Router(Box::new(RouterState::new(addresses.clone(), lpm, router_links)))
            }
        };
        let rules = match &seg.kind {
            SegmentKind::Switch => RuleTable::default_for(Action::Switch),
            SegmentKind::Router { .. } => RuleTable::default_for(Action::Route),
        };
        out.push(SegState {
            name: seg.name.clone(),
            mac: seg.mac,
            kind,
            ports: ports[s].clone(),
            toward,
            rules,
            counters: SegmentCounters::default(),
        });
    }
    out
}
