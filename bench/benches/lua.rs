//! The cost of a Lua filter per packet: a pass-through script, a script that
//! reads header fields and keeps per-flow state (`lua/drop_nth_syn.lua`'s
//! logic), and one that reads payload bytes, against no filter at all.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::net::Ipv6Addr;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use faultmesh_bench::{tcp6_syn, udp1500};
use faultmesh_emulator::pipeline::{FilterVerdict, PacketFilter};
use faultmesh_emulator::time::Instant;
use faultmesh_emulator::wire;
use faultmesh_scripting::{Limits, LuaFilter, ScriptSource, Vm};

fn filter(name: &str, source: &str, params: &[(&str, i64)]) -> LuaFilter {
    let src = ScriptSource {
        name: name.into(),
        source: source.into(),
        params: params.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect::<BTreeMap<_, _>>(),
        drop_on_error: false,
        limits: Limits::default(),
    };
    let vm = match Vm::new(&src, 1, "bench") {
        Ok(vm) => vm,
        Err(e) => panic!("{e}"),
    };
    LuaFilter::new(vm, &src, "bench", 0, Arc::new(HashMap::new()))
}

fn lua(c: &mut Criterion) {
    let mut g = c.benchmark_group("lua-filter");
    g.throughput(Throughput::Elements(1));
    let syn = tcp6_syn(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2), Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, 2), 5432);
    let syn_info = wire::parse(&syn).expect("syn parses");
    let big = udp1500();
    let big_info = wire::parse(big.data()).expect("udp parses");
    let now = Instant::from_millis(1);

    let mut pass = filter("pass.lua", "function filter(pkt) return PASS end", &[]);
    g.bench_function("pass-through", |b| b.iter(|| black_box(pass.filter(black_box(&syn), &syn_info, now))));

    let nth_syn = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../lua/drop_nth_syn.lua"))
        .expect("lua/drop_nth_syn.lua");
    let mut nth = filter("drop_nth_syn.lua", &nth_syn, &[("n", 3), ("port", 5432)]);
    let verdicts: Vec<bool> = (0..3).map(|_| matches!(nth.filter(&syn, &syn_info, now), FilterVerdict::Drop)).collect();
    assert_eq!(verdicts, [false, false, true], "drop_nth_syn with n = 3 drops the third SYN");
    g.bench_function("drop_nth_syn-headers-and-state", |b| {
        b.iter(|| black_box(nth.filter(black_box(&syn), &syn_info, now)))
    });

    let payload = "function filter(pkt)\n  local s = 0\n  for i = 1, 16 do s = s + pkt:byte(i) end\n  if s == 12345 then return DROP end\n  return PASS\nend";
    let mut pay = filter("payload.lua", payload, &[]);
    g.bench_function("read-16-payload-bytes", |b| {
        b.iter(|| black_box(pay.filter(black_box(big.data()), &big_info, now)))
    });
    for f in [&pass, &nth, &pay] {
        let s = f.stats();
        assert_eq!(s.errors, 0, "{}: {:?}", s.script, s.last_error);
    }
    g.finish();
}

criterion_group!(benches, lua);
criterion_main!(benches);
