//! The delay line: fixed delay, jitter with a distribution and correlation,
//! and the netem-style reorder bypass.
//!
//! Order: by default a packet never leaves before the one ahead of it — its
//! due time is `max(previous due, departure + sample)`, so jitter stretches
//! gaps instead of swapping packets, and the line is a FIFO (`VecDeque`, O(1)).
//! With `allow_reorder` (netem's behaviour) each packet keeps its own sample
//! and the line is a heap keyed by `(due, seq)`, so equal due times stay in
//! arrival order. A packet marked `reorder` skips the delay entirely and
//! overtakes whatever is queued, as netem's `reorder` does.
//!
//! Correlation uses a Gaussian copula: an AR(1) process
//! `z ← ρz + √(1−ρ²)ε` keeps a standard normal marginal, and the target
//! distribution is reached through its inverse CDF. Unlike netem (which
//! averages uniform draws and so narrows the distribution), the mean and
//! standard deviation do not change with the correlation.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::impair::{DelaySpec, Distribution};
use crate::packet::Packet;
use crate::rng::StageRng;
use crate::time::{Instant, duration_nanos};

/// Pareto shape used for `pareto` and `paretonormal`.
pub const PARETO_ALPHA: f64 = 3.0;
/// Pareto samples are truncated at this upper quantile.
pub const PARETO_TRUNCATION: f64 = 1.0 - 1e-5;

/// Standard normal CDF.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// Mean and standard deviation of the truncated Pareto(α, x_m = 1) used for
/// jitter, so samples can be standardised exactly.
pub fn truncated_pareto_moments() -> (f64, f64) {
    let a = PARETO_ALPHA;
    let q = PARETO_TRUNCATION;
    let x_max = (1.0 - q).powf(-1.0 / a);
    let m1 = a / (a - 1.0) * (1.0 - x_max.powf(1.0 - a)) / q;
    let m2 = a / (a - 2.0) * (1.0 - x_max.powf(2.0 - a)) / q;
    (m1, (m2 - m1 * m1).sqrt())
}

/// Draws delay samples.
#[derive(Clone, Debug)]
pub struct Jitter {
    mean_ns: f64,
    jitter_ns: f64,
    dist: Distribution,
    rho: f64,
    innovation: f64,
    z1: f64,
    z2: f64,
    pareto_mean: f64,
    pareto_std: f64,
}

impl Jitter {
    /// A sampler for `spec`.
    pub fn new(spec: &DelaySpec) -> Self {
        let rho = spec.correlation.clamp(0.0, 0.999_999);
        let (pm, ps) = truncated_pareto_moments();
        Jitter {
            mean_ns: duration_nanos(spec.delay) as f64,
            jitter_ns: duration_nanos(spec.jitter) as f64,
            dist: spec.distribution,
            rho,
            innovation: (1.0 - rho * rho).sqrt(),
            z1: 0.0,
            z2: 0.0,
            pareto_mean: pm,
            pareto_std: ps,
        }
    }

    fn next_z(rho: f64, innovation: f64, z: &mut f64, rng: &mut StageRng, first: bool) -> f64 {
        let e = rng.std_normal();
        *z = if first || rho == 0.0 { e } else { rho * *z + innovation * e };
        *z
    }

    fn pareto_std_sample(&self, u: f64) -> f64 {
        let x = (1.0 - u * PARETO_TRUNCATION).powf(-1.0 / PARETO_ALPHA);
        (x - self.pareto_mean) / self.pareto_std
    }

