//! Forwarding decisions: a rule table (match → action) evaluated per packet at
//! every segment, plus the tables behind the default actions — a MAC learning
//! table for switches and a longest-prefix-match table for routers.
//!
//! Contract: forwarding is a pure function of the packet's parsed headers, its
//! metadata, the ingress port and these tables. The default rule of a switch
//! is `Switch` (learn, then forward by MAC or flood); of a router, `Route`
//! (LPM). Traffic-class routing and load balancing are expressed by
//! prepending rules (`ToNode`, `LoadBalance`, `Drop`) — no change to the
//! engine. Rules are evaluated first-match, each counting its hits.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::counters::DropReason;
use crate::time::Instant;
use crate::topology::{Cidr, LinkId, NodeId};
use crate::wire::{Mac, PacketInfo};

/// A port of a segment: one attached link, and the direction of that link
/// that leads *out of* the segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Port {
    /// The link.
    pub link: LinkId,
    /// Its direction leading away from the segment.
    pub dir: u8,
}

/// What a rule matches. `None` fields match anything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Match {
    /// Ingress link.
    pub in_link: Option<LinkId>,
    /// Origin node (where the packet entered the appliance).
    pub origin: Option<NodeId>,
    /// IP protocol (6 TCP, 17 UDP, …).
    pub proto: Option<u8>,
    /// Source prefix.
    pub src: Option<Cidr>,
    /// Destination prefix.
    pub dst: Option<Cidr>,
    /// Destination port range (inclusive).
    pub dst_port: Option<(u16, u16)>,
    /// Source port range (inclusive).
    pub src_port: Option<(u16, u16)>,
    /// Traffic-class mark set by a filter.
    pub class: Option<u8>,
}

impl Match {
    /// True when the packet matches.
    pub fn matches(&self, info: &PacketInfo, in_link: LinkId, origin: u32, class: u8) -> bool {
        self.in_link.is_none_or(|l| l == in_link)
            && self.origin.is_none_or(|o| o as u32 == origin)
            && self.proto.is_none_or(|p| info.is_ip() && p == info.proto)
            && self.src.is_none_or(|c| info.is_ip() && c.contains(info.src_ip))
            && self.dst.is_none_or(|c| info.is_ip() && c.contains(info.dst_ip))
            && self.dst_port.is_none_or(|(a, b)| info.l4_offset > 0 && (a..=b).contains(&info.dst_port))
            && self.src_port.is_none_or(|(a, b)| info.l4_offset > 0 && (a..=b).contains(&info.src_port))
            && self.class.is_none_or(|c| c == class)
    }
}

/// What to do with a matching packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// L2 switching: learn the source, forward by destination MAC or flood.
    Switch,
    /// L3 routing by longest prefix match.
    Route,
    /// Deliver to this node whatever the destination address says.
    ToNode(NodeId),
    /// Spread flows over these nodes by a hash of the 5-tuple (a flow always
    /// goes to the same node).
    LoadBalance(Vec<NodeId>),
    /// Drop.
    Drop(DropReason),
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Match.
    #[serde(rename = "match")]
    pub m: Match,
    /// Action.
    pub action: Action,
    /// Packets that matched.
    pub hits: u64,
}

/// An ordered rule table.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleTable {
    /// Rules, first match wins.
    pub rules: Vec<Rule>,
}

impl RuleTable {
    /// A table with one catch-all rule.
    pub fn default_for(action: Action) -> Self {
        RuleTable { rules: vec![Rule { m: Match::default(), action, hits: 0 }] }
    }

    /// Evaluates the table; the catch-all guarantees an answer.
    pub fn lookup(&mut self, info: &PacketInfo, in_link: LinkId, origin: u32, class: u8) -> Action {
        for r in &mut self.rules {
            if r.m.matches(info, in_link, origin, class) {
                r.hits += 1;
                return r.action.clone();
            }
        }
        Action::Drop(DropReason::NoRoute)
    }

    /// Inserts a rule ahead of the defaults.
    pub fn prepend(&mut self, m: Match, action: Action) {
        self.rules.insert(0, Rule { m, action, hits: 0 });
    }
}

