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

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

mod neighbor;

pub use neighbor::{
    Answer, ENTRY_LIFETIME_NS, LEARNED_ROUTE_LIFETIME_NS, NEIGHBOR_CACHE_MAX, NeighborCache, PENDING_PER_TARGET,
    PENDING_TARGETS_MAX, RESOLVE_TIMEOUT_NS, SOLICIT_INTERVAL_NS,
};

use crate::counters::{DirCounters, DropReason, NodeCounters, SegmentCounters};
use crate::fault::{FaultEffect, PartitionEffect};
use crate::forward::{Action, Lpm, MacTable, Port, RouteEntry, RuleTable, flow_hash};
use crate::impair::Impairments;
use crate::packet::{Csum, Packet};
use crate::pipeline::{PacketFilter, Pipeline};
use crate::rng::{Probability, StageId, StageRng};
use crate::time::Instant;
use crate::topology::{Cidr, Endpoint, LinkId, NodeId, SegmentId, SegmentKind, Topology};
use crate::wire::{self, L3, Mac, PacketInfo, build, ethertype, ipproto};

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

struct Router {
    addrs: Vec<Cidr>,
    lpm: Lpm,
    /// Neighbours, learned routes and packets waiting for a resolution
    /// (each held with its egress port).
    neighbors: NeighborCache<(Packet, Port)>,
}

enum SegKind {
    Switch(MacTable),
    Router(Box<Router>),
}