    /// The next delay in nanoseconds (never negative).
    pub fn sample(&mut self, rng: &mut StageRng) -> u64 {
        if self.jitter_ns == 0.0 {
            return self.mean_ns as u64;
        }
        let (rho, inn) = (self.rho, self.innovation);
        let x = match self.dist {
            Distribution::Uniform => {
                let u =
                    if rho == 0.0 { rng.unit() } else { normal_cdf(Self::next_z(rho, inn, &mut self.z1, rng, false)) };
                self.mean_ns + self.jitter_ns * (2.0 * u - 1.0)
            }
            Distribution::Normal => self.mean_ns + self.jitter_ns * Self::next_z(rho, inn, &mut self.z1, rng, false),
            Distribution::Pareto => {
                let u = if rho == 0.0 {
                    rng.open_unit()
                } else {
                    normal_cdf(Self::next_z(rho, inn, &mut self.z1, rng, false))
                };
                self.mean_ns + self.jitter_ns * self.pareto_std_sample(u)
            }
            Distribution::Paretonormal => {
                let n = Self::next_z(rho, inn, &mut self.z1, rng, false);
                let u = if rho == 0.0 {
                    rng.open_unit()
                } else {
                    normal_cdf(Self::next_z(rho, inn, &mut self.z2, rng, false))
                };
                let p = self.pareto_std_sample(u);
                // 1/4 normal + 3/4 Pareto, rescaled to unit variance.
                let mix = (0.25 * n + 0.75 * p) / (0.25f64 * 0.25 + 0.75 * 0.75).sqrt();
                self.mean_ns + self.jitter_ns * mix
            }
        };
        if x <= 0.0 { 0 } else { x.round() as u64 }
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct HeapKey(Instant, u64);

struct HeapEntry {
    key: HeapKey,
    pkt: Packet,
}

impl PartialEq for HeapEntry {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for HeapEntry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key.cmp(&o.key)
    }
}

/// What `DelayLine::offer` did.
pub enum Held {
    /// Due already: leaves at the given instant.
    Now(Packet, Instant),
    /// Held until due.
    Held,
    /// The line was full.
    Dropped(Packet),
}

/// A live delay line.
pub struct DelayLine {
    jitter: Option<Jitter>,
    allow_reorder: bool,
    limit: usize,
    fifo: VecDeque<(Instant, Packet, u32)>,
    heap: BinaryHeap<Reverse<HeapEntry>>,
    seq: u64,
    last_due: Instant,
    held_segs: u64,
}

impl Default for DelayLine {
    fn default() -> Self {
        DelayLine::new(None)
    }
}

impl DelayLine {
    /// A line for `spec` (`None`: no delay, packets pass at once).
    pub fn new(spec: Option<&DelaySpec>) -> Self {
        DelayLine {
            jitter: spec.map(Jitter::new),
            allow_reorder: spec.is_some_and(|s| s.allow_reorder),
            limit: spec.map_or(crate::impair::DEFAULT_DELAY_LIMIT, |s| s.limit) as usize,
            fifo: VecDeque::new(),
            heap: BinaryHeap::new(),
            seq: 0,
            last_due: Instant::ZERO,
            held_segs: 0,
        }
    }

