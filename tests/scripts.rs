//! Lua filters with real traffic: every example script in `lua/` shows its
//! behaviour, and hostile scripts are contained while forwarding continues.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::*;
use faultmesh_emulator::io::netns;

/// A lab whose scripts may come from the repository's `lua/` (the
/// topology file lives in a temporary directory; scripts are read only from
/// allowed directories).
fn start(yaml: &str) -> Lab {
    Lab::start_with(yaml, &["--scripts-dir", concat!(env!("CARGO_MANIFEST_DIR"), "/lua")])
}

fn lua(name: &str) -> String {
    format!("{}/lua/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// a, b (and c) on a switch; `la`/`lb` may carry a script line.
fn lab_yaml(la_script: &str, lb_script: &str, third: bool) -> String {
    let mut y = String::from(
        "name: scripted\nseed: 11\nnodes:\n  a: {kind: host, addresses: [10.6.0.1/24]}\n  b: {kind: host, addresses: [10.6.0.2/24]}\n",
    );
    if third {
        y += "  c: {kind: host, addresses: [10.6.0.3/24]}\n";
    }
    y += "segments:\n  lan: {kind: switch}\nlinks:\n";
    y += &format!("  la:\n    a: a\n    b: lan\n{la_script}\n");
    y += &format!("  lb:\n    a: b\n    b: lan\n{lb_script}\n");
    if third {
        y += "  lc: {a: c, b: lan}\n";
    }
    y
}

fn script_stats(lab: &Lab) -> Vec<serde_json::Value> {
    let (_, v) = http(lab, "GET", "/api/v1/scripts", None);
    v.as_array().cloned().unwrap_or_default()
}

fn verdicts(lab: &Lab, link: &str, dir: &str, kind: &str) -> u64 {
    script_stats(lab)
        .iter()
        .find(|s| s["link"] == link && s["direction"] == dir)
        .map_or(0, |s| s["verdicts"][kind].as_u64().unwrap_or(0))
}

fn udp_echo(ns: &str, addr: &str, tag: &'static str) -> std::thread::JoinHandle<()> {
    let sock = netns::run_in(Some(ns), || UdpSocket::bind(addr)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let mut out = buf[..n].to_vec();
            out.extend_from_slice(tag.as_bytes());
            let _ = sock.send_to(&out, from);
        }
    })
}

#[test]
fn drop_nth_syn_slows_connects_that_still_complete() {
    if !privileged() {
        return;
    }
    let s =
        format!("    script: {{file: {}, params: {{n: 3, port: 5432}}, direction: a_to_b}}", lua("drop_nth_syn.lua"));
    let lab = start(&lab_yaml(&s, "", false));
    let listener = netns::run_in(Some(&lab.ns("b")), || TcpListener::bind("10.6.0.2:5432")).unwrap();
    std::thread::spawn(move || {
        for c in listener.incoming().take(5) {
            drop(c);
        }
    });
    let mut took = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let c = netns::run_in(Some(&lab.ns("a")), || {
            TcpStream::connect_timeout(&"10.6.0.2:5432".parse().unwrap(), Duration::from_secs(5))
        });
        assert!(c.is_ok(), "every connect completes");
        took.push(t0.elapsed());
    }
    // Every 3rd SYN is dropped, retransmissions included: SYN 3 (3rd connect,
    // which then succeeds with SYN 4 after ~1 s) and SYN 6 (5th connect).
    let slow: Vec<bool> = took.iter().map(|t| *t >= Duration::from_millis(900)).collect();
    assert_eq!(slow, vec![false, false, true, false, true], "{took:?}");
    assert!(took.iter().all(|t| *t < Duration::from_secs(3)), "{took:?}");
    assert_eq!(verdicts(&lab, "la", "a_to_b", "drop"), 2);
}

