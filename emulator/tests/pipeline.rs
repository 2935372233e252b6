//! The impairment pipeline in virtual time: statistics with seeded RNGs and
//! bounds derived from the sampling distribution (99.9% level, z = 3.29),
//! exact shaping, and properties (conservation, order, robustness).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use faultmesh_emulator::counters::DropReason;
use faultmesh_emulator::impair::{DelaySpec, Distribution, Impairments, ImpairmentsDoc, LossSpec, ReorderSpec};
use faultmesh_emulator::packet::{Gso, GsoKind, Packet};
use faultmesh_emulator::rng::StageRng;
use faultmesh_emulator::sim::PathSim;
use faultmesh_emulator::stage::chance::Reorder;
use faultmesh_emulator::stage::delay::Jitter;
use faultmesh_emulator::time::Instant;
use faultmesh_emulator::wire::{self, Mac, build, ipproto};
use proptest::prelude::*;

const Z999: f64 = 3.2905;

fn imp(yaml: &str) -> Impairments {
    serde_saphyr::from_str::<ImpairmentsDoc>(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}")).into()
}

fn udp(id: u32, payload: usize) -> Packet {
    let mut l4 = vec![0u8; 8 + payload];
    l4[0..2].copy_from_slice(&1000u16.to_be_bytes());
    l4[2..4].copy_from_slice(&2000u16.to_be_bytes());
    l4[4..6].copy_from_slice(&((8 + payload) as u16).to_be_bytes());
    let f = build::ipv4(
        Mac([2, 0, 0, 0, 0, 2]),
        Mac([2, 0, 0, 0, 0, 1]),
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        ipproto::UDP,
        64,
        &l4,
    );
    let mut p = Packet::from_slice(&f);
    p.meta.origin = id;
    p
}

/// A TCP super-frame of `segs` segments of `mss` bytes.
fn tcp_superframe(id: u32, segs: usize, mss: u16) -> Packet {
    let payload = segs * usize::from(mss);
    let mut l4 = vec![0u8; 20 + payload];
    l4[12] = 5 << 4;
    l4[13] = wire::tcpflags::ACK;
    let f = build::ipv4(
        Mac([2, 0, 0, 0, 0, 2]),
        Mac([2, 0, 0, 0, 0, 1]),
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        ipproto::TCP,
        64,
        &l4,
    );
    let mut p = Packet::from_slice(&f);
    p.meta.gso = Some(Gso { kind: GsoKind::Tcp4, size: mss, ecn: false, hdr_len: 0, segs: 0 });
    let info = wire::parse(p.data()).unwrap();
    p.prepare_gso(&info).unwrap();
    p.meta.origin = id;
    p
}

fn binomial_bound(n: f64, p: f64) -> f64 {
    Z999 * (n * p * (1.0 - p)).sqrt()
}

/// Sends `n` packets `gap` apart and returns the delivered ids.
fn run_ids(sim: &mut PathSim, n: u32, gap: Duration) -> Vec<u32> {
    let mut t = Instant::ZERO;
    for i in 0..n {
        sim.send(udp(i, 64), t);
        t += gap;
    }
    sim.run_to_completion();
    sim.take_delivered().into_iter().map(|(p, _)| p.meta.origin).collect()
}

#[test]
fn random_loss_rate_is_within_the_binomial_interval() {
    for (p, n) in [(0.01, 200_000u32), (0.1, 200_000), (0.5, 100_000)] {
        let mut sim = PathSim::link(&imp(&format!("loss: {}%", p * 100.0)), 11);
        let got = run_ids(&mut sim, n, Duration::from_micros(10));
        let lost = f64::from(n) - got.len() as f64;
        let expect = f64::from(n) * p;
        let bound = binomial_bound(f64::from(n), p);
        assert!((lost - expect).abs() <= bound, "p={p}: lost {lost}, expected {expect} ± {bound}");
        assert_eq!(sim.hops[0].counters.drops.get(DropReason::Loss) as f64, lost);
    }
}

