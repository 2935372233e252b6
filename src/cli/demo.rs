//! `faultmesh demo`: a built-in topology, real traffic, and what was measured
//! next to what was configured.
//!
//! The probes are implemented here (raw ICMP echo, UDP, TCP) so the demo needs
//! nothing but the binary and iproute2.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant as WallInstant};

use anyhow::Context;
use faultmesh_emulator::io::dataplane::Options;
use faultmesh_emulator::io::netns;
use faultmesh_emulator::topology;
use socket2::{Domain, Protocol, Socket, Type};

use faultmesh_emulator::io::appliance::Appliance;

use super::run::{describe, require_privileges};
use super::summary;

/// The built-in topology.
pub(crate) const DEMO_TOPOLOGY: &str = r#"
name: demo
seed: 1
nodes:
  client:
    kind: host
    addresses: [10.10.1.2/24, fd10:1::2/64]
    gateway: [10.10.1.1, fd10:1::1]
  server:
    kind: host
    addresses: [10.10.2.2/24, fd10:2::2/64]
    gateway: [10.10.2.1, fd10:2::1]
segments:
  router:
    kind: router
    addresses: [10.10.1.1/24, 10.10.2.1/24, fd10:1::1/64, fd10:2::1/64]
links:
  wan:
    a: client
    b: router
    a_to_b: {delay: 10ms, loss: 2%}
    b_to_a: {delay: 10ms, rate: 50mbit queue 300}
  lan: {a: router, b: server}
"#;

struct PingResult {
    sent: usize,
    rtts: Vec<Duration>,
}

fn icmp_checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Sends `count` ICMP echo requests from namespace `ns` to `dst`.
fn ping(ns: &str, dst: Ipv4Addr, count: usize, interval: Duration) -> anyhow::Result<PingResult> {
    let sock = netns::run_in(Some(ns), || Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)))
        .context("raw ICMP socket")?;
    sock.set_read_timeout(Some(Duration::from_millis(1)))?;
    let id = (std::process::id() & 0xffff) as u16;
    let to: SocketAddr = (dst, 0).into();
    let start = WallInstant::now();
    let mut sent_at = vec![None; count];
    let mut rtts = Vec::new();
    let mut buf = [0u8; 1500];
    let deadline = interval * count as u32 + Duration::from_secs(1);
    let mut next = 0usize;
    while start.elapsed() < deadline {
        if next < count && start.elapsed() >= interval * next as u32 {
            let mut pkt = vec![0u8; 64];
            pkt[0] = 8;
            pkt[4..6].copy_from_slice(&id.to_be_bytes());
            pkt[6..8].copy_from_slice(&(next as u16).to_be_bytes());
            let ck = icmp_checksum(&pkt);
            pkt[2..4].copy_from_slice(&ck.to_be_bytes());
            sent_at[next] = Some(WallInstant::now());
            sock.send_to(&pkt, &to.into())?;
            next += 1;
        }
        if let Ok(n) = (&sock).read(&mut buf) {
            let data = &buf[..n];
            let ihl = usize::from(data.first().copied().unwrap_or(0) & 0x0f) * 4;
            if data.len() >= ihl + 8 && data[ihl] == 0 && u16::from_be_bytes([data[ihl + 4], data[ihl + 5]]) == id {
                let seq = usize::from(u16::from_be_bytes([data[ihl + 6], data[ihl + 7]]));
                if let Some(Some(t)) = sent_at.get_mut(seq).map(|s| s.take()) {
                    rtts.push(t.elapsed());
                }
            }
        }
    }
    Ok(PingResult { sent: count, rtts })
}

/// Sends `n` numbered UDP datagrams from `client_ns` to `dst`, returns how many arrived.
fn udp_loss(client_ns: &str, server_ns: &str, dst: Ipv4Addr, n: u32) -> anyhow::Result<u32> {
    let server = netns::run_in(Some(server_ns), || UdpSocket::bind((dst, 9999)))?;
    server.set_read_timeout(Some(Duration::from_millis(1500)))?;
    let client = netns::run_in(Some(client_ns), || UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)))?;
    let rx = std::thread::spawn(move || {
        let mut seen = vec![false; n as usize];
        let mut buf = [0u8; 64];
        while let Ok(len) = server.recv(&mut buf) {
            if len >= 4 {
                let seq = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                if let Some(s) = seen.get_mut(seq) {
                    *s = true;
                }
            }
        }
        seen.iter().filter(|&&s| s).count() as u32
    });
    for i in 0..n {
        client.send_to(&i.to_be_bytes(), (dst, 9999))?;
        std::thread::sleep(Duration::from_micros(150));
    }
    Ok(rx.join().unwrap_or(0))
}