#[test]
fn delay_dns_answers_delays_only_answers() {
    if !privileged() {
        return;
    }
    let s = format!("    script: {{file: {}, params: {{ms: 60}}}}", lua("delay_dns_answers.lua"));
    let lab = start(&lab_yaml("", &s, false));
    lab.run_ok("a", &["ping", "-c", "1", "-q", "10.6.0.2"]);
    let _e1 = udp_echo(&lab.ns("b"), "10.6.0.2:53", "dns");
    let _e2 = udp_echo(&lab.ns("b"), "10.6.0.2:5353", "mdns");
    let c = udp_in(&lab.ns("a"), "0.0.0.0:0".parse().unwrap());
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 64];
    for round in 0..5 {
        // The DNS query goes first; its answer is delayed 60 ms, the other
        // answer is not held behind it.
        let t0 = Instant::now();
        c.send_to(&[round], "10.6.0.2:53").unwrap();
        c.send_to(&[round], "10.6.0.2:5353").unwrap();
        let (n, from) = c.recv_from(&mut buf).unwrap();
        assert_eq!(
            (from.port(), &buf[1..n]),
            (5353, &b"mdns"[..]),
            "round {round}: the undelayed answer arrives first"
        );
        assert!(t0.elapsed() < Duration::from_millis(20), "{:?}", t0.elapsed());
        let (n, from) = c.recv_from(&mut buf).unwrap();
        assert_eq!((from.port(), &buf[1..n]), (53, &b"dns"[..]));
        assert!(t0.elapsed() >= Duration::from_millis(60), "{:?}", t0.elapsed());
    }
    assert_eq!(verdicts(&lab, "lb", "a_to_b", "delay"), 5);
}

fn download(lab: &Lab, port: u16, total: usize) -> usize {
    let listener = netns::run_in(Some(&lab.ns("b")), || TcpListener::bind(("10.6.0.2", port))).unwrap();
    let srv = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_write_timeout(Some(Duration::from_millis(800)));
            let chunk = vec![7u8; 16 * 1024];
            let mut sent = 0;
            while sent < total && s.write_all(&chunk).is_ok() {
                sent += chunk.len();
            }
        }
    });
    let mut c = netns::run_in(Some(&lab.ns("a")), || TcpStream::connect(("10.6.0.2", port))).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
    let mut got = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 {
            break;
        }
        got += n;
    }
    drop(c);
    let _ = srv.join();
    got
}

#[test]
fn blackhole_after_bytes_stalls_a_flow_mid_transfer() {
    if !privileged() {
        return;
    }
    let s = format!("    script: {{file: {}, params: {{bytes: 300000}}}}", lua("blackhole_after_bytes.lua"));
    let lab = start(&lab_yaml(&s, "", false));
    let got = download(&lab, 7001, 4_000_000);
    assert!((150_000..=450_000).contains(&got), "the flow stalled near 300 kB: {got}");
    // A new flow starts fresh.
    let again = download(&lab, 7002, 4_000_000);
    assert!(again > 100_000 && again < 450_000, "{again}");
    assert!(verdicts(&lab, "la", "b_to_a", "drop") > 0);
}

#[test]
fn steer_port_routes_one_port_to_the_standby() {
    if !privileged() {
        return;
    }
    let s =
        format!("    script: {{file: {}, params: {{port: 9000, to: c}}, direction: a_to_b}}", lua("steer_port.lua"));
    let lab = start(&lab_yaml(&s, "", true));
    // The standby answers for the primary's address (a service address on
    // its loopback). As on any direct-routing standby, it must not claim that
    // address in ARP: with the kernel defaults it answers a's ARP request for
    // 10.6.0.2 too, and when its reply beats b's, a sends all of 10.6.0.2's
    // traffic (port 9001 included) to c.
    lab.run_ok("c", &["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"]);
    lab.run_ok("c", &["ip", "addr", "add", "10.6.0.2/32", "dev", "lo"]);
    let _p1 = udp_echo(&lab.ns("b"), "10.6.0.2:9000", "primary");
    let _p2 = udp_echo(&lab.ns("b"), "10.6.0.2:9001", "primary");
    let _s1 = udp_echo(&lab.ns("c"), "0.0.0.0:9000", "standby");
    let cl = udp_in(&lab.ns("a"), "0.0.0.0:0".parse().unwrap());
    cl.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 64];
    for (port, who) in [(9000u16, &b"standby"[..]), (9001, &b"primary"[..]), (9000, &b"standby"[..])] {
        cl.send_to(b"?", ("10.6.0.2", port)).unwrap();
        let Ok((n, _)) = cl.recv_from(&mut buf) else {
            panic!("no answer on port {port}; a's neighbours: {}", lab.run_ok("a", &["ip", "neigh"]));
        };
        assert_eq!(&buf[1..n], who, "port {port}");
    }
    assert_eq!(verdicts(&lab, "la", "a_to_b", "route"), 2);
}

