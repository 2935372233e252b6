//! Impairment specifications: what one direction of a link does to traffic.
//!
//! Contract: these are stateless, validated values (the "config" side of the
//! config/state split). Every spec deserializes from either the tc/netem
//! one-line syntax network engineers already know (`delay: 10ms 2ms 25%
//! distribution normal`, `loss: gemodel 1% 10% 100% 0%`, `rate: 100mbit burst
//! 32kb queue 500`) or a map (`delay: {time: 10ms, jitter: 2ms}`), with unknown
//! fields rejected. Invalid values are rejected while deserializing, so the
//! YAML parser attaches the exact line and column; the message carries a hint
//! after `"; hint: "`. Specs serialize to the map form with tc-style strings.
//! Live state (queues, RNGs, token buckets) lives in `stage`.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::units::{self, UnitError};

/// Separator between an error message and its hint in serde error strings.
pub const HINT_SEP: &str = "; hint: ";

fn unit_err<E: de::Error>(e: UnitError) -> E {
    match e.hint {
        Some(h) => E::custom(format!("{}{HINT_SEP}{h}", e.message)),
        None => E::custom(e.message),
    }
}

fn err(message: impl Into<String>, hint: impl Into<String>) -> UnitError {
    UnitError { message: message.into(), hint: Some(hint.into()) }
}

/// Shape of the delay jitter. `delay` is always the mean and `jitter` the
/// standard deviation, except for `uniform`, where the delay is uniform in
/// `[delay − jitter, delay + jitter]` as in netem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    /// Uniform in ±jitter (netem's default).
    #[default]
    Uniform,
    /// Normal with σ = jitter.
    Normal,
    /// Pareto (shape 3, heavy right tail), shifted and scaled to mean = delay,
    /// σ = jitter; truncated at its 99.999th percentile (netem's table clips too).
    Pareto,
    /// netem's "paretonormal": 1/4 normal + 3/4 Pareto, scaled to σ = jitter.
    Paretonormal,
}

impl Distribution {
    fn parse(s: &str) -> Result<Self, UnitError> {
        match s {
            "uniform" => Ok(Distribution::Uniform),
            "normal" => Ok(Distribution::Normal),
            "pareto" => Ok(Distribution::Pareto),
            "paretonormal" => Ok(Distribution::Paretonormal),
            other => Err(err(format!("unknown distribution `{other}`"), "use uniform, normal, pareto or paretonormal")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Distribution::Uniform => "uniform",
            Distribution::Normal => "normal",
            Distribution::Pareto => "pareto",
            Distribution::Paretonormal => "paretonormal",
        }
    }
}

/// Delay with optional jitter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DelaySpec {
    /// Mean one-way delay added by this link direction.
    pub delay: Duration,
    /// Jitter (σ, or half-range for uniform).
    pub jitter: Duration,
    /// Lag-1 correlation of successive delays, in `[0, 1]`.
    pub correlation: f64,
    /// Jitter distribution.
    pub distribution: Distribution,
    /// Let jitter reorder packets (netem's behaviour). Off by default: a packet
    /// never leaves before the one ahead of it.
    pub allow_reorder: bool,
    /// Maximum packets held by the delay line (default 100 000).
    pub limit: u32,
}

/// Default capacity of a delay line, in packets.
pub const DEFAULT_DELAY_LIMIT: u32 = 100_000;

impl DelaySpec {
    /// A fixed delay.
    pub fn fixed(delay: Duration) -> Self {
        DelaySpec {
            delay,
            jitter: Duration::ZERO,
            correlation: 0.0,
            distribution: Distribution::Uniform,
            allow_reorder: false,
            limit: DEFAULT_DELAY_LIMIT,
        }
    }

    fn check(self) -> Result<Self, UnitError> {
        if self.limit == 0 {
            return Err(err("delay limit is 0", "use at least 1 packet (default 100000)"));
        }
        if self.jitter > Duration::from_secs(60) || self.delay > Duration::from_secs(3600) {
            return Err(err("delay or jitter is implausibly large", "use at most 1h of delay and 60s of jitter"));
        }
        Ok(self)
    }

    /// Parses netem syntax: `TIME [JITTER [CORRELATION]] [distribution NAME]`.
    pub fn from_tc(text: &str) -> Result<Self, UnitError> {
        let toks: Vec<&str> = text.split_whitespace().collect();
        let mut spec = DelaySpec::fixed(Duration::ZERO);
        let mut i = 0;
        let mut positional = 0;
        while i < toks.len() {
            match toks[i] {
                "distribution" | "dist" => {
                    let name = toks
                        .get(i + 1)
                        .ok_or_else(|| err("`distribution` needs a name", "e.g. `10ms 2ms distribution normal`"))?;
                    spec.distribution = Distribution::parse(name)?;
                    i += 2;
                }
                "reorder" => {
                    spec.allow_reorder = true;
                    i += 1;
                }
                "limit" => {
                    let n = toks.get(i + 1).ok_or_else(|| err("`limit` needs a number", "e.g. `limit 10000`"))?;
                    spec.limit =
                        n.parse().map_err(|_| err(format!("bad limit `{n}`"), "a packet count, e.g. `limit 10000`"))?;
                    i += 2;
                }
                tok => {
                    match positional {
                        0 => spec.delay = units::parse_duration(tok)?,
                        1 => spec.jitter = units::parse_duration(tok)?,
                        2 => spec.correlation = units::parse_percent(tok)?,
                        _ => {
                            return Err(err(
                                format!("unexpected `{tok}` in delay `{text}`"),
                                "netem syntax: TIME [JITTER [CORRELATION%]] [distribution NAME]",
                            ));
                        }
                    }
                    positional += 1;
                    i += 1;
                }
            }
        }
        if positional == 0 {
            return Err(err(format!("delay `{text}` has no time"), "e.g. `10ms` or `10ms 2ms`"));
        }
        spec.check()
    }
}

