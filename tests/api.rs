//! The control plane against a running appliance moving real traffic: the
//! CLI and raw HTTP change links and faults, ping and TCP observe the effect,
//! promtool and a real Prometheus server read `/metrics`.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const TRIO: &str = r#"
name: trio
seed: 3
nodes:
  a: {kind: host, addresses: [10.7.0.1/24]}
  b: {kind: host, addresses: [10.7.0.2/24], labels: {tier: db}}
  c: {kind: host, addresses: [10.7.0.3/24]}
segments:
  lan: {kind: switch}
links:
  la: {a: a, b: lan, both: {delay: 5ms}}
  lb: {a: b, b: lan}
  lc: {a: c, b: lan}
"#;

/// Pings per `rtt` call.
const PINGS: u32 = 5;

/// Median RTT (ms, NaN if nothing came back) and replies of `PINGS` pings.
/// The median, not the mean: one reply preempted on a busy host must not
/// move a check on the configured delay.
fn rtt(lab: &Lab, from: &str, to: &str) -> (f64, u32) {
    // The first packet to a new neighbour waits for ARP; keep it out.
    let _ = lab.exec(from, &["ping", "-c", "1", "-W", "1", to]);
    let out = lab.exec(from, &["ping", "-c", &PINGS.to_string(), "-i", "0.05", "-W", "1", to]);
    let rtts = ping_rtts(&String::from_utf8_lossy(&out.stdout));
    (if rtts.is_empty() { f64::NAN } else { median(&rtts) }, rtts.len() as u32)
}