#[test]
fn payload_loss_drops_matching_requests_only() {
    if !privileged() {
        return;
    }
    let s = format!(
        "    script: {{file: {}, params: {{pattern: \"GET /api\", percent: 50}}, direction: a_to_b}}",
        lua("payload_loss.lua")
    );
    let lab = start(&lab_yaml(&s, "", false));
    lab.run_ok("a", &["ping", "-c", "1", "-q", "10.6.0.2"]);
    let rx = udp_in(&lab.ns("b"), "10.6.0.2:8080".parse().unwrap());
    rx.set_read_timeout(Some(Duration::from_millis(800))).unwrap();
    let counter = std::thread::spawn(move || {
        let (mut api, mut health) = (0, 0);
        let mut buf = [0u8; 64];
        while let Ok(len) = rx.recv(&mut buf) {
            if buf[..len].starts_with(b"GET /api") {
                api += 1;
            } else {
                health += 1;
            }
        }
        (api, health)
    });
    let tx = udp_in(&lab.ns("a"), "0.0.0.0:0".parse().unwrap());
    let n = 1000;
    for i in 0..n {
        tx.send_to(format!("GET /api/users {i}").as_bytes(), "10.6.0.2:8080").unwrap();
        tx.send_to(format!("GET /health {i}").as_bytes(), "10.6.0.2:8080").unwrap();
        std::thread::sleep(Duration::from_micros(200));
    }
    let (api, health) = counter.join().unwrap();
    assert_eq!(health, n, "other requests are untouched");
    // 1000 at 50%: 99.9% interval ±52.
    assert!((api as i64 - 500).abs() <= 52, "{api} of {n} API requests arrived");
}

#[test]
fn outage_windows_follow_the_clock() {
    if !privileged() {
        return;
    }
    let s = format!(
        "    script: {{file: {}, params: {{period_ms: 400, down_ms: 100}}, direction: a_to_b}}",
        lua("outage_windows.lua")
    );
    let lab = start(&lab_yaml(&s, "", false));
    // The script drops ARP too while a window is down (as a dead link
    // would); resolve first so the stream measures only the windows.
    lab.resolve("a", "10.6.0.2", 10);
    let n = 2000u32;
    let got = udp_stream(
        &lab.ns("a"),
        &lab.ns("b"),
        "10.6.0.2:7000".parse::<SocketAddr>().unwrap(),
        n,
        Duration::from_millis(1),
        32,
    );
    let lost = n as usize - got.len();
    // 2 s covers five 400 ms periods with 100 ms down each: ~500 lost in runs of ~100.
    assert!((420..=580).contains(&lost), "{lost}");
    let mut seen = vec![false; n as usize];
    for g in &got {
        seen[*g as usize] = true;
    }
    let mut longest = 0;
    let mut run = 0;
    for s in seen {
        run = if s { 0 } else { run + 1 };
        longest = longest.max(run);
    }
    assert!((85..=115).contains(&longest), "outages last ~100 ms: longest run {longest}");
}

#[test]
fn mark_bulk_marks_and_duplicates_ef() {
    if !privileged() {
        return;
    }
    let s = format!(
        "    script: {{file: {}, params: {{bulk_ports: [5001], duplicate_ef: true}}, direction: a_to_b}}",
        lua("mark_bulk.lua")
    );
    let lab = start(&lab_yaml(&s, "", false));
    lab.run_ok("a", &["ping", "-c", "1", "-q", "10.6.0.2"]);
    let rx = udp_in(&lab.ns("b"), "10.6.0.2:4000".parse().unwrap());
    rx.set_read_timeout(Some(Duration::from_millis(800))).unwrap();
    let ef = udp_in(&lab.ns("a"), "0.0.0.0:0".parse().unwrap());
    socket2::SockRef::from(&ef).set_tos_v4(46 << 2).unwrap();
    for i in 0..100u8 {
        ef.send_to(&[i], "10.6.0.2:4000").unwrap();
    }
    let bulk = udp_in(&lab.ns("a"), "0.0.0.0:0".parse().unwrap());
    for i in 0..50u8 {
        bulk.send_to(&[i], "10.6.0.2:5001").unwrap();
    }
    let mut buf = [0u8; 8];
    let mut got = 0;
    while rx.recv(&mut buf).is_ok() {
        got += 1;
    }
    assert_eq!(got, 200, "every EF datagram arrives twice");
    assert_eq!(verdicts(&lab, "la", "a_to_b", "duplicate"), 100);
    assert_eq!(verdicts(&lab, "la", "a_to_b", "mark"), 50);
}

