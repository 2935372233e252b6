//! Prometheus text exposition of a counter snapshot.
//!
//! Contract: the output follows the text format 0.0.4 — one `# HELP` and
//! `# TYPE` per family, label values escaped (`\\`, `\"`, `\n`), counters
//! ending in `_total`. Nothing is kept between scrapes: the data plane's
//! worker-local counters are copied once per scrape (no per-packet atomics).

use std::fmt::Write;

use faultmesh_emulator::counters::DropReason;
use faultmesh_emulator::io::dataplane::DataPlaneSnapshot;

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", esc(v))).collect();
        let _ = writeln!(self.out, "{name}{{{}}} {value}", l.join(","));
    }
}

/// Renders a snapshot (plus the number of active faults).
pub fn render(s: &DataPlaneSnapshot, faults_active: usize) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let mut f = Family { out: &mut out };
    let dirs =
        |l: &faultmesh_emulator::engine::LinkSnapshot| [("a_to_b", l.a_to_b.clone()), ("b_to_a", l.b_to_a.clone())];

    f.head(
        "faultmesh_link_packets_total",
        "counter",
        "Wire packets entering (stage=in) and leaving (stage=out) a link direction.",
    );
    for l in &s.engine.links {
        for (d, x) in dirs(l) {
            f.sample(
                "faultmesh_link_packets_total",
                &[("link", &l.name), ("direction", d), ("stage", "in")],
                x.counters.rx_packets,
            );
            f.sample(
                "faultmesh_link_packets_total",
                &[("link", &l.name), ("direction", d), ("stage", "out")],
                x.counters.tx_packets,
            );
        }
    }
    f.head(
        "faultmesh_link_bytes_total",
        "counter",
        "Wire bytes entering (stage=in) and leaving (stage=out) a link direction.",
    );
    for l in &s.engine.links {
        for (d, x) in dirs(l) {
            f.sample(
                "faultmesh_link_bytes_total",
                &[("link", &l.name), ("direction", d), ("stage", "in")],
                x.counters.rx_bytes,
            );
            f.sample(
                "faultmesh_link_bytes_total",
                &[("link", &l.name), ("direction", d), ("stage", "out")],
                x.counters.tx_bytes,
            );
        }
    }
    f.head(
        "faultmesh_link_dropped_packets_total",
        "counter",
        "Packets dropped on a link direction, by pipeline stage and reason.",
    );
    for l in &s.engine.links {
        for (d, x) in dirs(l) {
            for r in DropReason::ALL {
                let n = x.counters.drops.get(r);
                if n > 0 || matches!(r, DropReason::Loss | DropReason::QueueFull) {
                    f.sample(
                        "faultmesh_link_dropped_packets_total",
                        &[("link", &l.name), ("direction", d), ("stage", r.stage()), ("reason", r.as_str())],
                        n,
                    );
                }
            }
        }
    }
    f.head(
        "faultmesh_link_stage_packets_total",
        "counter",
        "Packets a stage acted on: corrupted, duplicated, reordered, shaped (queued), delayed, faulted, filtered.",
    );
    for l in &s.engine.links {
        for (d, x) in dirs(l) {
            let c = &x.counters;
            for (stage, n) in [
                ("corrupt", c.corrupted),
                ("duplicate", c.duplicated),
                ("reorder", c.reordered),
                ("shaper", c.shaped),
                ("delay", c.delayed),
                ("fault", c.faulted),
                ("filter", c.filter_calls),
            ] {
                f.sample(
                    "faultmesh_link_stage_packets_total",
                    &[("link", &l.name), ("direction", d), ("stage", stage)],
                    n,
                );
            }
        }
    }
    f.head(
        "faultmesh_link_queue_packets",
        "gauge",
        "Wire packets held in a link direction, by stage (shaper queue, delay line).",
    );
    for l in &s.engine.links {
        for (d, x) in dirs(l) {
            f.sample(
                "faultmesh_link_queue_packets",
                &[("link", &l.name), ("direction", d), ("stage", "shaper")],
                x.queue_packets,
            );
            f.sample(
                "faultmesh_link_queue_packets",
                &[("link", &l.name), ("direction", d), ("stage", "delay")],
                x.delay_line_packets,
            );
        }
    }
    f.head("faultmesh_link_queue_bytes", "gauge", "Wire bytes waiting in a link direction's shaper queue.");
    for l in &s.engine.links {
        for (d, x) in dirs(l) {
            f.sample(
                "faultmesh_link_queue_bytes",
                &[("link", &l.name), ("direction", d), ("stage", "shaper")],
                x.queue_bytes,
            );
        }
    }
    f.head("faultmesh_link_faults", "gauge", "Faults installed on a link direction.");
    for l in &s.engine.links {
        for (d, x) in dirs(l) {
            f.sample("faultmesh_link_faults", &[("link", &l.name), ("direction", d)], x.faults.len() as u64);
        }
    }
    f.head(
        "faultmesh_node_packets_total",
        "counter",
        "Packets a node sent into the appliance (direction=sent) and received from it.",
    );
    for n in &s.engine.nodes {
        f.sample("faultmesh_node_packets_total", &[("node", &n.name), ("direction", "sent")], n.counters.sent_packets);
        f.sample(
            "faultmesh_node_packets_total",
            &[("node", &n.name), ("direction", "received")],
            n.counters.received_packets,
        );
    }
    f.head("faultmesh_node_bytes_total", "counter", "Bytes a node sent into the appliance and received from it.");
    for n in &s.engine.nodes {
        f.sample("faultmesh_node_bytes_total", &[("node", &n.name), ("direction", "sent")], n.counters.sent_bytes);
        f.sample(
            "faultmesh_node_bytes_total",
            &[("node", &n.name), ("direction", "received")],
            n.counters.received_bytes,
        );
    }
    f.head(
        "faultmesh_node_malformed_frames_total",
        "counter",
        "Frames from a node that were truncated or inconsistent and were dropped.",
    );
    for n in &s.engine.nodes {
        f.sample("faultmesh_node_malformed_frames_total", &[("node", &n.name)], n.counters.malformed);
    }
    f.head(
        "faultmesh_segment_frames_total",
        "counter",
        "Frames a segment forwarded, flooded, answered itself (ARP/ND/ping) or turned into ICMP errors.",
    );
    for sg in &s.engine.segments {
        let c = &sg.counters;
        for (what, n) in [
            ("forwarded", c.forwarded),
            ("flooded", c.flooded),
            ("answered", c.answered),
            ("icmp_error", c.icmp_errors),
        ] {
            f.sample("faultmesh_segment_frames_total", &[("segment", &sg.name), ("action", what)], n);
        }
    }
    f.head("faultmesh_segment_dropped_packets_total", "counter", "Packets a segment dropped, by reason.");
    for sg in &s.engine.segments {
        for r in DropReason::ALL {
            let n = sg.counters.drops.get(r);
            if n > 0 {
                f.sample(
                    "faultmesh_segment_dropped_packets_total",
                    &[("segment", &sg.name), ("reason", r.as_str())],
                    n,
                );
            }
        }
    }
    let routers: Vec<_> = s.engine.segments.iter().filter(|sg| sg.kind == "router").collect();
    if !routers.is_empty() {
        f.head(
            "faultmesh_segment_neighbor_evictions_total",
            "counter",
            "Neighbours a router forgot because its cache was full (spoofed or very many sources).",
        );
        for sg in routers {
            f.sample("faultmesh_segment_neighbor_evictions_total", &[("segment", &sg.name)], sg.neighbor_evictions);
        }
    }
    f.head(
        "faultmesh_port_kernel_dropped_total",
        "counter",
        "Frames the kernel dropped before the appliance read them (the appliance was too slow).",
    );
    for (node, p) in &s.ports {
        f.sample("faultmesh_port_kernel_dropped_total", &[("node", node)], p.rx_kernel_drops);
    }
    f.head("faultmesh_faults_active", "gauge", "Faults currently defined.");
    let _ = writeln!(f.out, "faultmesh_faults_active {faults_active}");
    f.head("faultmesh_dataplane_deadlines_total", "counter", "Timed releases the data plane served.");
    let _ = writeln!(f.out, "faultmesh_dataplane_deadlines_total {}", s.loop_stats.deadlines);
    f.head(
        "faultmesh_dataplane_release_lateness_seconds",
        "gauge",
        "Lateness of timed releases since start at percentiles (upper bound, 1 us resolution; 100 = worst).",
    );
    for (q, label) in [(0.5, "50"), (0.99, "99"), (0.999, "99.9"), (1.0, "100")] {
        let ns = if q >= 1.0 { s.loop_stats.lateness_max_ns } else { s.loop_stats.lateness_quantile_ns(q) };
        let _ = writeln!(
            f.out,
            "faultmesh_dataplane_release_lateness_seconds{{percentile=\"{label}\"}} {:.9}",
            ns as f64 / 1e9
        );
    }
    out
}

