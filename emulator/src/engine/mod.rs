//! The engine: every port, segment and link direction of a topology, with no
//! I/O and no clock.
//!
//! Contract (quinn-style): the I/O layer calls [`Engine::handle_rx`] with each
//! frame a node sent and `now`; frames the engine wants delivered accumulate in
//! per-node transmit queues ([`Engine::tx_queue`]); [`Engine::poll_timeout`]
//! says when a held packet next becomes due and [`Engine::handle_timeout`]
//! releases everything due. Between those calls nothing happens — there is no
//! task, thread or sleep per packet. A packet's path is: node → link direction
//! (pipeline) → segment (rule table: switch, route, steer, balance, drop) →
//! link direction → … → node, so impairments accumulate along multi-hop paths
//! and a link's shaper is shared by every flow that crosses it. A packet that
//! leaves a link at virtual instant *t* enters the next one at *t*, so the
//! lateness of the caller never adds to a path's delay.
//!
//! Layout (after smoltcp's `iface/interface/`): this file holds the engine,
//! its timers and the work loop that carries packets between links and
//! segments. Each segment kind lives beside it — the switch in `switch.rs`,
//! the router (ARP/ND, ICMP, neighbour cache) in `router.rs` and `router/` —
//! and so do `reload.rs`, `snapshot.rs` and `build.rs` (segment state from a
//! topology). Every table is bounded and every drop has a [`DropReason`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

mod build;
mod reload;
mod router;
mod snapshot;
mod switch;

pub use reload::ReloadReport;
pub use router::neighbor::{
    Answer, ENTRY_LIFETIME_NS, LEARNED_ROUTE_LIFETIME_NS, NEIGHBOR_CACHE_MAX, NeighborCache, PENDING_PER_TARGET,
    PENDING_TARGETS_MAX, RESOLVE_TIMEOUT_NS, SOLICIT_INTERVAL_NS,
};
pub use snapshot::{DirSnapshot, LinkSnapshot, NodeSnapshot, SegmentSnapshot, Snapshot};

use crate::counters::{DropReason, NodeCounters, SegmentCounters};
use crate::fault::{FaultEffect, PartitionEffect};
use crate::forward::{Action, MacTable, Port, RuleTable, flow_hash};
use crate::impair::Impairments;
use crate::packet::{Csum, Packet};
use crate::pipeline::{PacketFilter, Pipeline};
use crate::rng::{Probability, StageId, StageRng};
use crate::time::Instant;
use crate::topology::{Endpoint, LinkId, NodeId, SegmentId, Topology};
use crate::wire::{self, Mac, PacketInfo, ethertype};

use self::build::build_segments;
use self::router::RouterState;

/// Default bound of a node's transmit queue, in frames.
pub const DEFAULT_TX_LIMIT: usize = 8192;

struct NodeState {
    name: String,
    mac: Option<Mac>,
    l3: bool,
    link: LinkId,
    dir_out: u8,
    counters: NodeCounters,
}

struct LinkState {
    name: String,
    a: Endpoint,
    b: Endpoint,
    dirs: [Pipeline; 2],
}

impl LinkState {
    fn to(&self, dir: u8) -> Endpoint {
        if dir == 0 { self.b } else { self.a }
    }
}

enum SegKind {
    Switch(MacTable),
    Router(Box<RouterState>),
}

/// The first hop from a segment toward a node.
#[derive(Clone, Copy, Debug)]
struct Hop {
    /// The port to leave by.
    port: Port,
    /// The MAC of the first router on the way, if the node is behind one
    /// (frames are addressed to it).
    via_router: Option<Mac>,
}

struct SegState {
    name: String,
    mac: Mac,
    kind: SegKind,
    ports: Vec<Port>,
    /// First hop from this segment toward each node.
    toward: Vec<Option<Hop>>,
    rules: RuleTable,
    counters: SegmentCounters,
}

/// What a timer of the engine serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// A link direction's pipeline (index `link * 2 + dir`).
    Dir(usize),
    /// A router's packets waiting for a neighbour resolution.
    Neighbors(SegmentId),
}

enum Work {
    Arrive { ep: Endpoint, from_link: LinkId, pkt: Packet, at: Instant },
}

