//! The control plane against a real appliance (root): a reload is one
//! data-plane step (a partition lets nothing through across 20 reloads),
//! reads never wait for reloads or for a data plane held by a command, and a
//! change the data plane does not take in time is a 504 that changes nothing.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// `topologies/wan.yaml` with the WAN delay as a parameter.
fn wan(delay_ms: u32) -> String {
    format!(
        r#"
name: wan
seed: 42
nodes:
  client: {{kind: host, addresses: [10.0.1.2/24], gateway: 10.0.1.1}}
  server: {{kind: host, addresses: [10.0.2.2/24], gateway: 10.0.2.1}}
segments:
  core: {{kind: router, addresses: [10.0.1.1/24, 10.0.2.1/24]}}
links:
  wan:
    a: client
    b: core
    both: {{delay: {delay_ms}ms, rate: 50mbit queue 200}}
  lan: {{a: core, b: server}}
"#
    )
}

fn put_topology(lab: &Lab, yaml: &str) -> serde_json::Value {
    let (st, v) = http(lab, "PUT", "/api/v1/topology", Some(("application/yaml", yaml.as_bytes())));
    assert_eq!(st, 200, "{v}");
    v
}

#[test]
fn a_partition_holds_through_twenty_back_to_back_reloads() {
    if !privileged() {
        return;
    }
    let lab = Lab::start(&wan(20));
    let (c, s) = (lab.ns("client"), lab.ns("server"));
    lab.run_ok("client", &["ping", "-c", "3", "-i", "0.1", "-q", "10.0.2.2"]);
    // Without the partition the stream crosses: a leak would be seen.
    let open = udp_stream(&c, &s, "10.0.2.2:7000".parse().unwrap(), 200, Duration::from_millis(1), 64);
    assert!(open.len() >= 180, "{} of 200 crossed an open path", open.len());

    let (st, v) =
        http_json(&lab, "POST", "/api/v1/faults", r#"{"kind": "partition", "groups": [["client"], ["server"]]}"#);
    assert_eq!(st, 201, "{v}");

    // The server counts what reaches it; the client sends as fast as one
    // core allows for as long as the reloads take.
    let dst: SocketAddr = "10.0.2.2:7001".parse().unwrap();
    let rx = udp_in(&s, dst);
    rx.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let tx: UdpSocket = udp_in(&c, "0.0.0.0:0".parse().unwrap());
    let (stop_tx, stop_rx) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let received = {
        let stop = Arc::clone(&stop_rx);
        std::thread::spawn(move || {
            let (mut n, mut buf) = (0u64, [0u8; 2048]);
            loop {
                match rx.recv(&mut buf) {
                    Ok(_) => n += 1,
                    Err(_) if stop.load(Ordering::Relaxed) => return n,
                    Err(_) => {}
                }
            }
        })
    };
    let sent = {
        let stop = Arc::clone(&stop_tx);
        std::thread::spawn(move || {
            let (mut n, pkt) = (0u64, [7u8; 64]);
            while !stop.load(Ordering::Relaxed) {
                if tx.send_to(&pkt, dst).is_ok() {
                    n += 1;
                }
            }
            n
        })
    };
    // The stream runs before, during and after the reloads.
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    for i in 0..20 {
        let r = put_topology(&lab, &wan(if i % 2 == 0 { 21 } else { 20 }));
        assert_eq!(r["report"]["links_changed"], serde_json::json!(["wan"]), "{r}");
    }
    let reloads = t0.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    stop_tx.store(true, Ordering::Relaxed);
    let sent = sent.join().unwrap();
    // Whatever was in flight has arrived by now (the path holds 21 ms).
    std::thread::sleep(Duration::from_millis(300));
    stop_rx.store(true, Ordering::Relaxed);
    let received = received.join().unwrap();
    eprintln!("20 reloads in {reloads:?}; {sent} datagrams sent across the partition, {received} received");
    assert!(sent > 10_000, "the stream ran: {sent} datagrams");
    assert_eq!(received, 0, "{received} of {sent} datagrams crossed the partition during the reloads");

    // The fault is still there, and lifting it opens the path again.
    let (_, faults) = http(&lab, "GET", "/api/v1/faults", None);
    assert_eq!(faults.as_array().map(Vec::len), Some(1), "{faults}");
    let (st, _) = http(&lab, "DELETE", "/api/v1/faults", None);
    assert_eq!(st, 200);
    let open = udp_stream(&c, &s, "10.0.2.2:7002".parse().unwrap(), 200, Duration::from_millis(1), 64);
    assert!(open.len() >= 180, "{} of 200 crossed after the partition was lifted", open.len());
}

/// A GET with the token on a fresh connection: (status, body).
fn get(base: &str, token: &str, path: &str) -> (u16, String) {
    request(base, token, "GET", path)
}

fn request(base: &str, token: &str, method: &str, path: &str) -> (u16, String) {
    let host = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).expect("connect to the API");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (head.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0), body.to_string())
}

