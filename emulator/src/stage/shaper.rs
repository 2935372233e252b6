//! Token-bucket shaper with a bounded tail-drop queue.
//!
//! Exact integer arithmetic: the bucket holds credit in "bit-nanoseconds"
//! (1 byte costs 8·10⁹ units; 1 ns at `rate_bps` adds `rate_bps` units), so
//! refill never rounds and fractional tokens carry over by construction — the
//! same idea as firecracker's gcd-reduced refill, without needing the gcd.
//! A packet may leave when the credit covers its wire bytes (or the whole
//! bucket, for a packet larger than the bucket, which then leaves the bucket
//! in debt). The departure instant is computed, never slept for: `offer`
//! either sends at `now`, queues, or drops; `release_due` sends queued packets
//! with the exact instant they became eligible. Over any interval the bytes
//! sent are bounded by `burst + rate × interval`, and the long-run rate has no
//! drift at all.

use std::collections::VecDeque;

use crate::impair::RateSpec;
use crate::packet::Packet;
use crate::time::Instant;

/// Credit units per byte: 8 bits × 10⁹ ns/s.
const UNITS_PER_BYTE: i128 = 8 * 1_000_000_000;

struct Queued {
    pkt: Packet,
    segs: u32,
    bytes: u64,
}

/// What `offer` did with a packet.
pub enum Offer {
    /// Eligible now: the packet leaves at `now`.
    Sent(Packet),
    /// Queued; it will come out of `release_due`.
    Queued,
    /// The queue was full: tail drop.
    Dropped(Packet),
}

/// A live token bucket and its queue.
pub struct Shaper {
    rate_bps: u64,
    cap: i128,
    credit: i128,
    last: Instant,
    queue: VecDeque<Queued>,
    queued_segs: u64,
    queued_bytes: u64,
    limit_segs: Option<u64>,
    limit_bytes: Option<u64>,
    overhead: u32,
    head_due: Option<Instant>,
}

impl Shaper {
    /// A shaper with a full bucket at `now`.
    pub fn new(spec: &RateSpec, now: Instant) -> Self {
        let cap = i128::from(spec.burst_bytes.max(1)) * UNITS_PER_BYTE;
        Shaper {
            rate_bps: spec.rate_bps.max(1),
            cap,
            credit: cap,
            last: now,
            queue: VecDeque::new(),
            queued_segs: 0,
            queued_bytes: 0,
            limit_segs: spec.queue_packets.map(u64::from),
            limit_bytes: spec.queue_bytes,
            overhead: spec.overhead_bytes,
            head_due: None,
        }
    }

    /// Applies new parameters in place, keeping the queue and the credit
    /// earned so far (clamped to the new bucket).
    pub fn reconfigure(&mut self, spec: &RateSpec, now: Instant) {
        self.refill(now);
        self.rate_bps = spec.rate_bps.max(1);
        self.cap = i128::from(spec.burst_bytes.max(1)) * UNITS_PER_BYTE;
        self.credit = self.credit.min(self.cap);
        self.limit_segs = spec.queue_packets.map(u64::from);
        self.limit_bytes = spec.queue_bytes;
        self.overhead = spec.overhead_bytes;
        self.update_head_due();
    }

    /// Bytes per packet added when charging.
    pub fn overhead(&self) -> u32 {
        self.overhead
    }

    /// Queued wire packets.
    pub fn queued_packets(&self) -> u64 {
        self.queued_segs
    }

    /// Queued wire bytes.
    pub fn queued_bytes(&self) -> u64 {
        self.queued_bytes
    }