/// The loss model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossSpec {
    /// Independent (or correlated) random loss.
    Random {
        /// Loss probability.
        p: f64,
        /// Lag-1 correlation (mean-preserving; see `rng::CorrelatedBernoulli`).
        correlation: f64,
    },
    /// Gilbert-Elliott, netem's `gemodel p [r [1-h [1-k]]]`.
    GilbertElliott {
        /// P(good → bad).
        p: f64,
        /// P(bad → good).
        r: f64,
        /// Loss probability in the bad state (1 − h).
        one_minus_h: f64,
        /// Loss probability in the good state (1 − k).
        one_minus_k: f64,
    },
    /// The 4-state Markov model of netem's `loss state p13 [p31 [p32 [p23 [p14]]]]`.
    FourState {
        /// Gap reception → burst loss.
        p13: f64,
        /// Burst loss → gap reception.
        p31: f64,
        /// Burst loss → burst reception.
        p32: f64,
        /// Burst reception → burst loss.
        p23: f64,
        /// Gap reception → isolated loss.
        p14: f64,
    },
}

impl LossSpec {
    /// The long-run loss probability of the model.
    pub fn mean_loss(&self) -> f64 {
        match *self {
            LossSpec::Random { p, .. } => p,
            LossSpec::GilbertElliott { p, r, one_minus_h, one_minus_k } => {
                if p + r == 0.0 {
                    return one_minus_k;
                }
                let bad = p / (p + r);
                bad * one_minus_h + (1.0 - bad) * one_minus_k
            }
            LossSpec::FourState { p13, p31, p32, p23, p14 } => {
                // Stationary distribution of the chain (states 1..4), by the
                // balance equations with state 1 as reference.
                // π4 = p14 π1; π3 (p31 + p32) = p13 π1 + p23 π2; π2 p23 = p32 π3.
                // => π3 (p31 + p32) = p13 π1 + p32 π3 => π3 = p13 π1 / p31.
                if p31 == 0.0 {
                    return if p13 > 0.0 { 1.0 } else { p14 / (1.0 + p14) };
                }
                let pi1 = 1.0;
                let pi3 = p13 * pi1 / p31;
                let pi2 = if p23 > 0.0 { p32 * pi3 / p23 } else { 0.0 };
                let pi4 = p14 * pi1;
                (pi3 + pi4) / (pi1 + pi2 + pi3 + pi4)
            }
        }
    }

    fn check(self) -> Result<Self, UnitError> {
        if let LossSpec::FourState { p13, p14, p31, p32, .. } = self {
            if p13 + p14 > 1.0 + 1e-12 {
                return Err(err(
                    "loss state: p13 + p14 exceeds 100%",
                    "the probabilities leaving state 1 must sum to at most 100%",
                ));
            }
            if p31 + p32 > 1.0 + 1e-12 {
                return Err(err(
                    "loss state: p31 + p32 exceeds 100%",
                    "the probabilities leaving state 3 must sum to at most 100%",
                ));
            }
        }
        Ok(self)
    }

    /// Parses netem syntax: `P [CORR]`, `random P [CORR]`,
    /// `gemodel P [R [1-H [1-K]]]`, `state P13 [P31 [P32 [P23 [P14]]]]`.
    pub fn from_tc(text: &str) -> Result<Self, UnitError> {
        let toks: Vec<&str> = text.split_whitespace().collect();
        let pct =
            |i: usize| -> Result<Option<f64>, UnitError> { toks.get(i).map(|t| units::parse_percent(t)).transpose() };
        let spec = match toks.first().copied() {
            None => return Err(err("empty loss", "e.g. `1%`, `1% 25%`, `gemodel 1% 10%`")),
            Some("gemodel") | Some("ge") => {
                if toks.len() < 2 || toks.len() > 5 {
                    return Err(err(
                        format!("loss `{text}`: gemodel takes 1 to 4 percentages"),
                        "gemodel P [R [1-H [1-K]]], e.g. `gemodel 1% 10% 100% 0%`",
                    ));
                }
                let p = pct(1)?.unwrap_or(0.0);
                LossSpec::GilbertElliott {
                    p,
                    r: pct(2)?.unwrap_or(1.0 - p),
                    one_minus_h: pct(3)?.unwrap_or(1.0),
                    one_minus_k: pct(4)?.unwrap_or(0.0),
                }
            }
            Some("state") => {
                if toks.len() < 2 || toks.len() > 6 {
                    return Err(err(
                        format!("loss `{text}`: state takes 1 to 5 percentages"),
                        "state P13 [P31 [P32 [P23 [P14]]]], e.g. `state 1% 30% 10% 20% 0.1%`",
                    ));
                }
                let p13 = pct(1)?.unwrap_or(0.0);
                LossSpec::FourState {
                    p13,
                    p31: pct(2)?.unwrap_or(1.0 - p13),
                    p32: pct(3)?.unwrap_or(0.0),
                    p23: pct(4)?.unwrap_or(1.0),
                    p14: pct(5)?.unwrap_or(0.0),
                }
            }
            Some(first) => {
                let off = usize::from(first == "random");
                let n = toks.len() - off;
                if n == 0 || n > 2 {
                    return Err(err(
                        format!("loss `{text}` is not netem syntax"),
                        "use `P [CORRELATION]`, `gemodel P R 1-H 1-K` or `state P13 P31 P32 P23 P14`",
                    ));
                }
                LossSpec::Random { p: units::parse_percent(toks[off])?, correlation: pct(off + 1)?.unwrap_or(0.0) }
            }
        };
        spec.check()
    }
}