/// A live topology.
pub struct Engine {
    topo: Topology,
    nodes: Vec<NodeState>,
    segs: Vec<SegState>,
    links: Vec<LinkState>,
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    /// The earliest instant pushed for each link direction, if any.
    armed: Vec<Option<Instant>>,
    /// The same for each segment's neighbour timer.
    armed_segs: Vec<Option<Instant>>,
    tx: Vec<VecDeque<Packet>>,
    tx_limit: usize,
    work: VecDeque<Work>,
    exits: Vec<(Packet, Instant)>,
    now: Instant,
    partitions: Vec<(PartitionEffect, Probability)>,
    partition_rng: StageRng,
    /// Frames a router call sent, reused between calls.
    router_out: Vec<(Port, Packet)>,
}

fn dir_index(link: LinkId, dir: u8) -> usize {
    link * 2 + usize::from(dir)
}

impl Engine {
    /// Builds the live state of `topo` at `now`.
    pub fn new(topo: &Topology, now: Instant) -> Engine {
        let links: Vec<LinkState> = topo
            .links
            .iter()
            .map(|l| LinkState {
                name: l.name.clone(),
                a: l.a,
                b: l.b,
                dirs: [
                    Pipeline::new(&l.a_to_b, topo.seed, &l.name, 0, now),
                    Pipeline::new(&l.b_to_a, topo.seed, &l.name, 1, now),
                ],
            })
            .collect();
        let nodes: Vec<NodeState> = topo
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| NodeState {
                name: n.name.clone(),
                mac: n.mac,
                l3: n.is_l3(),
                link: n.link,
                dir_out: topo.node_attachment(i).1,
                counters: NodeCounters::default(),
            })
            .collect();
        let mut e = Engine {
            topo: topo.clone(),
            nodes,
            segs: Vec::new(),
            armed: vec![None; links.len() * 2],
            armed_segs: vec![None; topo.segments.len()],
            links,
            timers: BinaryHeap::new(),
            tx: (0..topo.nodes.len()).map(|_| VecDeque::new()).collect(),
            tx_limit: DEFAULT_TX_LIMIT,
            work: VecDeque::new(),
            exits: Vec::new(),
            now,
            partitions: Vec::new(),
            partition_rng: StageRng::new(topo.seed, "partitions", 0, StageId::Fault),
            router_out: Vec::new(),
        };
        e.segs = build_segments(topo);
        e
    }

    /// Installs the fault overlay of one link direction.
    pub fn set_faults(&mut self, link: LinkId, dir: u8, effects: Vec<FaultEffect>, now: Instant) {
        self.links[link].dirs[usize::from(dir)].set_faults(effects, now);
        self.rearm(dir_index(link, dir));
    }

    /// Replaces the active partitions.
    pub fn set_partitions(&mut self, parts: Vec<PartitionEffect>) {
        self.partitions = parts
            .into_iter()
            .map(|p| {
                let prob = Probability::new(p.probability);
                (p, prob)
            })
            .collect();
    }

    /// Removes every fault and partition at once (the kill switch).
    pub fn clear_faults(&mut self, now: Instant) {
        for l in 0..self.links.len() {
            for dir in 0..2u8 {
                self.set_faults(l, dir, Vec::new(), now);
            }
        }
        self.partitions.clear();
    }

    /// The topology the engine runs.
    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    /// Sets the bound of every node's transmit queue.
    pub fn set_tx_limit(&mut self, frames: usize) {
        self.tx_limit = frames.max(1);
    }

    /// Frames waiting to be written to node `n`.
    pub fn tx_queue(&mut self, n: NodeId) -> &mut VecDeque<Packet> {
        &mut self.tx[n]
    }

    /// True when any node has frames waiting.
    pub fn has_tx(&self) -> bool {
        self.tx.iter().any(|q| !q.is_empty())
    }

    /// Counts frames that a node's device refused (queue full at the OS).
    pub fn count_tx_dropped(&mut self, n: NodeId, frames: u64) {
        self.nodes[n].counters.tx_dropped += frames;
    }

    /// The pipeline of a link direction.
    pub fn pipeline(&self, link: LinkId, dir: u8) -> &Pipeline {
        &self.links[link].dirs[usize::from(dir)]
    }

    /// The pipeline of a link direction, mutable (e.g. to attach a filter).
    pub fn pipeline_mut(&mut self, link: LinkId, dir: u8) -> &mut Pipeline {
        &mut self.links[link].dirs[usize::from(dir)]
    }

    /// Installs a filter on a link direction.
    pub fn set_filter(&mut self, link: LinkId, dir: u8, f: Option<Box<dyn PacketFilter>>) {
        self.links[link].dirs[usize::from(dir)].set_filter(f);
    }

    /// Changes a link direction's impairments in place.
    pub fn set_impairments(&mut self, link: LinkId, dir: u8, imp: &Impairments, now: Instant) {
        self.links[link].dirs[usize::from(dir)].set_impairments(imp, now);
        if dir == 0 {
            self.topo.links[link].a_to_b = *imp;
        } else {
            self.topo.links[link].b_to_a = *imp;
        }
        self.rearm(dir_index(link, dir));
    }

    /// The rule table of a segment (to add traffic-class rules).
    pub fn rules_mut(&mut self, seg: SegmentId) -> &mut RuleTable {
        &mut self.segs[seg].rules
    }

    /// The earliest instant at which something is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    fn rearm(&mut self, d: usize) {
        let (l, dir) = (d / 2, d % 2);
        if let Some(t) = self.links[l].dirs[dir].poll_timeout() {
            if self.armed[d].is_none_or(|a| t < a) {
                self.armed[d] = Some(t);
                self.timers.push(Reverse((t, Timer::Dir(d))));
            }
        }
    }

    /// Arms router `s`'s neighbour timer, so that packets waiting for a
    /// resolution are dropped on time even if no other packet arrives.
    fn rearm_neighbors(&mut self, s: SegmentId) {
        let SegKind::Router(r) = &self.segs[s].kind else { return };
        if let Some(t) = r.neighbors.poll_timeout() {
            if self.armed_segs[s].is_none_or(|a| t < a) {
                self.armed_segs[s] = Some(t);
                self.timers.push(Reverse((t, Timer::Neighbors(s))));
            }
        }
    }

    /// Releases everything due by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        while let Some(&Reverse((t, timer))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            let d = match timer {
                Timer::Dir(d) => d,
                Timer::Neighbors(s) => {
                    if self.armed_segs[s] == Some(t) {
                        self.armed_segs[s] = None;
                        self.with_router(s, now, |r| r.expire());
                    }
                    continue;
                }
            };
            if self.armed[d] != Some(t) {
                continue;
            }
            self.armed[d] = None;
            let (l, dir) = (d / 2, d % 2);
            let mut exits = std::mem::take(&mut self.exits);
            self.links[l].dirs[dir].handle_timeout(now, &mut exits);
            let to = self.links[l].to(dir as u8);
            for (pkt, at) in exits.drain(..) {
                self.work.push_back(Work::Arrive { ep: to, from_link: l, pkt, at });
            }
            self.exits = exits;
            self.rearm(d);
            self.run_work();
        }
    }

    /// Takes a frame that node `n` sent at `now`. For TUN nodes the frame is
    /// an IP packet (the engine adds an Ethernet header); otherwise Ethernet.
    pub fn handle_rx(&mut self, n: NodeId, mut pkt: Packet, now: Instant) {
        self.now = self.now.max(now);
        let node = &mut self.nodes[n];
        let (link, dir) = (node.link, node.dir_out);
        if node.l3 {
            let Some(et) = pkt.data().first().map(|b| match b >> 4 {
                4 => ethertype::IPV4,
                6 => ethertype::IPV6,
                _ => 0,
            }) else {
                node.counters.malformed += 1;
                self.links[link].dirs[usize::from(dir)].count_dropped_at_entry(&pkt, DropReason::Malformed);
                return;
            };
            let (src, dst) = (node.mac.unwrap_or(Mac::ZERO), self.peer_mac(link, dir));
            wire::write_eth(pkt.prepend(wire::ETH_HDR_LEN), dst, src, et);
            shift_csum(&mut pkt, wire::ETH_HDR_LEN as i32);
        }
        let info = match wire::parse(pkt.data()) {
            Ok(i) => i,
            Err(_) => {
                let node = &mut self.nodes[n];
                node.counters.malformed += 1;
                self.links[link].dirs[usize::from(dir)].count_dropped_at_entry(&pkt, DropReason::Malformed);
                return;
            }
        };
        if pkt.prepare_gso(&info).is_err() {
            self.nodes[n].counters.malformed += 1;
            self.links[link].dirs[usize::from(dir)].count_dropped_at_entry(&pkt, DropReason::Malformed);
            return;
        }
        let node = &mut self.nodes[n];
        if node.mac.is_none() && !info.src_mac.is_multicast() && info.src_mac != Mac::ZERO {
            node.mac = Some(info.src_mac);
        }
        node.counters.sent_packets += u64::from(pkt.segments());
        node.counters.sent_bytes += pkt.wire_bytes(0);
        pkt.meta.origin = n as u32;
        pkt.meta.class = 0;
        pkt.meta.route_to = None;
        self.enter_link(link, dir, pkt, now);
        self.run_work();
    }

    /// The MAC a TUN node's synthetic frames are addressed to: the segment's.
    fn peer_mac(&self, link: LinkId, dir: u8) -> Mac {
        match self.links[link].to(dir) {
            Endpoint::Segment(s) => self.segs[s].mac,
            Endpoint::Node(_) => Mac::BROADCAST,
        }
    }

    fn enter_link(&mut self, link: LinkId, dir: u8, pkt: Packet, at: Instant) {
        let d = usize::from(dir);
        if let Some(mtu) = self.links[link].dirs[d].mtu() {
            if let Some(info) = too_big(&pkt, mtu) {
                self.links[link].dirs[d].count_dropped_at_entry(&pkt, DropReason::Mtu);
                self.mtu_error(link, dir, &pkt, &info, mtu, at);
                return;
            }
        }
        let mut exits = std::mem::take(&mut self.exits);
        self.links[link].dirs[d].handle(pkt, at, &mut exits);
        let to = self.links[link].to(dir);
        for (pkt, at) in exits.drain(..) {
            self.work.push_back(Work::Arrive { ep: to, from_link: link, pkt, at });
        }
        self.exits = exits;
        self.rearm(dir_index(link, dir));
    }

    fn run_work(&mut self) {
        while let Some(w) = self.work.pop_front() {
            match w {
                Work::Arrive { ep, from_link, pkt, at } => match ep {
                    Endpoint::Node(n) => self.deliver(n, pkt),
                    Endpoint::Segment(s) => self.forward(s, from_link, pkt, at),
                },
            }
        }
    }

    fn deliver(&mut self, n: NodeId, mut pkt: Packet) {
        let node = &mut self.nodes[n];
        if node.l3 {
            let et = wire::read_u16(pkt.data(), 12).unwrap_or(0);
            if et != ethertype::IPV4 && et != ethertype::IPV6 {
                // ARP and other L2 traffic has no meaning on a TUN device.
                return;
            }
            pkt.strip_front(wire::ETH_HDR_LEN);
            shift_csum(&mut pkt, -(wire::ETH_HDR_LEN as i32));
        }
        if self.tx[n].len() >= self.tx_limit {
            node.counters.tx_dropped += u64::from(pkt.segments());
            return;
        }
        node.counters.received_packets += u64::from(pkt.segments());
        node.counters.received_bytes += pkt.wire_bytes(0) + if node.l3 { wire::ETH_HDR_LEN as u64 } else { 0 };
        self.tx[n].push_back(pkt);
    }

    fn seg_drop(&mut self, s: SegmentId, pkt: &Packet, reason: DropReason) {
        self.segs[s].counters.drops.add(reason, u64::from(pkt.segments()), pkt.wire_bytes(0));
    }

    fn port_of(&self, s: SegmentId, link: LinkId) -> Option<Port> {
        self.segs[s].ports.iter().copied().find(|p| p.link == link)
    }

    fn send_port(&mut self, s: SegmentId, port: Port, pkt: Packet, at: Instant) {
        if !self.partitions.is_empty() {
            if let Endpoint::Node(dst) = self.links[port.link].to(port.dir) {
                let src = pkt.meta.origin as usize;
                let rng = &mut self.partition_rng;
                if self.partitions.iter().any(|(p, prob)| p.separates(src, dst, at) && prob.hit(rng)) {
                    self.segs[s].counters.drops.add(
                        DropReason::Partition,
                        u64::from(pkt.segments()),
                        pkt.wire_bytes(0),
                    );
                    self.links[port.link].dirs[usize::from(port.dir)]
                        .count_dropped_at_entry(&pkt, DropReason::Partition);
                    return;
                }
            }
        }
        self.segs[s].counters.forwarded += 1;
        self.enter_link(port.link, port.dir, pkt, at);
    }

    fn forward(&mut self, s: SegmentId, in_link: LinkId, mut pkt: Packet, at: Instant) {
        let info = match wire::parse(pkt.data()) {
            Ok(i) => i,
            Err(_) => {
                self.seg_drop(s, &pkt, DropReason::Malformed);
                return;
            }
        };
        let action = match pkt.meta.route_to.take() {
            Some(n) if (n as usize) < self.nodes.len() => Action::ToNode(n as usize),
            _ => self.segs[s].rules.lookup(&info, in_link, pkt.meta.origin, pkt.meta.class),
        };
        match action {
            Action::Switch => self.switch(s, in_link, pkt, &info, at),
            Action::Route => self.route(s, in_link, pkt, &info, at),
            Action::ToNode(n) => self.steer(s, in_link, pkt, &info, n, at),
            Action::LoadBalance(ns) if !ns.is_empty() => {
                let n = ns[(flow_hash(&info) % ns.len() as u64) as usize];
                self.steer(s, in_link, pkt, &info, n, at)
            }
            Action::LoadBalance(_) => self.seg_drop(s, &pkt, DropReason::NoRoute),
            Action::Drop(r) => self.seg_drop(s, &pkt, r),
        }
    }

    /// Routes `pkt` at segment `s`. Only a router routes: a switch told to
    /// (by a rule) has no table for it.
    fn route(&mut self, s: SegmentId, in_link: LinkId, pkt: Packet, info: &PacketInfo, at: Instant) {
        if matches!(self.segs[s].kind, SegKind::Router(_)) {
            self.with_router(s, at, |r| r.route(Some(in_link), pkt, info));
        } else {
            self.seg_drop(s, &pkt, DropReason::NoRoute);
        }
    }

    /// Sends a packet to node `n` whatever its destination address (traffic
    /// steering, load balancing, script routing).
    fn steer(&mut self, s: SegmentId, in_link: LinkId, mut pkt: Packet, info: &PacketInfo, n: NodeId, at: Instant) {
        let Some(Hop { port, via_router }) = self.segs[s].toward.get(n).copied().flatten() else {
            self.seg_drop(s, &pkt, DropReason::NoRoute);
            return;
        };
        let dst_mac = via_router.unwrap_or_else(|| self.nodes[n].mac.unwrap_or(Mac::BROADCAST));
        let is_router = matches!(self.segs[s].kind, SegKind::Router(_));
        if is_router && info.is_ip() && !router::decrement_ttl(&mut pkt, info) {
            self.seg_drop(s, &pkt, DropReason::TtlExceeded);
            return;
        }
        let src_mac = if is_router { self.segs[s].mac } else { info.src_mac };
        wire::set_macs(pkt.data_mut(), dst_mac, src_mac);
        if via_router.is_some() {
            // Keep steering at the next segment.
            pkt.meta.route_to = Some(n as u32);
        }
        if port.link == in_link && !is_router {
            self.seg_drop(s, &pkt, DropReason::Filtered);
            return;
        }
        self.send_port(s, port, pkt, at);
    }
}

fn shift_csum(pkt: &mut Packet, by: i32) {
    if let Csum::Partial { start, offset } = pkt.meta.csum {
        let s = i32::from(start) + by;
        pkt.meta.csum =
            if (0..=i32::from(u16::MAX)).contains(&s) { Csum::Partial { start: s as u16, offset } } else { Csum::None };
    }
    if let Some(g) = pkt.meta.gso.as_mut() {
        g.hdr_len = (i32::from(g.hdr_len) + by).max(0) as u16;
    }
}

/// The packet if it exceeds `mtu` (per segment for super-frames).
fn too_big(pkt: &Packet, mtu: u32) -> Option<PacketInfo> {
    let info = wire::parse(pkt.data()).ok()?;
    let size = match pkt.meta.gso {
        Some(g) if g.segs > 1 => usize::from(g.hdr_len).saturating_sub(info.l3_offset) + usize::from(g.size),
        _ if info.is_ip() => info.l3_len,
        _ => pkt.len().saturating_sub(wire::ETH_HDR_LEN),
    };
    (size > mtu as usize).then_some(info)
}
