//! One link direction: filter → loss → corrupt → duplicate → shaper → delay
//! (with reorder) → out.
//!
//! Contract (sans-IO, quinn-style): [`Pipeline::handle`] takes a packet and
//! `now` and appends to `out` every packet that leaves the direction, each
//! with the virtual instant it left; [`Pipeline::poll_timeout`] says when the
//! next held packet becomes due and [`Pipeline::handle_timeout`] releases it.
//! Callers must call `handle_timeout(now)` no later than the instant
//! `poll_timeout` returned (calling it late is allowed: released packets carry
//! their exact due instant, so lateness does not accumulate).
//!
//! Decisions are per wire packet: a GSO super-frame of n segments draws n
//! loss/corrupt/duplicate/reorder decisions; if none hits, it continues as one
//! frame (shaped and delayed as a whole, charged for every segment's wire
//! bytes); otherwise it is segmented in software and each segment gets its own
//! fate. Counting is exact and conserves packets:
//! `rx + duplicated = tx + dropped + queued` at every instant.

use crate::counters::{DirCounters, DropReason};
use crate::fault::{FaultEffect, FaultStage};
use crate::gso;
use crate::impair::{Impairments, RateSpec};
use crate::packet::Packet;
use crate::rng::{StageId, StageRng};
use crate::stage::chance::{self, Chance, Reorder};
use crate::stage::delay::{DelayLine, Held};
use crate::stage::loss::Loss;
use crate::stage::shaper::{Offer, Shaper};
use crate::time::Instant;
use crate::wire::{self, PacketInfo};

/// What a filter decided for one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterVerdict {
    /// Continue normally.
    Pass,
    /// Drop (counted as `filter`).
    Drop,
    /// Add this many nanoseconds of delay on this link.
    Delay(u64),
    /// Send an extra copy.
    Duplicate,
    /// Flip a bit.
    Corrupt,
    /// Set the traffic-class mark (seen by forwarding rules downstream).
    Mark(u8),
    /// Deliver to this node instead of the routed destination.
    Route(u32),
    /// The filter failed; `drop` says whether the link falls back to dropping.
    Error {
        /// Drop the packet (otherwise pass it).
        drop: bool,
    },
}

/// Counters of a filter, kept by the filter itself (no shared state).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct FilterStats {
    /// What runs (e.g. the script file).
    pub script: String,
    /// Calls.
    pub calls: u64,
    /// Failures (errors, limits, bad verdicts).
    pub errors: u64,
    /// Disabled after a failure: packets get the fallback verdict.
    pub disabled: bool,
    /// The failure that disabled it.
    pub last_error: Option<String>,
    /// Time spent in calls, ns.
    pub time_ns: u64,
    /// Verdicts by kind (`pass`, `drop`, `delay`, …, `fallback`).
    pub verdicts: std::collections::BTreeMap<&'static str, u64>,
}

/// A per-packet hook at the head of a link direction (Lua scripts implement
/// it). It sees the parsed headers and the frame and returns a verdict.
pub trait PacketFilter: Send {
    /// Decides for one packet.
    fn filter(&mut self, frame: &[u8], info: &PacketInfo, now: Instant) -> FilterVerdict;
    /// Its counters.
    fn stats(&self) -> FilterStats {
        FilterStats::default()
    }
    /// Identifies its configuration (source, parameters): an unchanged
    /// filter is kept across reloads, with its state.
    fn fingerprint(&self) -> u64 {
        0
    }
}

/// The random streams of one direction, one per stage.
struct Rngs {
    loss: StageRng,
    corrupt: StageRng,
    duplicate: StageRng,
    delay: StageRng,
    reorder: StageRng,
}

#[derive(Clone, Copy, Default)]
struct SegFate {
    lost: bool,
    corrupt: bool,
    dup: bool,
    reorder: bool,
    dup_reorder: bool,
}

