//! Statistics for judging measurements: quantiles and sound intervals.

/// The `q` quantile (nearest rank) of a sorted slice; NaN when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = (q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The median of a sorted slice; NaN when empty.
pub fn median(sorted: &[f64]) -> f64 {
    quantile(sorted, 0.5)
}

/// Sorts a copy of `v` (NaNs last).
pub fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

/// z for a two-sided 99.9% interval.
pub const Z_999: f64 = 3.2905;

/// The two-sided 99.9% interval of the share of successes in `n` Bernoulli
/// trials with probability `p` (normal approximation with a continuity
/// correction; sound for `n·p·(1-p)` above ~10): `(low, high)` as shares.
pub fn binomial_interval_999(p: f64, n: u64) -> (f64, f64) {
    let n = n.max(1) as f64;
    let half = Z_999 * (p * (1.0 - p) / n).sqrt() + 0.5 / n;
    ((p - half).max(0.0), (p + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let v = sorted(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((quantile(&v, 0.0), median(&v), quantile(&v, 1.0)), (1.0, 3.0, 5.0));
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn interval_holds_what_it_promises() {
        // 2% of 5000: the README's demo figure.
        let (lo, hi) = binomial_interval_999(0.02, 5000);
        assert!((0.0131..0.0137).contains(&lo) && (0.0263..0.0269).contains(&hi), "{lo} {hi}");
        // A deterministic stream of Bernoulli trials (xorshift): the share
        // of 1,000 runs whose measured rate falls outside must be tiny.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut outside = 0;
        for _ in 0..1000 {
            let mut hits = 0u64;
            for _ in 0..2000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                hits += u64::from(x % 1000 < 50);
            }
            let (lo, hi) = binomial_interval_999(0.05, 2000);
            let r = hits as f64 / 2000.0;
            outside += u32::from(r < lo || r > hi);
        }
        assert!(outside <= 5, "{outside} of 1000 outside a 99.9% interval");
    }
}
