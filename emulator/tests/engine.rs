//! The forwarding engine in virtual time: switching, routing, ARP/ND answers,
//! ICMP errors, steering rules, multi-hop accumulation and a shared shaper.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use faultmesh_emulator::counters::DropReason;
use faultmesh_emulator::forward::{Action, Match};
use faultmesh_emulator::packet::Packet;
use faultmesh_emulator::sim::EngineSim;
use faultmesh_emulator::time::Instant;
use faultmesh_emulator::topology::{self, Cidr, Topology};
use faultmesh_emulator::wire::{self, L3, Mac, build, ethertype, ipproto};

fn topo(yaml: &str) -> Topology {
    topology::parse_str(yaml, "test", None).unwrap_or_else(|d| panic!("{}", d.render("test", yaml)))
}

fn mac_of(t: &Topology, node: &str) -> Mac {
    t.nodes[t.node_index(node).unwrap()].mac.unwrap()
}

fn seg_mac(t: &Topology, seg: &str) -> Mac {
    t.segments[t.segment_index(seg).unwrap()].mac
}

fn udp4(src_mac: Mac, dst_mac: Mac, src: &str, dst: &str, dport: u16, ttl: u8, payload: usize) -> Packet {
    let mut l4 = vec![0u8; 8 + payload];
    l4[0..2].copy_from_slice(&40000u16.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4[4..6].copy_from_slice(&((8 + payload) as u16).to_be_bytes());
    Packet::from_slice(&build::ipv4(
        dst_mac,
        src_mac,
        src.parse().unwrap(),
        dst.parse().unwrap(),
        ipproto::UDP,
        ttl,
        &l4,
    ))
}

const ROUTED: &str = r#"
seed: 1
nodes:
  a: {kind: host, addresses: [10.0.1.2/24, fd01::2/64], gateway: [10.0.1.1, fd01::1]}
  b: {kind: host, addresses: [10.0.2.2/24, fd02::2/64], gateway: [10.0.2.1, fd02::1]}
segments:
  r: {kind: router, addresses: [10.0.1.1/24, 10.0.2.1/24, fd01::1/64, fd02::1/64]}
links:
  la:
    a: a
    b: r
    both: {delay: 10ms}
  lb:
    a: r
    b: b
    both: {delay: 5ms, mtu: 1400}
"#;

#[test]
fn router_answers_arp_and_routes_with_accumulated_delay() {
    let t = topo(ROUTED);
    let (a, b) = (t.node_index("a").unwrap(), t.node_index("b").unwrap());
    let rmac = seg_mac(&t, "r");
    let mut sim = EngineSim::new(&t);
    // ARP for the gateway: the reply crosses link `la` twice (10 ms each way).
    let req = build::arp_request(mac_of(&t, "a"), Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(10, 0, 1, 1));
    sim.send(a, Packet::from_slice(&req), Instant::ZERO);
    sim.run_to_completion();
    let got = sim.take(a);
    assert_eq!(got.len(), 1);
    let info = wire::parse(got[0].0.data()).unwrap();
    assert_eq!(info.l3, L3::Arp);
    assert_eq!(info.arp_op, 2);
    assert_eq!(info.src_mac, rmac);
    assert_eq!(got[0].1, Instant::from_millis(20));
    // A datagram to b: 10 ms + 5 ms, MACs rewritten, TTL decremented.
    let t0 = Instant::from_millis(100);
    sim.send(a, udp4(mac_of(&t, "a"), rmac, "10.0.1.2", "10.0.2.2", 5000, 64, 100), t0);
    sim.run_to_completion();
    let got = sim.take(b);
    assert_eq!(got.len(), 1);
    let info = wire::parse(got[0].0.data()).unwrap();
    assert_eq!(got[0].1, t0 + std::time::Duration::from_millis(15));
    assert_eq!((info.src_mac, info.dst_mac), (rmac, mac_of(&t, "b")));
    assert_eq!(info.ttl, 63);
    assert!(wire::Ipv4::new_checked(&got[0].0.data()[14..]).unwrap().verify_checksum());
    assert!(wire::verify_l4_checksum(got[0].0.data(), &info));
    let snap = sim.engine.snapshot();
    assert_eq!(snap.nodes[a].counters.sent_packets, 2);
    assert_eq!(snap.nodes[b].counters.received_packets, 1);
}

#[test]
fn router_answers_ping_nd_and_sends_icmp_errors() {
    let t = topo(ROUTED);
    let a = t.node_index("a").unwrap();
    let rmac = seg_mac(&t, "r");
    let amac = mac_of(&t, "a");
    let mut sim = EngineSim::new(&t);
    // Ping the gateway.
    let mut echo = vec![8u8, 0, 0, 0, 0, 7, 0, 1];
    echo.extend_from_slice(&[0xab; 32]);
    let f = build::ipv4(rmac, amac, Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(10, 0, 1, 1), ipproto::ICMP, 64, &echo);
    sim.send(a, Packet::from_slice(&f), Instant::ZERO);
    // TTL 1 toward b: time exceeded from 10.0.1.1.
    sim.send(a, udp4(amac, rmac, "10.0.1.2", "10.0.2.2", 33434, 1, 20), Instant::from_millis(1));
    // 1500-byte DF datagram into the 1400-byte link: fragmentation needed, MTU 1400.
    sim.send(a, udp4(amac, rmac, "10.0.1.2", "10.0.2.2", 9, 64, 1472), Instant::from_millis(2));
    // IPv6 neighbour solicitation for the gateway.
    let ns = build::neighbor_solicit(amac, "fd01::2".parse().unwrap(), "fd01::1".parse().unwrap());
    sim.send(a, Packet::from_slice(&ns), Instant::from_millis(3));
    // IPv6 packet too big.
    let l4 = vec![0u8; 1460];
    let big6 = build::ipv6(rmac, amac, "fd01::2".parse().unwrap(), "fd02::2".parse().unwrap(), ipproto::UDP, 64, &l4);
    sim.send(a, Packet::from_slice(&big6), Instant::from_millis(4));
    sim.run_to_completion();
    let got: Vec<_> = sim.take(a).into_iter().map(|(p, _)| (wire::parse(p.data()).unwrap(), p)).collect();
    assert_eq!(got.len(), 5, "{:?}", got.iter().map(|g| (g.0.proto, g.0.icmp_type)).collect::<Vec<_>>());
    let (echo_reply, ttl, frag, na, ptb) = (&got[0].0, &got[1].0, &got[2].0, &got[3].0, &got[4].0);
    assert_eq!((echo_reply.proto, echo_reply.icmp_type), (ipproto::ICMP, 0));
    assert_eq!(echo_reply.src_ip, IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)));
    assert!(wire::verify_l4_checksum(got[0].1.data(), echo_reply));
    assert_eq!((ttl.icmp_type, ttl.icmp_code), (11, 0));
    assert_eq!((frag.icmp_type, frag.icmp_code), (3, 4));
    assert_eq!(wire::read_u16(got[2].1.data(), frag.l4_offset + 6), Some(1400));
    assert_eq!((na.proto, na.icmp_type), (ipproto::ICMPV6, 136));
    assert_eq!(ptb.icmp_type, 2);
    assert_eq!(wire::read_u32(got[4].1.data(), ptb.l4_offset + 4), Some(1400));
    let snap = sim.engine.snapshot();
    let lb = snap.links.iter().find(|l| l.name == "lb").unwrap();
    assert_eq!(lb.a_to_b.counters.drops.get(DropReason::Mtu), 2);
}