/// Downloads from `server_ns` for `secs`; returns goodput in bit/s.
fn tcp_goodput(client_ns: &str, server_ns: &str, server: Ipv4Addr, secs: f64) -> anyhow::Result<f64> {
    let listener = netns::run_in(Some(server_ns), || TcpListener::bind((server, 5001)))?;
    let tx = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        let chunk = vec![0x5au8; 64 * 1024];
        let start = WallInstant::now();
        while start.elapsed().as_secs_f64() < secs + 0.5 {
            if s.write_all(&chunk).is_err() {
                break;
            }
        }
        Ok(())
    });
    let mut c = netns::run_in(Some(client_ns), || TcpStream::connect((server, 5001)))?;
    c.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = vec![0u8; 256 * 1024];
    // Skip the first second (slow start), then measure.
    let t0 = WallInstant::now();
    let mut warm = true;
    let mut bytes = 0u64;
    let mut tm = t0;
    loop {
        let n = c.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if warm && t0.elapsed() >= Duration::from_secs(1) {
            warm = false;
            tm = WallInstant::now();
            bytes = 0;
        }
        bytes += n as u64;
        if !warm && tm.elapsed().as_secs_f64() >= secs - 1.0 {
            break;
        }
    }
    let elapsed = tm.elapsed().as_secs_f64();
    drop(c);
    let _ = tx.join();
    Ok(bytes as f64 * 8.0 / elapsed)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub(crate) fn run() -> anyhow::Result<ExitCode> {
    if let Some(code) = require_privileges("demo") {
        return Ok(code);
    }
    let topo = topology::parse_str(DEMO_TOPOLOGY, "demo", None).map_err(|d| anyhow::anyhow!("{d}"))?;
    let prefix = format!("fm-demo{}-", std::process::id());
    println!("faultmesh demo: client ⇄ [wan] ⇄ router ⇄ [lan] ⇄ server");
    println!("  wan client→router: delay 10ms, loss 2%");
    println!("  wan router→client: delay 10ms, rate 50mbit");
    let mut app = Appliance::start(topo, &prefix, Options::default())?;
    print!("{}", describe(&app));
    let (cns, sns) = (format!("{prefix}client"), format!("{prefix}server"));
    let server = Ipv4Addr::new(10, 10, 2, 2);
    // Let the hosts resolve their gateway first.
    let _ = ping(&cns, server, 2, Duration::from_millis(20));
    // Base RTT through an unimpaired path: ping the lan side's router address
    // is not unimpaired (wan is in the way), so measure the path as is.
    let p = ping(&cns, server, 50, Duration::from_millis(20))?;
    let loss_n = 5000;
    let got = udp_loss(&cns, &sns, server, loss_n)?;
    let goodput = tcp_goodput(&cns, &sns, server, 4.0)?;
    let snap = app.handle().and_then(|h| h.snapshot());
    let engine = app.stop();

    let mut rtts = p.rtts.clone();
    rtts.sort();
    let lost = loss_n - got;
    let rate = f64::from(lost) / f64::from(loss_n);
    let half = 3.29 * (0.02 * 0.98 / f64::from(loss_n)).sqrt();
    let expected_goodput = 50e6 * 1448.0 / 1514.0;
    let mut rows = vec![["WHAT".to_string(), "CONFIGURED".into(), "MEASURED".into()]];
    rows.push([
        "round-trip time (ICMP echo)".into(),
        "20 ms + base".into(),
        if rtts.is_empty() {
            "no replies".into()
        } else {
            format!(
                "min {:.2} / median {:.2} / max {:.2} ms ({} of {} replies; requests cross the 2% loss)",
                ms(rtts[0]),
                ms(rtts[rtts.len() / 2]),
                ms(*rtts.last().unwrap_or(&Duration::ZERO)),
                rtts.len(),
                p.sent
            )
        },
    ]);
    rows.push([
        "loss client→server (UDP)".into(),
        "2%".into(),
        format!(
            "{:.2}% ({lost} of {loss_n}); 99.9% interval {:.2}–{:.2}%",
            rate * 100.0,
            (0.02 - half) * 100.0,
            (0.02 + half) * 100.0
        ),
    ]);
    rows.push([
        "TCP goodput server→client".into(),
        format!("50 Mbit/s ({:.1} Mbit/s of TCP payload)", expected_goodput / 1e6),
        format!("{:.2} Mbit/s ({:+.1}% of expected)", goodput / 1e6, (goodput / expected_goodput - 1.0) * 100.0),
    ]);
    if let Some(s) = &snap {
        let ls = &s.loop_stats;
        rows.push([
            "release lateness (data plane)".into(),
            "-".into(),
            format!(
                "p50 < {} us, p99 < {} us, max {} us over {} deadlines",
                ls.lateness_quantile_ns(0.5) / 1000,
                ls.lateness_quantile_ns(0.99) / 1000,
                ls.lateness_max_ns / 1000,
                ls.deadlines
            ),
        ]);
    }
    println!();
    print!("{}", summary::render(&rows));
    if let Some(e) = engine {
        println!();
        print!("{}", summary::links_table(&e.snapshot()));
    }
    Ok(ExitCode::SUCCESS)
}