/// Reads the SSE stream in the background: (event name, arrival) pairs.
fn sse(base: &str, token: &str) -> Arc<Mutex<Vec<(String, Instant)>>> {
    let host = base.trim_start_matches("http://").to_string();
    let mut s = TcpStream::connect(&host).expect("connect to the API");
    write!(
        s,
        "GET /api/v1/events/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = Arc::clone(&got);
    std::thread::spawn(move || {
        for line in BufReader::new(s).lines().map_while(Result::ok) {
            if let Some(name) = line.strip_prefix("event:") {
                g.lock().unwrap().push((name.trim().to_string(), Instant::now()));
            }
        }
    });
    got
}

fn p99(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() * 99).div_ceil(100) - 1]
}

const TRIO: &str = "name: churn\nnodes:\n  a: {kind: host, addresses: [10.7.0.1/24]}\n  b: {kind: host, addresses: [10.7.0.2/24]}\n  c: {kind: host, addresses: [10.7.0.3/24]}\nsegments:\n  lan: {kind: switch}\nlinks:\n  la: {a: a, b: lan, both: {delay: 5ms}}\n  lb: {a: b, b: lan}\n  lc: {a: c, b: lan}\n";

fn debug_lab(yaml: &str) -> Lab {
    // SAFETY: set before any other thread of this test process starts
    // (nextest runs each test in its own process); the appliance inherits it.
    unsafe { std::env::set_var("FAULTMESH_DEBUG_COMMANDS", "1") };
    Lab::start(yaml)
}