/// A correlated per-packet probability (corrupt, duplicate).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChanceSpec {
    /// Probability per packet.
    pub p: f64,
    /// Lag-1 correlation.
    pub correlation: f64,
}

impl ChanceSpec {
    /// Parses `P [CORRELATION]`.
    pub fn from_tc(text: &str) -> Result<Self, UnitError> {
        let toks: Vec<&str> = text.split_whitespace().collect();
        if toks.is_empty() || toks.len() > 2 {
            return Err(err(format!("`{text}` is not `P [CORRELATION]`"), "e.g. `1%` or `1% 25%`"));
        }
        Ok(ChanceSpec {
            p: units::parse_percent(toks[0])?,
            correlation: toks.get(1).map(|t| units::parse_percent(t)).transpose()?.unwrap_or(0.0),
        })
    }
}

/// netem-style reordering: a chosen packet skips the delay and overtakes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReorderSpec {
    /// Probability that an eligible packet is sent immediately.
    pub p: f64,
    /// Lag-1 correlation.
    pub correlation: f64,
    /// Only every `gap`-th packet is eligible (1 = every packet).
    pub gap: u32,
}

impl ReorderSpec {
    /// Parses `P [CORRELATION] [gap N]`.
    pub fn from_tc(text: &str) -> Result<Self, UnitError> {
        let toks: Vec<&str> = text.split_whitespace().collect();
        let mut spec = ReorderSpec { p: 0.0, correlation: 0.0, gap: 1 };
        let mut positional = 0;
        let mut i = 0;
        while i < toks.len() {
            if toks[i] == "gap" {
                let n = toks.get(i + 1).ok_or_else(|| err("`gap` needs a number", "e.g. `25% 50% gap 5`"))?;
                spec.gap = n.parse().map_err(|_| err(format!("bad gap `{n}`"), "a packet count >= 1, e.g. `gap 5`"))?;
                i += 2;
                continue;
            }
            match positional {
                0 => spec.p = units::parse_percent(toks[i])?,
                1 => spec.correlation = units::parse_percent(toks[i])?,
                _ => {
                    return Err(err(
                        format!("unexpected `{}` in reorder `{text}`", toks[i]),
                        "netem syntax: P [CORRELATION] [gap N]",
                    ));
                }
            }
            positional += 1;
            i += 1;
        }
        if positional == 0 {
            return Err(err("reorder has no percentage", "e.g. `25%` or `25% 50% gap 5`"));
        }
        spec.check()
    }

    fn check(self) -> Result<Self, UnitError> {
        if self.gap == 0 {
            return Err(err("reorder gap is 0", "use gap >= 1 (1 = every packet is eligible)"));
        }
        Ok(self)
    }
}

/// Token-bucket shaping with a bounded tail-drop queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateSpec {
    /// Long-run rate in bits per second of wire bytes.
    pub rate_bps: u64,
    /// Bucket depth in bytes: how much may leave back-to-back after idling.
    pub burst_bytes: u64,
    /// Queue limit in wire packets (segments).
    pub queue_packets: Option<u32>,
    /// Queue limit in wire bytes.
    pub queue_bytes: Option<u64>,
    /// Bytes added per packet when charging (e.g. 24 for preamble+FCS+IFG).
    pub overhead_bytes: u32,
}

/// Default queue limit in packets when neither limit is given (netem's).
pub const DEFAULT_QUEUE_PACKETS: u32 = 1000;

impl RateSpec {
    /// A rate with default burst and queue.
    pub fn new(rate_bps: u64) -> Self {
        RateSpec {
            rate_bps,
            burst_bytes: Self::default_burst(rate_bps),
            queue_packets: Some(DEFAULT_QUEUE_PACKETS),
            queue_bytes: None,
            overhead_bytes: 0,
        }
    }

    /// Default bucket depth: 1 ms worth of traffic, at least two full frames.
    pub fn default_burst(rate_bps: u64) -> u64 {
        (rate_bps / 8 / 1000).max(2 * 1514)
    }