#[test]
fn correlated_loss_keeps_its_rate_and_clusters() {
    // Markov chain with lag-1 correlation ρ: the variance of the mean grows by
    // (1+ρ)/(1−ρ) = 3 for ρ = 0.5.
    let (p, rho, n): (f64, f64, u32) = (0.05, 0.5, 400_000);
    let mut sim = PathSim::link(&imp("loss: 5% 50%"), 5);
    let got = run_ids(&mut sim, n, Duration::from_micros(10));
    let mut lost = vec![true; n as usize];
    for id in &got {
        lost[*id as usize] = false;
    }
    let count = lost.iter().filter(|&&l| l).count() as f64;
    let bound = binomial_bound(f64::from(n), p) * ((1.0 + rho) / (1.0 - rho)).sqrt();
    assert!((count - f64::from(n) * p).abs() <= bound, "lost {count}");
    // P(loss | previous loss) = p + ρ(1−p) = 0.525.
    let after = lost.windows(2).filter(|w| w[0]).count() as f64;
    let both = lost.windows(2).filter(|w| w[0] && w[1]).count() as f64;
    let cond = both / after;
    let b = Z999 * (0.525f64 * 0.475 / after).sqrt();
    assert!((cond - 0.525).abs() <= b, "P(loss|loss) = {cond}, expected 0.525 ± {b}");
}

/// Loss runs (consecutive lost ids) from delivered ids, with no reordering.
fn loss_runs(n: u32, got: &[u32]) -> Vec<u32> {
    let mut delivered = vec![false; n as usize];
    for id in got {
        delivered[*id as usize] = true;
    }
    let mut runs = Vec::new();
    let mut cur = 0;
    for d in delivered {
        if d {
            if cur > 0 {
                runs.push(cur);
            }
            cur = 0;
        } else {
            cur += 1;
        }
    }
    if cur > 0 {
        runs.push(cur);
    }
    runs
}

#[test]
fn gilbert_elliott_burst_length_matches_theory() {
    // Simple Gilbert (1−h = 100%, 1−k = 0): loss bursts are the bad-state
    // sojourns, geometric with mean 1/r = 4 and variance (1−r)/r² = 12.
    let (p, r, n) = (0.01, 0.25, 1_000_000u32);
    let mut sim = PathSim::link(&imp("loss: gemodel 1% 25% 100% 0%"), 21);
    let got = run_ids(&mut sim, n, Duration::from_micros(1));
    let runs = loss_runs(n, &got);
    let bursts = runs.len() as f64;
    assert!(bursts > 5_000.0, "enough bursts to measure: {bursts}");
    let mean = runs.iter().map(|&x| f64::from(x)).sum::<f64>() / bursts;
    let se = (12.0f64 / bursts).sqrt();
    assert!(0.05 * 4.0 > Z999 * se, "the 5% tolerance is beyond sampling error ({se})");
    assert!((mean - 1.0 / r).abs() <= 0.05 / r, "mean burst {mean}, theory {}", 1.0 / r);
    // Stationary loss p/(p+r).
    let rate = 1.0 - got.len() as f64 / f64::from(n);
    let theory = p / (p + r);
    assert!((rate - theory).abs() / theory < 0.05, "loss rate {rate}, theory {theory}");
}

/// Batch-means check of a long-run loss rate from a Markov-modulated model.
fn assert_long_run_loss(spec: &str, seed: u64) {
    let model: LossSpec = serde_saphyr::from_str::<ImpairmentsDoc>(&format!("loss: {spec}")).unwrap().loss.unwrap();
    let theory = model.mean_loss();
    let (batches, per) = (100u32, 20_000u32);
    let n = batches * per;
    let mut sim = PathSim::link(&imp(&format!("loss: {spec}")), seed);
    let got = run_ids(&mut sim, n, Duration::from_micros(1));
    let mut delivered = vec![false; n as usize];
    for id in &got {
        delivered[*id as usize] = true;
    }
    let rates: Vec<f64> =
        delivered.chunks(per as usize).map(|c| c.iter().filter(|&&d| !d).count() as f64 / f64::from(per)).collect();
    let mean = rates.iter().sum::<f64>() / f64::from(batches);
    let var = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / f64::from(batches - 1);
    let se = (var / f64::from(batches)).sqrt();
    assert!((mean - theory).abs() <= 4.0 * se, "{spec}: {mean} vs {theory} (se {se})");
    assert!((mean - theory).abs() / theory < 0.05, "{spec}: {mean} vs {theory}");
}