/// A flow hash over the 5-tuple (symmetric: both directions of a flow hash
/// the same, so replies take the same path).
pub fn flow_hash(info: &PacketInfo) -> u64 {
    let key = |ip: IpAddr, port: u16| -> u128 {
        let a = match ip {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => u128::from(a),
        };
        a ^ (u128::from(port) << 112)
    };
    let (x, y) = (key(info.src_ip, info.src_port), key(info.dst_ip, info.dst_port));
    let (lo, hi) = if x < y { (x, y) } else { (y, x) };
    let mut h = crate::rng::fnv1a(&lo.to_le_bytes());
    h ^= crate::rng::fnv1a(&hi.to_le_bytes()).rotate_left(17);
    h ^= u64::from(info.proto);
    h.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A MAC learning table with ageing.
#[derive(Clone, Debug, Default)]
pub struct MacTable {
    entries: HashMap<Mac, (LinkId, Instant)>,
}

/// How long a learned MAC stays valid.
pub const MAC_AGEING_NS: u64 = 300_000_000_000;
/// Upper bound on learned entries per switch.
pub const MAC_TABLE_MAX: usize = 65_536;

impl MacTable {
    /// Learns `mac` on `link` at `now`.
    pub fn learn(&mut self, mac: Mac, link: LinkId, now: Instant) {
        if mac.is_multicast() || mac == Mac::ZERO {
            return;
        }
        if self.entries.len() >= MAC_TABLE_MAX && !self.entries.contains_key(&mac) {
            self.entries.retain(|_, (_, t)| now.nanos_since(*t) < MAC_AGEING_NS);
            if self.entries.len() >= MAC_TABLE_MAX {
                return;
            }
        }
        self.entries.insert(mac, (link, now));
    }

    /// Seeds `mac` on `link` from the topology: the entry never ages out
    /// (its timestamp is the end of time) until traffic relearns it.
    /// Seeding at time zero instead would age the entry out as soon as the
    /// clock (time since boot) passes the ageing time, so a switch would
    /// flood or not depending on the host's uptime.
    pub fn seed(&mut self, mac: Mac, link: LinkId) {
        self.learn(mac, link, Instant::MAX);
    }

    /// Where `mac` was last seen, if not aged out.
    pub fn lookup(&self, mac: Mac, now: Instant) -> Option<LinkId> {
        self.entries.get(&mac).filter(|(_, t)| now.nanos_since(*t) < MAC_AGEING_NS).map(|(l, _)| *l)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries (for the API).
    pub fn entries(&self) -> impl Iterator<Item = (Mac, LinkId)> + '_ {
        self.entries.iter().map(|(m, (l, _))| (*m, *l))
    }
}

/// Where a routed packet goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RouteEntry {
    /// The egress port.
    pub port: Port,
    /// The node the prefix belongs to (for its MAC), if known.
    pub node: Option<NodeId>,
}

/// Longest-prefix match over IPv4 and IPv6: one hash map per prefix length,
/// probed from the longest length present.
#[derive(Clone, Debug, Default)]
pub struct Lpm {
    v4: HashMap<(u8, u32), RouteEntry>,
    v6: HashMap<(u8, u128), RouteEntry>,
    v4_lens: Vec<u8>,
    v6_lens: Vec<u8>,
}

fn bits4(ip: std::net::Ipv4Addr, len: u8) -> u32 {
    if len == 0 { 0 } else { u32::from(ip) & (u32::MAX << (32 - u32::from(len))) }
}

fn bits6(ip: std::net::Ipv6Addr, len: u8) -> u128 {
    if len == 0 { 0 } else { u128::from(ip) & (u128::MAX << (128 - u32::from(len))) }
}

