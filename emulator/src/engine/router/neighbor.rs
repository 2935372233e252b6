//! The neighbour cache of one router: which MAC an IP address has (learned
//! from ARP, ND and routed traffic), which port an address no routing table
//! knows sits behind, and the packets waiting for a resolution.
//!
//! Contract (after smoltcp's `iface::neighbor::Cache`, written for a router
//! that must survive spoofed sources):
//!
//! - **Bounded.** At most [`NEIGHBOR_CACHE_MAX`] entries. Filling a full cache
//!   first forgets expired entries; if none expired it evicts the oldest
//!   eighth at once and counts them ([`NeighborCache::evictions`]). Evicting a
//!   batch, not one entry per insert, keeps a flood of new sources at
//!   amortised O(1) per packet instead of a scan per packet.
//! - **Expiring, in the caller's time.** A MAC answers for
//!   [`ENTRY_LIFETIME_NS`] after it was last confirmed. A learned route (the
//!   port of an address seen in traffic) lives [`LEARNED_ROUTE_LIFETIME_NS`];
//!   in between, the router re-resolves the MAC on that port, as a router
//!   re-resolves a stale entry on a connected subnet. Nothing reads a clock:
//!   every call takes `now`.
//! - **Rate-limited per target.** [`NeighborCache::lookup`] answers
//!   [`Answer::Found`], [`Answer::NotFound`] (a request may go out now) or
//!   [`Answer::RateLimited`] (one went out for this target less than
//!   [`SOLICIT_INTERVAL_NS`] ago).
//! - **Waiting packets are bounded and never forgotten.** At most
//!   [`PENDING_PER_TARGET`] items wait per target and [`PENDING_TARGETS_MAX`]
//!   targets wait at once; [`NeighborCache::hold`] hands back what does not
//!   fit, for the caller to count. Items still waiting
//!   [`RESOLVE_TIMEOUT_NS`] after the first one was held are handed back by
//!   [`NeighborCache::expire`], and [`NeighborCache::poll_timeout`] says when
//!   that is next due, so the caller can wake for it rather than wait for the
//!   next packet.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::forward::Port;
use crate::time::Instant;
use crate::wire::Mac;

/// Upper bound on neighbour entries per router.
pub const NEIGHBOR_CACHE_MAX: usize = 4096;
/// How long a neighbour's MAC answers after it was last confirmed (smoltcp's
/// `ENTRY_LIFETIME`).
pub const ENTRY_LIFETIME_NS: u64 = 60_000_000_000;
/// How long a route learned from traffic lasts after the address was last
/// seen (a switch's MAC ageing time: both say where an address sits).
pub const LEARNED_ROUTE_LIFETIME_NS: u64 = 300_000_000_000;
/// At most one ARP request or neighbour solicitation per target this often.
pub const SOLICIT_INTERVAL_NS: u64 = 1_000_000_000;
/// How long packets wait for a resolution before they are dropped.
pub const RESOLVE_TIMEOUT_NS: u64 = 1_000_000_000;
/// Packets held per unresolved target (Linux's historical `unres_qlen`).
pub const PENDING_PER_TARGET: usize = 3;
/// Targets that may wait for a resolution at once.
pub const PENDING_TARGETS_MAX: usize = 256;

/// The answer of a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The address resolves to this MAC.
    Found(Mac),
    /// Unknown, and a request may be sent now.
    NotFound,
    /// Unknown, and a request for it went out less than
    /// [`SOLICIT_INTERVAL_NS`] ago: wait for its answer.
    RateLimited,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    mac: Mac,
    /// The port the address was seen behind, when it was learned from
    /// routed traffic rather than from ARP/ND.
    port: Option<Port>,
    seen_at: Instant,
}

impl Entry {
    fn mac_fresh(&self, now: Instant) -> bool {
        now.nanos_since(self.seen_at) < ENTRY_LIFETIME_NS
    }

    fn route_fresh(&self, now: Instant) -> bool {
        self.port.is_some() && now.nanos_since(self.seen_at) < LEARNED_ROUTE_LIFETIME_NS
    }

    /// Nothing in the entry answers any more.
    fn expired(&self, now: Instant) -> bool {
        !self.mac_fresh(now) && !self.route_fresh(now)
    }
}