const STAR: &str = r#"
nodes:
  h1: {kind: host, addresses: [10.8.0.1/24]}
  h2: {kind: host, addresses: [10.8.0.2/24]}
  h3: {kind: host, addresses: [10.8.0.3/24]}
  h4: {kind: host, addresses: [10.8.0.4/24]}
segments:
  lan: {kind: switch}
links:
  p1: {a: h1, b: lan}
  p2: {a: h2, b: lan}
  p3: {a: h3, b: lan}
  p4: {a: h4, b: lan, both: {delay: 1ms}}
"#;

#[test]
fn switch_forwards_by_mac_and_floods_broadcasts() {
    let t = topo(STAR);
    let ids: Vec<usize> = (1..=4).map(|i| t.node_index(&format!("h{i}")).unwrap()).collect();
    let mut sim = EngineSim::new(&t);
    sim.send(ids[0], udp4(mac_of(&t, "h1"), mac_of(&t, "h2"), "10.8.0.1", "10.8.0.2", 1, 64, 10), Instant::ZERO);
    let arp = build::arp_request(mac_of(&t, "h1"), Ipv4Addr::new(10, 8, 0, 1), Ipv4Addr::new(10, 8, 0, 4));
    sim.send(ids[0], Packet::from_slice(&arp), Instant::from_millis(1));
    sim.run_to_completion();
    assert_eq!(sim.take(ids[0]).len(), 0, "never back out the ingress port");
    let h2 = sim.take(ids[1]);
    assert_eq!(h2.len(), 2, "unicast + broadcast");
    assert_eq!(sim.take(ids[2]).len(), 1, "broadcast only");
    let h4 = sim.take(ids[3]);
    assert_eq!(h4.len(), 1);
    assert_eq!(h4[0].1, Instant::from_millis(2), "flooded copy still crosses h4's 1 ms port");
    // An unknown unicast MAC floods, then the reply teaches the switch.
    let stranger = Mac([2, 9, 9, 9, 9, 9]);
    sim.send(ids[0], udp4(mac_of(&t, "h1"), stranger, "10.8.0.1", "10.8.0.9", 1, 64, 10), Instant::from_millis(10));
    sim.run_to_completion();
    assert_eq!(sim.take(ids[1]).len() + sim.take(ids[2]).len() + sim.take(ids[3]).len(), 3);
    sim.send(ids[2], udp4(stranger, mac_of(&t, "h1"), "10.8.0.9", "10.8.0.1", 1, 64, 10), Instant::from_millis(20));
    sim.send(ids[0], udp4(mac_of(&t, "h1"), stranger, "10.8.0.1", "10.8.0.9", 1, 64, 10), Instant::from_millis(21));
    sim.run_to_completion();
    assert_eq!(sim.take(ids[2]).len(), 1, "learned: only h3's port");
    assert_eq!(sim.take(ids[1]).len(), 0);
    assert_eq!(sim.snapshot_flooded(), 2);
}

trait Flooded {
    fn snapshot_flooded(&self) -> u64;
}
impl Flooded for EngineSim {
    fn snapshot_flooded(&self) -> u64 {
        self.engine.snapshot().segments[0].counters.flooded
    }
}

