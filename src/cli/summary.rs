//! Human-readable counter tables.

use faultmesh_emulator::counters::DropReason;
use faultmesh_emulator::engine::{DirSnapshot, Snapshot};
use faultmesh_emulator::io::dataplane::LoopStats;

/// Punctuality of timed releases.
pub(crate) fn loop_line(ls: &LoopStats) -> String {
    format!(
        "release lateness: p50 <= {:.1} us, p99 <= {:.1} us, p99.9 <= {:.1} us, max {:.1} us over {} deadlines ({} wake-ups)",
        ls.lateness_quantile_ns(0.5) as f64 / 1e3,
        ls.lateness_quantile_ns(0.99) as f64 / 1e3,
        ls.lateness_quantile_ns(0.999) as f64 / 1e3,
        ls.lateness_max_ns as f64 / 1e3,
        ls.deadlines,
        ls.wakeups
    )
}

fn drops(d: &DirSnapshot) -> String {
    let parts: Vec<String> = DropReason::ALL
        .iter()
        .filter(|r| d.counters.drops.get(**r) > 0)
        .map(|r| format!("{}={}", r.as_str(), d.counters.drops.get(*r)))
        .collect();
    if parts.is_empty() { "-".into() } else { parts.join(" ") }
}

fn extras(d: &DirSnapshot) -> String {
    let c = &d.counters;
    let mut v = Vec::new();
    for (n, x) in [("corrupted", c.corrupted), ("duplicated", c.duplicated), ("reordered", c.reordered)] {
        if x > 0 {
            v.push(format!("{n}={x}"));
        }
    }
    if d.queue_packets + d.delay_line_packets > 0 {
        v.push(format!("queued={}", d.queue_packets + d.delay_line_packets));
    }
    if v.is_empty() { "-".into() } else { v.join(" ") }
}

/// One line per link direction: packets in/out, bytes out, drops by reason.
pub(crate) fn links_table(s: &Snapshot) -> String {
    let mut rows = vec![[
        "LINK".to_string(),
        "DIRECTION".into(),
        "RX PKTS".into(),
        "TX PKTS".into(),
        "TX BYTES".into(),
        "DROPPED".into(),
        "OTHER".into(),
    ]];
    for l in &s.links {
        for (from, to, d) in [(&l.a, &l.b, &l.a_to_b), (&l.b, &l.a, &l.b_to_a)] {
            rows.push([
                l.name.clone(),
                format!("{from}->{to}"),
                d.counters.rx_packets.to_string(),
                d.counters.tx_packets.to_string(),
                d.counters.tx_bytes.to_string(),
                drops(d),
                extras(d),
            ]);
        }
    }
    render(&rows)
}

/// Renders rows as aligned columns.
pub(crate) fn render<const N: usize>(rows: &[[String; N]]) -> String {
    let mut w = [0usize; N];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r.iter().enumerate().map(|(i, c)| format!("{c:<width$}", width = w[i])).collect();
        out += line.join("  ").trim_end();
        out.push('\n');
    }
    out
}
