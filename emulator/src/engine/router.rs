//! The router: longest-prefix routing, ARP and neighbour discovery, echo
//! replies for its own addresses, ICMP errors and neighbour resolution.
//!
//! Contract: a router only takes frames addressed to its MAC (or
//! multicast). It answers ARP and NS for its own addresses and, as a proxy,
//! for addresses it routes out of another port; answers pings to its own
//! addresses; decrements TTL / hop limit and sends time-exceeded,
//! unreachable and too-big errors. Next-hop MACs come from the topology (the
//! node, or the next router on the path) or from its [`NeighborCache`], which
//! also learns where addresses no table knows sit (from routed traffic, not
//! through another router). Every handler here works on one router's state
//! through a [`Router`] view and *returns* the frames it sends, in order, in
//! `out`; the engine puts them on their links after the call — so a handler
//! never re-borrows the engine, and the only recursion is the router
//! routing a frame it made itself (echo reply, ICMP error).

pub mod icmp;
pub mod neighbor;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use self::icmp::{IcmpKind, arp_op, icmpv6, is_echo_request, is_nd, nd_fields};
use self::neighbor::{Answer, NeighborCache};
use super::{Engine, Hop, NodeState, SegKind};
use crate::counters::{DropReason, SegmentCounters};
use crate::forward::{Lpm, Port, RouteEntry};
use crate::packet::Packet;
use crate::time::Instant;
use crate::topology::{Cidr, LinkId, SegmentId};
use crate::wire::{self, L3, Mac, PacketInfo, build};

/// A router's own state: its addresses, its routes and its neighbours.
pub(super) struct RouterState {
    addrs: Vec<Cidr>,
    lpm: Lpm,
    /// Links whose far end is another router: sources seen through them are
    /// that router's to know, and are not learned here.
    router_links: Vec<LinkId>,
    /// Neighbours, learned routes, and packets (with their egress port)
    /// waiting for a resolution.
    pub(super) neighbors: NeighborCache<(Packet, Port)>,
}

impl RouterState {
    pub(super) fn new(addrs: Vec<Cidr>, lpm: Lpm, router_links: Vec<LinkId>) -> Self {
        RouterState { addrs, lpm, router_links, neighbors: NeighborCache::default() }
    }
}

/// One call into a router: its state, what it may read of the rest of the
/// engine, and the frames it sends.
pub(super) struct Router<'a> {
    /// The router's tables.
    pub(super) state: &'a mut RouterState,
    /// Its MAC (every port has the same one).
    pub(super) mac: Mac,
    /// Its segment counters.
    pub(super) counters: &'a mut SegmentCounters,
    /// Its ports.
    pub(super) ports: &'a [Port],
    /// The first hop toward each node.
    pub(super) toward: &'a [Option<Hop>],
    /// The nodes (for their MACs).
    pub(super) nodes: &'a [NodeState],
    /// Engine time of the call.
    pub(super) at: Instant,
    /// Frames to send, in order, with their egress port.
    pub(super) out: &'a mut Vec<(Port, Packet)>,
}