#[test]
fn gilbert_elliott_and_four_state_long_run_loss() {
    assert_long_run_loss("gemodel 2% 20% 70% 0.5%", 31);
    assert_long_run_loss("state 1% 20% 30% 40% 0.5%", 32);
}

fn moments(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let m2 = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let m4 = xs.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
    (mean, m2.sqrt(), m4 / (m2 * m2))
}

#[test]
fn delay_distributions_have_the_configured_mean_and_sd() {
    for (dist, n) in [
        (Distribution::Uniform, 200_000usize),
        (Distribution::Normal, 200_000),
        (Distribution::Pareto, 4_000_000),
        (Distribution::Paretonormal, 4_000_000),
    ] {
        let spec = DelaySpec {
            jitter: Duration::from_millis(2),
            distribution: dist,
            ..DelaySpec::fixed(Duration::from_millis(10))
        };
        let mut j = Jitter::new(&spec);
        let mut rng = StageRng::new(99, "dist", 0, faultmesh_emulator::rng::StageId::Delay);
        let xs: Vec<f64> = (0..n).map(|_| j.sample(&mut rng) as f64).collect();
        let (mean, sd, kurt) = moments(&xs);
        let want_sd = if dist == Distribution::Uniform { 2e6 / 3f64.sqrt() } else { 2e6 };
        // Standard errors of the sample mean and sd; the 2% tolerance must
        // exceed the 99.9% sampling interval, or the test could not fail.
        let se_mean = want_sd / (n as f64).sqrt();
        let se_sd = want_sd * ((kurt - 1.0) / (4.0 * n as f64)).sqrt();
        assert!(
            0.02 * 10e6 > Z999 * se_mean && 0.02 * want_sd > Z999 * se_sd,
            "{dist:?}: tolerance too tight for n={n}"
        );
        assert!((mean - 10e6).abs() / 10e6 < 0.02, "{dist:?}: mean {mean}");
        assert!((sd - want_sd).abs() / want_sd < 0.02, "{dist:?}: sd {sd} want {want_sd}");
    }
}

#[test]
fn pareto_has_a_heavy_right_tail() {
    let spec = DelaySpec {
        jitter: Duration::from_millis(2),
        distribution: Distribution::Pareto,
        ..DelaySpec::fixed(Duration::from_millis(10))
    };
    let mut j = Jitter::new(&spec);
    let mut rng = StageRng::from_seed(4);
    let xs: Vec<f64> = (0..200_000).map(|_| j.sample(&mut rng) as f64).collect();
    let above = xs.iter().filter(|&&x| x > 10e6 + 3.0 * 2e6).count() as f64 / xs.len() as f64;
    let below = xs.iter().filter(|&&x| x < 10e6 - 3.0 * 2e6).count();
    // A normal puts 0.13% beyond +3σ; Pareto(3) puts about 0.9% there and nothing below −1.2σ.
    assert!(above > 0.005, "{above}");
    assert_eq!(below, 0);
}

#[test]
fn correlated_jitter_keeps_mean_and_sd() {
    // AR(1) copula with ρ = 0.5: the variance of the sample sd grows by
    // (1+ρ²)/(1−ρ²); with n = 400k the 99.9% interval is ±0.5%, inside 2%.
    let spec = DelaySpec {
        jitter: Duration::from_millis(2),
        correlation: 0.5,
        distribution: Distribution::Normal,
        ..DelaySpec::fixed(Duration::from_millis(10))
    };
    let mut j = Jitter::new(&spec);
    let mut rng = StageRng::from_seed(8);
    let xs: Vec<f64> = (0..400_000).map(|_| j.sample(&mut rng) as f64).collect();
    let (mean, sd, _) = moments(&xs);
    assert!((mean - 10e6).abs() / 10e6 < 0.02);
    assert!((sd - 2e6).abs() / 2e6 < 0.02, "sd {sd}");
    let lag1 = xs.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum::<f64>() / ((xs.len() - 1) as f64 * sd * sd);
    assert!((lag1 - 0.5).abs() < 0.01, "lag-1 autocorrelation {lag1}");
}