#[test]
fn hostile_scripts_are_contained_and_reported() {
    if !privileged() {
        return;
    }
    let lab = start(&lab_yaml("", "", true));
    lab.run_ok("a", &["ping", "-c", "1", "-q", "10.6.0.3"]);
    // Scripts that do not load are refused with Lua's message; nothing is attached.
    for (src, text) in [
        ("function filter(pkt) return PASS", "Expected 'end'"),
        ("error('no thanks')", "no thanks"),
        ("os.execute('touch /tmp/fm-pwned')", "attempt to call a nil value"),
        ("while true do end", "time limit"),
        ("local x = 1", "no `filter(pkt)` function"),
    ] {
        let body = serde_json::json!({"source": src}).to_string();
        let (st, v) = http_json(&lab, "PUT", "/api/v1/links/la/script", &body);
        assert_eq!(st, 422, "{src}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(text), "{src}: {v}");
    }
    assert!(script_stats(&lab).is_empty());
    // Failing at run time: each disables only its own script.
    for (link, src, on_error) in [
        ("la", "function filter(pkt) while true do end end", "pass"),
        ("lb", "function filter(pkt) local s = string.rep('x', 1e8) end", "drop"),
        ("lc", "function filter(pkt) if pkt.icmp then return io.open('/etc/passwd') end end", "pass"),
    ] {
        let body = serde_json::json!({"source": src, "on_error": on_error}).to_string();
        let (st, v) = http_json(&lab, "PUT", &format!("/api/v1/links/{link}/script"), &body);
        assert_eq!(st, 200, "{v}");
    }
    // la: the infinite loop is cut at 2 ms, then the link passes traffic (fallback pass).
    let out = lab.exec("a", &["ping", "-c", "5", "-i", "0.1", "-q", "10.6.0.3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // lb: memory bomb, fallback drop: b is cut off.
    let out = lab.exec("a", &["ping", "-c", "3", "-i", "0.1", "-W", "1", "-q", "10.6.0.2"]);
    assert!(!out.status.success());
    std::thread::sleep(Duration::from_millis(1200));
    let stats = script_stats(&lab);
    for (link, want) in [("la", "time limit"), ("lb", "not enough memory"), ("lc", "attempt to index nil")] {
        let dirs: Vec<&serde_json::Value> = stats.iter().filter(|s| s["link"] == link).collect();
        assert!(
            !dirs.is_empty() && dirs.iter().all(|s| s["disabled"] == true),
            "{link} disabled in both directions: {stats:?}"
        );
        assert!(dirs[0]["last_error"].as_str().unwrap().contains(want), "{link}: {:?}", dirs);
        assert_eq!(
            dirs.iter().map(|s| s["errors"].as_u64().unwrap()).sum::<u64>(),
            1,
            "one failure, then the fallback"
        );
    }
    let (_, ev) = http(&lab, "GET", "/api/v1/events", None);
    let disabled = ev.as_array().unwrap().iter().filter(|e| e["action"] == "script.disabled").count();
    assert!(disabled >= 3, "{ev}");
    // Replacing the script brings the link back; forwarding never stopped.
    let (st, _) =
        http_json(&lab, "PUT", "/api/v1/links/lb/script", r#"{"source": "function filter(pkt) return PASS end"}"#);
    assert_eq!(st, 200);
    let fresh = script_stats(&lab);
    assert!(fresh.iter().filter(|s| s["link"] == "lb").all(|s| s["disabled"] == false && s["calls"] == 0), "{fresh:?}");
    // a's ARP entry for b failed while lb dropped everything; give it its retry.
    let out = lab.exec("a", &["ping", "-c", "8", "-i", "0.25", "-q", "10.6.0.2"]);
    let (_, (_, recv)) = ping_stats(&String::from_utf8_lossy(&out.stdout));
    assert!(recv >= 4, "b is reachable again: {}", String::from_utf8_lossy(&out.stdout));
    let (st, _) = http(&lab, "DELETE", "/api/v1/links/lb/script", None);
    assert_eq!(st, 200);
    let (_, m) = http(&lab, "GET", "/metrics", None);
    assert!(m.as_str().unwrap().contains("faultmesh_script_disabled{link=\"la\""), "script counters in /metrics");
    assert!(!std::path::Path::new("/tmp/fm-pwned").exists());
}