struct SegState {
    name: String,
    mac: Mac,
    kind: SegKind,
    ports: Vec<Port>,
    /// First-hop port from this segment toward each node.
    toward: Vec<Option<(Port, Option<SegmentId>)>>,
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
}

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
        };
        e.segs = build_segments(topo);
        e
    }

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

    /// The topology, mutable (names and scripts recorded by the control plane).
    pub fn topology_mut(&mut self) -> &mut Topology {
        &mut self.topo
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

    /// Drops (and counts) what router `s` held for a next hop that did not
    /// resolve in time.
    fn expire_neighbors(&mut self, s: SegmentId, now: Instant) {
        let seg = &mut self.segs[s];
        let SegKind::Router(r) = &mut seg.kind else { return };
        let counters = &mut seg.counters;
        r.neighbors.expire(now, |(p, _)| {
            counters.drops.add(DropReason::Unresolved, u64::from(p.segments()), p.wire_bytes(0));
        });
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
                        self.expire_neighbors(s, now);
                        self.rearm_neighbors(s);
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
            Action::Route => self.route(s, in_link, pkt, &info, at, false),
            Action::ToNode(n) => self.steer(s, in_link, pkt, &info, n, at),
            Action::LoadBalance(ns) if !ns.is_empty() => {
                let n = ns[(flow_hash(&info) % ns.len() as u64) as usize];
                self.steer(s, in_link, pkt, &info, n, at)
            }
            Action::LoadBalance(_) => self.seg_drop(s, &pkt, DropReason::NoRoute),
            Action::Drop(r) => self.seg_drop(s, &pkt, r),
        }
    }

    fn switch(&mut self, s: SegmentId, in_link: LinkId, pkt: Packet, info: &PacketInfo, at: Instant) {
        let SegKind::Switch(macs) = &mut self.segs[s].kind else {
            // A router asked to switch: treat as routing.
            self.route(s, in_link, pkt, info, at, false);
            return;
        };
        macs.learn(info.src_mac, in_link, at);
        if !info.dst_mac.is_multicast() {
            if let Some(l) = macs.lookup(info.dst_mac, at) {
                if l == in_link {
                    self.seg_drop(s, &pkt, DropReason::Filtered);
                } else if let Some(p) = self.port_of(s, l) {
                    self.send_port(s, p, pkt, at);
                }
                return;
            }
        }
        self.flood(s, Some(in_link), pkt, at);
    }

    fn flood(&mut self, s: SegmentId, except: Option<LinkId>, pkt: Packet, at: Instant) {
        self.segs[s].counters.flooded += 1;
        let ports: Vec<Port> = self.segs[s].ports.iter().copied().filter(|p| Some(p.link) != except).collect();
        let Some((last, rest)) = ports.split_last() else {
            return;
        };
        for p in rest {
            self.send_port(s, *p, pkt.clone(), at);
        }
        self.send_port(s, *last, pkt, at);
    }

    /// Sends a packet to node `n` whatever its destination address (traffic
    /// steering, load balancing, script routing).
    fn steer(&mut self, s: SegmentId, in_link: LinkId, mut pkt: Packet, info: &PacketInfo, n: NodeId, at: Instant) {
        let Some((port, via)) = self.segs[s].toward.get(n).copied().flatten() else {
            self.seg_drop(s, &pkt, DropReason::NoRoute);
            return;
        };
        let dst_mac = match via {
            Some(r) => self.segs[r].mac,
            None => self.nodes[n].mac.unwrap_or(Mac::BROADCAST),
        };
        let is_router = matches!(self.segs[s].kind, SegKind::Router(_));
        if is_router && info.is_ip() && !decrement_ttl(&mut pkt, info) {
            self.seg_drop(s, &pkt, DropReason::TtlExceeded);
            return;
        }
        let src_mac = if is_router { self.segs[s].mac } else { info.src_mac };
        wire::set_macs(pkt.data_mut(), dst_mac, src_mac);
        if via.is_some() {
            // Keep steering at the next segment.
            pkt.meta.route_to = Some(n as u32);
        }
        if port.link == in_link && !is_router {
            self.seg_drop(s, &pkt, DropReason::Filtered);
            return;
        }
        self.send_port(s, port, pkt, at);
    }

    fn route(&mut self, s: SegmentId, in_link: LinkId, mut pkt: Packet, info: &PacketInfo, at: Instant, local: bool) {
        let seg_mac = self.segs[s].mac;
        if !local && !info.dst_mac.is_multicast() && info.dst_mac != seg_mac {
            // A router only takes frames addressed to it.
            self.seg_drop(s, &pkt, DropReason::Filtered);
            return;
        }
        match info.l3 {
            L3::Arp => {
                self.router_arp(s, in_link, &pkt, info, at);
                return;
            }
            L3::Other(_) => {
                self.seg_drop(s, &pkt, DropReason::Filtered);
                return;
            }
            _ => {}
        }
        if !local && info.proto == ipproto::ICMPV6 && (133..=137).contains(&info.icmp_type) {
            self.router_nd(s, in_link, &pkt, info, at);
            return;
        }
        if is_link_local_or_multicast(info.dst_ip) {
            self.seg_drop(s, &pkt, DropReason::Filtered);
            return;
        }
        let SegKind::Router(r) = &mut self.segs[s].kind else {
            self.seg_drop(s, &pkt, DropReason::NoRoute);
            return;
        };
        if !local {
            // Learn neighbours from traffic, and routes to addresses no table knows.
            if !info.src_mac.is_multicast() && !is_link_local_or_multicast(info.src_ip) && !info.src_ip.is_unspecified()
            {
                let l = &self.links[in_link];
                let other = if l.a == Endpoint::Segment(s) { l.b } else { l.a };
                let from_router = matches!(other, Endpoint::Segment(x) if self.topo.segments[x].is_router());
                if !from_router && r.lpm.lookup(info.src_ip).is_none() {
                    if let Some(p) = self.port_of(s, in_link) {
                        self.learn_neighbor(s, info.src_ip, info.src_mac, Some(p), at);
                    }
                }
            }
            let SegKind::Router(r) = &self.segs[s].kind else { return };
            if r.addrs.iter().any(|a| a.addr == info.dst_ip) {
                self.router_local(s, pkt, info, at);
                return;
            }
        }
        let SegKind::Router(r) = &self.segs[s].kind else { return };
        let entry = r
            .neighbors
            .route(info.dst_ip, at)
            .map(|port| RouteEntry { port, node: None })
            .or_else(|| r.lpm.lookup(info.dst_ip));
        let Some(entry) = entry else {
            self.seg_drop(s, &pkt, DropReason::NoRoute);
            if !local {
                self.icmp_error(s, &pkt, info, IcmpKind::Unreachable, at);
            }
            return;
        };
        if !local && !decrement_ttl(&mut pkt, info) {
            self.seg_drop(s, &pkt, DropReason::TtlExceeded);
            self.icmp_error(s, &pkt, info, IcmpKind::TimeExceeded, at);
            return;
        }
        // Next-hop MAC: the next router on the path, the destination node, or a
        // learned neighbour.
        let via_router = self.segs[s].toward_router(entry);
        let known = match via_router {
            Some(r) => Some(self.segs[r].mac),
            None => entry.node.and_then(|n| self.nodes[n].mac),
        };
        let answer = match (known, &self.segs[s].kind) {
            (Some(m), _) => Answer::Found(m),
            (None, SegKind::Router(r)) => r.neighbors.lookup(info.dst_ip, at),
            (None, SegKind::Switch(_)) => Answer::NotFound,
        };
        match answer {
            Answer::Found(m) => {
                wire::set_macs(pkt.data_mut(), m, seg_mac);
                self.send_port(s, entry.port, pkt, at);
            }
            Answer::NotFound | Answer::RateLimited => self.resolve(s, entry.port, info.dst_ip, pkt, at),
        }
    }

    /// Holds `pkt` until `target` resolves, asking for it (ARP request or
    /// neighbour solicitation) at most once per [`SOLICIT_INTERVAL_NS`].
    fn resolve(&mut self, s: SegmentId, port: Port, target: IpAddr, pkt: Packet, at: Instant) {
        // Drop what is overdue first, so an expired queue does not refuse
        // (or rate-limit) a fresh attempt.
        self.expire_neighbors(s, at);
        let seg_mac = self.segs[s].mac;
        let SegKind::Router(r) = &mut self.segs[s].kind else { return };
        let refused = r.neighbors.hold(target, (pkt, port), at).err();
        let ask = r.neighbors.lookup(target, at) == Answer::NotFound && r.neighbors.solicited(target, at);
        let our = source_for(&r.addrs, target);
        if let Some((p, _)) = refused {
            self.seg_drop(s, &p, DropReason::NeighborQueueFull);
        }
        self.rearm_neighbors(s);
        if ask {
            let req = match (target, our) {
                (IpAddr::V4(t), Some(IpAddr::V4(o))) => build::arp_request(seg_mac, o, t),
                (IpAddr::V4(t), _) => build::arp_request(seg_mac, Ipv4Addr::UNSPECIFIED, t),
                (IpAddr::V6(t), Some(IpAddr::V6(o))) => build::neighbor_solicit(seg_mac, o, t),
                (IpAddr::V6(t), _) => build::neighbor_solicit(seg_mac, link_local(seg_mac), t),
            };
            self.segs[s].counters.answered += 1;
            self.send_port(s, port, Packet::from_slice(&req), at);
        }
    }

    /// Records that `ip` is at `mac` (behind `port` when learned from routed
    /// traffic) and sends what waited for it.
    fn learn_neighbor(&mut self, s: SegmentId, ip: IpAddr, mac: Mac, port: Option<Port>, at: Instant) {
        if mac.is_multicast() || mac == Mac::ZERO || ip.is_unspecified() {
            return;
        }
        let SegKind::Router(r) = &mut self.segs[s].kind else { return };
        let waiting = r.neighbors.fill(ip, mac, port, at);
        let seg_mac = self.segs[s].mac;
        for (mut pkt, port) in waiting {
            wire::set_macs(pkt.data_mut(), mac, seg_mac);
            self.send_port(s, port, pkt, at);
        }
    }

    /// True when router `s` should answer for `target` asked on `in_link`:
    /// its own address, or (proxy) an address it routes out another port.
    fn answers_for(&self, s: SegmentId, in_link: LinkId, target: IpAddr, at: Instant) -> bool {
        let SegKind::Router(r) = &self.segs[s].kind else {
            return false;
        };
        if r.addrs.iter().any(|a| a.addr == target) {
            return true;
        }
        r.neighbors
            .route(target, at)
            .or_else(|| r.lpm.lookup(target).map(|e| e.port))
            .is_some_and(|p| p.link != in_link)
    }

    fn router_arp(&mut self, s: SegmentId, in_link: LinkId, pkt: &Packet, info: &PacketInfo, at: Instant) {
        let Ok(arp) = wire::Arp::new_checked(&pkt.data()[info.l3_offset..]) else {
            self.seg_drop(s, pkt, DropReason::Malformed);
            return;
        };
        let (sender_mac, sender_ip, target) = (arp.sender_mac(), arp.sender_ip(), arp.target_ip());
        self.learn_neighbor(s, IpAddr::V4(sender_ip), sender_mac, None, at);
        if arp.op() == 1 && sender_ip != target && self.answers_for(s, in_link, IpAddr::V4(target), at) {
            let reply = build::arp_reply(self.segs[s].mac, target, sender_mac, sender_ip);
            if let Some(p) = self.port_of(s, in_link) {
                self.segs[s].counters.answered += 1;
                self.send_port(s, p, Packet::from_slice(&reply), at);
            }
        } else {
            self.seg_drop(s, pkt, DropReason::Filtered);
        }
    }

    fn router_nd(&mut self, s: SegmentId, in_link: LinkId, pkt: &Packet, info: &PacketInfo, at: Instant) {
        let data = pkt.data();
        let l4 = &data[info.l4_offset..(info.l3_offset + info.l3_len).min(data.len())];
        let target = l4.get(8..24).map(|b| {
            let mut o = [0u8; 16];
            o.copy_from_slice(b);
            Ipv6Addr::from(o)
        });
        // Options start after the 24-byte NS/NA body.
        let mut lladdr = None;
        let mut off = 24;
        while off + 8 <= l4.len() {
            let (kind, len) = (l4[off], usize::from(l4[off + 1]) * 8);
            if len == 0 || off + len > l4.len() {
                break;
            }
            if (kind == 1 || kind == 2) && len >= 8 {
                let mut m = [0u8; 6];
                m.copy_from_slice(&l4[off + 2..off + 8]);
                lladdr = Some(Mac(m));
            }
            off += len;
        }
        match (info.icmp_type, target) {
            (135, Some(t)) => {
                let IpAddr::V6(src) = info.src_ip else { return };
                if let Some(m) = lladdr {
                    self.learn_neighbor(s, info.src_ip, m, None, at);
                }
                if src.is_unspecified() || !self.answers_for(s, in_link, IpAddr::V6(t), at) {
                    self.seg_drop(s, pkt, DropReason::Filtered);
                    return;
                }
                let na = build::neighbor_advert(self.segs[s].mac, t, lladdr.unwrap_or(info.src_mac), src);
                if let Some(p) = self.port_of(s, in_link) {
                    self.segs[s].counters.answered += 1;
                    self.send_port(s, p, Packet::from_slice(&na), at);
                }
            }
            (136, Some(t)) => {
                self.learn_neighbor(s, IpAddr::V6(t), lladdr.unwrap_or(info.src_mac), None, at);
            }
            _ => self.seg_drop(s, pkt, DropReason::Filtered),
        }
    }

    fn router_local(&mut self, s: SegmentId, mut pkt: Packet, info: &PacketInfo, at: Instant) {
        let echo = (info.proto == ipproto::ICMP && info.icmp_type == 8)
            || (info.proto == ipproto::ICMPV6 && info.icmp_type == 128);
        if !echo || info.fragment || pkt.meta.gso.is_some() {
            self.seg_drop(s, &pkt, DropReason::Filtered);
            return;
        }
        if crate::gso::finalize_checksum(&mut pkt).is_err() {
            self.seg_drop(s, &pkt, DropReason::Malformed);
            return;
        }
        let mac = self.segs[s].mac;
        if !build::echo_reply_in_place(pkt.data_mut(), info, mac) {
            self.seg_drop(s, &pkt, DropReason::Malformed);
            return;
        }
        pkt.meta = crate::packet::Meta::default();
        self.segs[s].counters.answered += 1;
        if let Ok(ri) = wire::parse(pkt.data()) {
            self.route(s, usize::MAX, pkt, &ri, at, true);
        }
    }

    fn icmp_error(&mut self, s: SegmentId, pkt: &Packet, info: &PacketInfo, kind: IcmpKind, at: Instant) {
        // Never answer an error with an error, nor multicast or fragments.
        if matches!(info.proto, ipproto::ICMP | ipproto::ICMPV6) && !matches!(info.icmp_type, 8 | 128) {
            return;
        }
        if info.fragment || is_link_local_or_multicast(info.src_ip) || info.src_ip.is_unspecified() {
            return;
        }
        let SegKind::Router(r) = &self.segs[s].kind else { return };
        let Some(from) = source_for(&r.addrs, info.src_ip) else { return };
        let mac = self.segs[s].mac;
        let frame = match (from, kind) {
            (IpAddr::V4(f), IcmpKind::TimeExceeded) => {
                build::icmpv4_error(f, mac, mac, pkt.data(), info, build::IcmpError { icmp_type: 11, code: 0, mtu: 0 })
            }
            (IpAddr::V4(f), IcmpKind::Unreachable) => {
                build::icmpv4_error(f, mac, mac, pkt.data(), info, build::IcmpError { icmp_type: 3, code: 1, mtu: 0 })
            }
            (IpAddr::V4(f), IcmpKind::TooBig(mtu)) => {
                build::icmpv4_error(f, mac, mac, pkt.data(), info, build::IcmpError { icmp_type: 3, code: 4, mtu })
            }
            (IpAddr::V6(f), IcmpKind::TimeExceeded) => {
                build::icmpv6_error(f, mac, mac, pkt.data(), info, build::IcmpError { icmp_type: 3, code: 0, mtu: 0 })
            }
            (IpAddr::V6(f), IcmpKind::Unreachable) => {
                build::icmpv6_error(f, mac, mac, pkt.data(), info, build::IcmpError { icmp_type: 1, code: 3, mtu: 0 })
            }
            (IpAddr::V6(f), IcmpKind::TooBig(mtu)) => {
                build::icmpv6_error(f, mac, mac, pkt.data(), info, build::IcmpError { icmp_type: 2, code: 0, mtu })
            }
        };
        let Some(frame) = frame else { return };
        self.segs[s].counters.icmp_errors += 1;
        let p = Packet::from_slice(&frame);
        if let Ok(ri) = wire::parse(p.data()) {
            self.route(s, usize::MAX, p, &ri, at, true);
        }
    }

    fn mtu_error(&mut self, link: LinkId, dir: u8, pkt: &Packet, info: &PacketInfo, mtu: u32, at: Instant) {
        // The nearest router answers: the one the packet leaves, or the one it
        // was heading to.
        let from = self.links[link].to(1 - dir);
        let to = self.links[link].to(dir);
        let router = [from, to].into_iter().find_map(|e| match e {
            Endpoint::Segment(s) if matches!(self.segs[s].kind, SegKind::Router(_)) => Some(s),
            _ => None,
        });
        let Some(s) = router else { return };
        if info.l3 == L3::Ipv4 && !info.dont_fragment {
            return;
        }
        self.icmp_error(s, pkt, info, IcmpKind::TooBig(mtu), at);
    }

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

    /// The routes of a router segment (prefix, egress link name, node).
    pub fn routes(&self, s: SegmentId) -> Vec<(Cidr, String, Option<String>)> {
        match &self.segs[s].kind {
            SegKind::Router(r) => r
                .lpm
                .routes()
                .into_iter()
                .map(|(c, e)| (c, self.links[e.port.link].name.clone(), e.node.map(|n| self.nodes[n].name.clone())))
                .collect(),
            SegKind::Switch(_) => Vec::new(),
        }
    }
}