#[derive(Debug)]
struct Pending<H> {
    since: Instant,
    solicited_at: Option<Instant>,
    items: Vec<H>,
}

impl<H> Pending<H> {
    fn deadline(&self) -> Instant {
        self.since.add_nanos(RESOLVE_TIMEOUT_NS)
    }
}

/// A bounded, expiring neighbour cache holding items of type `H` (the
/// engine's `(Packet, Port)`) while their next hop resolves.
#[derive(Debug)]
pub struct NeighborCache<H> {
    entries: HashMap<IpAddr, Entry>,
    pending: HashMap<IpAddr, Pending<H>>,
    /// No pending deadline falls before this (it may be early after a
    /// resolution: then `expire` finds nothing and moves it on).
    next_deadline: Option<Instant>,
    pending_items: usize,
    evictions: u64,
}

impl<H> Default for NeighborCache<H> {
    fn default() -> Self {
        NeighborCache {
            entries: HashMap::new(),
            pending: HashMap::new(),
            next_deadline: None,
            pending_items: 0,
            evictions: 0,
        }
    }
}

impl<H> NeighborCache<H> {
    /// What is known of `ip` at `now`.
    pub fn lookup(&self, ip: IpAddr, now: Instant) -> Answer {
        if let Some(e) = self.entries.get(&ip).filter(|e| e.mac_fresh(now)) {
            return Answer::Found(e.mac);
        }
        let asked_recently = self.pending.get(&ip).is_some_and(|p| {
            now < p.deadline() && p.solicited_at.is_some_and(|t| now.nanos_since(t) < SOLICIT_INTERVAL_NS)
        });
        if asked_recently { Answer::RateLimited } else { Answer::NotFound }
    }

    /// The port `ip` was last seen behind, if that was learned from traffic
    /// and has not aged out.
    pub fn route(&self, ip: IpAddr, now: Instant) -> Option<Port> {
        self.entries.get(&ip).filter(|e| e.route_fresh(now)).and_then(|e| e.port)
    }

    /// Records that `ip` is at `mac` at `now` — behind `port` when learned
    /// from routed traffic; `None` keeps a port learned before. Returns the
    /// items that waited for `ip` (empty, without allocating, if none).
    pub fn fill(&mut self, ip: IpAddr, mac: Mac, port: Option<Port>, now: Instant) -> Vec<H> {
        match self.entries.get_mut(&ip) {
            Some(e) => {
                e.mac = mac;
                e.port = port.or(e.port);
                e.seen_at = now;
            }
            None => {
                if self.entries.len() >= NEIGHBOR_CACHE_MAX {
                    self.make_room(now);
                }
                self.entries.insert(ip, Entry { mac, port, seen_at: now });
            }
        }
        match self.pending.remove(&ip) {
            Some(p) => {
                self.pending_items -= p.items.len();
                p.items
            }
            None => Vec::new(),
        }
    }

    /// Forgets expired entries; if none had expired, evicts the oldest
    /// eighth of the cache (counted).
    fn make_room(&mut self, now: Instant) {
        self.entries.retain(|_, e| !e.expired(now));
        if self.entries.len() < NEIGHBOR_CACHE_MAX {
            return;
        }
        let batch = (NEIGHBOR_CACHE_MAX / 8).max(1);
        let mut by_age: Vec<(Instant, IpAddr)> = self.entries.iter().map(|(ip, e)| (e.seen_at, *ip)).collect();
        by_age.select_nth_unstable(batch - 1);
        for (_, ip) in &by_age[..batch] {
            self.entries.remove(ip);
        }
        self.evictions += batch as u64;
    }

    /// Holds `item` until `ip` resolves or [`RESOLVE_TIMEOUT_NS`] passes.
    /// Hands `item` back when the target's queue or the table of waiting
    /// targets is full.
    pub fn hold(&mut self, ip: IpAddr, item: H, now: Instant) -> Result<(), H> {
        if !self.pending.contains_key(&ip) {
            if self.pending.len() >= PENDING_TARGETS_MAX {
                return Err(item);
            }
            let deadline = now.add_nanos(RESOLVE_TIMEOUT_NS);
            self.next_deadline = Some(self.next_deadline.map_or(deadline, |d| d.min(deadline)));
            self.pending.insert(ip, Pending { since: now, solicited_at: None, items: Vec::new() });
        }
        let p = self.pending.get_mut(&ip).expect("inserted above");
        if p.items.len() >= PENDING_PER_TARGET {
            return Err(item);
        }
        p.items.push(item);
        self.pending_items += 1;
        Ok(())
    }