    /// Applies new parameters; packets already held keep their due times.
    pub fn reconfigure(&mut self, spec: Option<&DelaySpec>) {
        let allow = spec.is_some_and(|s| s.allow_reorder);
        self.jitter = spec.map(Jitter::new);
        self.limit = spec.map_or(crate::impair::DEFAULT_DELAY_LIMIT, |s| s.limit) as usize;
        if allow != self.allow_reorder {
            // Move held packets to the other structure, preserving order.
            if allow {
                for (due, pkt, _) in self.fifo.drain(..) {
                    self.seq += 1;
                    self.heap.push(Reverse(HeapEntry { key: HeapKey(due, self.seq), pkt }));
                }
            }
            // Switching to FIFO, packets already in the heap stay there and
            // leave at their due times.
            self.allow_reorder = allow;
        }
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.fifo.len() + self.heap.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wire packets held.
    pub fn held_packets(&self) -> u64 {
        self.held_segs
    }

    /// The earliest due time.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let h = self.heap.peek().map(|Reverse(e)| e.key.0);
        let f = self.fifo.front().map(|f| f.0);
        match (h, f) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Offers a packet that left the previous stage at `departure`. Call
    /// [`DelayLine::release_due`] first so order is kept.
    ///
    /// A packet carrying an extra delay (a filter's `delay()` or a delay
    /// fault) is held on its own: others may overtake it, and packets with
    /// the same extra delay keep their order.
    pub fn offer(&mut self, pkt: Packet, departure: Instant, now: Instant, rng: &mut StageRng) -> Held {
        if pkt.meta.reorder {
            return Held::Now(pkt, departure);
        }
        let sample = self.jitter.as_mut().map_or(0, |j| j.sample(rng));
        let mut base = departure.add_nanos(sample);
        if !self.allow_reorder {
            base = base.max(self.last_due);
            self.last_due = base;
        }
        let extra = pkt.meta.extra_delay_ns;
        let due = base.add_nanos(extra);
        let to_heap = self.allow_reorder || extra > 0;
        if due <= now && (to_heap || self.fifo.is_empty()) {
            return Held::Now(pkt, due);
        }
        if self.len() >= self.limit {
            return Held::Dropped(pkt);
        }
        let segs = pkt.segments();
        self.held_segs += u64::from(segs);
        if to_heap {
            self.seq += 1;
            self.heap.push(Reverse(HeapEntry { key: HeapKey(due, self.seq), pkt }));
        } else {
            self.fifo.push_back((due, pkt, segs));
        }
        Held::Held
    }

    /// Releases every packet due by `now`, in due order, with its due instant.
    pub fn release_due(&mut self, now: Instant, out: &mut impl FnMut(Packet, Instant)) {
        loop {
            let h = self.heap.peek().map(|Reverse(e)| e.key.0).filter(|&t| t <= now);
            let f = self.fifo.front().map(|f| f.0).filter(|&t| t <= now);
            let take_heap = match (h, f) {
                (None, None) => break,
                (Some(a), Some(b)) => a < b,
                (a, _) => a.is_some(),
            };
            if take_heap {
                if let Some(Reverse(e)) = self.heap.pop() {
                    self.held_segs -= u64::from(e.pkt.segments());
                    out(e.pkt, e.key.0);
                }
            } else if let Some((due, pkt, segs)) = self.fifo.pop_front() {
                self.held_segs -= u64::from(segs);
                out(pkt, due);
            }
        }
    }

    /// Applies `f` to every held packet (to remap metadata on reload).
    pub fn for_each_packet_mut(&mut self, f: &mut impl FnMut(&mut Packet)) {
        for (_, p, _) in self.fifo.iter_mut() {
            f(p);
        }
        if !self.heap.is_empty() {
            let mut all: Vec<Reverse<HeapEntry>> = std::mem::take(&mut self.heap).into_vec();
            for Reverse(e) in all.iter_mut() {
                f(&mut e.pkt);
            }
            self.heap = all.into();
        }
    }

    /// Empties the line.
    pub fn drain(&mut self) -> Vec<Packet> {
        self.held_segs = 0;
        let mut v: Vec<Packet> = self.fifo.drain(..).map(|f| f.1).collect();
        v.extend(self.heap.drain().map(|Reverse(e)| e.pkt));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pareto_standardisation_is_exact() {
        let (m, s) = truncated_pareto_moments();
        // Untruncated Pareto(3): mean 1.5, sd 0.866; truncation trims a little.
        assert!((m - 1.5).abs() < 0.01, "{m}");
        assert!((s - 0.866).abs() < 0.05, "{s}");
    }

    #[test]
    fn fifo_line_never_reorders_under_jitter() {
        let spec = DelaySpec { jitter: Duration::from_millis(5), ..DelaySpec::fixed(Duration::from_millis(10)) };
        let mut line = DelayLine::new(Some(&spec));
        let mut rng = StageRng::from_seed(3);
        for i in 0..1000u64 {
            let mut p = Packet::from_slice(&i.to_be_bytes());
            p.meta.origin = i as u32;
            let _ = line.offer(p, Instant::from_micros(i * 100), Instant::from_micros(i * 100), &mut rng);
        }
        let mut out = Vec::new();
        line.release_due(Instant::from_millis(1000), &mut |p, t| out.push((p.meta.origin, t)));
        assert_eq!(out.len(), 1000);
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
    }
}
