//! The data plane with real packets: namespaces, veth, TUN, AF_PACKET, and
//! real tools (ping, iperf3, UDP and TCP sockets). Needs root; under CI=true
//! a missing privilege fails instead of skipping.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use common::*;
use faultmesh_emulator::io::{netns, pool::BufPool, port::AfPacketPort};
use faultmesh_emulator::packet::Packet;
use faultmesh_emulator::wire::{Mac, build, ipproto};

const Z999: f64 = 3.2905;

/// Two hosts on a switch; `la_extra` adds lines (indented 4) to link `la`
/// (a_to_b is a → switch).
fn two_hosts(la_extra: &str) -> String {
    format!(
        "name: pair\nseed: 7\nnodes:\n  a: {{kind: host, addresses: [10.9.0.1/24, fd09::1/64]}}\n  b: {{kind: host, addresses: [10.9.0.2/24, fd09::2/64]}}\nsegments:\n  lan: {{kind: switch}}\nlinks:\n  la:\n    a: a\n    b: lan\n{la_extra}\n  lb: {{a: b, b: lan}}\n"
    )
}

fn warm(lab: &Lab) {
    // Resolve neighbours in both directions before measuring.
    let _ = lab.exec("a", &["ping", "-c", "3", "-i", "0.05", "-q", "10.9.0.2"]);
}

/// A bare namespace for port-level tests, deleted on drop (also on panic).
struct ScratchNs(String);

impl ScratchNs {
    fn add(name: &str) -> ScratchNs {
        netns::ip(&["netns", "add", name]).unwrap();
        ScratchNs(name.to_string())
    }
}

impl Drop for ScratchNs {
    fn drop(&mut self) {
        let _ = netns::ip(&["netns", "del", &self.0]);
    }
}

fn binomial_ok(count: f64, n: f64, p: f64) -> bool {
    (count - n * p).abs() <= Z999 * (n * p * (1.0 - p)).sqrt()
}

#[test]
fn ping_rtt_adds_the_configured_delay() {
    if !privileged() {
        return;
    }
    let ping = ["ping", "-c", "300", "-i", "0.01", "10.9.0.2"];
    let base = {
        let lab = Lab::start(&two_hosts(""));
        warm(&lab);
        ping_rtts(&lab.run_ok("a", &ping))
    };
    let lab = Lab::start(&two_hosts("    both: {delay: 10ms}"));
    warm(&lab);
    let rtts = ping_rtts(&lab.run_ok("a", &ping));
    assert_eq!((base.len(), rtts.len()), (300, 300), "every ping answered");
    // The delay line never releases early: each direction holds >= 10 ms.
    assert!(rtts[0] >= 20.0, "min RTT {} ms < 20 ms", rtts[0]);
    // Medians, not means: on a shared 2-vCPU VM a few replies can be
    // preempted by milliseconds (a CI run once moved the mean by 0.25 ms),
    // which says nothing about the delay line. ping prints RTTs above 10 ms
    // to 0.1 ms, and the two runs differ in host scheduling (an idle engine
    // wakes per ping, a delaying one spins), so the bound is 0.5 ms: it
    // still fails for a systematic error such as a millisecond timer (up to
    // +1 ms per release, two releases per RTT) or a lost or doubled delay
    // (±10 ms). The
    // microsecond precision itself is checked below, at the engine.
    let (b50, d50) = (median(&base), median(&rtts));
    assert!((d50 - (20.0 + b50)).abs() < 0.5, "median RTT {d50} ms, expected 20 + {b50} ms");
    // Nine in ten replies within 1 ms of the expected RTT.
    let p90 = rtts[rtts.len() * 9 / 10];
    assert!(p90 - (20.0 + b50) < 1.0, "p90 RTT {p90} ms");
    // The engine's own view: releases are punctual to microseconds (the
    // bound allows for a busy host; a millisecond timer would be ~1000 µs).
    let (_, st) = http(&lab, "GET", "/api/v1/status", None);
    let p50_us = st["dataplane"]["lateness_p50_us"].as_f64().expect("lateness in /status");
    assert!(st["dataplane"]["deadlines"].as_u64().unwrap_or(0) >= 600, "{st}");
    assert!(p50_us < 50.0, "release lateness p50 {p50_us} µs");
}