/// A live link direction.
pub struct Pipeline {
    /// The configured impairments (topology or API patch).
    base: Impairments,
    /// What is in force: `base` with fault rate limits applied.
    imp: Impairments,
    faults: FaultStage,
    next_fault_change: Option<Instant>,
    loss: Option<Loss>,
    corrupt: Option<Chance>,
    duplicate: Option<Chance>,
    reorder: Option<Reorder>,
    shaper: Option<Shaper>,
    delay: DelayLine,
    rng: Rngs,
    filter: Option<Box<dyn PacketFilter>>,
    /// Counters of this direction.
    pub counters: DirCounters,
    fates: Vec<SegFate>,
    scratch: Vec<(Packet, Instant)>,
    /// Exits already counted as sent, waiting for the next poll (from a
    /// reconfiguration that released the shaper queue).
    pending_out: Vec<(Packet, Instant)>,
}

impl Pipeline {
    /// A direction of link `name` (`dir` 0 = a→b, 1 = b→a), seeded from the
    /// topology seed.
    pub fn new(imp: &Impairments, seed: u64, name: &str, dir: u8, now: Instant) -> Self {
        let rng = Rngs {
            loss: StageRng::new(seed, name, dir, StageId::Loss),
            corrupt: StageRng::new(seed, name, dir, StageId::Corrupt),
            duplicate: StageRng::new(seed, name, dir, StageId::Duplicate),
            delay: StageRng::new(seed, name, dir, StageId::Delay),
            reorder: StageRng::new(seed, name, dir, StageId::Reorder),
        };
        let mut p = Pipeline {
            base: Impairments::default(),
            imp: Impairments::default(),
            faults: FaultStage::new(StageRng::new(seed, name, dir, StageId::Fault)),
            next_fault_change: None,
            loss: None,
            corrupt: None,
            duplicate: None,
            reorder: None,
            shaper: None,
            delay: DelayLine::new(None),
            rng,
            filter: None,
            counters: DirCounters::default(),
            fates: Vec::new(),
            scratch: Vec::new(),
            pending_out: Vec::new(),
        };
        p.set_impairments(imp, now);
        p
    }

    /// The impairments in force (configured, with fault rate limits applied).
    pub fn impairments(&self) -> &Impairments {
        &self.imp
    }

    /// The configured impairments, without faults.
    pub fn base_impairments(&self) -> &Impairments {
        &self.base
    }

    /// Changes the configured parameters in place. Queued packets stay
    /// queued, the token bucket keeps its credit, random streams continue
    /// where they were.
    pub fn set_impairments(&mut self, imp: &Impairments, now: Instant) {
        self.base = *imp;
        self.apply_effective(now);
    }

    /// Installs the fault overlay of this direction.
    pub fn set_faults(&mut self, effects: Vec<FaultEffect>, now: Instant) {
        self.faults.set(effects);
        self.apply_effective(now);
    }

    /// The faults installed on this direction.
    pub fn faults(&self) -> impl Iterator<Item = &FaultEffect> {
        self.faults.effects()
    }

    fn apply_effective(&mut self, now: Instant) {
        let mut eff = self.base;
        if let Some(limit) = self.faults.rate_limit(now) {
            eff.rate = Some(match self.base.rate {
                Some(r) if r.rate_bps <= limit => r,
                Some(r) => RateSpec {
                    rate_bps: limit,
                    burst_bytes: r.burst_bytes.min(RateSpec::default_burst(limit)).max(1514),
                    ..r
                },
                None => RateSpec::new(limit),
            });
        }
        self.next_fault_change = self.faults.next_rate_change(now);
        self.reconfigure(&eff, now);
    }