    fn check(self) -> Result<Self, UnitError> {
        if self.burst_bytes == 0 {
            return Err(err("rate burst is 0", "use at least one frame, e.g. `burst 1514`"));
        }
        if self.queue_packets == Some(0) || self.queue_bytes == Some(0) {
            return Err(err("rate queue limit is 0", "use at least 1 packet, e.g. `queue 100`"));
        }
        Ok(self)
    }

    /// Parses `RATE [burst SIZE] [queue N] [queue_bytes SIZE] [overhead N]`
    /// (`limit` is accepted for `queue`).
    pub fn from_tc(text: &str) -> Result<Self, UnitError> {
        let toks: Vec<&str> = text.split_whitespace().collect();
        let Some(first) = toks.first() else {
            return Err(err("empty rate", "e.g. `100mbit` or `10mbit burst 32kb queue 100`"));
        };
        let mut spec = RateSpec::new(units::parse_rate(first)?);
        let mut bytes_only = false;
        let mut i = 1;
        while i < toks.len() {
            let key = toks[i];
            let val = toks
                .get(i + 1)
                .ok_or_else(|| err(format!("`{key}` needs a value"), "e.g. `100mbit burst 32kb queue 500`"))?;
            match key {
                "burst" | "buffer" | "maxburst" => spec.burst_bytes = units::parse_size(val)?,
                "queue" | "limit" => {
                    spec.queue_packets = Some(
                        val.parse()
                            .map_err(|_| err(format!("bad queue `{val}`"), "a packet count, e.g. `queue 500`"))?,
                    )
                }
                "queue_bytes" => {
                    spec.queue_bytes = Some(units::parse_size(val)?);
                    bytes_only = true;
                }
                "overhead" => {
                    spec.overhead_bytes = val
                        .parse()
                        .map_err(|_| err(format!("bad overhead `{val}`"), "bytes per packet, e.g. `overhead 24`"))?
                }
                other => {
                    return Err(err(
                        format!("unknown rate option `{other}`"),
                        "options: burst SIZE, queue PACKETS, queue_bytes SIZE, overhead BYTES",
                    ));
                }
            }
            i += 2;
        }
        if bytes_only && !toks.iter().any(|t| *t == "queue" || *t == "limit") {
            spec.queue_packets = None;
        }
        spec.check()
    }
}

/// Everything one direction of a link does to traffic. All `None`: a clean
/// wire that forwards at once.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Impairments {
    /// Delay and jitter.
    pub delay: Option<DelaySpec>,
    /// Loss model.
    pub loss: Option<LossSpec>,
    /// Bit corruption.
    pub corrupt: Option<ChanceSpec>,
    /// Duplication.
    pub duplicate: Option<ChanceSpec>,
    /// Reordering.
    pub reorder: Option<ReorderSpec>,
    /// Rate limit.
    pub rate: Option<RateSpec>,
    /// Maximum IP datagram size; larger packets are dropped (with an ICMP
    /// "fragmentation needed"/"packet too big" where a router can send one).
    pub mtu: Option<u32>,
}

impl Impairments {
    /// True when the direction does nothing.
    pub fn is_clean(&self) -> bool {
        *self == Impairments::default()
    }

    /// `self` with every field set in `over` replacing its own.
    pub fn overlay(&self, over: &Impairments) -> Impairments {
        Impairments {
            delay: over.delay.or(self.delay),
            loss: over.loss.or(self.loss),
            corrupt: over.corrupt.or(self.corrupt),
            duplicate: over.duplicate.or(self.duplicate),
            reorder: over.reorder.or(self.reorder),
            rate: over.rate.or(self.rate),
            mtu: over.mtu.or(self.mtu),
        }
    }

    /// The netem-style one-line summary (`delay 10ms 2ms loss 1% rate 100mbit`).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = self.delay {
            parts.push(format!("delay {}", d));
        }
        if let Some(l) = self.loss {
            parts.push(format!("loss {l}"));
        }
        if let Some(c) = self.corrupt {
            parts.push(format!("corrupt {c}"));
        }
        if let Some(c) = self.duplicate {
            parts.push(format!("duplicate {c}"));
        }
        if let Some(r) = self.reorder {
            parts.push(format!("reorder {r}"));
        }
        if let Some(r) = self.rate {
            parts.push(format!("rate {r}"));
        }
        if let Some(m) = self.mtu {
            parts.push(format!("mtu {m}"));
        }
        if parts.is_empty() { "clean".to_string() } else { parts.join(" ") }
    }
}

impl fmt::Display for DelaySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", units::format_duration(self.delay))?;
        if !self.jitter.is_zero() {
            write!(f, " {}", units::format_duration(self.jitter))?;
            if self.correlation > 0.0 {
                write!(f, " {}", units::format_percent(self.correlation))?;
            }
            if self.distribution != Distribution::Uniform {
                write!(f, " distribution {}", self.distribution.name())?;
            }
            if self.allow_reorder {
                write!(f, " reorder")?;
            }
        }
        if self.limit != DEFAULT_DELAY_LIMIT {
            write!(f, " limit {}", self.limit)?;
        }
        Ok(())
    }
}

