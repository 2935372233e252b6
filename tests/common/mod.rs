//! Shared helpers for tests that build real network namespaces.
//!
//! Every lab uses a unique name prefix and is torn down when dropped — also on
//! panic: the appliance is killed and `faultmesh cleanup --prefix` removes
//! anything left. Traffic only flows between the lab's own namespaces.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use faultmesh_emulator::io::netns;

pub const BIN: &str = env!("CARGO_BIN_EXE_faultmesh");

/// True when we may build namespaces. Under `CI=true` a missing privilege is
/// a failure, not a skip.
pub fn privileged() -> bool {
    let ok = faultmesh_emulator::io::sys::has_net_admin();
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true: this test must run as root (it builds network namespaces)");
        }
        eprintln!("skipping: needs root or CAP_NET_ADMIN to build network namespaces");
    }
    ok
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A prefix no other lab uses (short: namespace names stay readable).
pub fn unique_prefix() -> String {
    format!("fmt{}x{}-", std::process::id() % 100_000, COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// A running appliance on a topology.
pub struct Lab {
    pub prefix: String,
    child: Option<Child>,
    dir: PathBuf,
    pub stats_path: PathBuf,
    pub stdout: mpsc::Receiver<String>,
    pub extra_args: Vec<String>,
    /// `http://ADDR` of the appliance's API, if it serves one.
    pub api: Option<String>,
    /// The API's bearer token, read from the file `faultmesh run` wrote
    /// (none with `--insecure-no-auth`).
    pub token: Option<String>,
}

impl Lab {
    /// Starts `faultmesh run` on `yaml` and waits until it is ready.
    pub fn start(yaml: &str) -> Lab {
        Self::start_with(yaml, &[])
    }

    /// Like `start`, with extra command-line arguments.
    pub fn start_with(yaml: &str, args: &[&str]) -> Lab {
        Self::start_prefixed(yaml, args, unique_prefix())
    }

    /// Like `start_with`, with a prefix chosen by the caller.
    pub fn start_prefixed(yaml: &str, args: &[&str], prefix: String) -> Lab {
        let dir = std::env::temp_dir().join(format!("{prefix}lab"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("topology.yaml");
        std::fs::write(&file, yaml).unwrap();
        let stats_path = dir.join("stats.json");
        let mut args: Vec<&str> = args.to_vec();
        if !args.iter().any(|a| *a == "--api" || *a == "--no-api") {
            args.extend(["--api", "127.0.0.1:0"]);
        }
        let mut child = Command::new(BIN)
            .arg("run")
            .arg(&file)
            .args(["--prefix", &prefix])
            .arg("--stats-json")
            .arg(&stats_path)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn faultmesh");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lab = Lab {
            prefix,
            child: Some(child),
            dir,
            stats_path,
            stdout: rx,
            extra_args: args.iter().map(|s| s.to_string()).collect(),
            api: None,
            token: None,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match lab.stdout.recv_timeout(Duration::from_millis(100)) {
                Ok(l) if l.contains("faultmesh: ready") => {
                    lab.token = lab.api_port().and_then(|p| {
                        std::fs::read_to_string(faultmesh_api::auth::token_path(p)).ok().map(|t| t.trim().to_string())
                    });
                    break;
                }
                Ok(l) if l.starts_with("faultmesh: API on http://") => {
                    lab.api = l.split_whitespace().nth(3).map(|u| u.trim_end_matches("/api/v1").to_string());
                }
                Ok(_) => {}
                Err(_) => {
                    if let Some(c) = lab.child.as_mut() {
                        if let Ok(Some(st)) = c.try_wait() {
                            panic!("faultmesh exited before ready: {st}");
                        }
                    }
                    assert!(Instant::now() < deadline, "faultmesh did not become ready");
                }
            }
        }
        lab
    }

    /// The port of the API, if it serves one.
    pub fn api_port(&self) -> Option<u16> {
        self.api.as_deref()?.rsplit_once(':')?.1.parse().ok()
    }

    /// The namespace of a host node.
    pub fn ns(&self, node: &str) -> String {
        format!("{}{}", self.prefix, node)
    }

    /// The appliance's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Runs a command inside a node's namespace.
    pub fn exec(&self, node: &str, args: &[&str]) -> Output {
        Command::new("ip").args(["netns", "exec", &self.ns(node)]).args(args).output().expect("ip netns exec")
    }

    /// Runs a command inside a node's namespace and returns stdout; panics on failure.
    pub fn run_ok(&self, node: &str, args: &[&str]) -> String {
        let o = self.exec(node, args);
        assert!(
            o.status.success(),
            "{args:?} in {node} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Pings `ip` from `node` until one reply comes back (up to `tries`
    /// one-second attempts), so the neighbour entries on both sides are
    /// resolved before a measurement. Needed when the path drops ARP/ND
    /// some of the time: the kernel retries a lost ARP request only after
    /// a second, longer than a test's receive timeout.
    pub fn resolve(&self, node: &str, ip: &str, tries: u32) {
        for _ in 0..tries {
            if self.exec(node, &["ping", "-c", "1", "-W", "1", "-q", ip]).status.success() {
                return;
            }
        }
        panic!("{node} never reached {ip} in {tries} attempts");
    }

    /// Sends SIGTERM, waits, returns the final counters.
    pub fn stop(&mut self) -> serde_json::Value {
        if let Some(mut c) = self.child.take() {
            // SAFETY-free: plain kill(1) by pid via the command line tool.
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let st = c.wait().expect("wait");
            assert!(st.success(), "faultmesh exited with {st}");
        }
        let text = std::fs::read_to_string(&self.stats_path).expect("stats json written on exit");
        serde_json::from_str(&text).expect("stats json")
    }

    /// Kills the appliance with SIGKILL (no cleanup of its own).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The child process, if still running (for tests that signal it).
    pub fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// Takes ownership of the child (the test waits for it).
    pub fn take_child(&mut self) -> Option<Child> {
        self.child.take()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            // SIGKILL leaves the token file; the port is free again.
            if let (Some(port), Some(_)) = (self.api_port(), &self.token) {
                let _ = std::fs::remove_file(faultmesh_api::auth::token_path(port));
            }
        }
        let _ = Command::new(BIN).args(["cleanup", "--prefix", &self.prefix, "--force"]).stdout(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Namespaces whose names start with `prefix`.
pub fn namespaces_with(prefix: &str) -> Vec<String> {
    netns::list().into_iter().filter(|n| n.starts_with(prefix)).collect()
}

/// Link counters of direction `dir` ("a_to_b"/"b_to_a") of link `name`.
pub fn link_dir<'a>(stats: &'a serde_json::Value, name: &str, dir: &str) -> &'a serde_json::Value {
    let links = stats["engine"]["links"].as_array().expect("links");
    let l = links.iter().find(|l| l["name"] == name).unwrap_or_else(|| panic!("no link {name}"));
    &l[dir]
}

/// A drop count by reason from a direction's counters (0 if absent).
pub fn drops(dir: &serde_json::Value, reason: &str) -> u64 {
    dir["drops"][reason].as_u64().unwrap_or(0)
}

/// ping's summary line: (min, avg, max, mdev) in ms, and (sent, received).
pub fn ping_stats(out: &str) -> ((f64, f64, f64, f64), (u32, u32)) {
    let rtt = out.lines().find(|l| l.contains("min/avg/max")).unwrap_or_else(|| panic!("no rtt line in {out}"));
    let field = rtt.split('=').nth(1).unwrap().trim();
    let field = field.split(" ms").next().unwrap();
    let nums: Vec<f64> = field.split('/').map(|x| x.trim().parse().unwrap()).collect();
    let pk = out.lines().find(|l| l.contains("packets transmitted")).unwrap();
    let w: Vec<&str> = pk.split_whitespace().collect();
    ((nums[0], nums[1], nums[2], nums[3]), (w[0].parse().unwrap(), w[3].parse().unwrap()))
}

/// The per-reply RTTs (ms) in ping's output, sorted.
pub fn ping_rtts(out: &str) -> Vec<f64> {
    let mut v: Vec<f64> = out
        .lines()
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.split_whitespace().next()?.parse().ok())
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The median of a sorted, non-empty slice.
pub fn median(sorted: &[f64]) -> f64 {
    faultmesh_probe::stats::median(sorted)
}

/// A UDP socket bound inside a node's namespace.
pub fn udp_in(ns: &str, bind: SocketAddr) -> UdpSocket {
    netns::run_in(Some(ns), || UdpSocket::bind(bind)).expect("udp socket in namespace")
}

/// Sends `n` numbered datagrams from `src_ns` to `dst`, `gap` apart, and
/// returns the sequence numbers the receiver got (in arrival order): the
/// probe library's stream, the one the demo uses.
pub fn udp_stream(src_ns: &str, dst_ns: &str, dst: SocketAddr, n: u32, gap: Duration, payload: usize) -> Vec<u32> {
    faultmesh_probe::udp::numbered(src_ns, dst_ns, dst, n, gap, payload).expect("UDP stream")
}

/// Runs iperf3 (server in `srv`, client in `cli`) and returns received bits/s.
pub fn iperf3(lab: &Lab, srv: &str, cli: &str, addr: &str, extra: &[&str]) -> f64 {
    let addr: IpAddr = addr.parse().expect("iperf3 address");
    let r = faultmesh_probe::iperf::run(&lab.ns(cli), &lab.ns(srv), addr, extra).expect("iperf3 (install iperf3)");
    r.received_bps().unwrap_or_else(|| panic!("no throughput in {}", r.json))
}

/// Reads a counter from /proc/net/snmp inside a namespace (e.g. "Udp", "InCsumErrors").
pub fn snmp(ns: &str, proto: &str, field: &str) -> u64 {
    let mut s = String::new();
    // /proc/self/net follows the process; thread-self follows this thread's namespace.
    let path = format!("/proc/thread-self/net/{}", if proto == "Udp6" { "snmp6" } else { "snmp" });
    netns::run_in(Some(ns), || std::fs::File::open(&path)?.read_to_string(&mut s)).unwrap();
    if proto == "Udp6" {
        return s
            .lines()
            .find_map(|l| l.strip_prefix(&format!("Udp6{field}")).map(|v| v.trim().parse().unwrap()))
            .unwrap_or(0);
    }
    let lines: Vec<&str> = s.lines().filter(|l| l.starts_with(&format!("{proto}:"))).collect();
    let keys: Vec<&str> = lines[0].split_whitespace().collect();
    let vals: Vec<&str> = lines[1].split_whitespace().collect();
    let i = keys.iter().position(|k| *k == field).unwrap_or_else(|| panic!("no {proto} {field}"));
    vals[i].parse().unwrap()
}

/// A plain HTTP/1.1 request to the lab's API with its token; returns status
/// and JSON (or the body as a string).
pub fn http(lab: &Lab, method: &str, path: &str, body: Option<(&str, &[u8])>) -> (u16, serde_json::Value) {
    http_as(lab, lab.token.as_deref(), method, path, body)
}

/// Like [`http`], with the bearer token `token` (none: no header).
pub fn http_as(
    lab: &Lab,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
) -> (u16, serde_json::Value) {
    use std::io::Write;
    let base = lab.api.as_deref().expect("lab serves the API");
    let host = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).expect("connect to the API");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(t) = token {
        head += &format!("Authorization: Bearer {t}\r\n");
    }
    match body {
        Some((ct, b)) => head += &format!("Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n", b.len()),
        None => head += "Content-Length: 0\r\n\r\n",
    }
    s.write_all(head.as_bytes()).unwrap();
    if let Some((_, b)) = body {
        // A server may answer (413) and close before reading everything.
        let _ = s.write_all(b);
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    let v = serde_json::from_str(body).unwrap_or_else(|_| serde_json::Value::String(body.to_string()));
    (status, v)
}

/// JSON request helper.
pub fn http_json(lab: &Lab, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    http(lab, method, path, Some(("application/json", body.as_bytes())))
}

/// Runs the faultmesh CLI against the lab's API. It finds the token itself
/// (the file `faultmesh run` wrote for the port), as an operator's would.
pub fn cli(lab: &Lab, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("FAULTMESH_API", lab.api.as_deref().unwrap())
        .env_remove("FAULTMESH_TOKEN")
        .output()
        .unwrap()
}