    /// When the head of the queue becomes eligible.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.head_due
    }

    fn refill(&mut self, t: Instant) {
        if t > self.last {
            let earned = i128::from(t.nanos_since(self.last)) * i128::from(self.rate_bps);
            self.credit = (self.credit + earned).min(self.cap);
            self.last = t;
        }
    }

    fn need(&self, bytes: u64) -> i128 {
        (i128::from(bytes) * UNITS_PER_BYTE).min(self.cap)
    }

    fn eligible_at(&self, bytes: u64) -> Instant {
        let need = self.need(bytes);
        if self.credit >= need {
            return self.last;
        }
        let deficit = need - self.credit;
        let rate = i128::from(self.rate_bps);
        let wait = (deficit + rate - 1) / rate;
        self.last.add_nanos(u64::try_from(wait).unwrap_or(u64::MAX))
    }

    fn update_head_due(&mut self) {
        self.head_due = self.queue.front().map(|q| self.eligible_at(q.bytes));
    }

    fn fits(&self, segs: u32, bytes: u64) -> bool {
        if self.queue.is_empty() {
            // Never starve: an empty queue takes any one packet, even a
            // super-frame larger than the configured limits.
            return true;
        }
        let segs_ok = self.limit_segs.is_none_or(|l| self.queued_segs + u64::from(segs) <= l);
        let bytes_ok = self.limit_bytes.is_none_or(|l| self.queued_bytes + bytes <= l);
        segs_ok && bytes_ok
    }

    /// Offers a packet at `now`. Call [`Shaper::release_due`] first so the
    /// queue is up to date.
    pub fn offer(&mut self, pkt: Packet, now: Instant) -> Offer {
        self.refill(now);
        let bytes = pkt.wire_bytes(self.overhead);
        let segs = pkt.segments();
        if self.queue.is_empty() && self.credit >= self.need(bytes) {
            self.credit -= i128::from(bytes) * UNITS_PER_BYTE;
            return Offer::Sent(pkt);
        }
        if !self.fits(segs, bytes) {
            return Offer::Dropped(pkt);
        }
        self.queued_segs += u64::from(segs);
        self.queued_bytes += bytes;
        self.queue.push_back(Queued { pkt, segs, bytes });
        if self.queue.len() == 1 {
            self.update_head_due();
        }
        Offer::Queued
    }

    /// Sends every queued packet that is eligible by `now`, each with the
    /// instant it became eligible.
    pub fn release_due(&mut self, now: Instant, out: &mut impl FnMut(Packet, Instant)) {
        while let Some(due) = self.head_due {
            if due > now {
                break;
            }
            self.refill(due);
            let Some(q) = self.queue.pop_front() else {
                break;
            };
            self.credit -= i128::from(q.bytes) * UNITS_PER_BYTE;
            self.queued_segs -= u64::from(q.segs);
            self.queued_bytes -= q.bytes;
            self.update_head_due();
            out(q.pkt, due);
        }
    }

    /// Every queued packet, mutable (to remap metadata on reload).
    pub fn packets_mut(&mut self) -> impl Iterator<Item = &mut Packet> {
        self.queue.iter_mut().map(|q| &mut q.pkt)
    }

    /// Empties the queue (link removed or rate limit cleared).
    pub fn drain(&mut self) -> Vec<Packet> {
        self.queued_segs = 0;
        self.queued_bytes = 0;
        self.head_due = None;
        self.queue.drain(..).map(|q| q.pkt).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Packet {
        Packet::from_slice(&vec![0u8; len])
    }

    fn spec(rate_bps: u64, burst: u64, queue: u32) -> RateSpec {
        RateSpec { rate_bps, burst_bytes: burst, queue_packets: Some(queue), queue_bytes: None, overhead_bytes: 0 }
    }

    #[test]
    fn departures_are_paced_exactly() {
        // 1000 bytes at 8 Mbit/s = 1 ms per packet, bucket of one packet.
        let mut s = Shaper::new(&spec(8_000_000, 1000, 100), Instant::ZERO);
        assert!(matches!(s.offer(frame(1000), Instant::ZERO), Offer::Sent(_)));
        for _ in 0..3 {
            assert!(matches!(s.offer(frame(1000), Instant::ZERO), Offer::Queued));
        }
        assert_eq!(s.poll_timeout(), Some(Instant::from_millis(1)));
        let mut out = Vec::new();
        s.release_due(Instant::from_millis(10), &mut |p, t| out.push((p.len(), t)));
        let times: Vec<_> = out.iter().map(|o| o.1).collect();
        assert_eq!(times, vec![Instant::from_millis(1), Instant::from_millis(2), Instant::from_millis(3)]);
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn tail_drop_starts_exactly_when_full() {
        let mut s = Shaper::new(&spec(1_000_000, 1500, 10), Instant::ZERO);
        let mut verdicts = Vec::new();
        for _ in 0..20 {
            verdicts.push(match s.offer(frame(1500), Instant::ZERO) {
                Offer::Sent(_) => 'S',
                Offer::Queued => 'Q',
                Offer::Dropped(_) => 'D',
            });
        }
        let v: String = verdicts.into_iter().collect();
        assert_eq!(v, "SQQQQQQQQQQDDDDDDDDD");
        assert_eq!(s.queued_packets(), 10);
    }

    #[test]
    fn oversized_packet_leaves_in_debt() {
        let mut s = Shaper::new(&spec(8_000_000, 1000, 10), Instant::ZERO);
        // 3000 bytes > 1000-byte bucket: leaves at once (bucket full), then
        // the next 1000-byte packet waits for 3 ms of refill.
        assert!(matches!(s.offer(frame(3000), Instant::ZERO), Offer::Sent(_)));
        assert!(matches!(s.offer(frame(1000), Instant::ZERO), Offer::Queued));
        assert_eq!(s.poll_timeout(), Some(Instant::from_millis(3)));
    }
}
