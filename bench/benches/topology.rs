//! Topology compile time: YAML text → validated model (`parse_str`), model →
//! running engine (`Engine::new`), and a live reload of an unchanged
//! topology (`Engine::reload`, which keeps every link's state), at 10, 100
//! and 1,000 host nodes (one link each, routers of 250 hosts chained by
//! backbone links).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use faultmesh_bench::routed_yaml;
use faultmesh_emulator::engine::Engine;
use faultmesh_emulator::time::Instant;
use faultmesh_emulator::topology;

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("topology");
    g.sample_size(20);
    for n in [10usize, 100, 1_000] {
        let y = routed_yaml(n);
        let t = match topology::parse_str(&y, "gen", None) {
            Ok(t) => t,
            Err(d) => panic!("{d}"),
        };
        g.bench_function(format!("parse-validate-{n}-nodes"), |b| {
            b.iter(|| black_box(topology::parse_str(black_box(&y), "gen", None).is_ok()))
        });
        g.bench_function(format!("engine-new-{n}-nodes"), |b| b.iter(|| black_box(Engine::new(&t, Instant::ZERO))));
        let mut e = Engine::new(&t, Instant::ZERO);
        g.bench_function(format!("reload-unchanged-{n}-nodes"), |b| b.iter(|| black_box(e.reload(&t, Instant::ZERO))));
    }
    g.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