fn runs_of_missing(n: u32, got: &[u32]) -> Vec<u32> {
    let mut seen = vec![false; n as usize];
    for &g in got {
        seen[g as usize] = true;
    }
    let mut runs = Vec::new();
    let mut cur = 0;
    for s in seen {
        if s {
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
fn udp_loss_matches_the_binomial_bound_and_gemodel_bursts() {
    if !privileged() {
        return;
    }
    let n = 5000u32;
    let mut lab = Lab::start(&two_hosts("    a_to_b: {loss: 10%}"));
    warm(&lab);
    let dst: SocketAddr = "10.9.0.2:7000".parse().unwrap();
    let got = udp_stream(&lab.ns("a"), &lab.ns("b"), dst, n, Duration::from_micros(100), 64);
    let lost = f64::from(n) - got.len() as f64;
    assert!(binomial_ok(lost, f64::from(n), 0.1), "lost {lost} of {n} at 10%");
    let stats = lab.stop();
    let counted = drops(link_dir(&stats, "la", "a_to_b"), "loss") as f64;
    assert!(
        counted >= lost && counted - lost <= 10.0,
        "loss counter {counted} vs {lost} datagrams lost (+ warm-up pings)"
    );

    // Gilbert-Elliott: p = 2%, r = 20% → bursts of mean 1/r = 5 (Bernoulli at
    // the same rate would give ~1.1). About 180 bursts: the mean's standard
    // error is sqrt(20/180) = 0.33, so ±1.2 is the 99.9% interval.
    let n = 10_000u32;
    let lab = Lab::start(&two_hosts("    a_to_b: {loss: gemodel 2% 20%}"));
    warm(&lab);
    let got = udp_stream(&lab.ns("a"), &lab.ns("b"), dst, n, Duration::from_micros(100), 64);
    let runs = runs_of_missing(n, &got);
    assert!(runs.len() > 100, "{} bursts", runs.len());
    let mean = runs.iter().sum::<u32>() as f64 / runs.len() as f64;
    assert!((mean - 5.0).abs() < 1.2, "mean burst length {mean}");
}

#[test]
fn rate_limit_gives_the_configured_tcp_goodput() {
    if !privileged() {
        return;
    }
    for mbit in [10.0, 100.0] {
        let lab = Lab::start(&two_hosts(&format!("    a_to_b: {{rate: {mbit}mbit}}")));
        warm(&lab);
        let bps = iperf3(&lab, "b", "a", "10.9.0.2", &["-t", "6", "-O", "2"]);
        // iperf3 counts TCP payload: 1448 of every 1514 wire bytes (MSS with
        // timestamps, plus TCP/IP/Ethernet headers).
        let expected = mbit * 1e6 * 1448.0 / 1514.0;
        let err = (bps - expected) / expected;
        assert!(
            err.abs() < 0.03,
            "{mbit} Mbit/s: goodput {:.3} Mbit/s, expected {:.3} ({:+.2}%)",
            bps / 1e6,
            expected / 1e6,
            err * 100.0
        );
    }
}

#[test]
fn duplicate_corrupt_and_reorder_are_observable() {
    if !privileged() {
        return;
    }
    let dst: SocketAddr = "10.9.0.2:7000".parse().unwrap();
    let n = 3000u32;

    let mut lab = Lab::start(&two_hosts("    a_to_b: {duplicate: 10%}"));
    warm(&lab);
    let got = udp_stream(&lab.ns("a"), &lab.ns("b"), dst, n, Duration::from_micros(100), 64);
    let mut uniq = got.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), n as usize, "nothing lost");
    let dups = (got.len() - uniq.len()) as f64;
    assert!(binomial_ok(dups, f64::from(n), 0.1), "{dups} duplicates of {n} at 10%");
    let s = lab.stop();
    assert!(link_dir(&s, "la", "a_to_b")["duplicated"].as_f64().unwrap() >= dups);

    let mut lab = Lab::start(&two_hosts("    a_to_b: {corrupt: 5%}"));
    warm(&lab);
    let before = snmp(&lab.ns("b"), "Udp", "InCsumErrors");
    let got = udp_stream(&lab.ns("a"), &lab.ns("b"), dst, n, Duration::from_micros(100), 200);
    let csum_errors = (snmp(&lab.ns("b"), "Udp", "InCsumErrors") - before) as f64;
    let s = lab.stop();
    let corrupted = link_dir(&s, "la", "a_to_b")["corrupted"].as_f64().unwrap();
    assert!(csum_errors > 0.0, "the receiver saw checksum failures");
    // A flip in the UDP length field is reported as a length error instead.
    assert!(
        csum_errors <= corrupted && csum_errors >= 0.8 * corrupted,
        "{csum_errors} checksum errors for {corrupted} corrupted"
    );
    assert!(binomial_ok(n as f64 - got.len() as f64, f64::from(n), 0.05), "{} of {n} rejected", n as usize - got.len());

    let mut lab = Lab::start(&two_hosts("    a_to_b: {delay: 20ms, reorder: 20%}"));
    warm(&lab);
    let got = udp_stream(&lab.ns("a"), &lab.ns("b"), dst, 2000, Duration::from_micros(500), 64);
    assert_eq!(got.len(), 2000);
    // A packet "arrived early" when some lower-numbered packet arrives after
    // it. In FIFO mode only a reordered packet can do that, and with ~40
    // packets in flight (20 ms / 0.5 ms) almost every reordered one does.
    let mut suffix_min = vec![u32::MAX; got.len() + 1];
    for i in (0..got.len()).rev() {
        suffix_min[i] = suffix_min[i + 1].min(got[i]);
    }
    let early = (0..got.len()).filter(|&i| got[i] > suffix_min[i + 1]).count() as f64;
    let s = lab.stop();
    let reordered = link_dir(&s, "la", "a_to_b")["reordered"].as_f64().unwrap();
    assert!(binomial_ok(reordered, 2000.0, 0.2), "{reordered} reordered of 2000 at 20%");
    assert!(early <= reordered, "only reordered packets overtake: {early} early, {reordered} reordered");
    assert!(early >= 0.9 * reordered, "{early} early arrivals for {reordered} reordered");
}

const ROUTED: &str = r#"
name: routed
nodes:
  c: {kind: host, addresses: [10.20.1.2/24, fd20:1::2/64], gateway: [10.20.1.1, fd20:1::1]}
  s: {kind: host, addresses: [10.20.2.2/24, fd20:2::2/64], gateway: [10.20.2.1, fd20:2::1]}
  t: {kind: host, device: tun, addresses: [10.20.3.2/24, fd20:3::2/64], gateway: [10.20.3.1, fd20:3::1]}
segments:
  r: {kind: router, addresses: [10.20.1.1/24, 10.20.2.1/24, 10.20.3.1/24, fd20:1::1/64, fd20:2::1/64, fd20:3::1/64]}
links:
  lc: {a: c, b: r, both: {mtu: 1400}}
  ls: {a: r, b: s}
  lt: {a: t, b: r}
"#;

#[test]
fn ipv4_ipv6_tcp_mtu_and_tun_across_a_router() {
    if !privileged() {
        return;
    }
    let mut lab = Lab::start(ROUTED);
    // IPv4 and IPv6 ping across the router; the gateway answers pings too.
    lab.run_ok("c", &["ping", "-c", "3", "-i", "0.05", "10.20.2.2"]);
    lab.run_ok("c", &["ping", "-c", "3", "-i", "0.05", "fd20:2::2"]);
    lab.run_ok("c", &["ping", "-c", "2", "-i", "0.05", "10.20.1.1"]);
    lab.run_ok("c", &["ping", "-c", "2", "-i", "0.05", "fd20:1::1"]);
    let hops = lab.run_ok("c", &["ping", "-c", "1", "10.20.2.2"]);
    assert!(hops.contains("ttl=63"), "one router hop: {hops}");
    // MTU 1400 on c's link: 1400-byte datagrams pass, 1401 get "fragmentation needed".
    lab.run_ok("c", &["ping", "-c", "2", "-i", "0.05", "-M", "do", "-s", "1372", "10.20.2.2"]);
    let big = lab.exec("c", &["ping", "-c", "3", "-i", "0.05", "-M", "do", "-s", "1373", "10.20.2.2"]);
    let text = String::from_utf8_lossy(&big.stdout).to_string() + &String::from_utf8_lossy(&big.stderr);
    assert!(!big.status.success(), "oversized DF datagrams must not pass: {text}");
    assert!(text.contains("mtu=1400") || text.contains("mtu = 1400"), "the router reports MTU 1400: {text}");
    // TCP over IPv4 and IPv6 (path MTU discovery makes TCP fit the 1400 link).
    assert!(iperf3(&lab, "s", "c", "10.20.2.2", &["-t", "2"]) > 100e6);
    assert!(iperf3(&lab, "s", "c", "fd20:2::2", &["-t", "2"]) > 100e6);
    // The TUN host: IP packets without Ethernet, both families, TCP.
    lab.run_ok("t", &["ping", "-c", "3", "-i", "0.05", "10.20.2.2"]);
    lab.run_ok("t", &["ping", "-c", "3", "-i", "0.05", "fd20:2::2"]);
    assert!(iperf3(&lab, "s", "t", "10.20.2.2", &["-t", "2"]) > 100e6);
    let s = lab.stop();
    assert!(drops(link_dir(&s, "lc", "a_to_b"), "mtu") >= 1);
}

#[test]
fn arp_crosses_a_switch() {
    if !privileged() {
        return;
    }
    let lab = Lab::start(&two_hosts(""));
    lab.run_ok("a", &["ping", "-c", "2", "-i", "0.05", "10.9.0.2"]);
    let mac_b = lab.run_ok("b", &["cat", "/sys/class/net/eth0/address"]);
    let neigh = lab.run_ok("a", &["ip", "neigh", "show", "10.9.0.2"]);
    assert!(neigh.contains(mac_b.trim()), "a learned b's MAC {} by ARP: {neigh}", mac_b.trim());
    lab.run_ok("a", &["ping", "-c", "2", "-i", "0.05", "fd09::2"]);
}

#[test]
fn sigterm_removes_everything_and_cleanup_handles_sigkill() {
    if !privileged() {
        return;
    }
    let mut lab = Lab::start(&two_hosts(""));
    let prefix = lab.prefix.clone();
    assert_eq!(namespaces_with(&prefix).len(), 3, "fabric + a + b");
    let _ = lab.stop();
    assert!(namespaces_with(&prefix).is_empty(), "SIGTERM left {:?}", namespaces_with(&prefix));
    assert!(!faultmesh_emulator::io::setup::state_file(&prefix).exists());

    let mut lab = Lab::start(&two_hosts(""));
    let prefix = lab.prefix.clone();
    lab.kill9();
    assert_eq!(namespaces_with(&prefix).len(), 3, "SIGKILL leaves everything behind");
    let out = Command::new(BIN).args(["cleanup", "--prefix", &prefix]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("removed instance {prefix}")));
    assert!(namespaces_with(&prefix).is_empty());
    assert!(!faultmesh_emulator::io::setup::state_file(&prefix).exists());
}