#[test]
fn delay_line_applies_the_sampled_delay() {
    let mut sim = PathSim::link(&imp("delay: 10ms 2ms distribution normal reorder"), 3);
    let n = 20_000u32;
    let mut sent = HashMap::new();
    for i in 0..n {
        let t = Instant::from_millis(u64::from(i) * 50);
        sent.insert(i, t);
        sim.send(udp(i, 64), t);
    }
    sim.run_to_completion();
    let d: Vec<f64> =
        sim.take_delivered().into_iter().map(|(p, t)| (t - sent[&p.meta.origin]).as_nanos() as f64).collect();
    let (mean, sd, _) = moments(&d);
    assert!((mean - 10e6).abs() < Z999 * 2e6 / f64::from(n).sqrt(), "mean {mean}");
    assert!((sd - 2e6).abs() / 2e6 < 0.03, "sd {sd}");
}

#[test]
fn jitter_without_reorder_keeps_order_and_with_reorder_does_not() {
    let ids = |spec: &str| {
        let mut sim = PathSim::link(&imp(spec), 9);
        run_ids(&mut sim, 5000, Duration::from_micros(200))
    };
    let fifo = ids("delay: 10ms 5ms");
    assert_eq!(fifo.len(), 5000);
    assert!(fifo.windows(2).all(|w| w[0] < w[1]), "FIFO by default");
    let jumbled = ids("delay: 10ms 5ms reorder");
    let inversions = jumbled.windows(2).filter(|w| w[0] > w[1]).count();
    assert!(inversions > 500, "jitter reorders when allowed: {inversions}");
}