impl Router<'_> {
    fn count_drop(&mut self, pkt: &Packet, reason: DropReason) {
        self.counters.drops.add(reason, u64::from(pkt.segments()), pkt.wire_bytes(0));
    }

    fn send(&mut self, port: Port, pkt: Packet) {
        self.out.push((port, pkt));
    }

    fn port_of(&self, link: LinkId) -> Option<Port> {
        self.ports.iter().copied().find(|p| p.link == link)
    }

    /// Routes `pkt`, which arrived on `from` — or was made by the router
    /// itself when `from` is `None` (an echo reply, an ICMP error): such a
    /// frame is not filtered by MAC, teaches nothing and keeps its TTL.
    pub(super) fn route(&mut self, from: Option<LinkId>, mut pkt: Packet, info: &PacketInfo) {
        if from.is_some() && !info.dst_mac.is_multicast() && info.dst_mac != self.mac {
            // A router only takes frames addressed to it.
            self.count_drop(&pkt, DropReason::Filtered);
            return;
        }
        match info.l3 {
            L3::Arp => {
                if let Some(in_link) = from {
                    self.arp(in_link, &pkt, info);
                }
                return;
            }
            L3::Other(_) => {
                self.count_drop(&pkt, DropReason::Filtered);
                return;
            }
            _ => {}
        }
        if let Some(in_link) = from {
            if is_nd(info) {
                self.nd(in_link, &pkt, info);
                return;
            }
        }
        if is_link_local_or_multicast(info.dst_ip) {
            self.count_drop(&pkt, DropReason::Filtered);
            return;
        }
        if let Some(in_link) = from {
            self.learn_from_traffic(in_link, info);
            if self.state.addrs.iter().any(|a| a.addr == info.dst_ip) {
                self.local(pkt, info);
                return;
            }
        }
        let learned = self.state.neighbors.route(info.dst_ip, self.at).map(|port| RouteEntry { port, node: None });
        let Some(entry) = learned.or_else(|| self.state.lpm.lookup(info.dst_ip)) else {
            self.count_drop(&pkt, DropReason::NoRoute);
            if from.is_some() {
                self.icmp_error(&pkt, info, IcmpKind::Unreachable);
            }
            return;
        };
        if from.is_some() && !decrement_ttl(&mut pkt, info) {
            self.count_drop(&pkt, DropReason::TtlExceeded);
            self.icmp_error(&pkt, info, IcmpKind::TimeExceeded);
            return;
        }
        // Next-hop MAC: the next router on the path, the destination node, or
        // a neighbour.
        let hop = entry.node.and_then(|n| self.toward.get(n).copied().flatten());
        let known = match hop.and_then(|h| h.via_router) {
            Some(m) => Some(m),
            None => entry.node.and_then(|n| self.nodes[n].mac),
        };
        let answer = match known {
            Some(m) => Answer::Found(m),
            None => self.state.neighbors.lookup(info.dst_ip, self.at),
        };
        match answer {
            Answer::Found(m) => {
                wire::set_macs(pkt.data_mut(), m, self.mac);
                self.send(entry.port, pkt);
            }
            Answer::NotFound | Answer::RateLimited => self.resolve(entry.port, info.dst_ip, pkt, answer),
        }
    }

    /// Learns the source of a routed packet when no table knows it: its MAC,
    /// and the port it sits behind.
    fn learn_from_traffic(&mut self, in_link: LinkId, info: &PacketInfo) {
        if info.src_mac.is_multicast() || is_link_local_or_multicast(info.src_ip) || info.src_ip.is_unspecified() {
            return;
        }
        if self.state.router_links.contains(&in_link) || self.state.lpm.lookup(info.src_ip).is_some() {
            return;
        }
        if let Some(p) = self.port_of(in_link) {
            self.learn(info.src_ip, info.src_mac, Some(p));
        }
    }

    /// Holds `pkt` until `target` resolves; asks for it (ARP request or
    /// neighbour solicitation) unless the cache says a request went out
    /// less than a solicit interval ago.
    fn resolve(&mut self, port: Port, target: IpAddr, pkt: Packet, answer: Answer) {
        // Drop what is overdue first, so that an expired queue neither
        // refuses nor rate-limits a fresh attempt.
        self.expire();
        let answer = if answer == Answer::RateLimited { self.state.neighbors.lookup(target, self.at) } else { answer };
        if let Err((p, _)) = self.state.neighbors.hold(target, (pkt, port), self.at) {
            self.count_drop(&p, DropReason::NeighborQueueFull);
        }
        if answer != Answer::NotFound || !self.state.neighbors.solicited(target, self.at) {
            return;
        }
        let req = match (target, source_for(&self.state.addrs, target)) {
            (IpAddr::V4(t), Some(IpAddr::V4(o))) => build::arp_request(self.mac, o, t),
            (IpAddr::V4(t), _) => build::arp_request(self.mac, Ipv4Addr::UNSPECIFIED, t),
            (IpAddr::V6(t), Some(IpAddr::V6(o))) => build::neighbor_solicit(self.mac, o, t),
            (IpAddr::V6(t), _) => build::neighbor_solicit(self.mac, link_local(self.mac), t),
        };
        self.counters.answered += 1;
        self.send(port, Packet::from_slice(&req));
    }

    /// Drops (and counts) what waited longer than the resolve timeout.
    pub(super) fn expire(&mut self) {
        let counters = &mut *self.counters;
        self.state.neighbors.expire(self.at, |(p, _)| {
            counters.drops.add(DropReason::Unresolved, u64::from(p.segments()), p.wire_bytes(0));
        });
    }

    /// Records that `ip` is at `mac` (behind `port` when learned from routed
    /// traffic) and sends what waited for it.
    fn learn(&mut self, ip: IpAddr, mac: Mac, port: Option<Port>) {
        // A group address has no neighbour (Linux drops such ARP too);
        // link-local ones do, and ND depends on them.
        let group = match ip {
            IpAddr::V4(a) => a.is_multicast() || a.is_broadcast(),
            IpAddr::V6(a) => a.is_multicast(),
        };
        if group || mac.is_multicast() || mac == Mac::ZERO || ip.is_unspecified() {
            return;
        }
        if self.state.addrs.iter().any(|a| a.addr == ip) {
            // Someone claims the router's own address: not a neighbour.
            return;
        }
        for (mut pkt, port) in self.state.neighbors.fill(ip, mac, port, self.at) {
            wire::set_macs(pkt.data_mut(), mac, self.mac);
            self.send(port, pkt);
        }
    }

    /// True when the router should answer for `target` asked on `in_link`:
    /// its own address, or (proxy) an address it routes out another port.
    fn answers_for(&self, in_link: LinkId, target: IpAddr) -> bool {
        if self.state.addrs.iter().any(|a| a.addr == target) {
            return true;
        }
        self.state
            .neighbors
            .route(target, self.at)
            .or_else(|| self.state.lpm.lookup(target).map(|e| e.port))
            .is_some_and(|p| p.link != in_link)
    }

    fn arp(&mut self, in_link: LinkId, pkt: &Packet, info: &PacketInfo) {
        let Ok(arp) = wire::Arp::new_checked(&pkt.data()[info.l3_offset..]) else {
            self.count_drop(pkt, DropReason::Malformed);
            return;
        };
        let (sender_mac, sender_ip, target) = (arp.sender_mac(), arp.sender_ip(), arp.target_ip());
        let is_request = arp.op() == arp_op::REQUEST;
        self.learn(IpAddr::V4(sender_ip), sender_mac, None);
        if is_request && sender_ip != target && self.answers_for(in_link, IpAddr::V4(target)) {
            let reply = build::arp_reply(self.mac, target, sender_mac, sender_ip);
            if let Some(p) = self.port_of(in_link) {
                self.counters.answered += 1;
                self.send(p, Packet::from_slice(&reply));
            }
        } else {
            self.count_drop(pkt, DropReason::Filtered);
        }
    }

    fn nd(&mut self, in_link: LinkId, pkt: &Packet, info: &PacketInfo) {
        let data = pkt.data();
        let l4 = &data[info.l4_offset..(info.l3_offset + info.l3_len).min(data.len())];
        let fields = nd_fields(l4);
        match (info.icmp_type, fields.target) {
            (icmpv6::NEIGHBOR_SOLICIT, Some(t)) => {
                let IpAddr::V6(src) = info.src_ip else { return };
                if let Some(m) = fields.lladdr {
                    self.learn(info.src_ip, m, None);
                }
                if src.is_unspecified() || !self.answers_for(in_link, IpAddr::V6(t)) {
                    self.count_drop(pkt, DropReason::Filtered);
                    return;
                }
                let na = build::neighbor_advert(self.mac, t, fields.lladdr.unwrap_or(info.src_mac), src);
                if let Some(p) = self.port_of(in_link) {
                    self.counters.answered += 1;
                    self.send(p, Packet::from_slice(&na));
                }
            }
            (icmpv6::NEIGHBOR_ADVERT, Some(t)) => {
                self.learn(IpAddr::V6(t), fields.lladdr.unwrap_or(info.src_mac), None);
            }
            _ => self.count_drop(pkt, DropReason::Filtered),
        }
    }

    /// A packet for one of the router's own addresses: pings are answered,
    /// everything else is dropped.
    fn local(&mut self, mut pkt: Packet, info: &PacketInfo) {
        if !is_echo_request(info) || info.fragment || pkt.meta.gso.is_some() {
            self.count_drop(&pkt, DropReason::Filtered);
            return;
        }
        if crate::gso::finalize_checksum(&mut pkt).is_err() {
            self.count_drop(&pkt, DropReason::Malformed);
            return;
        }
        if !build::echo_reply_in_place(pkt.data_mut(), info, self.mac) {
            self.count_drop(&pkt, DropReason::Malformed);
            return;
        }
        pkt.meta = crate::packet::Meta::default();
        self.counters.answered += 1;
        if let Ok(ri) = wire::parse(pkt.data()) {
            self.route(None, pkt, &ri);
        }
    }

    /// Sends the error `kind` about `pkt` back to its source, if one may be
    /// sent.
    pub(super) fn icmp_error(&mut self, pkt: &Packet, info: &PacketInfo, kind: IcmpKind) {
        let Some(from) = source_for(&self.state.addrs, info.src_ip) else { return };
        let Some(frame) = icmp::error_frame(from, self.mac, pkt, info, kind) else { return };
        self.counters.icmp_errors += 1;
        let p = Packet::from_slice(&frame);
        if let Ok(ri) = wire::parse(p.data()) {
            self.route(None, p, &ri);
        }
    }
}

