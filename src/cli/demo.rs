//! `faultmesh demo`: a built-in topology, real traffic, and what was measured
//! next to what was configured.
//!
//! The probes (raw ICMP echo, numbered UDP, a TCP download) come from
//! `faultmesh-probe`, the same ones the bench and the tests use, so the demo
//! needs nothing but the binary.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use faultmesh_emulator::io::dataplane::Options;
use faultmesh_emulator::topology;
use faultmesh_probe::{ping, stats, tcp, udp};

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
    let mut app = Appliance::start(&topo, &prefix, Options::default())?;
    print!("{}", describe(&app, &topo));
    let (cns, sns) = (format!("{prefix}client"), format!("{prefix}server"));
    let server = IpAddr::V4(Ipv4Addr::new(10, 10, 2, 2));
    // Let the hosts resolve their gateway first.
    let _ = ping::ping(&cns, server, 2, Duration::from_millis(20));
    let p = ping::ping(&cns, server, 50, Duration::from_millis(20))?;
    let loss_n = 5000;
    let mut seen = udp::numbered(&cns, &sns, SocketAddr::new(server, 9999), loss_n, Duration::from_micros(150), 16)?;
    seen.sort_unstable();
    seen.dedup();
    let got = seen.len() as u32;
    let goodput = tcp::goodput_bps(&cns, &sns, SocketAddr::new(server, 5001), 4.0)?;
    let snap = app.handle().and_then(|h| h.snapshot());
    let engine = app.stop();

    let mut rtts = p.rtts.clone();
    rtts.sort();
    let lost = loss_n - got;
    let rate = f64::from(lost) / f64::from(loss_n);
    let (lo, hi) = stats::binomial_interval_999(0.02, u64::from(loss_n));
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
        format!("{:.2}% ({lost} of {loss_n}); 99.9% interval {:.2}–{:.2}%", rate * 100.0, lo * 100.0, hi * 100.0),
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
