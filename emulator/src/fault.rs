//! The fault overlay: temporary effects layered on a link direction without
//! touching its configured impairments.
//!
//! Contract: a [`FaultEffect`] is active in `[start, end)` of engine time and
//! applies to each packet with its own probability, drawn from the link
//! direction's fault RNG (so runs are reproducible). Effects stack instead of
//! replacing each other: delays add, independent losses combine to
//! `1 − Π(1 − pᵢ)`, rate limits take the minimum. Flapping is a pure function
//! of time (down for the first `down` of every `period` after its start), so
//! it needs no timers. The stage is evaluated right after the filter hook.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::counters::DropReason;
use crate::packet::Packet;
use crate::rng::{Probability, StageRng};
use crate::time::{Instant, duration_nanos};

/// What a fault does to the packets it applies to.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EffectKind {
    /// Extra delay, plus uniform jitter in ±`jitter`.
    Delay {
        /// Added delay.
        #[serde(with = "dur")]
        delay: Duration,
        /// Half-range of uniform jitter.
        #[serde(with = "dur", default)]
        jitter: Duration,
    },
    /// Drop (the fault's probability is the loss rate).
    Loss,
    /// Flip one bit.
    Corrupt,
    /// Send an extra copy.
    Duplicate,
    /// Skip the delay line (overtake).
    Reorder,
    /// Cap the rate (applied through the shaper; never per packet).
    RateLimit {
        /// Bits per second.
        rate_bps: u64,
    },
    /// Drop everything (the link is a black hole).
    Blackhole,
    /// The link or node is down.
    Down,
    /// Down for `down` at the start of every `period`.
    Flap {
        /// Cycle length.
        #[serde(with = "dur")]
        period: Duration,
        /// Down time per cycle.
        #[serde(with = "dur")]
        down: Duration,
    },
}

/// Durations serialized as tc-style strings.
pub mod dur {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as `10ms`.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::units::format_duration(*d))
    }

    /// Deserializes from `10ms`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        crate::units::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

/// One fault as installed on a link direction.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultEffect {
    /// The fault's id (shared by every direction it was installed on).
    pub id: u64,
    /// What it does.
    pub kind: EffectKind,
    /// Per-packet probability of applying.
    pub probability: f64,
    /// Active from.
    pub start: Instant,
    /// Active until (exclusive); `None`: until removed.
    pub end: Option<Instant>,
}

impl FaultEffect {
    /// True at `now`.
    pub fn active(&self, now: Instant) -> bool {
        now >= self.start && self.end.is_none_or(|e| now < e)
    }
}

/// What the overlay decided for one packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultOutcome {
    /// Drop it, with this reason.
    pub drop: Option<DropReason>,
    /// Force a bit flip.
    pub corrupt: bool,
    /// Force a duplicate.
    pub duplicate: bool,
    /// Force it ahead of the delay line.
    pub reorder: bool,
    /// True when any effect applied.
    pub applied: bool,
}

/// The fault overlay of one link direction.
#[derive(Clone, Debug)]
pub struct FaultStage {
    effects: Vec<(FaultEffect, Probability)>,
    rng: StageRng,
}

impl FaultStage {
    /// An empty overlay drawing from `rng`.
    pub fn new(rng: StageRng) -> Self {
        FaultStage { effects: Vec::new(), rng }
    }

    /// Replaces the installed effects (the RNG stream continues).
    pub fn set(&mut self, effects: Vec<FaultEffect>) {
        self.effects = effects
            .into_iter()
            .map(|e| {
                let p = Probability::new(e.probability);
                (e, p)
            })
            .collect();
    }

    /// The installed effects.
    pub fn effects(&self) -> impl Iterator<Item = &FaultEffect> {
        self.effects.iter().map(|(e, _)| e)
    }

    /// True when nothing is installed.
    pub fn is_empty(&self) -> bool {
        self.effects.is_empty()
    }

    /// The tightest rate limit active at `now`, if any.
    pub fn rate_limit(&self, now: Instant) -> Option<u64> {
        self.effects
            .iter()
            .filter(|(e, _)| e.active(now))
            .filter_map(|(e, _)| match e.kind {
                EffectKind::RateLimit { rate_bps } => Some(rate_bps),
                _ => None,
            })
            .min()
    }

    /// The next instant at which the set of active rate limits changes.
    pub fn next_rate_change(&self, now: Instant) -> Option<Instant> {
        self.effects
            .iter()
            .filter(|(e, _)| matches!(e.kind, EffectKind::RateLimit { .. }))
            .flat_map(|(e, _)| [Some(e.start), e.end])
            .flatten()
            .filter(|&t| t > now)
            .min()
    }

