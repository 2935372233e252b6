//! Per-packet chance decisions: corruption (and where to flip the bit),
//! duplication and netem-style reordering with a gap.

use crate::impair::{ChanceSpec, ReorderSpec};
use crate::packet::Packet;
use crate::rng::{CorrelatedBernoulli, StageRng};
use crate::wire;

/// A correlated per-packet yes/no (corrupt, duplicate).
#[derive(Clone, Debug)]
pub struct Chance(CorrelatedBernoulli);

impl Chance {
    /// From a spec.
    pub fn new(spec: &ChanceSpec) -> Self {
        Chance(CorrelatedBernoulli::new(spec.p, spec.correlation))
    }

    /// Decides for the next packet.
    #[inline]
    pub fn decide(&mut self, rng: &mut StageRng) -> bool {
        self.0.sample(rng)
    }
}

/// Flips one random bit of the packet's transport segment (header or
/// payload), or of the IP datagram when it has no transport header, or of the
/// whole frame when it is not IP. The checksum must already be complete (see
/// `gso::finalize_checksum`), so the receiver detects the damage the way it
/// would detect a real bit error — as a checksum failure.
pub fn corrupt_one_bit(pkt: &mut Packet, rng: &mut StageRng) {
    let (start, end) = match wire::parse(pkt.data()) {
        Ok(info) if info.is_ip() => {
            let end = info.l3_offset + info.l3_len;
            let start = if info.l4_offset > 0 { info.l4_offset } else { info.l3_offset };
            (start, end)
        }
        _ => (0, pkt.len()),
    };
    if end <= start {
        return;
    }
    let bit = rng.below(((end - start) * 8) as u64) as usize;
    let data = pkt.data_mut();
    data[start + bit / 8] ^= 1 << (bit % 8);
}

/// netem reordering: after `gap − 1` packets delayed normally, each packet is
/// sent immediately with probability `p` until one is; then the gap restarts.
/// The long-run share of reordered packets is `p / (1 + p (gap − 1))`.
#[derive(Clone, Debug)]
pub struct Reorder {
    chance: CorrelatedBernoulli,
    gap: u32,
    counter: u32,
}

impl Reorder {
    /// From a spec.
    pub fn new(spec: &ReorderSpec) -> Self {
        Reorder { chance: CorrelatedBernoulli::new(spec.p, spec.correlation), gap: spec.gap.max(1), counter: 0 }
    }

    /// The expected share of packets sent ahead.
    pub fn expected_rate(spec: &ReorderSpec) -> f64 {
        spec.p / (1.0 + spec.p * f64::from(spec.gap.max(1) - 1))
    }

    /// Decides whether the next packet skips the delay.
    #[inline]
    pub fn decide(&mut self, rng: &mut StageRng) -> bool {
        if self.counter + 1 < self.gap {
            self.counter += 1;
            return false;
        }
        if self.chance.sample(rng) {
            self.counter = 0;
            true
        } else {
            self.counter = self.counter.saturating_add(1);
            false
        }
    }
}