#[derive(Clone, Copy)]
enum IcmpKind {
    TimeExceeded,
    Unreachable,
    TooBig(u32),
}

impl SegState {
    /// The router a route entry leads through, if the next L3 hop is a router.
    fn toward_router(&self, e: RouteEntry) -> Option<SegmentId> {
        e.node.and_then(|n| self.toward.get(n).copied().flatten()).and_then(|(_, via)| via)
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

fn decrement_ttl(pkt: &mut Packet, info: &PacketInfo) -> bool {
    if info.ttl <= 1 {
        return false;
    }
    let l3 = info.l3_offset;
    match info.l3 {
        L3::Ipv4 => {
            if let Ok(mut ip) = wire::Ipv4::new_checked(&mut pkt.data_mut()[l3..]) {
                ip.set_ttl(info.ttl - 1);
            }
        }
        L3::Ipv6 => {
            if let Ok(mut ip) = wire::Ipv6::new_checked(&mut pkt.data_mut()[l3..]) {
                ip.set_hop_limit(info.ttl - 1);
            }
        }
        _ => {}
    }
    true
}

fn is_link_local_or_multicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_multicast() || a.is_broadcast() || a.is_link_local(),
        IpAddr::V6(a) => a.is_multicast() || (a.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// The router address to speak from toward `peer`: one whose subnet holds the
/// peer, else the first of the same family.
fn source_for(addrs: &[Cidr], peer: IpAddr) -> Option<IpAddr> {
    addrs
        .iter()
        .find(|a| a.contains(peer))
        .or_else(|| addrs.iter().find(|a| a.addr.is_ipv4() == peer.is_ipv4()))
        .map(|a| a.addr)
}

fn link_local(mac: Mac) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([m[0] ^ 2, m[1]]),
        u16::from_be_bytes([m[2], 0xff]),
        u16::from_be_bytes([0xfe, m[3]]),
        u16::from_be_bytes([m[4], m[5]]),
    )
}

/// Builds segment state: ports, first hops toward every node, switch MAC
/// seeds and router tables.
fn build_segments(topo: &Topology) -> Vec<SegState> {
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
        let toward: Vec<Option<(Port, Option<SegmentId>)>> = topo
            .nodes
            .iter()
            .enumerate()
            .map(|(n, node)| {
                let (att, _) = topo.node_attachment(n);
                if att == s {
                    ports[s].iter().copied().find(|p| p.link == node.link).map(|p| (p, None))
                } else {
                    first[att]
                }
            })
            .collect();
        let seg = &topo.segments[s];
        let kind = match &seg.kind {
            SegmentKind::Switch => {
                let mut macs = MacTable::default();
                for (n, node) in topo.nodes.iter().enumerate() {
                    if let (Some(mac), Some((p, None))) = (node.mac, toward[n]) {
                        macs.seed(mac, p.link);
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
                    if let Some((p, _)) = toward[n] {
                        for a in &node.addresses {
                            let host = Cidr { addr: a.addr, prefix: if a.addr.is_ipv4() { 32 } else { 128 } };
                            lpm.insert(host, RouteEntry { port: p, node: Some(n) }, false);
                        }
                    }
                }
                for r in &topo.routes {
                    if let Some((p, _)) = toward[r.via] {
                        lpm.insert(r.prefix, RouteEntry { port: p, node: Some(r.via) }, false);
                    }
                }
                SegKind::Router(Box::new(Router { addrs: addresses.clone(), lpm, neighbors: NeighborCache::default() }))
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