#[test]
fn reads_do_not_wait_for_reloads_or_for_a_stalled_data_plane() {
    if !privileged() {
        return;
    }
    let lab = debug_lab(TRIO);
    let (base, token) = (lab.api.clone().unwrap(), lab.token.clone().unwrap());
    let events = sse(&base, &token);
    // Samples: (phase, path index, ms). Phase 0 warm-up, 1 reloads, 2 stall.
    let phase = Arc::new(AtomicU8::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::<(u8, usize, f64)>::new()));
    let failures = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (phase, stop, samples, failures) =
            (Arc::clone(&phase), Arc::clone(&stop), Arc::clone(&samples), Arc::clone(&failures));
        let (base, token) = (base.clone(), token.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for (i, path) in ["/api/v1/status", "/api/v1/links"].into_iter().enumerate() {
                    let p = phase.load(Ordering::Relaxed);
                    let t0 = Instant::now();
                    let (st, _) = get(&base, &token, path);
                    let ms = t0.elapsed().as_secs_f64() * 1e3;
                    if st != 200 {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    samples.lock().unwrap().push((p, i, ms));
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));

    // Five reloads back to back, removing and adding a node (namespaces
    // and veth pairs built and torn down while the reload runs).
    let without_c =
        TRIO.replace("  c: {kind: host, addresses: [10.7.0.3/24]}\n", "").replace("  lc: {a: c, b: lan}\n", "");
    phase.store(1, Ordering::Relaxed);
    for i in 0..5 {
        let r = put_topology(&lab, if i % 2 == 0 { &without_c } else { TRIO });
        assert!(
            r["report"]["nodes_removed"].as_array().unwrap().len()
                + r["report"]["nodes_added"].as_array().unwrap().len()
                == 1,
            "{r}"
        );
    }

    // A command holds the data plane for 2 s.
    phase.store(2, Ordering::Relaxed);
    let stall = {
        let (base, token) = (base.clone(), token.clone());
        std::thread::spawn(move || {
            let r = request(&base, &token, "POST", "/api/v1/debug/stall?ms=2000");
            (r, Instant::now())
        })
    };
    let ((st, body), stall_done) = stall.join().unwrap();
    assert_eq!(st, 200, "{body}");
    phase.store(3, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();

    assert_eq!(failures.load(Ordering::Relaxed), 0, "every read answered 200");
    let samples = samples.lock().unwrap().clone();
    for (p, what) in [(1u8, "5 reloads"), (2, "a 2 s stall")] {
        for (i, path) in ["status", "links"].into_iter().enumerate() {
            let v: Vec<f64> = samples.iter().filter(|s| s.0 == p && s.1 == i).map(|s| s.2).collect();
            assert!(v.len() >= 20, "{what}: only {} samples of GET {path}", v.len());
            let q = p99(v.clone());
            let max = v.iter().copied().fold(0.0, f64::max);
            eprintln!("during {what}: GET /api/v1/{path}: {} samples, p99 {q:.2} ms, max {max:.2} ms", v.len());
            assert!(q < 50.0, "during {what}: GET /api/v1/{path} p99 {q:.1} ms");
        }
    }
    // The event stream kept delivering: every reload, and the stall's event
    // while the data plane was still held.
    std::thread::sleep(Duration::from_millis(200));
    let ev = events.lock().unwrap().clone();
    let reloads = ev.iter().filter(|e| e.0 == "topology.reload").count();
    assert_eq!(reloads, 5, "{ev:?}");
    let stalled = ev.iter().find(|e| e.0 == "debug.stall").expect("the stall's event was delivered");
    assert!(stalled.1 < stall_done, "delivered while the data plane was held");
}

#[test]
fn a_change_the_data_plane_does_not_take_in_time_is_a_504_and_is_not_recorded() {
    if !privileged() {
        return;
    }
    let lab = debug_lab(TRIO);
    let (base, token) = (lab.api.clone().unwrap(), lab.token.clone().unwrap());
    // Hold the data plane longer than the API's 5 s command timeout.
    let stall = std::thread::spawn(move || request(&base, &token, "POST", "/api/v1/debug/stall?ms=6500"));
    std::thread::sleep(Duration::from_millis(300));
    let (st, v) = http_json(&lab, "POST", "/api/v1/faults", r#"{"kind": "down", "target": "link=la"}"#);
    assert_eq!(st, 504, "{v}");
    assert_eq!(v["error"]["code"], "dataplane_timeout", "{v}");
    assert_eq!(stall.join().unwrap().0, 200);
    let (_, faults) = http(&lab, "GET", "/api/v1/faults", None);
    assert_eq!(faults, serde_json::json!([]), "not in the registry");
    // Withdrawn, not applied late: the engine has no fault either, and
    // traffic crosses `la`.
    lab.run_ok("a", &["ping", "-c", "3", "-i", "0.1", "-q", "10.7.0.2"]);
    let (_, la) = http(&lab, "GET", "/api/v1/links/la", None);
    assert_eq!(la["a_to_b"]["live"]["faults"], serde_json::json!([]), "{la}");
    let (_, ev) = http(&lab, "GET", "/api/v1/events", None);
    assert!(!ev.as_array().unwrap().iter().any(|e| e["action"] == "fault.create"), "{ev}");
}