fn ok(o: std::process::Output) -> String {
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn patches_and_faults_change_real_traffic() {
    if !privileged() {
        return;
    }
    let lab = Lab::start(TRIO);
    lab.run_ok("a", &["ping", "-c", "2", "-q", "10.7.0.2"]);
    let (base, _) = rtt(&lab, "a", "10.7.0.2");
    assert!((10.0..11.0).contains(&base), "5 ms each way on la: {base}");

    // Patch the link: RTT follows.
    ok(cli(&lab, &["link", "set", "la", "delay", "20ms"]));
    let (slow, _) = rtt(&lab, "a", "10.7.0.2");
    assert!((40.0..41.0).contains(&slow), "{slow}");

    // Two delay faults stack: +10 ms and +5 ms on b's link, each way.
    ok(cli(
        &lab,
        &["fault", "add", "--kind", "delay", "--target", "node=b", "--delay", "10ms", "--scenario", "slow-db"],
    ));
    ok(cli(
        &lab,
        &["fault", "add", "--kind", "delay", "--target", "link=lb", "--delay", "5ms", "--scenario", "slow-db"],
    ));
    let (stacked, _) = rtt(&lab, "a", "10.7.0.2");
    assert!((70.0..71.0).contains(&stacked), "40 + 2×15 = 70: {stacked}");
    let (other, _) = rtt(&lab, "a", "10.7.0.3");
    assert!((40.0..41.0).contains(&other), "c is not affected: {other}");

    // The kill switch restores every link at once.
    let out = ok(cli(&lab, &["fault", "clear"]));
    assert!(out.contains("removed 2 faults"), "{out}");
    let (back, _) = rtt(&lab, "a", "10.7.0.2");
    assert!((40.0..41.0).contains(&back), "{back}");

    // A loss fault with a TTL drops everything, then expires by itself.
    ok(cli(&lab, &["fault", "add", "--kind", "loss", "--target", "label:tier=db", "--percent", "100%", "--ttl", "2s"]));
    let t0 = Instant::now();
    let (_, got) = rtt(&lab, "a", "10.7.0.2");
    assert_eq!(got, 0, "the fault drops b's traffic");
    std::thread::sleep(Duration::from_millis(2300).saturating_sub(t0.elapsed()));
    let (_, got) = rtt(&lab, "a", "10.7.0.2");
    assert_eq!(got, PINGS, "expired after 2 s");
    let (_, faults) = http(&lab, "GET", "/api/v1/faults", None);
    assert!(faults.as_array().unwrap().is_empty(), "{faults}");

    // A partition blocks only between its groups.
    let (st, _) = http_json(
        &lab,
        "POST",
        "/api/v1/faults",
        r#"{"kind": "partition", "groups": [["a"], ["b"]], "scenario": "split"}"#,
    );
    assert_eq!(st, 201);
    assert_eq!(rtt(&lab, "a", "10.7.0.2").1, 0);
    assert_eq!(rtt(&lab, "b", "10.7.0.1").1, 0);
    assert_eq!(rtt(&lab, "a", "10.7.0.3").1, PINGS);
    assert_eq!(rtt(&lab, "b", "10.7.0.3").1, PINGS);
    ok(cli(&lab, &["fault", "clear", "--scenario", "split"]));
    assert_eq!(rtt(&lab, "a", "10.7.0.2").1, PINGS);

    // Everything is in the audit log, with who did it.
    let (_, ev) = http(&lab, "GET", "/api/v1/events", None);
    let actions: Vec<String> =
        ev.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    for want in ["link.patch", "fault.create", "fault.killswitch", "fault.expire", "fault.delete"] {
        assert!(actions.iter().any(|a| a == want), "{want} in {actions:?}");
    }
    assert!(ev[0]["actor"].as_str().unwrap().starts_with("cli:"), "{}", ev[0]);
    let (_, node) = http(&lab, "GET", "/api/v1/nodes/b", None);
    assert!(node["traffic"]["received_packets"].as_u64().unwrap() > 10, "{node}");
}

/// An iperf3 TCP transfer running in the background: server in `srv`,
/// client in `cli`, for `secs`.
struct Transfer {
    server: std::process::Child,
    client: std::process::Child,
}

impl Transfer {
    fn start(lab: &Lab, srv: &str, cli: &str, addr: &str, secs: u32) -> Transfer {
        let server = Command::new("ip")
            .args(["netns", "exec", &lab.ns(srv), "iperf3", "-s", "-1", "-B", addr])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let client = Command::new("ip")
            .args(["netns", "exec", &lab.ns(cli), "iperf3", "-c", addr, "-t", &secs.to_string(), "-J"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        Transfer { server, client }
    }

    /// Waits for the end; returns iperf3's JSON report.
    fn finish(mut self) -> serde_json::Value {
        let report = self.client.wait_with_output().unwrap();
        let _ = self.server.wait();
        serde_json::from_slice(&report.stdout).unwrap()
    }
}

/// Goodput (bit/s) of each one-second interval of an iperf3 report.
fn per_second(v: &serde_json::Value) -> Vec<f64> {
    v["intervals"].as_array().unwrap().iter().map(|i| i["sum"]["bits_per_second"].as_f64().unwrap()).collect()
}

#[test]
fn reload_keeps_a_tcp_transfer_on_an_unchanged_link() {
    if !privileged() {
        return;
    }
    let two = "name: pair\nnodes:\n  a: {kind: host, addresses: [10.7.0.1/24]}\n  b: {kind: host, addresses: [10.7.0.2/24]}\nsegments:\n  lan: {kind: switch}\nlinks:\n  la: {a: a, b: lan, both: {rate: 200mbit}}\n  lb: {a: b, b: lan}\n";
    let mut lab = Lab::start(two);
    lab.run_ok("a", &["ping", "-c", "2", "-q", "10.7.0.2"]);
    let transfer = Transfer::start(&lab, "b", "a", "10.7.0.2", 5);
    std::thread::sleep(Duration::from_secs(2));
    // Reload mid-transfer: a new node and link, la and lb unchanged.
    let dir = std::env::temp_dir().join(format!("{}reload", lab.prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bigger.yaml");
    std::fs::write(
        &file,
        two.replace("  lb: {a: b, b: lan}\n", "  lb: {a: b, b: lan}\n  lc: {a: c, b: lan, both: {delay: 1ms}}\n")
            .replace("nodes:\n", "nodes:\n  c: {kind: host, addresses: [10.7.0.3/24]}\n"),
    )
    .unwrap();
    let out = ok(cli(&lab, &["reload", file.to_str().unwrap()]));
    assert!(
        out.contains("links kept: la, lb") && out.contains("links added: lc") && out.contains("nodes added: c"),
        "{out}"
    );
    let v = transfer.finish();
    let bps = v["end"]["sum_received"]["bits_per_second"].as_f64().unwrap();
    if bps <= 150e6 {
        // Say where the packets went: per-second goodput and every counter.
        let per_s = per_second(&v);
        let s = lab.stop();
        panic!("the transfer did not complete at the shaped rate: {bps} bit/s, per second {per_s:?}; counters: {s}");
    }
    // The new node works.
    lab.run_ok("c", &["ping", "-c", "2", "-i", "0.05", "10.7.0.1"]);
    let s = lab.stop();
    for (l, d) in [("la", "a_to_b"), ("la", "b_to_a"), ("lb", "a_to_b"), ("lb", "b_to_a")] {
        let dir = link_dir(&s, l, d);
        let dropped: u64 = dir["drops"]
            .as_object()
            .map(|m| m.iter().filter(|(k, _)| *k != "queue_full").map(|(_, n)| n.as_u64().unwrap()).sum())
            .unwrap_or(0);
        assert_eq!(dropped, 0, "{l} {d}: {dir}");
    }
    // Counters were kept across the reload: they cover the whole transfer.
    let la = link_dir(&s, "la", "a_to_b");
    assert!(la["tx_bytes"].as_f64().unwrap() * 8.0 > 4.0 * 150e6, "{la}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn reloads_that_remove_and_add_a_node_keep_the_others_forwarding() {
    if !privileged() {
        return;
    }
    // `a` comes first, so removing it renumbers every other port while
    // c → b carries a TCP stream: the loop must not use stale port numbers.
    let with_a = "name: churn\nnodes:\n  a: {kind: host, addresses: [10.7.0.1/24]}\n  b: {kind: host, addresses: [10.7.0.2/24]}\n  c: {kind: host, addresses: [10.7.0.3/24]}\nsegments:\n  lan: {kind: switch}\nlinks:\n  la: {a: a, b: lan}\n  lb: {a: b, b: lan}\n  lc: {a: c, b: lan}\n";
    let without_a =
        with_a.replace("  a: {kind: host, addresses: [10.7.0.1/24]}\n", "").replace("  la: {a: a, b: lan}\n", "");
    let lab = Lab::start(with_a);
    lab.run_ok("c", &["ping", "-c", "2", "-i", "0.05", "-q", "10.7.0.2"]);
    let dir = std::env::temp_dir().join(format!("{}churn", lab.prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let (fa, fno) = (dir.join("with_a.yaml"), dir.join("without_a.yaml"));
    std::fs::write(&fa, with_a).unwrap();
    std::fs::write(&fno, &without_a).unwrap();
    let transfer = Transfer::start(&lab, "b", "c", "10.7.0.2", 4);
    std::thread::sleep(Duration::from_millis(500));
    for i in 0..6 {
        let (file, want) = if i % 2 == 0 { (&fno, "nodes removed: a") } else { (&fa, "nodes added: a") };
        let out = ok(cli(&lab, &["reload", file.to_str().unwrap()]));
        assert!(out.contains(want) && out.contains("links kept: lb, lc"), "{out}");
        std::thread::sleep(Duration::from_millis(400));
    }
    let v = transfer.finish();
    // Every one-second interval carried traffic: the stream never stalled.
    let per_s = per_second(&v);
    assert!(per_s.len() >= 4 && per_s.iter().all(|&b| b > 100e6), "Mbit/s per second: {per_s:?}");
    // a is back and reachable; the data plane still answers.
    lab.run_ok("a", &["ping", "-c", "2", "-i", "0.05", "-q", "10.7.0.3"]);
    let (st, status) = http(&lab, "GET", "/api/v1/status", None);
    assert_eq!((st, status["nodes"].as_u64()), (200, Some(3)), "{status}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn metrics_pass_promtool_and_a_real_prometheus_scrapes_them() {
    if !privileged() {
        return;
    }
    let lab = Lab::start(TRIO);
    lab.run_ok("a", &["ping", "-c", "5", "-i", "0.05", "-q", "10.7.0.2"]);
    let (st, text) = http(&lab, "GET", "/metrics", None);
    assert_eq!(st, 200);
    let text = text.as_str().unwrap().to_string();
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (install prometheus)");
    std::io::Write::write_all(check.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // `/metrics` needs the token like everything else.
    let (st, _) = http_as(&lab, None, "GET", "/metrics", None);
    assert_eq!(st, 401);

    // A real Prometheus scrapes it, with the token file as its credentials
    // (as the README's security model says), and answers a query.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("{}prom", lab.prefix));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let target = lab.api.as_deref().unwrap().trim_start_matches("http://").to_string();
    let token_file = faultmesh_api::auth::token_path(lab.api_port().unwrap());
    std::fs::write(dir.join("prometheus.yml"), format!("global:\n  scrape_interval: 500ms\nscrape_configs:\n  - job_name: faultmesh\n    authorization:\n      type: Bearer\n      credentials_file: {}\n    static_configs:\n      - targets: ['{target}']\n", token_file.display())).unwrap();
    let mut prom = Command::new("prometheus")
        .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus (install prometheus)");
    let query = "/api/v1/query?query=faultmesh_link_packets_total%7Blink%3D%22la%22%2Cdirection%3D%22a_to_b%22%2Cstage%3D%22out%22%7D";
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut answer = None;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = write!(s, "GET {query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if let Some(body) = buf.split("\r\n\r\n").nth(1) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(body.trim()) {
                    if let Some(r) = v["data"]["result"].as_array().and_then(|r| r.first()) {
                        answer = Some(r.clone());
                        break;
                    }
                }
            }
        }
    }
    let _ = prom.kill();
    let _ = prom.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let r = answer.expect("Prometheus answered the query");
    let value: f64 = r["value"][1].as_str().unwrap().parse().unwrap();
    assert!(value >= 5.0, "la carried the pings: {r}");
    assert_eq!(r["metric"]["job"], "faultmesh");
}

#[test]
fn bad_requests_change_nothing_and_forwarding_continues() {
    if !privileged() {
        return;
    }
    let lab = Lab::start(TRIO);
    let (_, before) = http(&lab, "GET", "/api/v1/topology", None);
    for (method, path, body, status, field) in [
        ("PATCH", "/api/v1/links/la", r#"{"a_to_b": {"delya": "1ms"}}"#.to_string(), 400, Some("a_to_b.delya")),
        ("PATCH", "/api/v1/links/la", r#"{"a_to_b": {"mtu": "big"}}"#.to_string(), 400, Some("a_to_b.mtu")),
        ("PATCH", "/api/v1/links/la", r#"{"a_to_b": {"rate": "100"}}"#.to_string(), 422, Some("a_to_b.rate")),
        ("PATCH", "/api/v1/links/ghost", r#"{"a_to_b": {"loss": "1%"}}"#.to_string(), 404, None),
        ("PATCH", "/api/v1/links/la", format!(r#"{{"both": {{"delay": "{}"}}}}"#, "9".repeat(200_000)), 413, None),
        (
            "POST",
            "/api/v1/faults",
            r#"{"kind": "loss", "target": "node=a", "percent": "5%", "ttl": "soon"}"#.to_string(),
            422,
            Some("ttl"),
        ),
        (
            "POST",
            "/api/v1/faults",
            r#"{"kind": "loss", "target": "node=zz", "percent": "5%"}"#.to_string(),
            422,
            Some("target"),
        ),
        (
            "PUT",
            "/api/v1/topology",
            "nodes:\n  a: {kind: host, addresses: [10.7.0.1/24]\n".to_string(),
            422,
            Some("body"),
        ),
        ("PUT", "/api/v1/topology", TRIO.replace("delay: 5ms", "delay: 5 ms s"), 422, Some("body")),
        // Empty is not "remove everything".
        ("PUT", "/api/v1/topology", String::new(), 422, Some("body")),
        ("PUT", "/api/v1/topology", " \n\t\n# nothing\n".to_string(), 422, Some("body")),
        ("PUT", "/api/v1/topology", "{}".to_string(), 422, Some("body")),
    ] {
        let (st, v) = http(&lab, method, path, Some(("application/json", body.as_bytes())));
        assert_eq!(st, status, "{method} {path}: {v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        if let Some(f) = field {
            assert_eq!(v["error"]["field"], f, "{v}");
        }
    }
    let (_, v) =
        http(&lab, "PUT", "/api/v1/topology", Some(("application/yaml", b"links:\n  la: {a: a, b: nowhere}\n")));
    assert!(v["error"]["details"].as_array().is_some_and(|d| d.iter().any(|x| x["line"] == 2)), "{v}");
    let (_, after) = http(&lab, "GET", "/api/v1/topology", None);
    assert_eq!(before, after, "the running topology is untouched");
    let (_, faults) = http(&lab, "GET", "/api/v1/faults", None);
    assert!(faults.as_array().unwrap().is_empty());
    let (_, ev) = http(&lab, "GET", "/api/v1/events", None);
    assert!(ev.as_array().unwrap().is_empty(), "no change was recorded: {ev}");
    lab.run_ok("a", &["ping", "-c", "3", "-i", "0.05", "-q", "10.7.0.2"]);
}

/// Interface names in a namespace (`None`: this one).
fn links_in(ns: Option<&str>) -> Vec<String> {
    let mut cmd = Command::new("ip");
    if let Some(ns) = ns {
        cmd.args(["-n", ns]);
    }
    let out = cmd.args(["-o", "link", "show"]).output().unwrap();
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(':').nth(1).map(|n| n.trim().split('@').next().unwrap_or("").to_string()))
        .collect();
    v.sort();
    v
}

/// Removes a namespace the test made, also on panic.
struct TestNs(String);

impl TestNs {
    fn new(name: String) -> TestNs {
        let st = Command::new("ip").args(["netns", "add", &name]).status().unwrap();
        assert!(st.success(), "ip netns add {name}");
        TestNs(name)
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn a_put_that_fails_while_building_leaves_nothing_behind() {
    if !privileged() {
        return;
    }
    let lab = Lab::start(TRIO);
    let (_, before_topo) = http(&lab, "GET", "/api/v1/topology", None);
    let with = |extra_nodes: &str, extra_links: &str| {
        TRIO.replace("nodes:\n", &format!("nodes:\n{extra_nodes}"))
            .replace("  lc: {a: c, b: lan}\n", &format!("  lc: {{a: c, b: lan}}\n{extra_links}"))
    };

    // 1. The second new node's namespace is taken: refused, and the first
    //    new node's namespace is not left behind.
    let taken = TestNs::new(lab.ns("zz"));
    let ns_before = namespaces_with(&lab.prefix);
    let root_before = links_in(None);
    let topo = with(
        "  y: {kind: host, addresses: [10.7.0.4/24]}\n  zz: {kind: host, addresses: [10.7.0.5/24]}\n",
        "  ly: {a: y, b: lan}\n  lz: {a: zz, b: lan}\n",
    );
    let (st, v) = http(&lab, "PUT", "/api/v1/topology", Some(("application/yaml", topo.as_bytes())));
    assert!((400..600).contains(&st) && st != 401, "{st}: {v}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains(&lab.ns("zz"))), "says what failed: {v}");
    assert_eq!(namespaces_with(&lab.prefix), ns_before, "no namespace left behind");
    assert_eq!(links_in(None), root_before, "no device left behind");
    drop(taken);

    // 2. A device that cannot be created (its name belongs to another kind
    //    of interface), after a new host's namespace was made: all undone.
    let scratch = TestNs::new(lab.ns("scratch"));
    let st = Command::new("ip")
        .args(["-n", &scratch.0, "link", "add", "fmbusy0", "type", "veth", "peer", "name", "fmbusy1"])
        .status()
        .unwrap();
    assert!(st.success());
    let ns_before = namespaces_with(&lab.prefix);
    let scratch_before = links_in(Some(&scratch.0));
    let topo = with(
        &format!(
            "  y: {{kind: host, addresses: [10.7.0.4/24]}}\n  t: {{kind: tap, device: fmbusy0, netns: {}, addresses: [10.7.0.6/24]}}\n",
            scratch.0
        ),
        "  ly: {a: y, b: lan}\n  lt: {a: t, b: lan}\n",
    );
    let (st, v) = http(&lab, "PUT", "/api/v1/topology", Some(("application/yaml", topo.as_bytes())));
    assert!((400..600).contains(&st) && st != 401, "{st}: {v}");
    // Valid (so not a 422), but the kernel refuses the device: a JSON error
    // that names it.
    assert!(st == 500 || st == 409, "{st}: {v}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains("fmbusy0")), "says what failed: {v}");
    assert_eq!(namespaces_with(&lab.prefix), ns_before, "no namespace left behind: {v}");
    assert_eq!(links_in(Some(&scratch.0)), scratch_before, "no device left behind: {v}");
    assert_eq!(links_in(None), root_before, "no device left behind: {v}");
    drop(scratch);

    // Nothing changed, nothing was recorded, traffic flows.
    let (_, after_topo) = http(&lab, "GET", "/api/v1/topology", None);
    assert_eq!(before_topo, after_topo);
    let (_, ev) = http(&lab, "GET", "/api/v1/events", None);
    assert!(ev.as_array().unwrap().iter().all(|e| e["action"] != "topology.reload"), "{ev}");
    lab.run_ok("a", &["ping", "-c", "2", "-i", "0.05", "-q", "10.7.0.2"]);
    // The running instance's state file names only what exists.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(faultmesh_emulator::io::setup::state_file(&lab.prefix)).unwrap())
            .unwrap();
    for ns in state["namespaces"].as_array().unwrap() {
        let ns = ns.as_str().unwrap();
        assert!(namespaces_with(ns).iter().any(|n| n == ns), "state file names a namespace that is gone: {ns}");
    }
}
