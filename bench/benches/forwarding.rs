//! Forwarding decisions and the engine's whole per-packet path.
//!
//! - `parse`: the checked header parse every packet gets once per segment.
//! - `lpm`, `rules`, `mac-table`, `flow-hash`: the lookups behind a segment's
//!   forwarding decision, at table sizes from a lab to a large emulation.
//! - `engine-*`: `Engine::handle_rx` for a frame entering at one host and
//!   leaving at another: parse, two link pipelines, the segment's rule table,
//!   routing or switching, header rewrite, the egress queue.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use faultmesh_bench::{DST_IP, SRC_IP, sizes_between, tcp_gso64k, tcp6_syn, udp4_frame, udp64};
use faultmesh_emulator::engine::Engine;
use faultmesh_emulator::forward::{Action, Lpm, MacTable, Match, Port, RouteEntry, RuleTable, flow_hash};
use faultmesh_emulator::packet::Packet;
use faultmesh_emulator::time::Instant;
use faultmesh_emulator::topology::{self, Cidr, Topology};
use faultmesh_emulator::wire::{self, Mac, ethertype};

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1));
    let udp = udp64();
    let syn = tcp6_syn(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2), Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, 2), 5432);
    let gso = tcp_gso64k();
    g.bench_function("udp4-64B", |b| b.iter(|| black_box(wire::parse(black_box(udp.data())))));
    g.bench_function("tcp6-syn", |b| b.iter(|| black_box(wire::parse(black_box(&syn)))));
    g.bench_function("tcp4-64KB-gso", |b| b.iter(|| black_box(wire::parse(black_box(gso.data())))));
    let garbage: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
    g.bench_function("garbage-64B", |b| b.iter(|| black_box(wire::parse(black_box(&garbage)).is_err())));
    g.finish();
}

fn port(i: usize) -> RouteEntry {
    RouteEntry { port: Port { link: i, dir: 0 }, node: Some(i) }
}

