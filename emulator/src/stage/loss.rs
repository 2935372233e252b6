//! Loss models: random (optionally correlated), Gilbert-Elliott and the
//! 4-state Markov model, with netem's semantics (state transition first, then
//! the loss decision in the new state).

use crate::impair::LossSpec;
use crate::rng::{CorrelatedBernoulli, Probability, StageRng};

/// Live state of a loss model.
#[derive(Clone, Debug)]
pub enum Loss {
    /// Bernoulli with mean-preserving correlation.
    Random(CorrelatedBernoulli),
    /// Gilbert-Elliott.
    GilbertElliott {
        /// P(good → bad).
        to_bad: Probability,
        /// P(bad → good).
        to_good: Probability,
        /// Loss probability in bad.
        loss_bad: Probability,
        /// Loss probability in good.
        loss_good: Probability,
        /// Current state.
        bad: bool,
    },
    /// 4-state Markov (Salsano et al.): 1 gap reception, 2 burst reception,
    /// 3 burst loss, 4 isolated loss.
    FourState {
        /// Cumulative thresholds as probabilities.
        p13: f64,
        /// p31.
        p31: f64,
        /// p32.
        p32: f64,
        /// p23.
        p23: f64,
        /// p14.
        p14: f64,
        /// Current state, 1..=4.
        state: u8,
    },
}

impl Loss {
    /// The model for `spec`, in its initial (good) state.
    pub fn new(spec: &LossSpec) -> Self {
        match *spec {
            LossSpec::Random { p, correlation } => Loss::Random(CorrelatedBernoulli::new(p, correlation)),
            LossSpec::GilbertElliott { p, r, one_minus_h, one_minus_k } => Loss::GilbertElliott {
                to_bad: Probability::new(p),
                to_good: Probability::new(r),
                loss_bad: Probability::new(one_minus_h),
                loss_good: Probability::new(one_minus_k),
                bad: false,
            },
            LossSpec::FourState { p13, p31, p32, p23, p14 } => Loss::FourState { p13, p31, p32, p23, p14, state: 1 },
        }
    }

    /// Decides whether the next packet is lost.
    #[inline]
    pub fn decide(&mut self, rng: &mut StageRng) -> bool {
        match self {
            Loss::Random(b) => b.sample(rng),
            Loss::GilbertElliott { to_bad, to_good, loss_bad, loss_good, bad } => {
                if *bad {
                    if to_good.hit(rng) {
                        *bad = false;
                    }
                } else if to_bad.hit(rng) {
                    *bad = true;
                }
                if *bad { loss_bad.hit(rng) } else { loss_good.hit(rng) }
            }
            Loss::FourState { p13, p31, p32, p23, p14, state } => {
                let u = rng.unit();
                *state = match *state {
                    1 => {
                        if u < *p14 {
                            4
                        } else if u < *p14 + *p13 {
                            3
                        } else {
                            1
                        }
                    }
                    2 => {
                        if u < *p23 {
                            3
                        } else {
                            2
                        }
                    }
                    3 => {
                        if u < *p31 {
                            1
                        } else if u < *p31 + *p32 {
                            2
                        } else {
                            3
                        }
                    }
                    _ => 1,
                };
                *state >= 3
            }
        }
    }
}