    /// Applies effective parameters. Clearing the rate limit sends the
    /// shaper's queue on at once.
    fn reconfigure(&mut self, imp: &Impairments, now: Instant) {
        if self.imp.loss != imp.loss {
            self.loss = imp.loss.as_ref().map(Loss::new);
        }
        if self.imp.corrupt != imp.corrupt {
            self.corrupt = imp.corrupt.as_ref().filter(|c| c.p > 0.0).map(Chance::new);
        }
        if self.imp.duplicate != imp.duplicate {
            self.duplicate = imp.duplicate.as_ref().filter(|c| c.p > 0.0).map(Chance::new);
        }
        if self.imp.reorder != imp.reorder {
            self.reorder = imp.reorder.as_ref().filter(|c| c.p > 0.0).map(Reorder::new);
        }
        if self.imp.delay != imp.delay {
            self.delay.reconfigure(imp.delay.as_ref());
        }
        if self.imp.rate != imp.rate {
            match (&mut self.shaper, &imp.rate) {
                (Some(s), Some(r)) => s.reconfigure(r, now),
                (None, Some(r)) => self.shaper = Some(Shaper::new(r, now)),
                (Some(_), None) => {
                    if let Some(mut s) = self.shaper.take() {
                        let mut out = Vec::new();
                        for p in s.drain() {
                            self.send_to_delay_line(p, now, now, &mut out);
                        }
                        // Anything due at once goes out on the next poll.
                        self.pending_out.extend(out);
                    }
                }
                (None, None) => {}
            }
        }
        self.imp = *imp;
    }

    /// Installs or removes the filter hook.
    pub fn set_filter(&mut self, filter: Option<Box<dyn PacketFilter>>) {
        self.filter = filter;
    }

    /// True when a filter is installed.
    pub fn has_filter(&self) -> bool {
        self.filter.is_some()
    }

    /// The installed filter.
    pub fn filter(&self) -> Option<&dyn PacketFilter> {
        self.filter.as_deref()
    }

    /// The MTU limit, if any.
    pub fn mtu(&self) -> Option<u32> {
        self.imp.mtu
    }

    /// Wire packets waiting in the shaper queue.
    pub fn shaper_queue_packets(&self) -> u64 {
        self.shaper.as_ref().map_or(0, |s| s.queued_packets())
    }

    /// Wire bytes waiting in the shaper queue.
    pub fn shaper_queue_bytes(&self) -> u64 {
        self.shaper.as_ref().map_or(0, |s| s.queued_bytes())
    }

    /// Wire packets held in the delay line.
    pub fn delay_line_packets(&self) -> u64 {
        self.delay.held_packets()
    }

    /// Wire packets inside the direction (shaper queue + delay line).
    pub fn queued_packets(&self) -> u64 {
        self.shaper_queue_packets() + self.delay_line_packets()
    }

    /// Counts a packet that entered but was dropped before the stages (MTU,
    /// malformed, fault). Keeps the conservation law.
    pub fn count_dropped_at_entry(&mut self, pkt: &Packet, reason: DropReason) {
        let segs = u64::from(pkt.segments());
        let bytes = pkt.wire_bytes(0);
        self.counters.rx_packets += segs;
        self.counters.rx_bytes += bytes;
        self.counters.drops.add(reason, segs, bytes);
    }

    fn drop_pkt(&mut self, pkt: &Packet, reason: DropReason) {
        self.counters.drops.add(reason, u64::from(pkt.segments()), pkt.wire_bytes(0));
    }

    fn emit(counters: &mut DirCounters, mut pkt: Packet, at: Instant, out: &mut Vec<(Packet, Instant)>) {
        counters.tx_packets += u64::from(pkt.segments());
        counters.tx_bytes += pkt.wire_bytes(0);
        pkt.meta.reorder = false;
        pkt.meta.extra_delay_ns = 0;
        out.push((pkt, at));
    }

    fn send_to_delay_line(&mut self, pkt: Packet, departure: Instant, now: Instant, out: &mut Vec<(Packet, Instant)>) {
        let segs = u64::from(pkt.segments());
        match self.delay.offer(pkt, departure, now, &mut self.rng.delay) {
            Held::Now(p, t) => Self::emit(&mut self.counters, p, t, out),
            Held::Held => self.counters.delayed += segs,
            Held::Dropped(p) => self.drop_pkt(&p, DropReason::DelayLineFull),
        }
    }

