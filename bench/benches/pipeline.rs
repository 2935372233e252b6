//! One link direction's whole pipeline (`Pipeline::handle` plus the
//! `handle_timeout` that releases what it held), per packet, for 64 B,
//! 1500 B and 64 KB GSO packets, clean and with a netem-like set of
//! impairments. Virtual time advances by one packet's serialization time at
//! the configured rate per iteration, so the shaper runs saturated but does not
//! overflow, and the delay line holds 1 ms of traffic.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use faultmesh_bench::sizes;
use faultmesh_emulator::impair::{ChanceSpec, DelaySpec, Impairments, LossSpec, RateSpec};
use faultmesh_emulator::packet::Packet;
use faultmesh_emulator::pipeline::Pipeline;
use faultmesh_emulator::time::Instant;

fn full() -> Impairments {
    Impairments {
        delay: Some(DelaySpec::from_tc("1ms 100us").expect("delay")),
        loss: Some(LossSpec::from_tc("1%").expect("loss")),
        corrupt: Some(ChanceSpec::from_tc("0.1%").expect("corrupt")),
        duplicate: Some(ChanceSpec::from_tc("0.1%").expect("duplicate")),
        reorder: None,
        rate: Some(RateSpec::from_tc("10gbit").expect("rate")),
        mtu: None,
    }
}

fn pipeline(c: &mut Criterion) {
    for (group, imp) in [("pipeline-clean", Impairments::default()), ("pipeline-netem-like-10gbit", full())] {
        let mut g = c.benchmark_group(group);
        for (name, template) in sizes() {
            g.throughput(Throughput::Elements(1));
            let mut p = Pipeline::new(&imp, 1, "bench", 0, Instant::ZERO);
            // 1% above the serialization time: duplicates add 0.1% of load.
            let gap_ns = (template.wire_bytes(0) * 8 * 101).div_ceil(1000);
            let mut now = Instant::ZERO;
            let mut calls = 0u64;
            g.bench_function(name, |b| {
                b.iter_batched(
                    || template.clone(),
                    |pkt: Packet| {
                        now = now.add_nanos(gap_ns);
                        calls += 1;
                        let mut out = Vec::with_capacity(4);
                        p.handle_timeout(now, &mut out);
                        p.handle(pkt, now, &mut out);
                        out
                    },
                    BatchSize::NumIterations(256),
                )
            });
            let c = &p.counters;
            assert_eq!(c.drops.get(faultmesh_emulator::counters::DropReason::QueueFull), 0, "{group}/{name}: overran");
            if calls == 0 {
                // `--list` (nextest) registers benchmarks without running them.
                continue;
            }
            assert!(c.rx_packets > 0, "{group}/{name}: nothing went in");
            // Counters and queues count wire packets (GSO segments).
            assert_eq!(
                c.rx_packets + c.duplicated,
                c.tx_packets + c.dropped() + p.queued_packets(),
                "{group}/{name}: packets were not conserved"
            );
        }
        g.finish();
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