impl fmt::Display for LossSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = units::format_percent;
        match *self {
            LossSpec::Random { p: x, correlation } => {
                write!(f, "{}", p(x))?;
                if correlation > 0.0 {
                    write!(f, " {}", p(correlation))?;
                }
                Ok(())
            }
            LossSpec::GilbertElliott { p: a, r, one_minus_h, one_minus_k } => {
                write!(f, "gemodel {} {} {} {}", p(a), p(r), p(one_minus_h), p(one_minus_k))
            }
            LossSpec::FourState { p13, p31, p32, p23, p14 } => {
                write!(f, "state {} {} {} {} {}", p(p13), p(p31), p(p32), p(p23), p(p14))
            }
        }
    }
}

impl fmt::Display for ChanceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", units::format_percent(self.p))?;
        if self.correlation > 0.0 {
            write!(f, " {}", units::format_percent(self.correlation))?;
        }
        Ok(())
    }
}

impl fmt::Display for ReorderSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", units::format_percent(self.p))?;
        if self.correlation > 0.0 {
            write!(f, " {}", units::format_percent(self.correlation))?;
        }
        if self.gap != 1 {
            write!(f, " gap {}", self.gap)?;
        }
        Ok(())
    }
}

impl fmt::Display for RateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", units::format_rate(self.rate_bps))?;
        if self.burst_bytes != RateSpec::default_burst(self.rate_bps) {
            write!(f, " burst {}", units::format_size(self.burst_bytes))?;
        }
        match self.queue_packets {
            Some(q) if q != DEFAULT_QUEUE_PACKETS || self.queue_bytes.is_some() => write!(f, " queue {q}")?,
            _ => {}
        }
        if let Some(b) = self.queue_bytes {
            write!(f, " queue_bytes {}", units::format_size(b))?;
        }
        if self.overhead_bytes != 0 {
            write!(f, " overhead {}", self.overhead_bytes)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Quantities as serde types: each parses its text while deserializing, so an
// error is reported at the scalar that caused it.

macro_rules! quantity {
    ($name:ident, $inner:ty, $parse:path, $expect:literal, $int:expr) => {
        /// A quantity parsed from tc-style text.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name(pub $inner);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expect)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        $parse(v).map($name).map_err(unit_err)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        let f: fn(u64) -> Result<$inner, UnitError> = $int;
                        f(v).map($name).map_err(unit_err)
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        if v < 0 {
                            return Err(unit_err(err(format!("`{v}` is negative"), concat!("use ", $expect))));
                        }
                        self.visit_u64(v as u64)
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$name, E> {
                        Err(unit_err(err(format!("`{v}` has no unit"), concat!("write ", $expect))))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

quantity!(Dur, Duration, units::parse_duration, "a duration like `10ms`", |v| {
    if v == 0 {
        Ok(Duration::ZERO)
    } else {
        Err(err(format!("duration `{v}` has no unit"), format!("add a unit, e.g. `{v}ms`")))
    }
});
quantity!(Pct, f64, units::parse_percent, "a percentage like `1.5%`", |v| {
    Err(err(format!("`{v}` is not a percentage"), format!("write it with a percent sign, e.g. `{v}%`")))
});
quantity!(Rate, u64, units::parse_rate, "a rate like `100mbit`", |v| {
    Err(err(format!("rate `{v}` has no unit"), format!("add a unit as tc writes it, e.g. `{v}mbit`")))
});
quantity!(Size, u64, units::parse_size, "a size like `32kb` or a byte count", |v| Ok(v));

/// Deserializes a spec from tc text or from a map `M`.
struct TextOrMap<T, M> {
    expecting: &'static str,
    _p: PhantomData<(T, M)>,
}

trait FromParts: Sized {
    type Map: for<'de> Deserialize<'de>;
    /// What the value is, for messages ("rate", "delay", …).
    const WHAT: &'static str;
    /// A correct spelling of a bare number `v`.
    fn example(v: &str) -> String;
    fn from_tc(text: &str) -> Result<Self, UnitError>;
    fn from_map(m: Self::Map) -> Result<Self, UnitError>;
}

impl<'de, T: FromParts> Visitor<'de> for TextOrMap<T, T::Map> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::from_tc(v).map_err(unit_err)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        let m = T::Map::deserialize(de::value::MapAccessDeserializer::new(map))?;
        T::from_map(m).map_err(unit_err)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Err(bare::<T, E>(&v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Err(bare::<T, E>(&v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Err(bare::<T, E>(&v.to_string()))
    }
}

fn bare<T: FromParts, E: de::Error>(v: &str) -> E {
    unit_err(err(format!("{} `{v}` has no unit", T::WHAT), format!("write e.g. `{}`", T::example(v))))
}

macro_rules! text_or_map {
    ($t:ty, $expect:literal) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(TextOrMap::<$t, <$t as FromParts>::Map> { expecting: $expect, _p: PhantomData })
            }
        }
    };
}

/// Map form of a delay.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayMap {
    time: Dur,
    #[serde(default)]
    jitter: Option<Dur>,
    #[serde(default)]
    correlation: Option<Pct>,
    #[serde(default)]
    distribution: Option<Distribution>,
    #[serde(default)]
    reorder: Option<bool>,
    #[serde(default)]
    limit: Option<u32>,
}

impl FromParts for DelaySpec {
    type Map = DelayMap;
    const WHAT: &'static str = "delay";
    fn example(v: &str) -> String {
        format!("{v}ms")
    }
    fn from_tc(text: &str) -> Result<Self, UnitError> {
        DelaySpec::from_tc(text)
    }
    fn from_map(m: DelayMap) -> Result<Self, UnitError> {
        DelaySpec {
            delay: m.time.0,
            jitter: m.jitter.map_or(Duration::ZERO, |j| j.0),
            correlation: m.correlation.map_or(0.0, |c| c.0),
            distribution: m.distribution.unwrap_or_default(),
            allow_reorder: m.reorder.unwrap_or(false),
            limit: m.limit.unwrap_or(DEFAULT_DELAY_LIMIT),
        }
        .check()
    }
}
text_or_map!(DelaySpec, "a delay like `10ms`, `10ms 2ms 25% distribution normal` or {time: 10ms, jitter: 2ms}");

/// Map form of the Gilbert-Elliott parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeMap {
    p: Pct,
    #[serde(default)]
    r: Option<Pct>,
    #[serde(default, rename = "1-h")]
    one_minus_h: Option<Pct>,
    #[serde(default, rename = "1-k")]
    one_minus_k: Option<Pct>,
}

/// Map form of the 4-state parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateMap {
    p13: Pct,
    #[serde(default)]
    p31: Option<Pct>,
    #[serde(default)]
    p32: Option<Pct>,
    #[serde(default)]
    p23: Option<Pct>,
    #[serde(default)]
    p14: Option<Pct>,
}