impl Lpm {
    /// Adds (or replaces) a prefix. The first insertion of an exact prefix
    /// wins over later ones unless `replace`.
    pub fn insert(&mut self, prefix: Cidr, entry: RouteEntry, replace: bool) {
        match prefix.addr {
            IpAddr::V4(a) => {
                let k = (prefix.prefix, bits4(a, prefix.prefix));
                if replace || !self.v4.contains_key(&k) {
                    self.v4.insert(k, entry);
                }
                if !self.v4_lens.contains(&prefix.prefix) {
                    self.v4_lens.push(prefix.prefix);
                    self.v4_lens.sort_unstable_by(|a, b| b.cmp(a));
                }
            }
            IpAddr::V6(a) => {
                let k = (prefix.prefix, bits6(a, prefix.prefix));
                if replace || !self.v6.contains_key(&k) {
                    self.v6.insert(k, entry);
                }
                if !self.v6_lens.contains(&prefix.prefix) {
                    self.v6_lens.push(prefix.prefix);
                    self.v6_lens.sort_unstable_by(|a, b| b.cmp(a));
                }
            }
        }
    }

    /// The most specific route to `ip`.
    pub fn lookup(&self, ip: IpAddr) -> Option<RouteEntry> {
        match ip {
            IpAddr::V4(a) => self.v4_lens.iter().find_map(|&l| self.v4.get(&(l, bits4(a, l))).copied()),
            IpAddr::V6(a) => self.v6_lens.iter().find_map(|&l| self.v6.get(&(l, bits6(a, l))).copied()),
        }
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All routes, for display.
    pub fn routes(&self) -> Vec<(Cidr, RouteEntry)> {
        let mut v: Vec<(Cidr, RouteEntry)> = self
            .v4
            .iter()
            .map(|(&(l, b), e)| (Cidr { addr: IpAddr::V4(b.into()), prefix: l }, *e))
            .chain(self.v6.iter().map(|(&(l, b), e)| (Cidr { addr: IpAddr::V6(b.into()), prefix: l }, *e)))
            .collect();
        v.sort_by_key(|(c, _)| (c.addr.is_ipv6(), c.addr, c.prefix));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(link: LinkId) -> RouteEntry {
        RouteEntry { port: Port { link, dir: 0 }, node: None }
    }

    #[test]
    fn longest_prefix_wins() {
        let mut t = Lpm::default();
        t.insert(Cidr::parse("10.0.0.0/8").unwrap(), e(1), false);
        t.insert(Cidr::parse("10.1.0.0/16").unwrap(), e(2), false);
        t.insert(Cidr::parse("10.1.2.3/32").unwrap(), e(3), false);
        t.insert(Cidr::parse("fd00::/64").unwrap(), e(4), false);
        t.insert(Cidr::parse("0.0.0.0/0").unwrap(), e(5), false);
        let look = |s: &str| t.lookup(s.parse().unwrap()).map(|r| r.port.link);
        assert_eq!(look("10.1.2.3"), Some(3));
        assert_eq!(look("10.1.9.9"), Some(2));
        assert_eq!(look("10.9.9.9"), Some(1));
        assert_eq!(look("192.168.1.1"), Some(5));
        assert_eq!(look("fd00::42"), Some(4));
        assert_eq!(look("fd01::42"), None);
    }

    #[test]
    fn mac_table_ages() {
        let mut m = MacTable::default();
        let mac = Mac([2, 0, 0, 0, 0, 7]);
        m.learn(mac, 3, Instant::ZERO);
        m.learn(Mac::BROADCAST, 4, Instant::ZERO);
        assert_eq!(m.lookup(mac, Instant::from_millis(1000)), Some(3));
        assert_eq!(m.lookup(Mac::BROADCAST, Instant::ZERO), None);
        assert_eq!(m.lookup(mac, Instant::from_nanos(MAC_AGEING_NS + 1)), None);
    }

    #[test]
    fn seeded_entries_do_not_age_until_relearned() {
        let mut m = MacTable::default();
        let mac = Mac([2, 0, 0, 0, 0, 8]);
        m.seed(mac, 1);
        // A host up for days: the seeded entry still answers.
        let late = Instant::from_nanos(7 * 24 * 3600 * 1_000_000_000);
        assert_eq!(m.lookup(mac, late), Some(1));
        // Traffic moves it, and from then on it ages like any learned entry.
        m.learn(mac, 2, late);
        assert_eq!(m.lookup(mac, late), Some(2));
        assert_eq!(m.lookup(mac, Instant::from_nanos(late.as_nanos() + MAC_AGEING_NS + 1)), None);
    }
}