#[test]
fn multi_hop_paths_accumulate_and_share_a_shaper() {
    let t =
        topology::load_file(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../topologies/three-tier.yaml"))
            .unwrap()
            .0;
    let (web1, web2, db) = (t.node_index("web1").unwrap(), t.node_index("web2").unwrap(), t.node_index("db").unwrap());
    let mut sim = EngineSim::new(&t);
    let edge = seg_mac(&t, "edge");
    // web1 -> web-lan -> edge -> backbone (5ms±1ms) -> core -> db-lan (1ms) -> db.
    for i in 0..200u64 {
        sim.send(
            web1,
            udp4(mac_of(&t, "web1"), edge, "10.1.0.11", "10.3.0.10", 5432, 64, 100),
            Instant::from_millis(i * 20),
        );
    }
    sim.run_to_completion();
    let got = sim.take(db);
    assert!(got.len() > 150, "some loss on the backbone, most arrive: {}", got.len());
    for (i, (p, at)) in got.iter().enumerate() {
        let info = wire::parse(p.data()).unwrap();
        assert_eq!(info.ttl, 62, "two routers on the path");
        assert!(*at > Instant::from_millis(6), "{i}: at {at:?}");
    }
    // Two senders share the 8 Mbit/s uplink of a switch.
    let shared = r#"
nodes:
  s1: {kind: host, addresses: [10.0.0.1/24]}
  s2: {kind: host, addresses: [10.0.0.2/24]}
  dst: {kind: host, addresses: [10.0.0.9/24]}
segments:
  edge: {kind: switch}
  far: {kind: switch}
links:
  p1: {a: s1, b: edge}
  p2: {a: s2, b: edge}
  uplink: {a: edge, b: far, a_to_b: {rate: 8mbit burst 1000 queue 1000}}
  pd: {a: dst, b: far}
"#;
    let t2 = topo(shared);
    let (s1, s2, d) = (t2.node_index("s1").unwrap(), t2.node_index("s2").unwrap(), t2.node_index("dst").unwrap());
    let mut sim = EngineSim::new(&t2);
    // 100 x 1000-byte frames from each at t=0: 200 kB at 1 MB/s = 200 ms.
    for _ in 0..100 {
        sim.send(s1, udp4(mac_of(&t2, "s1"), mac_of(&t2, "dst"), "10.0.0.1", "10.0.0.9", 1, 64, 958), Instant::ZERO);
        sim.send(s2, udp4(mac_of(&t2, "s2"), mac_of(&t2, "dst"), "10.0.0.2", "10.0.0.9", 1, 64, 958), Instant::ZERO);
    }
    sim.run_to_completion();
    let _ = (web2,);
    let got = sim.take(d);
    assert_eq!(got.len(), 200);
    assert_eq!(got.last().unwrap().1, Instant::from_millis(199), "one bucket for both flows");
}

#[test]
fn steering_and_load_balancing_rules() {
    let yaml = r#"
nodes:
  client: {kind: host, addresses: [10.0.1.2/24], gateway: 10.0.1.1}
  primary: {kind: host, addresses: [10.0.2.2/24], gateway: 10.0.2.1}
  standby: {kind: host, addresses: [10.0.2.3/24], gateway: 10.0.2.1}
  web1: {kind: host, addresses: [10.0.2.11/24], gateway: 10.0.2.1}
  web2: {kind: host, addresses: [10.0.2.12/24], gateway: 10.0.2.1}
segments:
  r: {kind: router, addresses: [10.0.1.1/24, 10.0.2.1/24]}
  lan: {kind: switch}
links:
  c: {a: client, b: r}
  up: {a: r, b: lan}
  p: {a: primary, b: lan}
  s: {a: standby, b: lan}
  w1: {a: web1, b: lan}
  w2: {a: web2, b: lan}
"#;
    let t = topo(yaml);
    let id = |n: &str| t.node_index(n).unwrap();
    let r = t.segment_index("r").unwrap();
    let mut sim = EngineSim::new(&t);
    sim.engine.rules_mut(r).prepend(
        Match { proto: Some(ipproto::UDP), dst_port: Some((9000, 9000)), ..Match::default() },
        Action::ToNode(id("standby")),
    );
    sim.engine.rules_mut(r).prepend(
        Match { dst: Some(Cidr::parse("10.0.2.100/32").unwrap()), ..Match::default() },
        Action::LoadBalance(vec![id("web1"), id("web2")]),
    );
    let rmac = seg_mac(&t, "r");
    let cmac = mac_of(&t, "client");
    sim.send(id("client"), udp4(cmac, rmac, "10.0.1.2", "10.0.2.2", 9000, 64, 10), Instant::ZERO);
    sim.send(id("client"), udp4(cmac, rmac, "10.0.1.2", "10.0.2.2", 80, 64, 10), Instant::ZERO);
    for sport in 0..64u16 {
        let mut p = udp4(cmac, rmac, "10.0.1.2", "10.0.2.100", 80, 64, 10);
        p.data_mut()[34..36].copy_from_slice(&(1000 + sport).to_be_bytes());
        let info = wire::parse(p.data()).unwrap();
        wire::fill_l4_checksum(p.data_mut(), &info);
        sim.send(id("client"), p.clone(), Instant::from_millis(1));
        sim.send(id("client"), p, Instant::from_millis(2));
    }
    sim.run_to_completion();
    let standby = sim.take(id("standby"));
    assert_eq!(standby.len(), 1);
    assert_eq!(wire::parse(standby[0].0.data()).unwrap().dst_mac, mac_of(&t, "standby"));
    assert_eq!(sim.take(id("primary")).len(), 1);
    let (w1, w2) = (sim.take(id("web1")), sim.take(id("web2")));
    assert_eq!(w1.len() + w2.len(), 128);
    assert!(w1.len() > 20 && w2.len() > 20, "both servers get flows: {} / {}", w1.len(), w2.len());
    // A flow always lands on the same server.
    let ports = |v: &[(Packet, Instant)]| {
        v.iter().map(|(p, _)| wire::parse(p.data()).unwrap().src_port).collect::<std::collections::BTreeSet<_>>()
    };
    assert!(ports(&w1).is_disjoint(&ports(&w2)));
}

#[test]
fn tun_nodes_exchange_ip_packets() {
    let yaml = r#"
nodes:
  a: {kind: host, device: tun, addresses: [10.0.1.2/24], gateway: 10.0.1.1}
  b: {kind: host, device: tun, addresses: [10.0.2.2/24], gateway: 10.0.2.1}
segments:
  r: {kind: router, addresses: [10.0.1.1/24, 10.0.2.1/24]}
links:
  la: {a: a, b: r}
  lb: {a: r, b: b}
"#;
    let t = topo(yaml);
    let (a, b) = (t.node_index("a").unwrap(), t.node_index("b").unwrap());
    let mut sim = EngineSim::new(&t);
    let frame = udp4(Mac::ZERO, Mac::ZERO, "10.0.1.2", "10.0.2.2", 53, 64, 30);
    let ip = Packet::from_slice(&frame.data()[14..]);
    sim.send(a, ip, Instant::ZERO);
    sim.run_to_completion();
    let got = sim.take(b);
    assert_eq!(got.len(), 1);
    let pkt = got[0].0.data();
    assert_eq!(pkt[0] >> 4, 4, "delivered as a bare IP packet");
    assert_eq!(pkt[8], 63);
    assert_eq!(&pkt[12..20], &frame.data()[26..34]);
}

#[test]
fn malformed_frames_are_counted_and_dropped() {
    let t = topo(ROUTED);
    let (a, b) = (t.node_index("a").unwrap(), t.node_index("b").unwrap());
    let mut sim = EngineSim::new(&t);
    let rmac = seg_mac(&t, "r");
    let good = udp4(mac_of(&t, "a"), rmac, "10.0.1.2", "10.0.2.2", 7, 64, 50);
    let mut bad_len = good.data().to_vec();
    bad_len[16] = 0x7f; // IPv4 total length beyond the frame
    let mut bad_ihl = good.data().to_vec();
    bad_ihl[14] = 0x43;
    for f in [vec![1u8, 2, 3], bad_len, bad_ihl, good.data()[..30].to_vec()] {
        sim.send(a, Packet::from_slice(&f), Instant::ZERO);
    }
    sim.send(a, good, Instant::from_millis(1));
    sim.run_to_completion();
    assert_eq!(sim.take(b).len(), 1, "forwarding continues");
    let snap = sim.engine.snapshot();
    assert_eq!(snap.nodes[a].counters.malformed, 4);
    assert_eq!(snap.links[0].a_to_b.counters.drops.get(DropReason::Malformed), 4);
}

#[test]
fn ipv6_is_routed() {
    let t = topo(ROUTED);
    let (a, b) = (t.node_index("a").unwrap(), t.node_index("b").unwrap());
    let mut sim = EngineSim::new(&t);
    let l4 = {
        let mut v = vec![0u8; 8 + 20];
        v[0..2].copy_from_slice(&1u16.to_be_bytes());
        v[2..4].copy_from_slice(&2u16.to_be_bytes());
        v[4..6].copy_from_slice(&28u16.to_be_bytes());
        v
    };
    let src: Ipv6Addr = "fd01::2".parse().unwrap();
    let dst: Ipv6Addr = "fd02::2".parse().unwrap();
    let f = build::ipv6(seg_mac(&t, "r"), mac_of(&t, "a"), src, dst, ipproto::UDP, 64, &l4);
    sim.send(a, Packet::from_slice(&f), Instant::ZERO);
    sim.run_to_completion();
    let got = sim.take(b);
    assert_eq!(got.len(), 1);
    let info = wire::parse(got[0].0.data()).unwrap();
    assert_eq!(info.ethertype, ethertype::IPV6);
    assert_eq!(info.ttl, 63);
    assert_eq!(info.dst_mac, mac_of(&t, "b"));
}

/// A next hop that never answers: the router asks once per second, holds a
/// few packets, and drops them on its own timer, with no further packet.
#[test]
fn unresolved_next_hops_are_asked_once_held_briefly_and_dropped_on_time() {
    use faultmesh_emulator::engine::{ENTRY_LIFETIME_NS, PENDING_PER_TARGET, RESOLVE_TIMEOUT_NS};
    let t = topo(ROUTED);
    let (a, b) = (t.node_index("a").unwrap(), t.node_index("b").unwrap());
    let (rmac, bmac) = (seg_mac(&t, "r"), mac_of(&t, "b"));
    let mut sim = EngineSim::new(&t);
    // An address no table knows speaks through a's port: the router learns
    // where it is and its MAC.
    let stranger = Mac([2, 0x77, 0, 0, 0, 1]);
    sim.send(a, udp4(stranger, rmac, "10.0.1.77", "10.0.2.2", 1, 64, 10), Instant::ZERO);
    sim.run_to_completion();
    assert_eq!(sim.take(b).len(), 1);
    // While the MAC is fresh, replies go straight to it.
    sim.send(b, udp4(bmac, rmac, "10.0.2.2", "10.0.1.77", 1, 64, 10), Instant::from_millis(100));
    sim.run_to_completion();
    let got = sim.take(a);
    assert_eq!(got.len(), 1);
    assert_eq!(wire::parse(got[0].0.data()).unwrap().dst_mac, stranger);
    // A minute of silence: the MAC is stale, the learned route is not. Five
    // packets: one request, PENDING_PER_TARGET held, the rest refused.
    let t0 = Instant::from_nanos(ENTRY_LIFETIME_NS + 1_000_000_000);
    for i in 0..5u64 {
        sim.send(b, udp4(bmac, rmac, "10.0.2.2", "10.0.1.77", 1, 64, 10), t0.add_nanos(i * 1_000_000));
    }
    // Run only to just before the deadline: the request went out, the held
    // packets are still held.
    let deadline = t0.add_nanos(5_000_000 + RESOLVE_TIMEOUT_NS); // first held at t0 + 5 ms (lb's delay)
    sim.run_until(Instant::from_nanos(deadline.as_nanos() - 1));
    let asked: Vec<_> = sim.take(a).into_iter().map(|(p, _)| wire::parse(p.data()).unwrap()).collect();
    assert_eq!(asked.len(), 1, "one request per target per interval");
    assert_eq!((asked[0].l3, asked[0].arp_op, asked[0].src_mac), (L3::Arp, 1, rmac));
    let seg = |sim: &EngineSim| sim.engine.snapshot().segments[0].clone();
    assert_eq!(seg(&sim).neighbor_pending_packets, PENDING_PER_TARGET);
    assert_eq!(seg(&sim).counters.drops.get(DropReason::NeighborQueueFull), 5 - PENDING_PER_TARGET as u64);
    assert_eq!(seg(&sim).counters.drops.get(DropReason::Unresolved), 0);
    // Nothing else arrives, yet the engine wakes for the deadline and drops them.
    assert!(sim.engine.poll_timeout().is_some());
    sim.run_to_completion();
    assert_eq!(sim.engine.poll_timeout(), None);
    assert_eq!(seg(&sim).neighbor_pending_packets, 0);
    assert_eq!(seg(&sim).counters.drops.get(DropReason::Unresolved), PENDING_PER_TARGET as u64);
    assert!(sim.take(a).is_empty());
    // An answer in time releases what waits, addressed to the new MAC.
    let t1 = deadline.add_nanos(RESOLVE_TIMEOUT_NS);
    sim.send(b, udp4(bmac, rmac, "10.0.2.2", "10.0.1.77", 1, 64, 10), t1);
    sim.run_until(t1.add_nanos(30_000_000));
    assert_eq!(sim.take(a).len(), 1, "a new request");
    let moved = Mac([2, 0x77, 0, 0, 0, 2]);
    let reply = build::arp_reply(moved, Ipv4Addr::new(10, 0, 1, 77), rmac, Ipv4Addr::new(10, 0, 1, 1));
    sim.send(a, Packet::from_slice(&reply), t1.add_nanos(30_000_000));
    sim.run_to_completion();
    let got = sim.take(a);
    assert_eq!(got.len(), 1);
    assert_eq!(wire::parse(got[0].0.data()).unwrap().dst_mac, moved);
    assert_eq!(seg(&sim).counters.drops.get(DropReason::Unresolved), PENDING_PER_TARGET as u64);
}

/// The same over IPv6: a stale neighbour is asked for with a neighbour
/// solicitation, and the advertisement (target link-layer address option)
/// releases what waited, addressed to the advertised MAC.
#[test]
fn ipv6_next_hops_resolve_by_neighbor_discovery() {
    use faultmesh_emulator::engine::ENTRY_LIFETIME_NS;
    let t = topo(ROUTED);
    let (a, b) = (t.node_index("a").unwrap(), t.node_index("b").unwrap());
    let (rmac, bmac) = (seg_mac(&t, "r"), mac_of(&t, "b"));
    let (stranger, b_ip): (Ipv6Addr, Ipv6Addr) = ("fd01::77".parse().unwrap(), "fd02::2".parse().unwrap());
    let udp = [0u8, 1, 0, 2, 0, 8, 0, 0];
    let mut sim = EngineSim::new(&t);
    let smac = Mac([2, 0x77, 0, 0, 0, 6]);
    sim.send(a, Packet::from_slice(&build::ipv6(rmac, smac, stranger, b_ip, ipproto::UDP, 64, &udp)), Instant::ZERO);
    sim.run_to_completion();
    assert_eq!(sim.take(b).len(), 1);
    let t0 = Instant::from_nanos(ENTRY_LIFETIME_NS + 1_000_000_000);
    sim.send(b, Packet::from_slice(&build::ipv6(rmac, bmac, b_ip, stranger, ipproto::UDP, 64, &udp)), t0);
    sim.run_until(t0.add_nanos(30_000_000));
    let ns: Vec<_> = sim.take(a).into_iter().map(|(p, _)| wire::parse(p.data()).unwrap()).collect();
    assert_eq!(ns.len(), 1);
    assert_eq!((ns[0].proto, ns[0].icmp_type, ns[0].src_mac), (ipproto::ICMPV6, 135, rmac));
    let moved = Mac([2, 0x77, 0, 0, 0, 7]);
    let na = build::neighbor_advert(moved, stranger, rmac, "fd01::1".parse().unwrap());
    sim.send(a, Packet::from_slice(&na), t0.add_nanos(30_000_000));
    sim.run_to_completion();
    let got = sim.take(a);
    assert_eq!(got.len(), 1);
    let info = wire::parse(got[0].0.data()).unwrap();
    assert_eq!((info.dst_mac, info.src_mac, info.dst_ip), (moved, rmac, IpAddr::V6(stranger)));
    let seg = sim.engine.snapshot().segments[0].clone();
    assert_eq!((seg.neighbor_pending_packets, seg.counters.drops.total()), (0, 0), "{:?}", seg.counters);
}

mod reload_and_faults {
    use super::*;
    use faultmesh_emulator::fault::{EffectKind, FaultEffect, PartitionEffect};
    use std::time::Duration;

    const BASE: &str = r#"
nodes:
  a: {kind: host, addresses: [10.0.0.1/24]}
  b: {kind: host, addresses: [10.0.0.2/24]}
segments:
  lan: {kind: switch}
links:
  la: {a: a, b: lan, a_to_b: {rate: 8mbit burst 1000 queue 100}}
  lb: {a: b, b: lan}
"#;

    #[test]
    fn reload_keeps_unchanged_links_with_their_queues() {
        let t = topo(BASE);
        let (a, b) = (t.node_index("a").unwrap(), t.node_index("b").unwrap());
        let mut sim = EngineSim::new(&t);
        // 50 frames of 1000 bytes queue behind an 8 Mbit/s bucket: 49 ms of backlog.
        for _ in 0..50 {
            sim.send(a, udp4(mac_of(&t, "a"), mac_of(&t, "b"), "10.0.0.1", "10.0.0.2", 1, 64, 958), Instant::ZERO);
        }
        sim.run_until(Instant::from_millis(10));
        // New topology: a third node (listed first, shifting indices) and lb changed.
        let t2 = topo(
            &BASE
                .replace("nodes:\n", "nodes:\n  c: {kind: host, addresses: [10.0.0.3/24]}\n")
                .replace("  lb: {a: b, b: lan}", "  lb: {a: b, b: lan, both: {delay: 1ms}}\n  lc: {a: c, b: lan}"),
        );
        let report = sim.reload(&t2);
        assert_eq!(report.links_kept, vec!["la".to_string()]);
        assert_eq!(report.links_changed, vec!["lb".to_string()]);
        assert_eq!(report.links_added, vec!["lc".to_string()]);
        assert_eq!(report.nodes_added, vec!["c".to_string()]);
        assert_eq!(report.packets_dropped, 0);
        sim.run_to_completion();
        let b2 = t2.node_index("b").unwrap();
        assert_ne!(b, b2, "indices shifted");
        let got = sim.take(b2);
        assert_eq!(got.len(), 50, "no packet lost across the reload");
        assert_eq!(got.last().unwrap().1, Instant::from_millis(49 + 1), "bucket state kept, new 1 ms delay on lb");
        let snap = sim.engine.snapshot();
        assert_eq!(snap.links[0].a_to_b.counters.tx_packets, 50, "counters kept");
        assert_eq!(snap.links[0].a_to_b.counters.drops.total(), 0);
        // Removing the link drops (and counts) what it holds.
        let a2 = t2.node_index("a").unwrap();
        for _ in 0..10 {
            sim.send(a2, udp4(mac_of(&t2, "a"), mac_of(&t2, "b"), "10.0.0.1", "10.0.0.2", 1, 64, 958), sim.now());
        }
        let t3 =
            topo(&BASE.replace(
                "  la: {a: a, b: lan, a_to_b: {rate: 8mbit burst 1000 queue 100}}\n",
                "  la2: {a: a, b: lan}\n",
            ));
        let r3 = sim.reload(&t3);
        let mut removed = r3.links_removed.clone();
        removed.sort();
        assert_eq!(removed, vec!["la".to_string(), "lc".to_string()]);
        assert_eq!(r3.packets_dropped, 9, "one left on the bucket, nine were queued");
    }

    #[test]
    fn faults_stack_and_partitions_separate_groups() {
        let t = topo(STAR);
        let id = |n: &str| t.node_index(n).unwrap();
        let mut sim = EngineSim::new(&t);
        let l1 = t.link_index("p1").unwrap();
        let delay = |ms| FaultEffect {
            id: 1,
            kind: EffectKind::Delay { delay: Duration::from_millis(ms), jitter: Duration::ZERO },
            probability: 1.0,
            start: Instant::ZERO,
            end: None,
        };
        sim.engine.set_faults(l1, 0, vec![delay(10), delay(5)], Instant::ZERO);
        sim.send(id("h1"), udp4(mac_of(&t, "h1"), mac_of(&t, "h2"), "10.8.0.1", "10.8.0.2", 1, 64, 10), Instant::ZERO);
        sim.run_to_completion();
        assert_eq!(sim.take(id("h2"))[0].1, Instant::from_millis(15), "two delay faults add");
        sim.engine.clear_faults(sim.now());
        // Partition {h1, h2} | {h3}: h1↔h3 blocked, h1↔h2 and h4 unaffected.
        let mut side = vec![0u8; t.nodes.len()];
        side[id("h1")] = 1;
        side[id("h2")] = 1;
        side[id("h3")] = 2;
        sim.engine.set_partitions(vec![PartitionEffect {
            id: 2,
            side,
            probability: 1.0,
            start: Instant::ZERO,
            end: None,
        }]);
        let t0 = sim.now();
        for (src, dst, d) in
            [("h1", "h3", "10.8.0.3"), ("h3", "h1", "10.8.0.1"), ("h1", "h2", "10.8.0.2"), ("h3", "h4", "10.8.0.4")]
        {
            let s = format!("10.8.0.{}", &src[1..]);
            sim.send(id(src), udp4(mac_of(&t, src), mac_of(&t, dst), &s, d, 1, 64, 10), t0);
        }
        sim.run_to_completion();
        assert_eq!(sim.take(id("h3")).len(), 0);
        assert_eq!(sim.take(id("h1")).len(), 0);
        assert_eq!(sim.take(id("h2")).len(), 1);
        assert_eq!(sim.take(id("h4")).len(), 1);
        let snap = sim.engine.snapshot();
        assert_eq!(snap.segments[0].counters.drops.get(DropReason::Partition), 2);
        // The kill switch lifts it.
        sim.engine.clear_faults(sim.now());
        sim.send(id("h1"), udp4(mac_of(&t, "h1"), mac_of(&t, "h3"), "10.8.0.1", "10.8.0.3", 1, 64, 10), sim.now());
        sim.run_to_completion();
        assert_eq!(sim.take(id("h3")).len(), 1);
    }

    #[test]
    fn rate_limit_fault_applies_and_lifts_on_time() {
        let t = topo(STAR);
        let (h1, h2) = (t.node_index("h1").unwrap(), t.node_index("h2").unwrap());
        let mut sim = EngineSim::new(&t);
        let l1 = t.link_index("p1").unwrap();
        let end = Instant::from_millis(100);
        sim.engine.set_faults(
            l1,
            0,
            vec![FaultEffect {
                id: 3,
                kind: EffectKind::RateLimit { rate_bps: 8_000_000 },
                probability: 1.0,
                start: Instant::ZERO,
                end: Some(end),
            }],
            Instant::ZERO,
        );
        assert!(sim.engine.snapshot().links[l1].a_to_b.impairments.contains("rate 8mbit"));
        for _ in 0..200 {
            sim.send(h1, udp4(mac_of(&t, "h1"), mac_of(&t, "h2"), "10.8.0.1", "10.8.0.2", 1, 64, 958), Instant::ZERO);
        }
        // 1000-byte frames at 1 byte/µs from a full 3028-byte bucket: 3 at
        // once, then the k-th more at 1000·k − 28 µs.
        sim.run_until(Instant::from_millis(50));
        assert_eq!(sim.take(h2).len(), 3 + 50);
        sim.run_until(Instant::from_micros(99_999));
        assert_eq!(sim.take(h2).len(), 50, "up to k = 100 at 99.972 ms");
        sim.run_until(Instant::from_millis(100));
        let rest = sim.take(h2);
        assert_eq!(rest.len(), 200 - 103, "the limit lifted at 100 ms: the queue drains at once");
        let times: Vec<Instant> = rest.iter().map(|x| x.1).collect();
        assert!(times.iter().all(|t| *t == Instant::from_millis(100)), "{times:?}");
        assert_eq!(sim.engine.snapshot().links[l1].a_to_b.impairments, "clean");
    }
}

/// Spoofed sources cannot grow a router without bound: a million frames
/// (UDP through the router, and ARP requests to it) from random source MACs
/// and addresses that no table knows. The neighbour cache stays under its cap
/// at every checkpoint, evictions account for every source it could not
/// keep, and afterwards a next hop that no longer answers costs a few held
/// packets that are dropped — as `unresolved` — when the resolve timeout
/// passes, not when the next packet happens to come.
#[test]
fn a_flood_of_spoofed_sources_keeps_the_router_bounded() {
    use faultmesh_emulator::engine::{ENTRY_LIFETIME_NS, NEIGHBOR_CACHE_MAX, RESOLVE_TIMEOUT_NS};
    const FRAMES: u64 = 1_000_000;
    const PLAIN: &str = r#"
seed: 1
nodes:
  a: {kind: host, addresses: [10.0.1.2/24], gateway: 10.0.1.1}
  b: {kind: host, addresses: [10.0.2.2/24], gateway: 10.0.2.1}
segments:
  r: {kind: router, addresses: [10.0.1.1/24, 10.0.2.1/24]}
links:
  la: {a: a, b: r}
  lb: {a: r, b: b}
"#;
    let t = topo(PLAIN);
    let (a, b) = (t.node_index("a").unwrap(), t.node_index("b").unwrap());
    let (rmac, bmac) = (seg_mac(&t, "r"), mac_of(&t, "b"));
    let mut sim = EngineSim::new(&t);
    // splitmix64: a seeded stream, so a failure replays exactly.
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    // The i-th spoofed source: distinct for distinct i (an odd multiplier
    // permutes u32) and scattered over the whole address space.
    let spoofed = |i: u64| Ipv4Addr::from((i as u32 ^ 0x5a5a_5a5a).wrapping_mul(0x9e37_79b1));
    // Sources are distinct (see `spoofed`), so every
    // learnable one is a new entry and the books must balance exactly. ARP
    // teaches link-local senders too; routed traffic teaches only sources no
    // table knows.
    let learnable = |ip: Ipv4Addr, arp: bool| {
        let router = [Ipv4Addr::new(10, 0, 1, 1), Ipv4Addr::new(10, 0, 2, 1)].contains(&ip);
        let node = [Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(10, 0, 2, 2)].contains(&ip);
        !(ip.is_multicast() || ip.is_broadcast() || ip.is_unspecified() || router)
            && (arp || !(ip.is_link_local() || node))
    };
    let (mut learned, mut last, mut arps) = (0u64, None, 0u64);
    let seg = |sim: &EngineSim| sim.engine.snapshot().segments[0].clone();
    for i in 0..FRAMES {
        let r = next();
        let src = spoofed(i);
        // Unicast, locally administered.
        let mut m = (r >> 16).to_be_bytes();
        m[2] = (m[2] & 0xfe) | 0x02;
        let smac = Mac([m[2], m[3], m[4], m[5], m[6], m[7]]);
        let arp = r % 8 == 0;
        arps += u64::from(arp);
        let frame = if arp {
            Packet::from_slice(&build::arp_request(smac, src, Ipv4Addr::new(10, 0, 1, 1)))
        } else {
            let l4 = [0x9c, 0x40, 0x13, 0x88, 0, 8, 0, 0];
            Packet::from_slice(&build::ipv4(rmac, smac, src, Ipv4Addr::new(10, 0, 2, 2), ipproto::UDP, 64, &l4))
        };
        if learnable(src, arp) {
            learned += 1;
            last = Some(src);
        }
        sim.send(a, frame, Instant::from_micros(i));
        if i % 4096 == 4095 {
            // Deliveries are not the point; keep memory flat.
            sim.take(a);
            sim.take(b);
            let s = seg(&sim);
            assert!(s.table_entries <= NEIGHBOR_CACHE_MAX, "{} neighbours after {i} frames", s.table_entries);
        }
    }
    let s = seg(&sim);
    // The bound this test defends: a cap, and a small one.
    assert!(NEIGHBOR_CACHE_MAX <= 4096 && s.table_entries <= NEIGHBOR_CACHE_MAX);
    assert!(learned > 900_000, "{learned}");
    assert_eq!(s.neighbor_evictions + s.table_entries as u64, learned, "every source kept or counted as evicted");
    // Nothing was lost on the way: every datagram went on to b, every ARP
    // request for the gateway was answered.
    assert_eq!(s.counters.answered, arps);
    assert_eq!(s.counters.forwarded, FRAMES - arps + s.counters.answered, "{:?}", s.counters);
    sim.take(a);
    sim.take(b);

    // A minute on, the newest spoofed source's MAC is stale but its learned
    // route still holds: the router asks for it and holds what is addressed to it.
    let target = last.unwrap();
    let t0 = Instant::from_nanos(FRAMES * 1_000 + ENTRY_LIFETIME_NS);
    for k in 0..2 {
        let l4 = [0x13, 0x88, 0x9c, 0x40, 0, 8, 0, 0];
        let f = build::ipv4(rmac, bmac, Ipv4Addr::new(10, 0, 2, 2), target, ipproto::UDP, 64, &l4);
        sim.send(b, Packet::from_slice(&f), t0.add_nanos(k * 1_000));
    }
    // The oldest were evicted: no route back to them.
    let gone = spoofed(0);
    let f = build::ipv4(
        rmac,
        bmac,
        Ipv4Addr::new(10, 0, 2, 2),
        gone,
        ipproto::UDP,
        64,
        &[0x13, 0x88, 0x9c, 0x40, 0, 8, 0, 0],
    );
    sim.send(b, Packet::from_slice(&f), t0.add_nanos(2_000));
    sim.run_until(t0.add_nanos(RESOLVE_TIMEOUT_NS - 1));
    let asked = sim.take(a);
    assert_eq!(asked.len(), 1, "one ARP request, nothing delivered");
    assert_eq!(wire::parse(asked[0].0.data()).unwrap().l3, L3::Arp);
    let s = seg(&sim);
    assert_eq!(s.neighbor_pending_packets, 2);
    assert_eq!(s.counters.drops.get(DropReason::NoRoute), 1);
    assert_eq!(s.counters.drops.get(DropReason::Unresolved), 0);
    // Nobody answers; no other packet comes; the engine's timer drops them.
    sim.run_to_completion();
    let s = seg(&sim);
    assert_eq!(sim.now(), t0.add_nanos(RESOLVE_TIMEOUT_NS));
    assert_eq!(s.neighbor_pending_packets, 0);
    assert_eq!(s.counters.drops.get(DropReason::Unresolved), 2);
    assert!(sim.take(a).is_empty());
}