/// Map form of a loss model.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossMap {
    #[serde(default)]
    percent: Option<Pct>,
    #[serde(default)]
    correlation: Option<Pct>,
    #[serde(default)]
    gemodel: Option<GeMap>,
    #[serde(default)]
    state: Option<StateMap>,
}

impl FromParts for LossSpec {
    type Map = LossMap;
    const WHAT: &'static str = "loss";
    fn example(v: &str) -> String {
        format!("{v}%")
    }
    fn from_tc(text: &str) -> Result<Self, UnitError> {
        LossSpec::from_tc(text)
    }
    fn from_map(m: LossMap) -> Result<Self, UnitError> {
        let set = usize::from(m.percent.is_some()) + usize::from(m.gemodel.is_some()) + usize::from(m.state.is_some());
        if set != 1 {
            return Err(err(
                "loss needs exactly one of `percent`, `gemodel` or `state`",
                "e.g. {percent: 1%, correlation: 25%} or {gemodel: {p: 1%, r: 10%}}",
            ));
        }
        if m.correlation.is_some() && m.percent.is_none() {
            return Err(err(
                "`correlation` applies to `percent` loss only",
                "remove it, or use {percent: 1%, correlation: 25%}",
            ));
        }
        let spec = if let Some(p) = m.percent {
            LossSpec::Random { p: p.0, correlation: m.correlation.map_or(0.0, |c| c.0) }
        } else if let Some(g) = m.gemodel {
            LossSpec::GilbertElliott {
                p: g.p.0,
                r: g.r.map_or(1.0 - g.p.0, |x| x.0),
                one_minus_h: g.one_minus_h.map_or(1.0, |x| x.0),
                one_minus_k: g.one_minus_k.map_or(0.0, |x| x.0),
            }
        } else if let Some(s) = m.state {
            LossSpec::FourState {
                p13: s.p13.0,
                p31: s.p31.map_or(1.0 - s.p13.0, |x| x.0),
                p32: s.p32.map_or(0.0, |x| x.0),
                p23: s.p23.map_or(1.0, |x| x.0),
                p14: s.p14.map_or(0.0, |x| x.0),
            }
        } else {
            unreachable!("exactly one form is set")
        };
        spec.check()
    }
}
text_or_map!(LossSpec, "a loss like `1%`, `1% 25%`, `gemodel 1% 10% 100% 0%` or {percent: 1%}");

/// Map form of a correlated probability.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChanceMap {
    percent: Pct,
    #[serde(default)]
    correlation: Option<Pct>,
}

impl FromParts for ChanceSpec {
    type Map = ChanceMap;
    const WHAT: &'static str = "percentage";
    fn example(v: &str) -> String {
        format!("{v}%")
    }
    fn from_tc(text: &str) -> Result<Self, UnitError> {
        ChanceSpec::from_tc(text)
    }
    fn from_map(m: ChanceMap) -> Result<Self, UnitError> {
        Ok(ChanceSpec { p: m.percent.0, correlation: m.correlation.map_or(0.0, |c| c.0) })
    }
}
text_or_map!(ChanceSpec, "a percentage like `1%`, `1% 25%` or {percent: 1%, correlation: 25%}");

/// Map form of reordering.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReorderMap {
    percent: Pct,
    #[serde(default)]
    correlation: Option<Pct>,
    #[serde(default)]
    gap: Option<u32>,
}