impl Engine {
    /// Runs `f` on router `s` at `at`, then sends what it sent. False (and
    /// `f` not run) when `s` is not a router.
    pub(super) fn with_router(&mut self, s: SegmentId, at: Instant, f: impl FnOnce(&mut Router<'_>)) -> bool {
        // A nested call (an MTU error raised while sending) takes the empty
        // vector left here; the outer call puts its own back afterwards.
        let mut out = std::mem::take(&mut self.router_out);
        {
            let seg = &mut self.segs[s];
            let SegKind::Router(state) = &mut seg.kind else {
                self.router_out = out;
                return false;
            };
            let mut r = Router {
                state,
                mac: seg.mac,
                counters: &mut seg.counters,
                ports: &seg.ports,
                toward: &seg.toward,
                nodes: &self.nodes,
                at,
                out: &mut out,
            };
            f(&mut r);
        }
        for (port, pkt) in out.drain(..) {
            self.send_port(s, port, pkt, at);
        }
        self.router_out = out;
        self.rearm_neighbors(s);
        true
    }

    /// Answers a packet too big for link `link` in direction `dir` with an
    /// ICMP error from the nearest router: the one the packet leaves, or the
    /// one it was heading to.
    pub(super) fn mtu_error(&mut self, link: LinkId, dir: u8, pkt: &Packet, info: &PacketInfo, mtu: u32, at: Instant) {
        if info.l3 == L3::Ipv4 && !info.dont_fragment {
            return;
        }
        let ends = [self.links[link].to(1 - dir), self.links[link].to(dir)];
        for end in ends {
            if let crate::topology::Endpoint::Segment(s) = end {
                if self.with_router(s, at, |r| r.icmp_error(pkt, info, IcmpKind::TooBig(mtu))) {
                    return;
                }
            }
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

/// Decrements the TTL or hop limit in place; false when it would reach zero.
pub(super) fn decrement_ttl(pkt: &mut Packet, info: &PacketInfo) -> bool {
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
        // fe80::/10.
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

/// The EUI-64 link-local address of `mac` (RFC 4291 appendix A).
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
