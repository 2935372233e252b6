//! Each pipeline stage on its own: ns per decision or per packet.
//!
//! Packets are recycled (what a stage returns is offered again), so the
//! figures hold no allocation, only the stage's own work.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use faultmesh_bench::{sizes, udp64, udp1500};
use faultmesh_emulator::impair::{ChanceSpec, DelaySpec, LossSpec, RateSpec};
use faultmesh_emulator::packet::Packet;
use faultmesh_emulator::rng::{StageId, StageRng};
use faultmesh_emulator::stage::chance::{Chance, corrupt_one_bit};
use faultmesh_emulator::stage::delay::{DelayLine, Held, Jitter};
use faultmesh_emulator::stage::loss::Loss;
use faultmesh_emulator::stage::shaper::{Offer, Shaper};
use faultmesh_emulator::time::Instant;

fn rng(stage: StageId) -> StageRng {
    StageRng::new(42, "bench", 0, stage)
}

fn decisions(c: &mut Criterion) {
    let mut g = c.benchmark_group("decide");
    g.throughput(Throughput::Elements(1));
    for (name, tc) in [
        ("loss-random-1%", "1%"),
        ("loss-correlated-1%-25%", "1% 25%"),
        ("loss-gemodel", "gemodel 1% 10% 70% 0.1%"),
        ("loss-4state", "state 1% 10% 5% 5% 0.1%"),
    ] {
        let mut loss = Loss::new(&LossSpec::from_tc(tc).expect("loss spec"));
        let mut r = rng(StageId::Loss);
        g.bench_function(name, |b| b.iter(|| black_box(loss.decide(&mut r))));
    }
    let mut dup = Chance::new(&ChanceSpec::from_tc("1%").expect("chance spec"));
    let mut r = rng(StageId::Duplicate);
    g.bench_function("duplicate-1%", |b| b.iter(|| black_box(dup.decide(&mut r))));
    g.finish();

    let mut g = c.benchmark_group("jitter-sample");
    g.throughput(Throughput::Elements(1));
    for dist in ["uniform", "normal", "pareto", "paretonormal"] {
        let mut j = Jitter::new(&DelaySpec::from_tc(&format!("10ms 2ms 25% distribution {dist}")).expect("delay"));
        let mut r = rng(StageId::Delay);
        g.bench_function(dist, |b| b.iter(|| black_box(j.sample(&mut r))));
    }
    g.finish();

    let mut g = c.benchmark_group("corrupt-one-bit");
    g.throughput(Throughput::Elements(1));
    let mut r = rng(StageId::Corrupt);
    for (name, mut p) in [("64B", udp64()), ("1500B", udp1500())] {
        g.bench_function(name, |b| b.iter(|| corrupt_one_bit(black_box(&mut p), &mut r)));
    }
    g.finish();
}

/// A token bucket fed at exactly its rate: every packet either passes at once
/// or waits briefly in the queue, the steady state of a saturated link.
fn shaper(c: &mut Criterion) {
    let mut g = c.benchmark_group("shaper-at-rate-10gbit");
    g.throughput(Throughput::Elements(1));
    for (name, template) in sizes() {
        let spec = RateSpec::from_tc("10gbit").expect("rate");
        let mut s = Shaper::new(&spec, Instant::ZERO);
        let gap_ns = template.wire_bytes(0) * 8 * 1_000_000_000 / spec.rate_bps;
        let mut spare: Vec<Packet> = (0..4).map(|_| template.clone()).collect();
        let mut now = Instant::ZERO;
        g.bench_function(name, |b| {
            b.iter(|| {
                now = now.add_nanos(gap_ns);
                s.release_due(now, &mut |p, _| spare.push(p));
                let p = spare.pop().unwrap_or_else(|| template.clone());
                match s.offer(p, now) {
                    Offer::Sent(p) | Offer::Dropped(p) => spare.push(p),
                    Offer::Queued => {}
                }
            })
        });
    }
    g.finish();
}

/// A delay line holding 10 ms of traffic at 1 Mpps (10,000 packets), as a
/// loaded 10 ms link does: each iteration releases what is due and offers one.
fn delay_line(c: &mut Criterion) {
    let mut g = c.benchmark_group("delay-line-10ms-1Mpps");
    g.throughput(Throughput::Elements(1));
    for (name, tc) in [("fixed", "10ms"), ("jitter-fifo", "10ms 2ms"), ("jitter-reorder-heap", "10ms 2ms reorder")] {
        let spec = DelaySpec::from_tc(tc).expect("delay");
        let mut line = DelayLine::new(Some(&spec));
        let mut r = rng(StageId::Delay);
        let mut spare: Vec<Packet> = Vec::new();
        let mut now = Instant::ZERO;
        let template = udp64();
        let mut step = |line: &mut DelayLine, spare: &mut Vec<Packet>, now: &mut Instant| {
            *now = now.add_nanos(1_000);
            line.release_due(*now, &mut |p, _| spare.push(p));
            let p = spare.pop().unwrap_or_else(|| template.clone());
            match line.offer(p, *now, *now, &mut r) {
                Held::Now(p, _) | Held::Dropped(p) => spare.push(p),
                Held::Held => {}
            }
        };
        // Fill the line to its steady state first.
        for _ in 0..20_000 {
            step(&mut line, &mut spare, &mut now);
        }
        let held = line.len();
        assert!((7_000..=13_000).contains(&held), "{name}: the line should hold ~10,000 packets, holds {held}");
        g.bench_function(name, |b| b.iter(|| step(&mut line, &mut spare, &mut now)));
    }
    g.finish();
}

criterion_group!(benches, decisions, shaper, delay_line);
criterion_main!(benches);
