//! Shared inputs of the criterion micro-benchmarks in `bench/benches/`:
//! synthetic frames (64 B and 1500 B UDP, 64 KB TCP GSO super-frames) and
//! generated topologies of any size.
//!
//! Contract: everything here is deterministic and built without I/O, so two
//! runs of a benchmark measure the same work. The end-to-end harness (real
//! namespaces, real traffic, the kernel baseline) is `faultmesh bench`; see
//! `bench/run`.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use faultmesh_emulator::packet::{Gso, GsoKind, Packet};
use faultmesh_emulator::topology::{self, Topology};
use faultmesh_emulator::wire::{self, Mac, build, ipproto};

/// Source MAC of synthetic frames.
pub const SRC_MAC: Mac = Mac([2, 0, 0, 0, 0, 1]);
/// Destination MAC of synthetic frames.
pub const DST_MAC: Mac = Mac([2, 0, 0, 0, 0, 2]);

/// Source address of synthetic packets.
pub const SRC_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
/// Destination address of synthetic packets.
pub const DST_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);

/// An Ethernet + IPv4 + UDP frame of exactly `frame_len` bytes (at least 42).
pub fn udp4_frame(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, frame_len: usize) -> Vec<u8> {
    let l4_len = frame_len.max(42) - 34;
    let mut l4 = vec![0u8; l4_len];
    l4[0..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4[4..6].copy_from_slice(&(l4_len as u16).to_be_bytes());
    build::ipv4(DST_MAC, SRC_MAC, src, dst, ipproto::UDP, 64, &l4)
}

/// An Ethernet + IPv6 + TCP SYN frame.
pub fn tcp6_syn(src: Ipv6Addr, dst: Ipv6Addr, dport: u16) -> Vec<u8> {
    let mut l4 = vec![0u8; 20];
    l4[0..2].copy_from_slice(&40000u16.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4[12] = 5 << 4;
    l4[13] = wire::tcpflags::SYN;
    build::ipv6(DST_MAC, SRC_MAC, src, dst, ipproto::TCP, 64, &l4)
}

/// A 64-byte UDP packet (the minimum Ethernet frame without FCS is 60; 64 is
/// what iperf3 `-l 64` and pktgen benchmarks call "64 B").
pub fn udp64() -> Packet {
    Packet::from_slice(&udp4_frame(SRC_IP, DST_IP, 40000, 5201, 64))
}

/// A full-size (1500-byte IP datagram) UDP packet.
pub fn udp1500() -> Packet {
    Packet::from_slice(&udp4_frame(SRC_IP, DST_IP, 40000, 5201, 1514))
}

/// A TCP/IPv4 GSO super-frame of 45 segments of 1448 bytes (65,160 bytes of
/// payload): what veth hands an AF_PACKET socket with a vnet header under a
/// bulk TCP transfer.
pub fn tcp_gso64k() -> Packet {
    tcp_gso64k_between(SRC_IP, DST_IP)
}

/// [`tcp_gso64k`] between the given addresses.
pub fn tcp_gso64k_between(src: Ipv4Addr, dst: Ipv4Addr) -> Packet {
    let mss = 1448u16;
    let mut l4 = vec![0u8; 20 + 45 * usize::from(mss)];
    l4[0..2].copy_from_slice(&40000u16.to_be_bytes());
    l4[2..4].copy_from_slice(&5201u16.to_be_bytes());
    l4[12] = 5 << 4;
    l4[13] = wire::tcpflags::ACK;
    let f = build::ipv4(DST_MAC, SRC_MAC, src, dst, ipproto::TCP, 64, &l4);
    let mut p = Packet::from_slice(&f);
    p.meta.gso = Some(Gso { kind: GsoKind::Tcp4, size: mss, ecn: false, hdr_len: 0, segs: 0 });
    match wire::parse(p.data()) {
        Ok(info) => {
            if let Err(e) = p.prepare_gso(&info) {
                panic!("synthetic super-frame rejected: {e}");
            }
        }
        Err(e) => panic!("synthetic super-frame does not parse: {e}"),
    }
    p
}

/// The three packet sizes every per-packet benchmark runs with.
pub fn sizes() -> [(&'static str, Packet); 3] {
    sizes_between(SRC_IP, DST_IP)
}

/// [`sizes`] between the given addresses.
pub fn sizes_between(src: Ipv4Addr, dst: Ipv4Addr) -> [(&'static str, Packet); 3] {
    [
        ("64B", Packet::from_slice(&udp4_frame(src, dst, 40000, 5201, 64))),
        ("1500B", Packet::from_slice(&udp4_frame(src, dst, 40000, 5201, 1514))),
        ("64KB-gso", tcp_gso64k_between(src, dst)),
    ]
}

/// YAML of a routed topology with `hosts` host nodes, spread over routers of
/// at most 250 hosts each (one /24 per host), the routers chained by
/// backbone links, every link impaired. Used for compile-time benchmarks.
pub fn routed_yaml(hosts: usize) -> String {
    let routers = hosts.div_ceil(250).max(1);
    let mut y = String::from("name: gen\nseed: 7\nnodes:\n");
    for h in 0..hosts {
        let (a, b) = (h / 250, h % 250);
        let _ = writeln!(
            y,
            "  h{h}: {{kind: host, addresses: [10.{a}.{b}.2/24], gateway: 10.{a}.{b}.1, labels: {{tier: t{}}}}}",
            h % 3
        );
    }
    y.push_str("segments:\n");
    for r in 0..routers {
        let addrs: Vec<String> = (0..250).filter(|b| r * 250 + b < hosts).map(|b| format!("10.{r}.{b}.1/24")).collect();
        let _ = writeln!(y, "  r{r}: {{kind: router, addresses: [{}]}}", addrs.join(", "));
    }
    y.push_str("links:\n");
    for h in 0..hosts {
        let _ = writeln!(y, "  l{h}: {{a: h{h}, b: r{}, both: {{delay: 1ms, loss: 0.1%}}}}", h / 250);
    }
    for r in 1..routers {
        let _ = writeln!(y, "  bb{r}: {{a: r{}, b: r{r}, both: {{delay: 5ms 1ms, rate: 1gbit}}}}", r - 1);
    }
    y
}

/// [`routed_yaml`], parsed and validated.
pub fn routed(hosts: usize) -> Topology {
    match topology::parse_str(&routed_yaml(hosts), "gen", None) {
        Ok(t) => t,
        Err(d) => panic!("generated topology does not validate:\n{d}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_topologies_validate_at_every_size() {
        for n in [1, 10, 100, 251, 1000] {
            let t = routed(n);
            assert_eq!(t.nodes.len(), n);
            assert_eq!(t.segments.len(), n.div_ceil(250));
            assert_eq!(t.links.len(), n + n.div_ceil(250) - 1);
        }
    }

    #[test]
    fn synthetic_frames_have_the_advertised_sizes() {
        assert_eq!(udp64().len(), 64);
        assert_eq!(udp1500().len(), 1514);
        let g = tcp_gso64k();
        assert_eq!(g.segments(), 45);
        assert_eq!(g.len(), 14 + 20 + 20 + 45 * 1448);
        assert!(wire::parse(&tcp6_syn(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, 5432)).is_ok());
    }
}