impl FromParts for ReorderSpec {
    type Map = ReorderMap;
    const WHAT: &'static str = "reorder";
    fn example(v: &str) -> String {
        format!("{v}% gap 5")
    }
    fn from_tc(text: &str) -> Result<Self, UnitError> {
        ReorderSpec::from_tc(text)
    }
    fn from_map(m: ReorderMap) -> Result<Self, UnitError> {
        ReorderSpec { p: m.percent.0, correlation: m.correlation.map_or(0.0, |c| c.0), gap: m.gap.unwrap_or(1) }.check()
    }
}
text_or_map!(ReorderSpec, "a reorder like `25%`, `25% 50% gap 5` or {percent: 25%, gap: 5}");

/// Map form of a rate limit.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateMap {
    rate: Rate,
    #[serde(default)]
    burst: Option<Size>,
    #[serde(default)]
    queue: Option<u32>,
    #[serde(default)]
    queue_bytes: Option<Size>,
    #[serde(default)]
    overhead: Option<u32>,
}

impl FromParts for RateSpec {
    type Map = RateMap;
    const WHAT: &'static str = "rate";
    fn example(v: &str) -> String {
        format!("{v}mbit")
    }
    fn from_tc(text: &str) -> Result<Self, UnitError> {
        RateSpec::from_tc(text)
    }
    fn from_map(m: RateMap) -> Result<Self, UnitError> {
        let mut spec = RateSpec::new(m.rate.0);
        if let Some(b) = m.burst {
            spec.burst_bytes = b.0;
        }
        match (m.queue, m.queue_bytes) {
            (None, None) => {}
            (q, b) => {
                spec.queue_packets = q;
                spec.queue_bytes = b.map(|b| b.0);
            }
        }
        spec.overhead_bytes = m.overhead.unwrap_or(0);
        spec.check()
    }
}
text_or_map!(RateSpec, "a rate like `100mbit`, `10mbit burst 32kb queue 100` or {rate: 100mbit}");

// Serialization: the map form, with tc-style strings.

fn put<M: SerializeMap, V: Serialize + ?Sized>(m: &mut M, k: &str, v: &V) -> Result<(), M::Error> {
    m.serialize_entry(k, v)
}

impl Serialize for DelaySpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        put(&mut m, "time", &units::format_duration(self.delay))?;
        if !self.jitter.is_zero() {
            put(&mut m, "jitter", &units::format_duration(self.jitter))?;
            put(&mut m, "correlation", &units::format_percent(self.correlation))?;
            put(&mut m, "distribution", &self.distribution)?;
            put(&mut m, "reorder", &self.allow_reorder)?;
        }
        if self.limit != DEFAULT_DELAY_LIMIT {
            put(&mut m, "limit", &self.limit)?;
        }
        m.end()
    }
}

impl Serialize for LossSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = units::format_percent;
        let mut m = s.serialize_map(None)?;
        match *self {
            LossSpec::Random { p: x, correlation } => {
                put(&mut m, "percent", &p(x))?;
                if correlation > 0.0 {
                    put(&mut m, "correlation", &p(correlation))?;
                }
            }
            LossSpec::GilbertElliott { p: a, r, one_minus_h, one_minus_k } => {
                let inner: Vec<(&str, String)> =
                    vec![("p", p(a)), ("r", p(r)), ("1-h", p(one_minus_h)), ("1-k", p(one_minus_k))];
                put(&mut m, "gemodel", &inner.into_iter().collect::<std::collections::BTreeMap<_, _>>())?;
            }
            LossSpec::FourState { p13, p31, p32, p23, p14 } => {
                let inner: Vec<(&str, String)> =
                    vec![("p13", p(p13)), ("p31", p(p31)), ("p32", p(p32)), ("p23", p(p23)), ("p14", p(p14))];
                put(&mut m, "state", &inner.into_iter().collect::<std::collections::BTreeMap<_, _>>())?;
            }
        }
        m.end()
    }
}

impl Serialize for ChanceSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        put(&mut m, "percent", &units::format_percent(self.p))?;
        if self.correlation > 0.0 {
            put(&mut m, "correlation", &units::format_percent(self.correlation))?;
        }
        m.end()
    }
}

impl Serialize for ReorderSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        put(&mut m, "percent", &units::format_percent(self.p))?;
        if self.correlation > 0.0 {
            put(&mut m, "correlation", &units::format_percent(self.correlation))?;
        }
        put(&mut m, "gap", &self.gap)?;
        m.end()
    }
}

impl Serialize for RateSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        put(&mut m, "rate", &units::format_rate(self.rate_bps))?;
        put(&mut m, "burst", &units::format_size(self.burst_bytes))?;
        if let Some(q) = self.queue_packets {
            put(&mut m, "queue", &q)?;
        }
        if let Some(b) = self.queue_bytes {
            put(&mut m, "queue_bytes", &units::format_size(b))?;
        }
        if self.overhead_bytes != 0 {
            put(&mut m, "overhead", &self.overhead_bytes)?;
        }
        m.end()
    }
}