    /// Applies every active effect to `pkt` at `now`.
    pub fn apply(&mut self, pkt: &mut Packet, now: Instant) -> FaultOutcome {
        let mut out = FaultOutcome::default();
        for (e, p) in &self.effects {
            if !e.active(now) {
                continue;
            }
            let hits = match e.kind {
                EffectKind::RateLimit { .. } => continue,
                EffectKind::Flap { period, down } => {
                    let period = duration_nanos(period).max(1);
                    let phase = now.nanos_since(e.start) % period;
                    phase < duration_nanos(down) && p.hit(&mut self.rng)
                }
                _ => p.hit(&mut self.rng),
            };
            if !hits {
                continue;
            }
            out.applied = true;
            match e.kind {
                EffectKind::Delay { delay, jitter } => {
                    let mut ns = duration_nanos(delay) as i128;
                    let j = duration_nanos(jitter);
                    if j > 0 {
                        ns += (self.rng.below(2 * j + 1) as i128) - j as i128;
                    }
                    pkt.meta.extra_delay_ns = pkt.meta.extra_delay_ns.saturating_add(ns.max(0) as u64);
                }
                EffectKind::Loss | EffectKind::Blackhole => {
                    out.drop.get_or_insert(DropReason::Fault);
                }
                EffectKind::Down | EffectKind::Flap { .. } => {
                    out.drop.get_or_insert(DropReason::LinkDown);
                }
                EffectKind::Corrupt => out.corrupt = true,
                EffectKind::Duplicate => out.duplicate = true,
                EffectKind::Reorder => out.reorder = true,
                EffectKind::RateLimit { .. } => {}
            }
        }
        out
    }
}

/// A partition: traffic between the two groups of nodes is dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionEffect {
    /// The fault's id.
    pub id: u64,
    /// Membership of each node (by index): 0 = none, 1 = group A, 2 = group B.
    pub side: Vec<u8>,
    /// Per-packet probability.
    pub probability: f64,
    /// Active from.
    pub start: Instant,
    /// Active until.
    pub end: Option<Instant>,
}

impl PartitionEffect {
    /// True when a packet from `src` to `dst` must be dropped at `now`
    /// (before the probability is drawn).
    pub fn separates(&self, src: usize, dst: usize, now: Instant) -> bool {
        let (a, b) = (self.side.get(src).copied().unwrap_or(0), self.side.get(dst).copied().unwrap_or(0));
        a != 0 && b != 0 && a != b && now >= self.start && self.end.is_none_or(|e| now < e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eff(kind: EffectKind, p: f64) -> FaultEffect {
        FaultEffect { id: 1, kind, probability: p, start: Instant::ZERO, end: None }
    }

    #[test]
    fn delays_add_and_losses_combine() {
        let mut st = FaultStage::new(StageRng::from_seed(1));
        st.set(vec![
            eff(EffectKind::Delay { delay: Duration::from_millis(10), jitter: Duration::ZERO }, 1.0),
            eff(EffectKind::Delay { delay: Duration::from_millis(5), jitter: Duration::ZERO }, 1.0),
        ]);
        let mut p = Packet::from_slice(&[0u8; 60]);
        st.apply(&mut p, Instant::ZERO);
        assert_eq!(p.meta.extra_delay_ns, 15_000_000);
        st.set(vec![eff(EffectKind::Loss, 0.5), eff(EffectKind::Loss, 0.5)]);
        let n = 100_000;
        let dropped = (0..n)
            .filter(|_| st.apply(&mut Packet::from_slice(&[0u8; 60]), Instant::ZERO).drop.is_some())
            .count() as f64;
        // 1 − 0.5·0.5 = 75%; 99.9% half-width 3.29·sqrt(.1875/1e5) = 0.0045.
        assert!((dropped / n as f64 - 0.75).abs() < 0.0045, "{dropped}");
    }

    #[test]
    fn flapping_and_windows_follow_time() {
        let mut st = FaultStage::new(StageRng::from_seed(1));
        st.set(vec![FaultEffect {
            id: 1,
            kind: EffectKind::Flap { period: Duration::from_secs(1), down: Duration::from_millis(300) },
            probability: 1.0,
            start: Instant::from_millis(1000),
            end: Some(Instant::from_millis(5000)),
        }]);
        let down = |st: &mut FaultStage, ms: u64| {
            st.apply(&mut Packet::from_slice(&[0u8; 60]), Instant::from_millis(ms)).drop.is_some()
        };
        assert!(!down(&mut st, 999));
        assert!(down(&mut st, 1000));
        assert!(down(&mut st, 1299));
        assert!(!down(&mut st, 1300));
        assert!(down(&mut st, 2100));
        assert!(!down(&mut st, 5100), "expired");
    }

    #[test]
    fn rate_limits_take_the_minimum() {
        let mut st = FaultStage::new(StageRng::from_seed(1));
        st.set(vec![
            eff(EffectKind::RateLimit { rate_bps: 10_000_000 }, 1.0),
            FaultEffect {
                end: Some(Instant::from_millis(10)),
                ..eff(EffectKind::RateLimit { rate_bps: 1_000_000 }, 1.0)
            },
        ]);
        assert_eq!(st.rate_limit(Instant::ZERO), Some(1_000_000));
        assert_eq!(st.next_rate_change(Instant::ZERO), Some(Instant::from_millis(10)));
        assert_eq!(st.rate_limit(Instant::from_millis(10)), Some(10_000_000));
    }
}
