//! Deterministic randomness for the impairment stages.
//!
//! Contract: every stage of every link direction owns its own generator,
//! seeded from the topology's global seed, the link's *name*, the direction and
//! the stage. Same seed and same input → identical decisions, and adding or
//! removing one link or one stage never shifts another's random stream.
//! Generators are xoshiro256++ (portable across platforms and rand versions).
//! Probabilities are compared as integer thresholds on a 64-bit draw.

use rand_core::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Which stage a generator belongs to (part of its seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum StageId {
    /// Loss decisions.
    Loss = 1,
    /// Corruption decisions and bit positions.
    Corrupt = 2,
    /// Duplication decisions.
    Duplicate = 3,
    /// Delay samples.
    Delay = 4,
    /// Reorder decisions.
    Reorder = 5,
    /// Fault-overlay decisions.
    Fault = 6,
    /// Script-visible randomness.
    Script = 7,
    /// Load-balancing and other forwarding choices.
    Forward = 8,
}

/// FNV-1a, used to fold names into seeds (stable across Rust versions,
/// unlike `DefaultHasher`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of one stage's stream.
pub fn stream_seed(seed: u64, name: &str, dir: u8, stage: StageId) -> u64 {
    splitmix(seed ^ splitmix(fnv1a(name.as_bytes()) ^ (u64::from(dir) << 56) ^ (stage as u64) << 48))
}

/// A seeded generator owned by one stage.
#[derive(Clone, Debug)]
pub struct StageRng(Xoshiro256PlusPlus);

impl StageRng {
    /// The generator for `stage` of direction `dir` of link `name`.
    pub fn new(seed: u64, name: &str, dir: u8, stage: StageId) -> Self {
        StageRng(Xoshiro256PlusPlus::seed_from_u64(stream_seed(seed, name, dir, stage)))
    }

    /// A generator from a raw seed.
    pub fn from_seed(seed: u64) -> Self {
        StageRng(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `(0, 1)`: never exactly 0 or 1 (safe for inverse CDFs).
    #[inline]
    pub fn open_unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `[0, n)`; 0 when `n == 0`. Unbiased (Lemire).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    /// A standard normal deviate.
    pub fn std_normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.0)
    }
}

/// A probability as an integer threshold on a 64-bit draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Probability {
    threshold: u64,
    always: bool,
    p: f64,
}

impl Probability {
    /// Never.
    pub const ZERO: Probability = Probability { threshold: 0, always: false, p: 0.0 };

    /// `p` clamped to `[0, 1]`.
    pub fn new(p: f64) -> Self {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        if p >= 1.0 {
            return Probability { threshold: u64::MAX, always: true, p: 1.0 };
        }
        let t = (p * 18_446_744_073_709_551_616.0).round();
        Probability { threshold: if t >= 18_446_744_073_709_551_615.0 { u64::MAX } else { t as u64 }, always: false, p }
    }

    /// The probability as a number.
    pub fn value(self) -> f64 {
        self.p
    }

    /// True when it can never hit.
    pub fn is_zero(self) -> bool {
        !self.always && self.threshold == 0
    }

    /// One Bernoulli trial. Draws exactly one number unless the probability is
    /// 0 or 1, so streams stay aligned when a parameter changes between those.
    #[inline]
    pub fn hit(self, rng: &mut StageRng) -> bool {
        if self.always {
            return true;
        }
        if self.threshold == 0 {
            return false;
        }
        rng.next_u64() < self.threshold
    }
}

/// A Bernoulli process with lag-1 correlation that preserves its mean.
///
/// netem blends each uniform draw with the previous one, which narrows the
/// distribution and changes the effective rate (a 10% loss with 50%
/// correlation does not lose 10%). Here the process is a two-state Markov
/// chain: after a hit the next hit has probability `p + ρ(1 − p)`, after a miss
/// `p(1 − ρ)`. Its stationary rate is exactly `p` and its lag-1
/// autocorrelation is exactly `ρ`.
#[derive(Clone, Copy, Debug)]
pub struct CorrelatedBernoulli {
    after_hit: Probability,
    after_miss: Probability,
    last: bool,
}

impl CorrelatedBernoulli {
    /// Rate `p`, correlation `rho` (both in `[0, 1]`).
    pub fn new(p: f64, rho: f64) -> Self {
        let rho = rho.clamp(0.0, 1.0);
        CorrelatedBernoulli {
            after_hit: Probability::new(p + rho * (1.0 - p)),
            after_miss: Probability::new(p * (1.0 - rho)),
            last: false,
        }
    }

    /// True when no trial can ever hit.
    pub fn is_zero(&self) -> bool {
        self.after_miss.is_zero() && self.after_hit.is_zero()
    }

    /// One trial.
    #[inline]
    pub fn sample(&mut self, rng: &mut StageRng) -> bool {
        let p = if self.last { self.after_hit } else { self.after_miss };
        self.last = p.hit(rng);
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let mut a = StageRng::new(42, "wan", 0, StageId::Loss);
        let mut b = StageRng::new(42, "wan", 0, StageId::Loss);
        let mut c = StageRng::new(42, "wan", 1, StageId::Loss);
        let mut d = StageRng::new(42, "wan", 0, StageId::Corrupt);
        let xa: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        let xd: Vec<u64> = (0..8).map(|_| d.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
        assert_ne!(xa, xd);
    }

    #[test]
    fn probability_edges() {
        let mut r = StageRng::from_seed(1);
        assert!((0..1000).all(|_| Probability::new(1.0).hit(&mut r)));
        assert!((0..1000).all(|_| !Probability::new(0.0).hit(&mut r)));
        assert!(Probability::new(-1.0).is_zero());
        assert_eq!(Probability::new(2.0).value(), 1.0);
        for n in [1u64, 2, 3, 7, 1000] {
            assert!((0..1000).all(|_| r.below(n) < n));
        }
        assert!((0..1000).map(|_| r.open_unit()).all(|u| u > 0.0 && u < 1.0));
    }

    #[test]
    fn correlated_bernoulli_keeps_its_mean_and_correlation() {
        // 200k trials: the 99.9% interval of a rate estimate for a Markov chain
        // widens by sqrt((1+ρ)/(1−ρ)); with p=0.1, ρ=0.5 that is
        // 3.29 * sqrt(0.09/200000) * sqrt(3) = 0.0038.
        let mut r = StageRng::from_seed(7);
        let mut b = CorrelatedBernoulli::new(0.1, 0.5);
        let n = 200_000;
        let xs: Vec<bool> = (0..n).map(|_| b.sample(&mut r)).collect();
        let hits = xs.iter().filter(|&&x| x).count() as f64;
        let rate = hits / n as f64;
        assert!((rate - 0.1).abs() < 0.0038, "rate {rate}");
        // P(hit | previous hit) = 0.1 + 0.5 * 0.9 = 0.55.
        let pairs = xs.windows(2).filter(|w| w[0]).count() as f64;
        let both = xs.windows(2).filter(|w| w[0] && w[1]).count() as f64;
        let cond = both / pairs;
        // ~20k conditioning trials: 99.9% half-width 3.29*sqrt(.2475/20000) = 0.0116.
        assert!((cond - 0.55).abs() < 0.0116, "conditional {cond}");
    }
}
