//! Lua filters in virtual time: verdicts, state, limits, hostile scripts and
//! seeded randomness.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use faultmesh_emulator::counters::DropReason;
use faultmesh_emulator::impair::Impairments;
use faultmesh_emulator::packet::Packet;
use faultmesh_emulator::pipeline::PacketFilter;
use faultmesh_emulator::sim::PathSim;
use faultmesh_emulator::time::Instant;
use faultmesh_emulator::wire::{Mac, build, ipproto};
use faultmesh_scripting::{Limits, LuaFilter, ScriptSource, Vm, vm};

fn src(code: &str) -> ScriptSource {
    ScriptSource {
        name: "t.lua".into(),
        source: code.into(),
        params: BTreeMap::new(),
        drop_on_error: false,
        limits: Limits::default(),
    }
}

fn udp(id: u32, dport: u16, payload: &[u8]) -> Packet {
    let mut l4 = vec![0u8; 8 + payload.len()];
    l4[0..2].copy_from_slice(&1000u16.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    l4[8..].copy_from_slice(payload);
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

fn nodes() -> Arc<HashMap<String, u32>> {
    Arc::new([("standby".to_string(), 7u32)].into_iter().collect())
}

fn sim_with(code: &str, seed: u64, drop_on_error: bool) -> PathSim {
    let mut s = src(code);
    s.drop_on_error = drop_on_error;
    let vm = Vm::new(&s, seed, "link:l").unwrap_or_else(|e| panic!("{e}"));
    let mut sim = PathSim::link(&Impairments::default(), seed);
    sim.hops[0].set_filter(Some(Box::new(LuaFilter::new(vm, &s, "l", 0, nodes()))));
    sim
}

fn run(sim: &mut PathSim, n: u32, mk: impl Fn(u32) -> Packet) -> Vec<(Packet, Instant)> {
    for i in 0..n {
        sim.send(mk(i), Instant::from_micros(u64::from(i) * 100));
    }
    sim.run_to_completion();
    sim.take_delivered()
}

#[test]
fn verdicts_and_state() {
    let code = r#"
        local seen = 0
        function filter(pkt)
            seen += 1
            if pkt.dst_port == 53 then return delay(5) end
            if pkt:find("evil") then return DROP end
            if pkt.dst_port == 9 then return DUPLICATE end
            if pkt.dst_port == 9000 then return route("standby") end
            if seen % 3 == 0 then return mark(2) end
            return PASS
        end
    "#;
    let mut sim = sim_with(code, 1, false);
    let out = run(&mut sim, 6, |i| match i {
        0 => udp(i, 53, b"q"),
        1 => udp(i, 80, b"an evil payload"),
        2 => udp(i, 9, b"x"),
        3 => udp(i, 9000, b"x"),
        _ => udp(i, 80, b"ok"),
    });
    let ids: Vec<u32> = out.iter().map(|(p, _)| p.meta.origin).collect();
    assert_eq!(ids, vec![2, 2, 3, 4, 5, 0], "DNS delayed 5 ms (others overtake it), evil dropped, 9 duplicated");
    assert_eq!(out[5].1, Instant::from_millis(5));
    assert_eq!(out[2].0.meta.route_to, Some(7), "routed to standby");
    assert_eq!(out[4].0.meta.class, 2, "the 6th packet was marked");
    let st = sim.hops[0].filter().unwrap().stats();
    assert_eq!(st.calls, 6);
    assert_eq!(st.verdicts.get("drop"), Some(&1));
    assert_eq!(st.verdicts.get("delay"), Some(&1));
    assert!(!st.disabled);
    assert_eq!(sim.hops[0].counters.drops.get(DropReason::Filter), 1);
}

#[test]
fn packet_fields() {
    let code = r#"
        function filter(pkt)
            assert(pkt.l3 == "ipv4" and pkt.ipv4 and not pkt.ipv6)
            assert(pkt.udp and not pkt.tcp and pkt.proto == 17)
            assert(pkt.src == "10.0.0.1" and pkt.dst == "10.0.0.2")
            assert(pkt.src_port == 1000 and pkt.dst_port == 7)
            assert(pkt.ttl == 64 and pkt.payload_len == 5 and pkt.len == 47)
            assert(pkt:payload() == "hello" and pkt:payload(2, 3) == "ell" and pkt:byte(1) == 104)
            assert(pkt:byte(6) == nil and pkt:frame(13, 2) == "\8\0")
            assert(pkt.direction == "a_to_b" and pkt.link == "l")
            assert(pkt.no_such_field == nil and pkt.syn == false and pkt.flags == 0)
            assert(pkt.icmp == false and pkt.dscp == 0 and pkt.src_mac == "02:00:00:00:00:01")
            assert(now_ms() >= 0 and type(random()) == "number")
            local r = random(3); assert(r >= 1 and r <= 3)
            return PASS
        end
    "#;
    let mut sim = sim_with(code, 1, true);
    let out = run(&mut sim, 3, |i| udp(i, 7, b"hello"));
    assert_eq!(out.len(), 3, "{:?}", sim.hops[0].filter().unwrap().stats().last_error);
}

#[test]
fn params_reach_the_script() {
    let mut s = src("function filter(pkt) if pkt.dst_port == params.port and params.on then return DROP end end");
    s.params.insert("port".into(), serde_json::json!(5432));
    s.params.insert("on".into(), serde_json::json!(true));
    let vm = Vm::new(&s, 1, "x").unwrap();
    let mut f = LuaFilter::new(vm, &s, "l", 0, nodes());
    let p = udp(0, 5432, b"");
    let info = faultmesh_emulator::wire::parse(p.data()).unwrap();
    assert_eq!(f.filter(p.data(), &info, Instant::ZERO), faultmesh_emulator::pipeline::FilterVerdict::Drop);
}

#[test]
fn scripts_that_do_not_load_are_refused() {
    for (code, want) in [
        ("function filter(pkt) return PASS", "Expected 'end'"),
        ("error('refusing to start')", "refusing to start"),
        ("local x = 1", "no `filter(pkt)` function"),
        ("filter = 42", "not a function"),
        ("local f = io.open('/etc/passwd')", "io"),
        ("require('socket')", "attempt to call a nil value"),
        ("while true do end", "time limit"),
    ] {
        let e = vm::check(&src(code)).expect_err(code).to_string();
        assert!(e.contains(want), "{code}: {e}");
    }
}

#[test]
fn hostile_scripts_are_disabled_and_contained() {
    for (code, fallback_drop, want) in [
        ("function filter(pkt) while true do end end", false, "time limit"),
        ("function filter(pkt) local s = string.rep('x', 1e8) end", true, "memory"),
        ("function filter(pkt) local s = 'x' while true do s = s .. s end end", false, "memory"),
        ("function filter(pkt) error('boom') end", true, "boom"),
        ("function filter(pkt) return 'maybe' end", false, "not a verdict"),
        ("function filter(pkt) return {} end", false, "not a verdict"),
        ("function filter(pkt) return delay(-5) end", false, "delay(ms)"),
        ("function filter(pkt) return route('nobody') end", false, "no such node"),
        ("function filter(pkt) os.execute('touch /tmp/pwned') end", false, "attempt to call a nil value"),
        ("function filter(pkt) return io.open('/etc/passwd') end", false, "attempt to index nil with 'open'"),
        ("function filter(pkt) return require('x') end", false, "attempt to call a nil value"),
        ("function filter(pkt) return loadstring('return 1')() end", false, "attempt to call a nil value"),
        ("function filter(pkt) setmetatable(_G, nil) end", false, "readonly table"),
        ("function filter(pkt) pkt.dst_port = 1 end", false, "readonly table"),
        ("function filter(pkt) setmetatable(pkt, nil) end", false, "protected metatable"),
    ] {
        let mut sim = sim_with(code, 1, fallback_drop);
        let t0 = std::time::Instant::now();
        let out = run(&mut sim, 20, |i| udp(i, 7, b"x"));
        assert!(t0.elapsed() < Duration::from_secs(5), "{code}: contained quickly");
        let st = sim.hops[0].filter().unwrap().stats();
        assert!(st.disabled, "{code}: disabled");
        assert_eq!(st.errors, 1, "{code}: one failure, then the fallback");
        let err = st.last_error.unwrap_or_default();
        assert!(err.contains(want), "{code}: {err}");
        assert_eq!(
            out.len(),
            if fallback_drop { 0 } else { 20 },
            "{code}: the link falls back to {}",
            if fallback_drop { "drop" } else { "pass" }
        );
        assert_eq!(st.verdicts.get("fallback"), Some(&20));
    }
    assert!(!std::path::Path::new("/tmp/pwned").exists());
}

#[test]
fn random_follows_the_link_seed() {
    let code = "function filter(pkt) if random() < 0.5 then return DROP end end";
    let delivered = |seed| {
        run(&mut sim_with(code, seed, false), 400, |i| udp(i, 7, b"x"))
            .into_iter()
            .map(|(p, _)| p.meta.origin)
            .collect::<Vec<_>>()
    };
    let (a, b, c) = (delivered(42), delivered(42), delivered(43));
    assert_eq!(a, b, "same seed, same drops");
    assert_ne!(a, c, "another seed, other drops");
    // 400 draws at 50%: 99.9% interval ±33.
    assert!((a.len() as i64 - 200).abs() <= 33, "{}", a.len());
}

#[test]
fn the_vm_is_shared_by_both_directions() {
    let s = src("local n = 0 function filter(pkt) n += 1 if n == 2 then return DROP end end");
    let vm = Vm::new(&s, 1, "x").unwrap();
    let mut ab = LuaFilter::new(vm.clone(), &s, "l", 0, nodes());
    let mut ba = LuaFilter::new(vm, &s, "l", 1, nodes());
    let p = udp(0, 1, b"");
    let info = faultmesh_emulator::wire::parse(p.data()).unwrap();
    use faultmesh_emulator::pipeline::FilterVerdict::*;
    assert_eq!(ab.filter(p.data(), &info, Instant::ZERO), Pass);
    assert_eq!(ba.filter(p.data(), &info, Instant::ZERO), Drop, "one counter across directions");
    assert_eq!(ab.filter(p.data(), &info, Instant::ZERO), Pass);
}