fn lookups(c: &mut Criterion) {
    let mut g = c.benchmark_group("lpm");
    g.throughput(Throughput::Elements(1));
    for n in [10usize, 1_000, 100_000] {
        let mut lpm = Lpm::default();
        // /24s plus a default route and a few /16 aggregates: lookups probe
        // several prefix lengths, the realistic case.
        for i in 0..n {
            let a = Ipv4Addr::from(0x0a00_0000u32 + ((i as u32) << 8));
            lpm.insert(Cidr { addr: IpAddr::V4(a), prefix: 24 }, port(i), false);
        }
        for i in 0..16u32 {
            lpm.insert(
                Cidr { addr: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i << 16))), prefix: 16 },
                port(i as usize),
                false,
            );
        }
        lpm.insert(Cidr { addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED), prefix: 0 }, port(0), false);
        let hit = IpAddr::V4(Ipv4Addr::from(0x0a00_0000u32 + (((n / 2) as u32) << 8) + 7));
        let miss = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        assert!(lpm.lookup(hit).is_some());
        g.bench_function(format!("v4-{n}-prefixes-hit"), |b| b.iter(|| black_box(lpm.lookup(black_box(hit)))));
        g.bench_function(format!("v4-{n}-prefixes-default"), |b| b.iter(|| black_box(lpm.lookup(black_box(miss)))));
    }
    let mut lpm6 = Lpm::default();
    for i in 0..1_000u16 {
        let a = Ipv6Addr::new(0xfd00, i, 0, 0, 0, 0, 0, 0);
        lpm6.insert(Cidr { addr: IpAddr::V6(a), prefix: 64 }, port(usize::from(i)), false);
    }
    let hit6 = IpAddr::V6(Ipv6Addr::new(0xfd00, 500, 0, 0, 0, 0, 0, 2));
    g.bench_function("v6-1000-prefixes-hit", |b| b.iter(|| black_box(lpm6.lookup(black_box(hit6)))));
    g.finish();

    let info = match wire::parse(udp64().data()) {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    };
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(1));
    for n in [0usize, 16, 256] {
        let mut t = RuleTable::default_for(Action::Route);
        // Rules that do not match (another destination port each), ahead of
        // the default: the worst case, every rule is evaluated.
        for i in 0..n {
            let m = Match { proto: Some(17), dst_port: Some((1 + i as u16, 1 + i as u16)), ..Match::default() };
            t.prepend(m, Action::ToNode(i));
        }
        g.bench_function(format!("{n}-misses-then-default"), |b| {
            b.iter(|| black_box(t.lookup(black_box(&info), 0, 0, 0)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("mac-table");
    g.throughput(Throughput::Elements(1));
    let mut macs = MacTable::default();
    for i in 0..1_000u32 {
        macs.learn(Mac::local(2, i), i as usize, Instant::ZERO);
    }
    let known = Mac::local(2, 500);
    g.bench_function("lookup-1000", |b| b.iter(|| black_box(macs.lookup(black_box(known), Instant::ZERO))));
    let mut t = Instant::ZERO;
    g.bench_function("learn-refresh", |b| {
        b.iter(|| {
            t = t.add_nanos(1);
            macs.learn(black_box(known), 500, t)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("flow-hash");
    g.throughput(Throughput::Elements(1));
    g.bench_function("udp4", |b| b.iter(|| black_box(flow_hash(black_box(&info)))));
    g.finish();
}

const ROUTED: &str = "seed: 1
nodes:
  a: {kind: host, addresses: [10.0.1.2/24], gateway: 10.0.1.1}
  b: {kind: host, addresses: [10.0.2.2/24], gateway: 10.0.2.1}
segments:
  r: {kind: router, addresses: [10.0.1.1/24, 10.0.2.1/24]}
links:
  la: {a: a, b: r}
  lb: {a: r, b: b}
";

const SWITCHED: &str = "seed: 1
nodes:
  a: {kind: host, addresses: [10.0.1.2/24]}
  b: {kind: host, addresses: [10.0.1.3/24]}
segments:
  s: {kind: switch}
links:
  la: {a: a, b: s}
  lb: {a: s, b: b}
";

fn topo(y: &str) -> Topology {
    match topology::parse_str(y, "bench", None) {
        Ok(t) => t,
        Err(d) => panic!("{d}"),
    }
}

fn node_mac(t: &Topology, n: &str) -> Mac {
    t.node_index(n).and_then(|i| t.nodes[i].mac).unwrap_or(Mac::ZERO)
}

/// Sends `template` (re-addressed `src`→`dst` MAC) in at node `a` over and over
/// and drains node `b`'s egress queue; asserts that it arrived.
fn engine_case(c: &mut Criterion, group: &str, y: &str, dst_ip: Ipv4Addr, dst_mac_of: &dyn Fn(&Topology) -> Mac) {
    let t = topo(y);
    let (a, b) = (t.node_index("a").unwrap_or(0), t.node_index("b").unwrap_or(1));
    let (src, dst) = (node_mac(&t, "a"), dst_mac_of(&t));
    let mut g = c.benchmark_group(group);
    for (name, mut template) in sizes_between(SRC_IP, dst_ip) {
        wire::write_eth(template.data_mut(), dst, src, ethertype::IPV4);
        if let Some(gso) = template.meta.gso.as_mut() {
            gso.hdr_len = 0;
            gso.segs = 0;
        }
        template.meta.csum = faultmesh_emulator::packet::Csum::Valid;
        let mut e = Engine::new(&t, Instant::ZERO);
        // Warm the tables (ARP/ND are answered from the topology; the switch
        // learns b's MAC from one frame of b).
        let mut back = Packet::from_slice(&udp4_frame(dst_ip, SRC_IP, 1, 1, 64));
        let bmac = node_mac(&t, "b");
        wire::write_eth(back.data_mut(), if dst == bmac { src } else { dst }, bmac, ethertype::IPV4);
        e.handle_rx(b, back, Instant::ZERO);
        e.tx_queue(a).clear();
        let mut now = Instant::ZERO;
        let mut delivered = 0u64;
        let mut calls = 0u64;
        g.throughput(Throughput::Elements(1));
        g.bench_function(name, |bch| {
            bch.iter_batched(
                || template.clone(),
                |pkt| {
                    now = now.add_nanos(1_000);
                    calls += 1;
                    e.handle_rx(a, pkt, now);
                    let q = e.tx_queue(b);
                    delivered += q.len() as u64;
                    q.drain(..).collect::<Vec<_>>()
                },
                BatchSize::NumIterations(256),
            )
        });
        // `--list` (nextest) registers benchmarks without running them.
        assert!(calls == 0 || delivered > 0, "{group}/{name}: nothing was delivered");
    }
    g.finish();
}

fn engine(c: &mut Criterion) {
    engine_case(c, "engine-routed", ROUTED, DST_IP, &|t| t.segments[t.segment_index("r").unwrap_or(0)].mac);
    engine_case(c, "engine-switched", SWITCHED, Ipv4Addr::new(10, 0, 1, 3), &|t| node_mac(t, "b"));
}

criterion_group!(benches, parse, lookups, engine);
criterion_main!(benches);