#[test]
fn duplicate_rate_is_within_the_binomial_interval() {
    let n = 100_000u32;
    let mut sim = PathSim::link(&imp("duplicate: 5%"), 13);
    let got = run_ids(&mut sim, n, Duration::from_micros(10));
    let dups = got.len() as f64 - f64::from(n);
    assert!((dups - 5000.0).abs() <= binomial_bound(f64::from(n), 0.05), "dups {dups}");
    assert_eq!(sim.hops[0].counters.duplicated as f64, dups);
    // Duplicates follow their original.
    assert!(got.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn reorder_rate_and_effect() {
    // gap 1: each packet is sent ahead with probability p (Bernoulli).
    let n = 100_000u32;
    let mut sim = PathSim::link(&imp("delay: 10ms\nreorder: 25%"), 17);
    let got = run_ids(&mut sim, n, Duration::from_millis(1));
    let reordered = sim.hops[0].counters.reordered as f64;
    assert!((reordered - 25_000.0).abs() <= binomial_bound(f64::from(n), 0.25), "{reordered}");
    // Observable: a packet sent ahead overtakes the ~10 packets in flight.
    let overtakes = got.windows(2).filter(|w| w[0] > w[1]).count() as f64;
    assert!(overtakes > 0.5 * reordered, "{overtakes} inversions for {reordered} reordered");
    // With a gap of 5 the share is p / (1 + p (gap − 1)) = 12.5%.
    let spec = ReorderSpec { p: 0.25, correlation: 0.0, gap: 5 };
    let mut r = Reorder::new(&spec);
    let mut rng = StageRng::from_seed(1);
    let hits = (0..400_000).filter(|_| r.decide(&mut rng)).count() as f64 / 400_000.0;
    let want = Reorder::expected_rate(&spec);
    assert!((want - 0.125).abs() < 1e-12);
    assert!((hits - want).abs() < 0.005, "{hits}");
}

/// Runs a saturated shaper for `secs` virtual seconds and returns the
/// steady-state rate in bit/s measured between two departures, and the
/// backlog left at the end.
fn measured_rate(rate: &str, frame: impl Fn(u32) -> Packet, per_sec: u64, secs: u64) -> (f64, u64) {
    let mut sim = PathSim::link(&imp(&format!("rate: {rate} queue 100000")), 1);
    let total = per_sec * secs;
    let gap = Duration::from_nanos(1_000_000_000 / per_sec);
    let mut t = Instant::ZERO;
    let mut departures: Vec<(Instant, u64)> = Vec::with_capacity(total as usize);
    for i in 0..total {
        sim.send(frame(i as u32), t);
        t += gap;
        for (p, at) in sim.take_delivered() {
            departures.push((at, p.wire_bytes(0)));
        }
    }
    let end = Instant::from_millis(secs * 1000);
    sim.run_until(end);
    for (p, at) in sim.take_delivered() {
        departures.push((at, p.wire_bytes(0)));
    }
    // Skip the first second (the initial bucket drains), measure to the end.
    let k = departures.iter().position(|(t, _)| *t >= Instant::from_millis(1000)).unwrap();
    let m = departures.len() - 1;
    let bytes: u64 = departures[k + 1..=m].iter().map(|d| d.1).sum();
    let secs = (departures[m].0 - departures[k].0).as_secs_f64();
    (bytes as f64 * 8.0 / secs, sim.hops[0].shaper_queue_packets())
}

#[test]
fn shaper_rate_is_exact_over_ten_virtual_seconds() {
    // Offered load 1.2x the rate; error must be < 0.1%.
    for (rate, bps, frame_bytes, gso) in
        [("1mbit", 1e6, 1514u64, false), ("100mbit", 100e6, 1514, false), ("10gbit", 10e9, 44 * 1448 + 54 * 44, true)]
    {
        let per_sec = (bps * 1.2 / 8.0 / frame_bytes as f64).ceil() as u64;
        let frame = |i: u32| if gso { tcp_superframe(i, 44, 1448) } else { udp(i, 1514 - 42) };
        let (measured, backlog) = measured_rate(rate, frame, per_sec, 10);
        let err = (measured - bps).abs() / bps;
        assert!(err < 0.001, "{rate}: measured {measured} bit/s, error {:.5}%", err * 100.0);
        assert!(backlog > 0, "{rate}: the link stayed saturated");
    }
}

#[test]
fn gso_frames_are_charged_for_every_segment() {
    let p = tcp_superframe(0, 44, 1448);
    assert_eq!(p.segments(), 44);
    // 14 + 20 + 20 header bytes repeated per segment.
    assert_eq!(p.wire_bytes(0), 44 * (1448 + 54));
}

#[test]
fn queue_drops_start_exactly_when_full() {
    let mut sim = PathSim::link(&imp("rate: 1mbit burst 1514 queue 10"), 1);
    for i in 0..30 {
        sim.send(udp(i, 1472), Instant::ZERO);
    }
    sim.run_to_completion();
    let got: Vec<u32> = sim.take_delivered().into_iter().map(|(p, _)| p.meta.origin).collect();
    // One leaves on the full bucket, ten queue, the twelfth is the first drop.
    assert_eq!(got, (0..11).collect::<Vec<_>>());
    assert_eq!(sim.hops[0].counters.drops.get(DropReason::QueueFull), 19);
}

#[test]
fn gso_superframe_loss_is_decided_per_segment() {
    let (frames, segs, p) = (5_000u32, 40usize, 0.1);
    let mut sim = PathSim::link(&imp("loss: 10%"), 77);
    for i in 0..frames {
        sim.send(tcp_superframe(i, segs, 1000), Instant::from_micros(u64::from(i) * 100));
    }
    sim.run_to_completion();
    let delivered: u64 = sim.take_delivered().iter().map(|(p, _)| u64::from(p.segments())).sum();
    let n = f64::from(frames) * segs as f64;
    let lost = n - delivered as f64;
    assert!((lost - n * p).abs() <= binomial_bound(n, p), "lost {lost} of {n} segments");
    let c = &sim.hops[0].counters;
    assert_eq!(c.drops.get(DropReason::Loss) as f64, lost);
    assert!(c.gso_split > 0 && c.gso_split <= u64::from(frames));
    // Without impairments that hit, super-frames pass whole.
    let mut clean = PathSim::link(&imp("delay: 1ms"), 1);
    clean.send(tcp_superframe(0, segs, 1000), Instant::ZERO);
    clean.run_to_completion();
    let out = clean.take_delivered();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.segments(), segs as u32);
    assert_eq!(clean.hops[0].counters.gso_split, 0);
}

#[test]
fn corrupted_packets_fail_their_checksum() {
    let mut sim = PathSim::link(&imp("corrupt: 100%"), 5);
    for i in 0..200 {
        sim.send(udp(i, 200), Instant::from_micros(u64::from(i)));
    }
    sim.run_to_completion();
    for (p, _) in sim.take_delivered() {
        let info = wire::parse(p.data()).unwrap();
        assert!(!wire::verify_l4_checksum(p.data(), &info), "a flipped bit is detectable");
    }
    // Corrupting a segment of a super-frame: only that segment is damaged.
    let mut sim = PathSim::link(&imp("corrupt: 2%"), 6);
    for i in 0..200 {
        sim.send(tcp_superframe(i, 20, 1000), Instant::from_micros(u64::from(i) * 50));
    }
    sim.run_to_completion();
    let c = sim.hops[0].counters.corrupted;
    let mut bad = 0;
    for (mut p, _) in sim.take_delivered() {
        if p.segments() == 1 {
            faultmesh_emulator::gso::finalize_checksum(&mut p).unwrap();
            let info = wire::parse(p.data()).unwrap();
            bad += usize::from(!wire::verify_l4_checksum(p.data(), &info));
        }
    }
    assert_eq!(bad as u64, c, "exactly the corrupted segments fail");
}

#[test]
fn same_seed_same_decisions_other_seed_other_decisions() {
    let spec =
        "delay: 5ms 2ms 30%\nloss: gemodel 3% 20%\nduplicate: 2%\ncorrupt: 1%\nreorder: 10%\nrate: 5mbit queue 50";
    let run = |seed: u64| {
        let mut sim = PathSim::link(&imp(spec), seed);
        for i in 0..3000 {
            sim.send(udp(i, 100 + (i as usize % 1000)), Instant::from_micros(u64::from(i) * 300));
        }
        sim.run_to_completion();
        sim.take_delivered().into_iter().map(|(p, t)| (p.meta.origin, t, p.data().to_vec())).collect::<Vec<_>>()
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

#[test]
fn impairments_accumulate_along_a_path() {
    let mut sim = PathSim::new(&[imp("delay: 10ms"), imp("delay: 10ms\nrate: 8mbit")], 1);
    sim.send(udp(0, 958), Instant::ZERO); // 1000-byte frame
    sim.send(udp(1, 958), Instant::ZERO);
    sim.run_to_completion();
    let out = sim.take_delivered();
    assert_eq!(out[0].1, Instant::from_millis(20));
    // Both arrive at hop 2 together; the bucket holds two frames, so neither waits.
    assert_eq!(out[1].1, Instant::from_millis(20));
}

fn arb_impairments() -> impl Strategy<Value = Impairments> {
    (
        0u32..60,
        0u32..30,
        0u32..30,
        0u64..20_000,
        0u64..10_000,
        any::<bool>(),
        0u32..50,
        prop::option::of((100_000u64..100_000_000, 1u32..60)),
        0u32..4,
    )
        .prop_map(|(loss, dup, corrupt, delay_us, jitter_us, allow, reorder, rate, model)| {
            let mut s = String::new();
            if delay_us > 0 || jitter_us > 0 {
                s += &format!("delay: {{time: {delay_us}us, jitter: {jitter_us}us, reorder: {allow}}}\n");
                if reorder > 0 && delay_us > 0 {
                    s += &format!("reorder: {reorder}% gap {}\n", model + 1);
                }
            }
            match model {
                0 => s += &format!("loss: {loss}%\n"),
                1 => s += &format!("loss: {loss}% 40%\n"),
                2 => s += &format!("loss: gemodel {}% 30%\n", loss / 4),
                _ => s += &format!("loss: state {}% 30% 10% 50% 1%\n", loss / 4),
            }
            s += &format!("duplicate: {dup}%\ncorrupt: {corrupt}%\n");
            if let Some((bps, q)) = rate {
                s += &format!("rate: {bps}bit queue {q}\n");
            }
            imp(&s)
        })
}

fn conserved(sim: &PathSim) -> bool {
    let c = &sim.hops[0].counters;
    c.rx_packets + c.duplicated == c.tx_packets + c.dropped() + sim.hops[0].queued_packets()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn packets_are_conserved(imp in arb_impairments(), sends in prop::collection::vec((0u64..3000, 0usize..1400, any::<bool>()), 1..200), seed in any::<u64>()) {
        let mut sim = PathSim::link(&imp, seed);
        let mut t = Instant::ZERO;
        for (i, (gap, size, gso)) in sends.into_iter().enumerate() {
            t = t.add_nanos(gap * 1000);
            let p = if gso { tcp_superframe(i as u32, 1 + size % 8, 500) } else { udp(i as u32, size) };
            sim.send(p, t);
            prop_assert!(conserved(&sim));
        }
        sim.run_to_completion();
        prop_assert!(conserved(&sim));
        prop_assert_eq!(sim.hops[0].queued_packets(), 0);
        let c = sim.hops[0].counters;
        let delivered: u64 = sim.delivered().iter().map(|(p, _)| u64::from(p.segments())).sum();
        prop_assert_eq!(delivered, c.tx_packets);
    }

    #[test]
    fn fifo_without_reorder(mut imp in arb_impairments(), sends in prop::collection::vec((0u64..3000, 0usize..1400), 1..200), seed in any::<u64>()) {
        imp.reorder = None;
        if let Some(d) = imp.delay.as_mut() { d.allow_reorder = false; }
        let mut sim = PathSim::link(&imp, seed);
        let mut t = Instant::ZERO;
        for (i, (gap, size)) in sends.into_iter().enumerate() {
            t = t.add_nanos(gap * 1000);
            sim.send(udp(i as u32, size), t);
        }
        sim.run_to_completion();
        let out = sim.take_delivered();
        prop_assert!(out.windows(2).all(|w| w[0].0.meta.origin <= w[1].0.meta.origin && w[0].1 <= w[1].1));
    }

    #[test]
    fn arbitrary_bytes_never_panic(frames in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..300), any::<u16>(), 0u8..4), 1..50), seed in any::<u64>()) {
        let imp = imp("delay: 1ms 1ms\nloss: 10%\ncorrupt: 50%\nduplicate: 20%\nreorder: 20%\nrate: 10mbit queue 20");
        let mut sim = PathSim::link(&imp, seed);
        for (i, (bytes, gso_size, kind)) in frames.into_iter().enumerate() {
            let mut p = Packet::from_slice(&bytes);
            if kind > 0 {
                p.meta.gso = Some(Gso { kind: [GsoKind::Tcp4, GsoKind::Tcp6, GsoKind::Udp][usize::from(kind - 1)], size: gso_size, ecn: false, hdr_len: 40, segs: 3 });
                p.meta.csum = faultmesh_emulator::packet::Csum::Partial { start: gso_size % 64, offset: 16 };
            }
            sim.send(p, Instant::from_micros(i as u64 * 10));
        }
        sim.run_to_completion();
        prop_assert!(conserved(&sim));
    }

    #[test]
    fn arbitrary_configs_never_panic(rate in 1u64..1_000_000_000_000, burst in 1u64..1_000_000_000, q in 1u32..100_000, delay_ms in 0u64..3_600_000, jitter in 0u64..60_000, corr in 0u32..=100, dist in 0usize..4, limit in 1u32..10) {
        let dist = ["uniform", "normal", "pareto", "paretonormal"][dist];
        let imp = imp(&format!("rate: {rate}bit burst {burst} queue {q}\ndelay: {{time: {delay_ms}ms, jitter: {jitter}ms, correlation: {corr}%, distribution: {dist}, limit: {limit}}}"));
        let mut sim = PathSim::link(&imp, 1);
        for i in 0..20 {
            sim.send(udp(i, 500), Instant::from_micros(u64::from(i)));
        }
        sim.run_until(Instant::from_millis(10_000_000));
        prop_assert!(conserved(&sim));
    }
}