#[test]
fn malformed_frames_on_an_attached_interface_are_counted_and_dropped() {
    if !privileged() {
        return;
    }
    let prefix = unique_prefix();
    let ext = format!("{prefix}ext");
    netns::ip(&["netns", "add", &ext]).unwrap();
    netns::ip(&["link", "add", "att0", "netns", &ext, "type", "veth", "peer", "name", "inj0", "netns", &ext]).unwrap();
    netns::ip(&["-n", &ext, "link", "set", "inj0", "up"]).unwrap();
    let yaml = format!(
        "nodes:\n  ext: {{kind: attach, interface: att0, netns: {ext}, addresses: [10.9.0.3/24]}}\n  b: {{kind: host, addresses: [10.9.0.2/24]}}\nsegments:\n  lan: {{kind: switch}}\nlinks:\n  le: {{a: ext, b: lan}}\n  lb: {{a: b, b: lan}}\n"
    );
    let mut lab = Lab::start_prefixed(&yaml, &[], prefix);
    let mac_b: Mac = lab.run_ok("b", &["cat", "/sys/class/net/eth0/address"]).trim().parse().unwrap();
    let rx = udp_in(&lab.ns("b"), "10.9.0.2:7000".parse().unwrap());
    rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let src = Mac([2, 0x11, 0x22, 0x33, 0x44, 0x55]);
    let mut injector = netns::run_in(Some(&ext), || AfPacketPort::open("inj0", &mut BufPool::default())).unwrap();
    let udp = |payload: &[u8]| {
        let mut l4 = vec![0u8; 8 + payload.len()];
        l4[0..2].copy_from_slice(&5555u16.to_be_bytes());
        l4[2..4].copy_from_slice(&7000u16.to_be_bytes());
        l4[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        l4[8..].copy_from_slice(payload);
        build::ipv4(mac_b, src, "10.9.0.3".parse().unwrap(), "10.9.0.2".parse().unwrap(), ipproto::UDP, 64, &l4)
    };
    let good = udp(b"hello through the garbage");
    let mut bad: Vec<Vec<u8>> = Vec::new();
    bad.push(good[..14].to_vec()); // Ethernet header only, IPv4 EtherType
    let mut f = good.clone();
    f[16..18].copy_from_slice(&1000u16.to_be_bytes()); // IPv4 total length past the end
    bad.push(f);
    let mut f = good.clone();
    f[14] = 0x4f; // IHL 60 bytes in a short frame
    bad.push(f[..40].to_vec());
    let mut f = good.clone();
    f[14] = 0x42; // IHL below 5
    bad.push(f);
    let mut v6 =
        build::ipv6(mac_b, src, "fd09::3".parse().unwrap(), "fd09::2".parse().unwrap(), ipproto::UDP, 64, &[0u8; 16]);
    v6[18..20].copy_from_slice(&4000u16.to_be_bytes()); // payload length past the end
    bad.push(v6);
    let mut f = good.clone();
    f[23] = ipproto::TCP;
    bad.push(f[..40].to_vec()); // truncated TCP header
    let mut q = std::collections::VecDeque::new();
    for b in &bad {
        q.push_back(Packet::from_slice(b));
    }
    q.push_back(Packet::from_slice(&good));
    injector.send(&mut q, &mut BufPool::default());
    let mut buf = [0u8; 256];
    let n = rx.recv(&mut buf).expect("the valid datagram after the garbage arrives");
    assert_eq!(&buf[..n], b"hello through the garbage");
    let s = lab.stop();
    let malformed = s["engine"]["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "ext").unwrap()["malformed"]
        .as_u64()
        .unwrap();
    assert_eq!(malformed, bad.len() as u64, "every malformed frame counted");
    assert_eq!(drops(link_dir(&s, "le", "a_to_b"), "malformed"), bad.len() as u64);
    drop(lab);
    assert!(!netns::exists(&ext), "the lab's cleanup removed the injector namespace");
}

/// Every pair of host nodes of `yaml` that shares an address family.
fn pairs(t: &faultmesh_emulator::topology::Topology) -> Vec<(String, String, std::net::IpAddr)> {
    let mut v = Vec::new();
    for a in &t.nodes {
        for b in &t.nodes {
            if a.name == b.name {
                continue;
            }
            for want_v6 in [false, true] {
                let has = |n: &faultmesh_emulator::topology::Node| {
                    n.addresses.iter().find(|c| c.addr.is_ipv6() == want_v6).map(|c| c.addr)
                };
                if let (Some(_), Some(dst)) = (has(a), has(b)) {
                    v.push((a.name.clone(), b.name.clone(), dst));
                }
            }
        }
    }
    v
}

#[test]
fn every_example_topology_carries_ping_tcp_and_udp() {
    if !privileged() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    for f in files {
        let yaml = std::fs::read_to_string(&f).unwrap();
        let (t, _) = faultmesh_emulator::topology::load_file(&f).unwrap();
        let lab = Lab::start(&yaml);
        let all = pairs(&t);
        assert!(!all.is_empty());
        for (src, dst, ip) in &all {
            // Some examples have lossy links: a pair passes with any reply of five.
            let out = lab.exec(src, &["ping", "-c", "5", "-i", "0.02", "-W", "1", &ip.to_string()]);
            let text = String::from_utf8_lossy(&out.stdout);
            let (_, (_, recv)) = ping_stats_lenient(&text);
            assert!(recv > 0, "{}: {src} -> {dst} ({ip}): no reply\n{text}", f.display());
        }
        // TCP and UDP between the first and last node, over each family.
        let (first, last) = (&t.nodes[0], &t.nodes[t.nodes.len() - 1]);
        for dst in last
            .addresses
            .iter()
            .map(|c| c.addr)
            .filter(|a| first.addresses.iter().any(|s| s.addr.is_ipv6() == a.is_ipv6()))
        {
            let bps = iperf3(&lab, &last.name, &first.name, &dst.to_string(), &["-t", "1"]);
            assert!(bps > 1e6, "{}: TCP {} -> {} {dst}: {bps} bit/s", f.display(), first.name, last.name);
            let got = udp_stream(
                &lab.ns(&first.name),
                &lab.ns(&last.name),
                SocketAddr::new(dst, 7100),
                200,
                Duration::from_micros(500),
                100,
            );
            // The three-tier backbone loses ~3% in bursts; this checks UDP works.
            assert!(got.len() >= 160, "{}: UDP {} -> {dst}: {} of 200", f.display(), first.name, got.len());
        }
    }
}

/// Like `ping_stats`, but tolerates 100% loss (no rtt line).
fn ping_stats_lenient(out: &str) -> ((f64, f64, f64, f64), (u32, u32)) {
    if out.contains("min/avg/max") {
        return ping_stats(out);
    }
    let pk = out.lines().find(|l| l.contains("packets transmitted")).unwrap_or("0 packets transmitted, 0 received");
    let w: Vec<&str> = pk.split_whitespace().collect();
    ((0.0, 0.0, 0.0, 0.0), (w[0].parse().unwrap_or(0), w[3].parse().unwrap_or(0)))
}

#[test]
fn tap_hosts_switch_ethernet() {
    if !privileged() {
        return;
    }
    let yaml = "nodes:\n  a: {kind: host, device: tap, addresses: [10.9.0.1/24, fd09::1/64]}\n  b: {kind: host, device: tap, addresses: [10.9.0.2/24, fd09::2/64]}\n  c: {kind: host, addresses: [10.9.0.3/24]}\nsegments:\n  lan: {kind: switch}\nlinks:\n  la: {a: a, b: lan, both: {delay: 1ms}}\n  lb: {a: b, b: lan}\n  lc: {a: c, b: lan}\n";
    let lab = Lab::start(yaml);
    let out = lab.run_ok("a", &["ping", "-c", "5", "-i", "0.05", "10.9.0.2"]);
    let ((min, _, _, _), _) = ping_stats(&out);
    assert!(min >= 2.0, "1 ms each way on a's link: {min}");
    lab.run_ok("a", &["ping", "-c", "2", "-i", "0.05", "fd09::2"]);
    lab.run_ok("c", &["ping", "-c", "2", "-i", "0.05", "10.9.0.1"]);
    assert!(iperf3(&lab, "b", "a", "10.9.0.2", &["-t", "2"]) > 100e6);
}

/// A new AF_PACKET port must never see frames of other interfaces. A socket
/// opened for `ETH_P_ALL` receives every interface's frames from `socket()`
/// until `bind()`; when a reload added a port while traffic flowed, those
/// strays made the switch learn a MAC on the wrong link. The socket is
/// opened for no protocol, so nothing arrives before the bind.
#[test]
fn an_unbound_packet_socket_receives_nothing_from_other_interfaces() {
    if !privileged() {
        return;
    }
    let ns = format!("{}ps", unique_prefix());
    let _del = ScratchNs::add(&ns);
    for (a, b) in [("x0", "x1"), ("y0", "y1")] {
        netns::ip(&["-n", &ns, "link", "add", a, "type", "veth", "peer", "name", b]).unwrap();
        netns::ip(&["-n", &ns, "link", "set", a, "up"]).unwrap();
        netns::ip(&["-n", &ns, "link", "set", b, "up"]).unwrap();
    }
    use faultmesh_emulator::io::sys;
    use std::os::fd::AsRawFd;
    let (sock, mut other, x0) = netns::run_in(Some(&ns), || {
        let sock = sys::packet_socket()?;
        let other = AfPacketPort::open("y1", &mut BufPool::default())?;
        Ok((sock, other, sys::if_index("x0")?))
    })
    .unwrap();
    // Traffic on y1 → y0 while the new socket is not bound yet.
    let frame = build::ipv4(
        Mac::BROADCAST,
        Mac([2, 0, 0, 0, 0, 0x42]),
        "10.99.0.1".parse().unwrap(),
        "10.99.0.2".parse().unwrap(),
        ipproto::UDP,
        64,
        &[0u8; 16],
    );
    let mut q: std::collections::VecDeque<Packet> = (0..20).map(|_| Packet::from_slice(&frame)).collect();
    other.send(&mut q, &mut BufPool::default());
    assert!(q.is_empty(), "the frames went out");
    std::thread::sleep(Duration::from_millis(50));
    sys::bind_packet(sock.as_raw_fd(), x0).unwrap();
    let mut buf = [0u8; 2048];
    // SAFETY: `buf` is a valid writable buffer of the given length and the
    // descriptor is open (non-blocking: returns at once).
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    let err = std::io::Error::last_os_error();
    assert!(n < 0 && err.kind() == std::io::ErrorKind::WouldBlock, "a frame of another interface arrived ({n} bytes)");
}

/// The AF_PACKET receive ring holds frames up to 1500-byte MTU; bigger ones
/// arrive whole through the socket queue, matched to their truncated ring
/// frames. A mix of small and jumbo frames, more than the ring holds in
/// total (so it wraps), must come out complete, byte for byte and in order.
#[test]
fn the_receive_ring_delivers_small_and_big_frames_whole_and_in_order() {
    if !privileged() {
        return;
    }
    mixed_frames_arrive_whole_and_in_order(true);
}

/// The same through a port without a ring (`recvmmsg` only: the fallback
/// when the kernel grants no ring, and `FAULTMESH_RX_RING=0`).
#[test]
fn a_port_without_a_ring_delivers_small_and_big_frames_whole_and_in_order() {
    if !privileged() {
        return;
    }
    mixed_frames_arrive_whole_and_in_order(false);
}

fn mixed_frames_arrive_whole_and_in_order(ring: bool) {
    let ns = format!("{}rr", unique_prefix());
    let _del = ScratchNs::add(&ns);
    netns::ip(&["-n", &ns, "link", "add", "x0", "mtu", "9000", "type", "veth", "peer", "name", "x1", "mtu", "9000"])
        .unwrap();
    for d in ["x0", "x1"] {
        netns::ip(&["-n", &ns, "link", "set", d, "up"]).unwrap();
    }
    let (mut tx, mut rx) = netns::run_in(Some(&ns), || {
        Ok((
            AfPacketPort::open("x0", &mut BufPool::default())?,
            AfPacketPort::open_with("x1", &mut BufPool::default(), ring)?,
        ))
    })
    .unwrap();
    assert_eq!(rx.has_ring(), ring, "the port receives through a ring, or not");
    let src = Mac([2, 0, 0, 0, 0, 0x42]);
    // Payload sizes: small, a full 1500-byte frame, just over what a ring
    // frame holds, jumbo; the pattern repeats with a sequence number.
    let sizes = [18usize, 1480, 1990, 8980, 100, 4000, 1400, 8980, 8980, 40];
    let frame = |seq: u32| {
        let len = sizes[seq as usize % sizes.len()];
        let mut payload: Vec<u8> = (0..len).map(|i| (i as u32).wrapping_mul(31).wrapping_add(seq) as u8).collect();
        payload[..4].copy_from_slice(&seq.to_be_bytes());
        build::ipv4(
            Mac([2, 0, 0, 0, 0, 0x43]),
            src,
            "10.99.0.1".parse().unwrap(),
            "10.99.0.2".parse().unwrap(),
            253,
            64,
            &payload,
        )
    };
    let total = 6000u32; // the ring holds 2048
    let mut pool = BufPool::default();
    let mut next_seq = 0u32;
    let mut got = Vec::new();
    let mut sent = 0u32;
    while sent < total {
        let mut q: std::collections::VecDeque<Packet> =
            (sent..(sent + 150).min(total)).map(|s| Packet::from_slice(&frame(s))).collect();
        sent = (sent + 150).min(total);
        tx.send(&mut q, &mut pool);
        assert!(q.is_empty(), "the frames went out");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while next_seq < sent && std::time::Instant::now() < deadline {
            got.clear();
            if rx.recv(&mut pool, &mut got).unwrap() == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
            for p in &got {
                let d = p.data();
                if d.len() < 14 + 24 || d[6..12] != src.0 {
                    continue; // the kernel's own traffic on the link
                }
                let seq = u32::from_be_bytes([d[34], d[35], d[36], d[37]]);
                assert_eq!(seq, next_seq, "frames out of order");
                assert_eq!(d, &frame(seq)[..], "frame {seq} ({} bytes) changed", d.len());
                next_seq += 1;
            }
        }
    }
    assert_eq!(next_seq, total, "every frame arrived");
    let st = rx.stats;
    assert_eq!((st.rx_malformed, st.rx_kernel_drops), (0, 0), "{st:?}");
}

/// A packet that reaches the appliance while its loop is busy (here: held
/// 5 ms by a control message, as a preempted vCPU would be) is delayed from
/// when the kernel received it, not from when the loop got to it.
#[test]
fn delay_runs_from_the_kernel_receive_time_even_when_the_loop_was_busy() {
    use faultmesh_emulator::io::appliance::Appliance;
    use faultmesh_emulator::io::command::EngineCommand;
    use faultmesh_emulator::io::dataplane::Options;
    use faultmesh_emulator::io::sys;
    use std::net::{Ipv4Addr, UdpSocket};
    use std::os::fd::AsRawFd;
    if !privileged() {
        return;
    }
    const STALL: Duration = Duration::from_millis(5);
    let topo = faultmesh_emulator::topology::parse_str(&two_hosts("    a_to_b: {delay: 10ms}"), "pair", None).unwrap();
    let prefix = unique_prefix();
    let app = Appliance::start(&topo, &prefix, Options::default()).expect("appliance");
    let dp = app.handle().expect("data plane");
    let (a, b) = (format!("{prefix}a"), format!("{prefix}b"));
    let _ = Command::new("ip").args(["netns", "exec", &a, "ping", "-c", "3", "-i", "0.05", "-q", "10.9.0.2"]).output();
    let rx = netns::run_in(Some(&b), || UdpSocket::bind(("10.9.0.2", 7300))).unwrap();
    sys::enable_rx_timestamps(rx.as_raw_fd()).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let tx = netns::run_in(Some(&a), || UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))).unwrap();
    // One probe: its one-way time in µs (sender clock to kernel receive stamp).
    let probe = || -> f64 {
        tx.send_to(&sys::realtime_ns().to_be_bytes(), ("10.9.0.2", 7300)).unwrap();
        let mut buf = [0u8; 16];
        let (n, ts) = sys::recv_timestamped(rx.as_raw_fd(), &mut buf).expect("probe lost");
        assert!(n == 8 && ts > 0);
        (ts as f64 - u64::from_be_bytes(buf[..8].try_into().unwrap()) as f64) / 1e3
    };
    let (mut calm, mut stalled) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        calm.push(probe());
        // Hold the loop, then send while it is held.
        let stall = dp.submit(EngineCommand::Stall { ms: STALL.as_millis() as u64 }).expect("data plane");
        let t0 = std::time::Instant::now();
        while !stall.taken() {
            assert!(t0.elapsed() < Duration::from_secs(5), "the loop took the command");
            std::thread::yield_now();
        }
        stalled.push(probe());
        stall.wait(Duration::from_secs(5)).expect("the loop answered");
    }
    calm.sort_by(f64::total_cmp);
    stalled.sort_by(f64::total_cmp);
    let (c50, s50) = (calm[10], stalled[10]);
    // Never early: the delay is measured from a real, earlier instant.
    assert!(stalled[0] >= 10_000.0 && calm[0] >= 10_000.0, "a probe took less than 10 ms: {calm:?} {stalled:?}");
    // Counting from when the loop read the frame would add the 5 ms stall;
    // counting from the kernel's stamp adds nothing but noise. 1 ms leaves
    // room for this VM's scheduling and still fails by 4 ms without it.
    assert!(s50 - c50 < 1000.0, "median one-way {s50:.0} µs with the loop held 5 ms, {c50:.0} µs without");
    drop(app);
}
