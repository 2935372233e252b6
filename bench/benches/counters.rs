//! What counting costs.
//!
//! The data plane counts into plain per-link structs owned by its thread and
//! publishes a snapshot when the control plane asks (`Engine::snapshot`).
//! The alternatives it avoids are measured next to it: a shared atomic per
//! counter (uncontended, and with a second thread counting into the same
//! cache line, as a second data-plane thread or a reader would), and a mutex.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use faultmesh_bench::routed;
use faultmesh_emulator::counters::{DirCounters, DropReason};
use faultmesh_emulator::engine::Engine;
use faultmesh_emulator::time::Instant;

#[derive(Default)]
struct Shared {
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
}

impl Shared {
    fn count(&self, len: u64) {
        self.rx_packets.fetch_add(1, Ordering::Relaxed);
        self.rx_bytes.fetch_add(len, Ordering::Relaxed);
        self.tx_packets.fetch_add(1, Ordering::Relaxed);
        self.tx_bytes.fetch_add(len, Ordering::Relaxed);
    }
}

fn per_packet(c: &mut Criterion) {
    let mut g = c.benchmark_group("count-forwarded-packet");
    g.throughput(Throughput::Elements(1));
    let mut local = DirCounters::default();
    g.bench_function("worker-local-struct", |b| {
        b.iter(|| {
            let c = black_box(&mut local);
            let len = black_box(1514u64);
            c.rx_packets += 1;
            c.rx_bytes += len;
            c.tx_packets += 1;
            c.tx_bytes += len;
        })
    });
    g.bench_function("worker-local-drop-by-reason", |b| {
        b.iter(|| black_box(&mut local).drops.add(black_box(DropReason::Loss), 1, 1514))
    });
    let shared = Arc::new(Shared::default());
    g.bench_function("shared-atomics-uncontended", |b| b.iter(|| black_box(&*shared).count(black_box(1514))));
    let stop = Arc::new(AtomicBool::new(false));
    let other = {
        let (shared, stop) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                shared.count(64);
            }
        })
    };
    g.bench_function("shared-atomics-contended", |b| b.iter(|| black_box(&*shared).count(black_box(1514))));
    stop.store(true, Ordering::Relaxed);
    let _ = other.join();
    let m = Mutex::new(DirCounters::default());
    g.bench_function("mutex", |b| {
        b.iter(|| {
            if let Ok(mut c) = m.lock() {
                c.rx_packets += 1;
                c.rx_bytes += 1514;
                c.tx_packets += 1;
                c.tx_bytes += 1514;
            }
        })
    });
    g.finish();
}

/// The periodic publication: a full snapshot of every link, node and segment.
fn snapshot(c: &mut Criterion) {
    let mut g = c.benchmark_group("snapshot");
    for n in [10usize, 100, 1_000] {
        let e = Engine::new(&routed(n), Instant::ZERO);
        g.bench_function(format!("{n}-nodes"), |b| b.iter(|| black_box(e.snapshot())));
    }
    g.finish();
}

criterion_group!(benches, per_packet, snapshot);
criterion_main!(benches);