    fn enqueue(&mut self, pkt: Packet, now: Instant, out: &mut Vec<(Packet, Instant)>) {
        let Some(shaper) = self.shaper.as_mut() else {
            self.send_to_delay_line(pkt, now, now, out);
            return;
        };
        let segs = u64::from(pkt.segments());
        match shaper.offer(pkt, now) {
            Offer::Sent(p) => self.send_to_delay_line(p, now, now, out),
            Offer::Queued => self.counters.shaped += segs,
            Offer::Dropped(p) if p.segments() > 1 => {
                // As tbf does: a super-frame that does not fit whole is
                // segmented and its segments are admitted one by one, so the
                // tail drop hits only what overflows.
                self.counters.gso_split += 1;
                let bytes = p.wire_bytes(0);
                let mut parts = Vec::with_capacity(segs as usize);
                if gso::segment(p, &mut parts).is_err() {
                    self.counters.drops.add(DropReason::Malformed, segs, bytes);
                    return;
                }
                for part in parts {
                    self.enqueue(part, now, out);
                }
            }
            Offer::Dropped(p) => self.drop_pkt(&p, DropReason::QueueFull),
        }
    }

    /// Takes a packet entering the direction at `now`.
    pub fn handle(&mut self, mut pkt: Packet, now: Instant, out: &mut Vec<(Packet, Instant)>) {
        let segs = pkt.segments();
        self.counters.rx_packets += u64::from(segs);
        self.counters.rx_bytes += pkt.wire_bytes(0);
        self.handle_timeout(now, out);

        let mut force_dup = false;
        let mut force_corrupt = false;
        let mut force_reorder = false;
        if let Some(f) = self.filter.as_mut() {
            self.counters.filter_calls += 1;
            let verdict = match wire::parse(pkt.data()) {
                Ok(info) => f.filter(pkt.data(), &info, now),
                Err(_) => FilterVerdict::Pass,
            };
            match verdict {
                FilterVerdict::Pass => {}
                FilterVerdict::Drop => {
                    self.drop_pkt(&pkt, DropReason::Filter);
                    return;
                }
                FilterVerdict::Error { drop: true } => {
                    self.drop_pkt(&pkt, DropReason::ScriptError);
                    return;
                }
                FilterVerdict::Error { drop: false } => {}
                FilterVerdict::Delay(ns) => pkt.meta.extra_delay_ns = pkt.meta.extra_delay_ns.saturating_add(ns),
                FilterVerdict::Duplicate => force_dup = true,
                FilterVerdict::Corrupt => force_corrupt = true,
                FilterVerdict::Mark(c) => pkt.meta.class = c,
                FilterVerdict::Route(n) => pkt.meta.route_to = Some(n),
            }
        }
        if !self.faults.is_empty() {
            let o = self.faults.apply(&mut pkt, now);
            if o.applied {
                self.counters.faulted += u64::from(segs);
            }
            if let Some(reason) = o.drop {
                self.drop_pkt(&pkt, reason);
                return;
            }
            force_dup |= o.duplicate;
            force_corrupt |= o.corrupt;
            force_reorder = o.reorder;
        }

        // Per-segment decisions, drawn in a fixed order.
        let mut any = force_dup || force_corrupt || force_reorder;
        self.fates.clear();
        for i in 0..segs {
            let mut f = SegFate::default();
            if let Some(l) = self.loss.as_mut() {
                f.lost = l.decide(&mut self.rng.loss);
            }
            if !f.lost {
                if let Some(c) = self.corrupt.as_mut() {
                    f.corrupt = c.decide(&mut self.rng.corrupt);
                }
                if let Some(d) = self.duplicate.as_mut() {
                    f.dup = d.decide(&mut self.rng.duplicate);
                }
                f.corrupt |= force_corrupt && i == 0;
                f.dup |= force_dup;
                if let Some(r) = self.reorder.as_mut() {
                    f.reorder = r.decide(&mut self.rng.reorder);
                    if f.dup {
                        f.dup_reorder = r.decide(&mut self.rng.reorder);
                    }
                }
                f.reorder |= force_reorder;
            }
            any |= f.lost || f.corrupt || f.dup || f.reorder;
            self.fates.push(f);
        }

        if !any {
            self.enqueue(pkt, now, out);
            return;
        }
        let fates = std::mem::take(&mut self.fates);
        if segs == 1 {
            self.apply_fate(pkt, fates[0], now, out);
        } else {
            self.counters.gso_split += 1;
            let mut parts = Vec::with_capacity(segs as usize);
            let whole = pkt.wire_bytes(0);
            match gso::segment(pkt, &mut parts) {
                Ok(()) if parts.len() == fates.len() => {
                    for (p, f) in parts.into_iter().zip(fates.iter()) {
                        self.apply_fate(p, *f, now, out);
                    }
                }
                _ => {
                    // Inconsistent super-frame: count every segment as malformed.
                    self.counters.drops.add(DropReason::Malformed, u64::from(segs), whole);
                }
            }
        }
        self.fates = fates;
    }