/// Renders per-script counters: a JSON array of
/// `{link, direction, script, calls, errors, disabled, time_ns, verdicts: {kind: n}}`.
pub fn render_scripts(stats: &serde_json::Value) -> String {
    let mut out = String::new();
    let Some(list) = stats.as_array() else { return out };
    let mut f = Family { out: &mut out };
    let label = |x: &serde_json::Value, k: &str| x[k].as_str().unwrap_or("").to_string();
    f.head("faultmesh_script_calls_total", "counter", "Calls of a link's filter script.");
    for x in list {
        let (l, d, sc) = (label(x, "link"), label(x, "direction"), label(x, "script"));
        f.sample(
            "faultmesh_script_calls_total",
            &[("link", &l), ("direction", &d), ("script", &sc)],
            x["calls"].as_u64().unwrap_or(0),
        );
    }
    f.head(
        "faultmesh_script_errors_total",
        "counter",
        "Script failures (errors, time or memory limits, bad verdicts).",
    );
    for x in list {
        let (l, d, sc) = (label(x, "link"), label(x, "direction"), label(x, "script"));
        f.sample(
            "faultmesh_script_errors_total",
            &[("link", &l), ("direction", &d), ("script", &sc)],
            x["errors"].as_u64().unwrap_or(0),
        );
    }
    f.head("faultmesh_script_verdicts_total", "counter", "Script verdicts by kind.");
    for x in list {
        let (l, d, sc) = (label(x, "link"), label(x, "direction"), label(x, "script"));
        if let Some(v) = x["verdicts"].as_object() {
            for (k, n) in v {
                f.sample(
                    "faultmesh_script_verdicts_total",
                    &[("link", &l), ("direction", &d), ("script", &sc), ("verdict", k)],
                    n.as_u64().unwrap_or(0),
                );
            }
        }
    }
    f.head("faultmesh_script_disabled", "gauge", "1 when a script was disabled after a failure.");
    for x in list {
        let (l, d, sc) = (label(x, "link"), label(x, "direction"), label(x, "script"));
        f.sample(
            "faultmesh_script_disabled",
            &[("link", &l), ("direction", &d), ("script", &sc)],
            u64::from(x["disabled"].as_bool().unwrap_or(false)),
        );
    }
    f.head("faultmesh_script_time_seconds_total", "counter", "Time spent in a script.");
    for x in list {
        let (l, d, sc) = (label(x, "link"), label(x, "direction"), label(x, "script"));
        let _ = writeln!(
            f.out,
            "faultmesh_script_time_seconds_total{{link=\"{}\",direction=\"{}\",script=\"{}\"}} {:.9}",
            esc(&l),
            esc(&d),
            esc(&sc),
            x["time_ns"].as_u64().unwrap_or(0) as f64 / 1e9
        );
    }
    out
}