/// Serde form of [`Impairments`] (all fields optional, unknown fields rejected).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpairmentsDoc {
    /// Delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<DelaySpec>,
    /// Loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossSpec>,
    /// Corruption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrupt: Option<ChanceSpec>,
    /// Duplication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<ChanceSpec>,
    /// Reordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder: Option<ReorderSpec>,
    /// Rate limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateSpec>,
    /// MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
}

impl From<ImpairmentsDoc> for Impairments {
    fn from(d: ImpairmentsDoc) -> Self {
        Impairments {
            delay: d.delay,
            loss: d.loss,
            corrupt: d.corrupt,
            duplicate: d.duplicate,
            reorder: d.reorder,
            rate: d.rate,
            mtu: d.mtu,
        }
    }
}

impl From<&Impairments> for ImpairmentsDoc {
    fn from(i: &Impairments) -> Self {
        ImpairmentsDoc {
            delay: i.delay,
            loss: i.loss,
            corrupt: i.corrupt,
            duplicate: i.duplicate,
            reorder: i.reorder,
            rate: i.rate,
            mtu: i.mtu,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml<T: for<'de> Deserialize<'de>>(s: &str) -> Result<T, String> {
        serde_saphyr::from_str::<T>(s).map_err(|e| e.to_string())
    }

    #[test]
    fn delay_tc_syntax() {
        let d = DelaySpec::from_tc("10ms 2ms 25% distribution normal").unwrap();
        assert_eq!(d.delay, Duration::from_millis(10));
        assert_eq!(d.jitter, Duration::from_millis(2));
        assert_eq!(d.correlation, 0.25);
        assert_eq!(d.distribution, Distribution::Normal);
        assert_eq!(d.to_string(), "10ms 2ms 25% distribution normal");
        assert!(DelaySpec::from_tc("10ms 2ms 25% 3").is_err());
        assert!(DelaySpec::from_tc("10ms distribution gaussian").unwrap_err().hint.unwrap().contains("normal"));
    }

    #[test]
    fn loss_models() {
        assert_eq!(LossSpec::from_tc("1% 25%").unwrap(), LossSpec::Random { p: 0.01, correlation: 0.25 });
        let ge = LossSpec::from_tc("gemodel 1% 10%").unwrap();
        assert_eq!(ge, LossSpec::GilbertElliott { p: 0.01, r: 0.1, one_minus_h: 1.0, one_minus_k: 0.0 });
        assert!((ge.mean_loss() - 0.01 / 0.11).abs() < 1e-12);
        let st = LossSpec::from_tc("state 1%").unwrap();
        // With only p13, the chain is Bernoulli-like: loss = p13 / (p13 + p31) = 1%.
        assert!((st.mean_loss() - 0.01).abs() < 1e-12, "{}", st.mean_loss());
        assert!(LossSpec::from_tc("state 60% 50% 60%").is_err());
        assert!(LossSpec::from_tc("1% 2% 3%").is_err());
    }

    #[test]
    fn rate_syntax() {
        let r = RateSpec::from_tc("10mbit burst 32kb queue 100 overhead 24").unwrap();
        assert_eq!(r.rate_bps, 10_000_000);
        assert_eq!(r.burst_bytes, 32 * 1024);
        assert_eq!(r.queue_packets, Some(100));
        assert_eq!(r.overhead_bytes, 24);
        let r = RateSpec::from_tc("1gbit queue_bytes 1mb").unwrap();
        assert_eq!((r.queue_packets, r.queue_bytes), (None, Some(1 << 20)));
        assert!(RateSpec::from_tc("10mbit bucket 3").is_err());
    }

    #[test]
    fn yaml_forms_and_errors() {
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct T {
            delay: DelaySpec,
        }
        let a: T = yaml("delay: 10ms 2ms").unwrap();
        let b: T = yaml("delay: {time: 10ms, jitter: 2ms}").unwrap();
        assert_eq!(a.delay, b.delay);
        let e = yaml::<T>("delay: {time: 10ms, jiter: 2ms}").unwrap_err();
        assert!(e.contains("jiter"), "{e}");
        let e = yaml::<T>("delay:\n  time: 10xs\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("xs"), "{e}");
        let e = yaml::<T>("delay: 10").unwrap_err();
        assert!(e.contains("no unit"), "{e}");
    }

    #[test]
    fn serialize_round_trips_through_yaml() {
        let imp = ImpairmentsDoc {
            delay: Some(DelaySpec::from_tc("10ms 2ms 25% distribution pareto").unwrap()),
            loss: Some(LossSpec::from_tc("gemodel 1% 10% 70% 0.1%").unwrap()),
            corrupt: Some(ChanceSpec::from_tc("0.1%").unwrap()),
            duplicate: Some(ChanceSpec::from_tc("1% 5%").unwrap()),
            reorder: Some(ReorderSpec::from_tc("25% 50% gap 5").unwrap()),
            rate: Some(RateSpec::from_tc("100mbit burst 64kb queue 500").unwrap()),
            mtu: Some(1400),
        };
        let json = serde_json::to_string(&imp).unwrap();
        let back: ImpairmentsDoc = serde_saphyr::from_str(&json).unwrap();
        assert_eq!(back, imp);
        let back: ImpairmentsDoc = serde_json::from_str(&json).unwrap();
        assert_eq!(back, imp);
    }
}