    fn apply_fate(&mut self, mut pkt: Packet, f: SegFate, now: Instant, out: &mut Vec<(Packet, Instant)>) {
        if f.lost {
            self.drop_pkt(&pkt, DropReason::Loss);
            return;
        }
        if f.corrupt {
            if gso::finalize_checksum(&mut pkt).is_err() {
                self.drop_pkt(&pkt, DropReason::Malformed);
                return;
            }
            chance::corrupt_one_bit(&mut pkt, &mut self.rng.corrupt);
            self.counters.corrupted += u64::from(pkt.segments());
        }
        let copy = if f.dup {
            let mut c = pkt.clone();
            c.meta.reorder = f.dup_reorder;
            self.counters.duplicated += u64::from(c.segments());
            if f.dup_reorder {
                self.counters.reordered += 1;
            }
            Some(c)
        } else {
            None
        };
        pkt.meta.reorder = f.reorder;
        if f.reorder {
            self.counters.reordered += 1;
        }
        self.enqueue(pkt, now, out);
        if let Some(c) = copy {
            self.enqueue(c, now, out);
        }
    }

    /// When the next held packet becomes due (or a fault rate limit starts or ends).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if let Some(t) = self.pending_out.iter().map(|s| s.1).min() {
            return Some(t);
        }
        let held = match (self.shaper.as_ref().and_then(|s| s.poll_timeout()), self.delay.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (held, self.next_fault_change) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Releases everything due by `now` into `out`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<(Packet, Instant)>) {
        if self.next_fault_change.is_some_and(|t| t <= now) {
            self.apply_effective(now);
        }
        if !self.pending_out.is_empty() {
            out.append(&mut self.pending_out);
        }
        let counters = &mut self.counters;
        self.delay.release_due(now, &mut |p, t| Self::emit(counters, p, t, out));
        if let Some(s) = self.shaper.as_mut() {
            let mut released = std::mem::take(&mut self.scratch);
            s.release_due(now, &mut |p, t| released.push((p, t)));
            for (p, t) in released.drain(..) {
                self.send_to_delay_line(p, t, now, out);
            }
            self.scratch = released;
        }
        let counters = &mut self.counters;
        self.delay.release_due(now, &mut |p, t| Self::emit(counters, p, t, out));
    }

    /// Applies `f` to every packet held in the direction.
    pub fn for_each_held_mut(&mut self, mut f: impl FnMut(&mut Packet)) {
        if let Some(s) = self.shaper.as_mut() {
            for p in s.packets_mut() {
                f(p);
            }
        }
        self.delay.for_each_packet_mut(&mut f);
        for (p, _) in self.pending_out.iter_mut() {
            f(p);
        }
    }

    /// Drops everything held (the link was removed), counting each packet.
    pub fn drain(&mut self, reason: DropReason) -> u64 {
        // Already counted as sent; they are lost with the link but not dropped twice.
        self.pending_out.clear();
        let mut held: Vec<Packet> = Vec::new();
        if let Some(s) = self.shaper.as_mut() {
            held.extend(s.drain());
        }
        held.extend(self.delay.drain());
        let mut n = 0;
        for p in &held {
            n += u64::from(p.segments());
            self.drop_pkt(p, reason);
        }
        n
    }
}