    /// Records that a request for `ip` goes out at `now`. False (nothing
    /// recorded) when nothing waits for `ip`: a request then has no purpose.
    pub fn solicited(&mut self, ip: IpAddr, now: Instant) -> bool {
        match self.pending.get_mut(&ip) {
            Some(p) => {
                p.solicited_at = Some(now);
                true
            }
            None => false,
        }
    }

    /// Hands every item whose target did not resolve within
    /// [`RESOLVE_TIMEOUT_NS`] to `dropped`, and forgets those targets.
    pub fn expire(&mut self, now: Instant, mut dropped: impl FnMut(H)) {
        if self.next_deadline.is_none_or(|d| d > now) {
            return;
        }
        let mut next: Option<Instant> = None;
        let mut gone = 0;
        self.pending.retain(|_, p| {
            if p.deadline() <= now {
                gone += p.items.len();
                for item in p.items.drain(..) {
                    dropped(item);
                }
                false
            } else {
                next = Some(next.map_or(p.deadline(), |d| d.min(p.deadline())));
                true
            }
        });
        self.pending_items -= gone;
        self.next_deadline = next;
    }

    /// When [`expire`](Self::expire) next has work (possibly a little
    /// early), if anything waits.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_deadline
    }

    /// Every waiting item, for a caller that discards the cache.
    pub fn drain_pending(&mut self) -> impl Iterator<Item = H> + '_ {
        self.pending_items = 0;
        self.next_deadline = None;
        self.pending.drain().flat_map(|(_, p)| p.items)
    }

    /// Entries held (some may have expired and wait to be forgotten).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Items waiting for a resolution.
    pub fn pending_len(&self) -> usize {
        self.pending_items
    }

    /// Targets waiting for a resolution.
    pub fn pending_targets(&self) -> usize {
        self.pending.len()
    }

    /// Live entries the size cap forced out, since the cache was made.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(i: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i))
    }

    fn mac(i: u32) -> Mac {
        Mac::local(2, i)
    }

    const PORT: Port = Port { link: 1, dir: 0 };

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    #[test]
    fn entries_answer_until_their_lifetime_ends() {
        let mut c = NeighborCache::<u32>::default();
        assert_eq!(c.lookup(ip(1), ms(0)), Answer::NotFound);
        assert!(c.fill(ip(1), mac(1), None, ms(0)).is_empty());
        assert_eq!(c.lookup(ip(1), ms(0)), Answer::Found(mac(1)));
        let last = Instant::from_nanos(ENTRY_LIFETIME_NS - 1);
        assert_eq!(c.lookup(ip(1), last), Answer::Found(mac(1)));
        assert_eq!(c.lookup(ip(1), Instant::from_nanos(ENTRY_LIFETIME_NS)), Answer::NotFound);
        // Confirming it again restarts the lifetime.
        c.fill(ip(1), mac(1), None, last);
        assert_eq!(c.lookup(ip(1), last.add_nanos(ENTRY_LIFETIME_NS - 1)), Answer::Found(mac(1)));
    }

    #[test]
    fn learned_routes_outlive_the_mac_and_arp_keeps_the_port() {
        let mut c = NeighborCache::<u32>::default();
        c.fill(ip(1), mac(1), Some(PORT), ms(0));
        // An ARP message (no port) refreshes the MAC and keeps the route.
        c.fill(ip(1), mac(9), None, ms(10));
        assert_eq!(c.route(ip(1), ms(10)), Some(PORT));
        assert_eq!(c.lookup(ip(1), ms(10)), Answer::Found(mac(9)));
        let stale = ms(10).add_nanos(ENTRY_LIFETIME_NS);
        assert_eq!(c.lookup(ip(1), stale), Answer::NotFound);
        assert_eq!(c.route(ip(1), stale), Some(PORT));
        assert_eq!(c.route(ip(1), ms(10).add_nanos(LEARNED_ROUTE_LIFETIME_NS)), None);
        // ARP-only entries carry no route.
        c.fill(ip(2), mac(2), None, ms(0));
        assert_eq!(c.route(ip(2), ms(0)), None);
    }

    #[test]
    fn a_full_cache_forgets_expired_entries_before_evicting_live_ones() {
        let mut c = NeighborCache::<u32>::default();
        for i in 0..NEIGHBOR_CACHE_MAX as u32 {
            c.fill(ip(i), mac(i), None, ms(0));
        }
        assert_eq!(c.len(), NEIGHBOR_CACHE_MAX);
        // Everything expired: room is made without evicting anything live.
        let later = Instant::from_nanos(ENTRY_LIFETIME_NS);
        c.fill(ip(1_000_000), mac(1), None, later);
        assert_eq!((c.len(), c.evictions()), (1, 0));
    }

    #[test]
    fn a_flood_of_new_sources_stays_under_the_cap_and_evicts_the_oldest() {
        let mut c = NeighborCache::<u32>::default();
        let n = 10 * NEIGHBOR_CACHE_MAX as u32;
        for i in 0..n {
            c.fill(ip(i), mac(i), Some(PORT), Instant::from_nanos(u64::from(i)));
            assert!(c.len() <= NEIGHBOR_CACHE_MAX);
        }
        assert_eq!(c.evictions() as usize, n as usize - c.len());
        // The newest survive; the oldest went first.
        let now = Instant::from_nanos(u64::from(n));
        assert_eq!(c.lookup(ip(n - 1), now), Answer::Found(mac(n - 1)));
        assert_eq!(c.lookup(ip(0), now), Answer::NotFound);
        assert_eq!(c.route(ip(0), now), None);
    }

    #[test]
    fn requests_are_rate_limited_per_target() {
        let mut c = NeighborCache::<u32>::default();
        assert_eq!(c.lookup(ip(1), ms(0)), Answer::NotFound);
        // No request without something waiting.
        assert!(!c.solicited(ip(1), ms(0)));
        c.hold(ip(1), 10, ms(0)).unwrap();
        assert!(c.solicited(ip(1), ms(0)));
        assert_eq!(c.lookup(ip(1), ms(999)), Answer::RateLimited);
        // Another target is not limited by the first.
        assert_eq!(c.lookup(ip(2), ms(1)), Answer::NotFound);
        // Once the interval passed (and with it the resolve timeout), ask again.
        assert_eq!(c.lookup(ip(1), ms(1000)), Answer::NotFound);
    }

    #[test]
    fn waiting_items_are_bounded_released_on_resolution_and_dropped_on_timeout() {
        let mut c = NeighborCache::<u32>::default();
        for k in 0..PENDING_PER_TARGET as u32 {
            c.hold(ip(1), k, ms(0)).unwrap();
        }
        assert_eq!(c.hold(ip(1), 99, ms(1)), Err(99));
        c.hold(ip(2), 20, ms(500)).unwrap();
        assert_eq!(c.pending_len(), PENDING_PER_TARGET + 1);
        assert_eq!(c.poll_timeout(), Some(ms(1000)));
        // Nothing is due before the deadline.
        let mut dropped = Vec::new();
        c.expire(ms(999), |x| dropped.push(x));
        assert!(dropped.is_empty());
        // At the deadline the first target's items go; the second waits on.
        c.expire(ms(1000), |x| dropped.push(x));
        dropped.sort_unstable();
        assert_eq!(dropped, (0..PENDING_PER_TARGET as u32).collect::<Vec<_>>());
        assert_eq!(c.poll_timeout(), Some(ms(1500)));
        // The second resolves in time: its item is handed back to be sent.
        assert_eq!(c.fill(ip(2), mac(2), None, ms(1200)), vec![20]);
        assert_eq!((c.pending_len(), c.pending_targets()), (0, 0));
        // The deadline left behind is early, harmless: nothing expires.
        c.expire(ms(1500), |x| dropped.push(x));
        assert_eq!(dropped.len(), PENDING_PER_TARGET);
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn waiting_targets_are_bounded() {
        let mut c = NeighborCache::<u32>::default();
        for i in 0..PENDING_TARGETS_MAX as u32 {
            c.hold(ip(i), i, ms(0)).unwrap();
        }
        assert_eq!(c.hold(ip(1_000_000), 7, ms(0)), Err(7));
        assert_eq!(c.drain_pending().count(), PENDING_TARGETS_MAX);
        assert_eq!(c.pending_len(), 0);
    }
}
