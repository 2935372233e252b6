//! `faultmesh bench`: throughput, packet rate, latency and fidelity of
//! faultmesh against the kernel, measured in one run on this machine.
//!
//! Paths compared, all client → router → server between network namespaces:
//! the kernel (a router namespace with `ip_forward`, and `tbf` for rate
//! limits), faultmesh over veth/AF_PACKET, and faultmesh over TUN. Results are
//! printed as a table with ratios against the kernel and written as JSON (with
//! machine information) to `bench/results/`. Everything it creates is removed
//! at the end, also on error.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use faultmesh_api::ApplianceBackend;
use faultmesh_emulator::impair::{DelaySpec, Impairments, LossSpec, RateSpec};
use faultmesh_emulator::io::appliance::Appliance;
use faultmesh_emulator::io::dataplane::{LoopStats, Options};
use faultmesh_emulator::io::netlink::{self, NetlinkOp};
use faultmesh_emulator::io::{netns, sys};
use faultmesh_emulator::topology::{self, Cidr, ScriptRef, Topology};
use faultmesh_probe::stats::quantile;
use faultmesh_scripting::LuaScripts;
use serde_json::{Value, json};

use super::summary::render;

/// Options of `faultmesh bench`.
#[derive(clap::Args, Debug)]
pub(crate) struct BenchArgs {
    /// Shorter runs (2 s per measurement): a smoke test, not a measurement.
    #[arg(long)]
    quick: bool,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Skip the TUN path.
    #[arg(long)]
    no_tun: bool,
    /// Skip the rate-fidelity sweep (the longest part).
    #[arg(long)]
    no_rates: bool,
}

const CLIENT: &str = "10.88.1.2";
const SERVER: &str = "10.88.2.2";

fn topo(device: &str) -> Topology {
    let y = format!(
        "name: bench\nseed: 5\nnodes:\n  client: {{kind: host, device: {device}, addresses: [10.88.1.2/24], gateway: 10.88.1.1}}\n  server: {{kind: host, device: {device}, addresses: [10.88.2.2/24], gateway: 10.88.2.1}}\nsegments:\n  r: {{kind: router, addresses: [10.88.1.1/24, 10.88.2.1/24]}}\nlinks:\n  up: {{a: client, b: r}}\n  down: {{a: r, b: server}}\n"
    );
    topology::parse_str(&y, "bench", None).expect("built-in topology")
}

/// Namespaces of the kernel baseline; removed on drop.
struct KernelLab {
    prefix: String,
}

impl KernelLab {
    fn new(prefix: &str) -> anyhow::Result<KernelLab> {
        let lab = KernelLab { prefix: prefix.to_string() };
        let (c, r, s) = (lab.ns("kc"), lab.ns("kr"), lab.ns("ks"));
        for ns in [&c, &r, &s] {
            netns::add(ns)?;
        }
        let veth = |name: &str, netns: &str, peer: &str, peer_netns: &str| NetlinkOp::CreateVeth {
            name: name.into(),
            netns: netns.into(),
            peer: peer.into(),
            peer_netns: peer_netns.into(),
            mtu_bytes: 1500,
        };
        let up = |dev: &str| NetlinkOp::SetLinkUp { dev: dev.into(), mac: None, mtu_bytes: None };
        let addr = |dev: &str, a: &str| -> anyhow::Result<NetlinkOp> {
            let (ip, len) = a.split_once('/').context("address")?;
            Ok(NetlinkOp::AddAddress { dev: dev.into(), addr: Cidr { addr: ip.parse()?, prefix: len.parse()? } })
        };
        let route = |dev: &str, via: &str| -> anyhow::Result<NetlinkOp> {
            Ok(NetlinkOp::AddDefaultRoute { dev: dev.into(), via: via.parse()? })
        };
        netlink::apply(None, &[veth("c0", &c, "r0", &r), veth("s0", &s, "r1", &r)])?;
        netlink::apply(Some(&c), &[up("lo"), up("c0"), addr("c0", "10.88.1.2/24")?, route("c0", "10.88.1.1")?])?;
        netlink::apply(Some(&s), &[up("lo"), up("s0"), addr("s0", "10.88.2.2/24")?, route("s0", "10.88.2.1")?])?;
        netlink::apply(Some(&r), &[up("r0"), up("r1"), addr("r0", "10.88.1.1/24")?, addr("r1", "10.88.2.1/24")?])?;
        netns::sysctl(Some(&r), "net/ipv4/ip_forward", "1")?;
        Ok(lab)
    }

    fn ns(&self, n: &str) -> String {
        format!("{}{n}", self.prefix)
    }

    fn tbf(&self, rate_bps: Option<u64>) -> anyhow::Result<()> {
        let r = self.ns("kr");
        let _ = Command::new("tc").args(["-n", &r, "qdisc", "del", "dev", "r1", "root"]).stderr(Stdio::null()).status();
        if let Some(bps) = rate_bps {
            let (burst, limit) = shaping(bps);
            let st = Command::new("tc")
                .args([
                    "-n",
                    &r,
                    "qdisc",
                    "add",
                    "dev",
                    "r1",
                    "root",
                    "tbf",
                    "rate",
                    &format!("{bps}bit"),
                    "burst",
                    &burst.to_string(),
                    "limit",
                    &limit.to_string(),
                ])
                .status()?;
            if !st.success() {
                bail!("tc tbf failed");
            }
        }
        Ok(())
    }
}

impl KernelLab {
    /// Packets the router has sent towards the server so far.
    fn forwarded_packets(&self) -> anyhow::Result<u64> {
        // `ip netns exec` (argument vector, constant names) because it
        // remounts /sys for the namespace: a setns'd thread would read the
        // counters of faultmesh's own namespace.
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns("kr"), "cat", "/sys/class/net/r1/statistics/tx_packets"])
            .output()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().context("r1 tx_packets")
    }

    /// Wire bytes the router's `tbf` has released so far (its qdisc
    /// counter: every segment's headers, as tbf charges them).
    fn tbf_sent_bytes(&self) -> anyhow::Result<u64> {
        let out = Command::new("tc").args(["-n", &self.ns("kr"), "-s", "-j", "qdisc", "show", "dev", "r1"]).output()?;
        let v: Value = serde_json::from_slice(&out.stdout).context("tc -s -j qdisc output")?;
        v.as_array()
            .and_then(|a| a.iter().find(|q| q["kind"] == "tbf"))
            .and_then(|q| q["bytes"].as_u64())
            .context("no tbf byte counter in `tc -s -j qdisc show`")
    }
}

/// Packets faultmesh has forwarded to the server so far (link `down`,
/// router → server).
fn fm_forwarded_packets(backend: &ApplianceBackend) -> anyhow::Result<u64> {
    let s = backend.snapshot().context("data-plane snapshot")?;
    s.engine.links.iter().find(|l| l.name == "down").map(|l| l.a_to_b.counters.tx_packets).context("link `down`")
}

/// Wire bytes faultmesh's shaped direction (link `up`, client → router) has
/// released so far.
fn fm_sent_bytes(backend: &ApplianceBackend) -> anyhow::Result<u64> {
    let s = backend.snapshot().context("data-plane snapshot")?;
    s.engine.links.iter().find(|l| l.name == "up").map(|l| l.a_to_b.counters.tx_bytes).context("link `up`")
}

/// A rate run: one TCP stream for `secs` through a shaper, and meanwhile the
/// shaper's output rate read from its own byte counter over the steady part
/// of the run (after `warm`, up to a second before the end), so TCP's
/// start-up, the queue filling and iperf3's goodput accounting stay out of
/// it. Returns (goodput bit/s, shaper output bit/s).
fn rate_run(
    c: &str,
    s: &str,
    secs: u64,
    warm: Duration,
    sent_bytes: impl Fn() -> anyhow::Result<u64>,
) -> anyhow::Result<(f64, f64)> {
    let (c2, s2) = (c.to_string(), s.to_string());
    let stream = std::thread::spawn(move || tcp_bps(&c2, &s2, 1, secs));
    // Read the counter and stamp the read with the middle of its interval.
    let sample = || -> anyhow::Result<(Instant, u64)> {
        let t0 = Instant::now();
        let b = sent_bytes()?;
        Ok((t0 + t0.elapsed() / 2, b))
    };
    // iperf3's server gets 300 ms to start before the client does.
    std::thread::sleep(Duration::from_millis(300) + warm);
    let (t0, b0) = sample()?;
    let window = Duration::from_secs(secs).saturating_sub(warm + Duration::from_secs(1)).max(Duration::from_secs(1));
    std::thread::sleep(window);
    let (t1, b1) = sample()?;
    let goodput = stream.join().map_err(|_| anyhow::anyhow!("iperf3 thread panicked"))??;
    Ok((goodput, (b1 - b0) as f64 * 8.0 / (t1 - t0).as_secs_f64()))
}

impl Drop for KernelLab {
    fn drop(&mut self) {
        for n in ["kc", "kr", "ks"] {
            let _ = netns::del(&self.ns(n));
        }
    }
}

/// Bucket and queue for a rate, the same for tbf and faultmesh: a burst of
/// one kernel tick (HZ = 250) or two frames, 100 ms of queue.
fn shaping(bps: u64) -> (u64, u64) {
    ((bps / 8 / 250).max(3028), (bps / 8 / 10).max(15_140))
}

/// iperf3 between two namespaces (the probe library starts both ends
/// inside their namespaces: no `ip netns exec`, no shell).
fn iperf3(client_ns: &str, server_ns: &str, server: &str, args: &[&str]) -> anyhow::Result<Value> {
    let addr = server.parse().context("server address")?;
    Ok(faultmesh_probe::iperf::run(client_ns, server_ns, addr, args)?.json)
}

fn tcp_bps(c: &str, s: &str, streams: u32, secs: u64) -> anyhow::Result<f64> {
    let v = iperf3(c, s, SERVER, &["-t", &secs.to_string(), "-O", "1", "-P", &streams.to_string()])?;
    v["end"]["sum_received"]["bits_per_second"].as_f64().context("no TCP result")
}

/// 64-byte UDP at full speed: (received/s, sent/s, forwarded/s), the last
/// from the router's own packet counter read before and after the run
/// (`None`: not counted).
fn udp_pps(
    c: &str,
    s: &str,
    secs: u64,
    forwarded: Option<&dyn Fn() -> anyhow::Result<u64>>,
) -> anyhow::Result<(f64, f64, Option<f64>)> {
    let f0 = forwarded.map(|f| f()).transpose()?;
    let v = iperf3(c, s, SERVER, &["-u", "-b", "0", "-l", "64", "-t", &secs.to_string()])?;
    let f1 = forwarded.map(|f| f()).transpose()?;
    let e = &v["end"]["sum"];
    let (pk, lost, t) = (
        e["packets"].as_f64().unwrap_or(0.0),
        e["lost_packets"].as_f64().unwrap_or(0.0),
        e["seconds"].as_f64().unwrap_or(1.0),
    );
    let fwd = f0.zip(f1).map(|(a, b)| b.saturating_sub(a) as f64 / t);
    Ok(((pk - lost) / t, pk / t, fwd))
}

/// How much this machine interrupts a thread that never sleeps: a loop
/// reading the monotonic clock for `secs`; returns (longest gap in µs, gaps
/// over 100 µs per second). On a VM the gaps are the host running something
/// else (steal time) or guest interrupts; no user-space timer can release a
/// packet more precisely than this, which bounds the delay error's maximum.
fn spin_noise(secs: f64) -> (f64, f64) {
    let start = Instant::now();
    let mut last = start;
    let (mut max_ns, mut gaps) = (0u128, 0u64);
    loop {
        let t = Instant::now();
        let d = (t - last).as_nanos();
        last = t;
        max_ns = max_ns.max(d);
        gaps += u64::from(d > 100_000);
        if (t - start).as_secs_f64() >= secs {
            break;
        }
    }
    (max_ns as f64 / 1e3, gaps as f64 / secs)
}

/// The data plane's release lateness over an interval: the histogram
/// difference of two snapshots (its quantiles are histogram upper bounds,
/// 1 µs wide below 1 ms).
fn lateness_between(before: &LoopStats, after: &LoopStats) -> LoopStats {
    let mut d = after.clone();
    d.deadlines = after.deadlines - before.deadlines;
    for (x, y) in d.lateness_hist.iter_mut().zip(&before.lateness_hist) {
        *x -= y;
    }
    d
}

/// CPU time stolen by the hypervisor so far, in clock ticks, all CPUs
/// (`/proc/stat`, field 8 of the `cpu` line); `None` if unreadable.
fn steal_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines().next()?.split_whitespace().nth(8)?.parse().ok()
}

/// Mean round-trip time (ms) of 100 ICMP echoes 10 ms apart, after two
/// that resolve the neighbours.
fn rtt_ms(c: &str) -> anyhow::Result<f64> {
    let server = SERVER.parse().context("server address")?;
    let _ = faultmesh_probe::ping::ping(c, server, 2, Duration::from_millis(10));
    let p = faultmesh_probe::ping::ping(c, server, 100, Duration::from_millis(10))?;
    let rtts = p.rtts_ms_sorted();
    if rtts.is_empty() {
        bail!("no echo replies from {SERVER}");
    }
    Ok(rtts.iter().sum::<f64>() / rtts.len() as f64)
}

/// One-way delays (ns) of `n` timestamped datagrams sent `gap` apart, read
/// from the kernel's receive timestamps.
fn oneway(c: &str, s: &str, n: u32, gap: Duration) -> anyhow::Result<Vec<i64>> {
    let dst = std::net::SocketAddr::new(SERVER.parse().context("server address")?, 7700);
    Ok(faultmesh_probe::udp::oneway_ns(c, s, dst, n, gap)?)
}

fn dataplane_tid() -> Option<u32> {
    std::fs::read_dir("/proc/self/task").ok()?.filter_map(|e| e.ok()).find_map(|e| {
        let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
        (comm.trim() == "fm-dataplane").then(|| e.file_name().to_str()?.parse().ok()).flatten()
    })
}

struct Progress {
    step: usize,
    total: usize,
    t0: Instant,
}

impl Progress {
    fn next(&mut self, what: &str) {
        self.step += 1;
        eprintln!("[{:>2}/{}] {:>5.0}s  {what}", self.step, self.total, self.t0.elapsed().as_secs_f64());
    }
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|x| x.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_default();
    let cores = cpu.lines().filter(|l| l.starts_with("processor")).count();
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default().lines().next().unwrap_or("").to_string();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let iperf = Command::new("iperf3")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").to_string())
        .unwrap_or_default();
    json!({"cpu": model, "cores": cores, "memory": mem, "kernel": kernel, "iperf3": iperf, "faultmesh": env!("CARGO_PKG_VERSION"), "unix_time": faultmesh_api::events::unix_ms() / 1000})
}

fn set(backend: &ApplianceBackend, imp: Impairments) -> anyhow::Result<()> {
    backend.set_link(0, imp, Impairments::default()).map_err(|e| anyhow::anyhow!("{e}"))
}

pub(crate) fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(code) = super::run::require_privileges("bench") {
        return Ok(code);
    }
    for tool in ["iperf3", "ping", "tc"] {
        if Command::new(tool).arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
            bail!("`{tool}` is not installed (bash scripts/setup installs it)");
        }
    }
    let secs: u64 = if args.quick { 2 } else { 5 };
    // Rate runs last long enough to hold a few thousand packets: at 1 Mbit/s
    // a 6 s run is ~500 packets, and TCP's start-up and the queue's fill
    // skewed the result by +1.2% in one run (a 30 s run through the same
    // shaper measured -0.01% from iperf3 and -0.014% from the link counters).
    let rate_secs = |bps: u64| if args.quick { secs + 1 } else { (60_000_000 / bps.max(1)).clamp(secs + 1, 30) };
    let warm = Duration::from_secs(if args.quick { 1 } else { 2 });
    let rates: Vec<u64> = if args.no_rates { vec![] } else { vec![1_000_000, 10_000_000, 100_000_000, 1_000_000_000] };
    let mut p = Progress { step: 0, total: 13 + if args.no_tun { 0 } else { 4 } + rates.len() * 2, t0: Instant::now() };
    let prefix = format!("fmb{}-", std::process::id());
    let mut r: BTreeMap<&str, Value> = BTreeMap::new();

    p.next("machine: scheduling noise (spin loop)");
    let (gap_max_us, gaps_per_s) = spin_noise(if args.quick { 1.0 } else { 3.0 });
    r.insert("machine_spin_gap_max_us", json!(gap_max_us));
    r.insert("machine_spin_gaps_over_100us_per_s", json!(gaps_per_s));

    // ---- kernel baseline ----------------------------------------------------
    let k = KernelLab::new(&prefix)?;
    let (kc, ks) = (k.ns("kc"), k.ns("ks"));
    p.next("kernel: TCP, 1 stream");
    r.insert("kernel_tcp1_bps", json!(tcp_bps(&kc, &ks, 1, secs)?));
    p.next("kernel: TCP, 2 streams");
    r.insert("kernel_tcp2_bps", json!(tcp_bps(&kc, &ks, 2, secs)?));
    p.next("kernel: 64-byte UDP packets/s");
    let (kpps, ksent, kfwd) = udp_pps(&kc, &ks, secs, Some(&|| k.forwarded_packets()))?;
    r.insert("kernel_udp64_pps", json!(kpps));
    r.insert("kernel_udp64_sent_pps", json!(ksent));
    r.insert("kernel_udp64_fwd_pps", json!(kfwd));
    p.next("kernel: RTT and one-way delay");
    r.insert("kernel_rtt_ms", json!(rtt_ms(&kc)?));
    let mut kbase = oneway(&kc, &ks, if args.quick { 500 } else { 2000 }, Duration::from_millis(1))?;
    kbase.sort_unstable();
    let kernel_oneway = kbase.get(kbase.len() / 2).copied().unwrap_or(0);
    r.insert("kernel_oneway_median_us", json!(kernel_oneway as f64 / 1e3));
    for &bps in &rates {
        p.next(&format!("kernel tbf: TCP at {} Mbit/s", bps / 1_000_000));
        k.tbf(Some(bps))?;
        let (got, out) = rate_run(&kc, &ks, rate_secs(bps), warm, || k.tbf_sent_bytes())?;
        r.insert(Box::leak(format!("tbf_{}_bps", bps / 1_000_000).into_boxed_str()), json!(got));
        r.insert(Box::leak(format!("tbf_{}_shaper_bps", bps / 1_000_000).into_boxed_str()), json!(out));
    }
    k.tbf(None)?;

    // ---- faultmesh over veth ------------------------------------------------
    let app = Appliance::start(&topo("veth"), &format!("{prefix}v-"), Options::default())?;
    let backend = Arc::new(ApplianceBackend::new(app).context("data plane")?);
    let (vc, vs) = (format!("{prefix}v-client"), format!("{prefix}v-server"));
    // Warm the neighbour caches with the real `ping` (via `ip netns exec`).
    let _ = Command::new("ip").args(["netns", "exec", &vc, "ping", "-c", "2", "-q", SERVER]).output();
    p.next("faultmesh veth: idle CPU (3 s)");
    std::thread::sleep(Duration::from_millis(500));
    let c0 = sys::cpu_time_ns(None);
    std::thread::sleep(Duration::from_secs(3));
    r.insert("fm_idle_cpu_percent", json!((sys::cpu_time_ns(None) - c0) as f64 / 3e9 * 100.0));
    p.next("faultmesh veth: TCP, 1 stream (+ data-plane CPU)");
    let tid = dataplane_tid();
    let (d0, w0) = (tid.map_or(0, |t| sys::cpu_time_ns(Some(t))), Instant::now());
    r.insert("fm_veth_tcp1_bps", json!(tcp_bps(&vc, &vs, 1, secs)?));
    r.insert(
        "fm_load_cpu_percent",
        json!(
            tid.map_or(0, |t| sys::cpu_time_ns(Some(t))).saturating_sub(d0) as f64 / w0.elapsed().as_nanos() as f64
                * 100.0
        ),
    );
    p.next("faultmesh veth: TCP, 2 streams");
    r.insert("fm_veth_tcp2_bps", json!(tcp_bps(&vc, &vs, 2, secs)?));
    p.next("faultmesh veth: 64-byte UDP packets/s");
    let (vpps, vsent, vfwd) = udp_pps(&vc, &vs, secs, Some(&|| fm_forwarded_packets(&backend)))?;
    r.insert("fm_veth_udp64_pps", json!(vpps));
    r.insert("fm_veth_udp64_sent_pps", json!(vsent));
    r.insert("fm_veth_udp64_fwd_pps", json!(vfwd));
    p.next("faultmesh veth: RTT");
    r.insert("fm_veth_rtt_ms", json!(rtt_ms(&vc)?));

    p.next("faultmesh: delay fidelity, 10 ms configured (timestamped UDP)");
    let n = if args.quick { 500 } else { 3000 };
    let mut base: Vec<i64> = oneway(&vc, &vs, n, Duration::from_millis(1))?;
    base.sort_unstable();
    let base_med = base.get(base.len() / 2).copied().unwrap_or(0);
    set(&backend, Impairments { delay: Some(DelaySpec::fixed(Duration::from_millis(10))), ..Default::default() })?;
    let (steal0, w0) = (steal_ticks(), Instant::now());
    let loop0 = backend.snapshot().map(|x| x.loop_stats);
    let d = oneway(&vc, &vs, n, Duration::from_millis(1))?;
    if let (Some(a), Some(b)) = (loop0, backend.snapshot().map(|x| x.loop_stats)) {
        let run = lateness_between(&a, &b);
        r.insert(
            "fm_delay_release_lateness_us",
            json!({"deadlines": run.deadlines, "p50": run.lateness_quantile_ns(0.5) as f64 / 1e3,
                   "p99": run.lateness_quantile_ns(0.99) as f64 / 1e3, "max": run.lateness_quantile_ns(1.0) as f64 / 1e3}),
        );
    }
    if let (Some(a), Some(b)) = (steal0, steal_ticks()) {
        // /proc/stat counts in USER_HZ, which the kernel ABI fixes at 100.
        let hz = 100.0;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        r.insert("delay_run_steal_percent", json!((b - a) as f64 / hz / (w0.elapsed().as_secs_f64() * cpus) * 100.0));
    }
    // The error is against an ideal 10 ms link: what the kernel takes to
    // forward between the same namespaces, plus 10 ms. (A packet's delay
    // runs from when the kernel received it, so faultmesh's own receive
    // path is inside the 10 ms; against faultmesh's zero-delay transit the
    // error would be about that receive path, negative.)
    let mut err: Vec<f64> = d.iter().map(|x| ((x - 10_000_000 - kernel_oneway) as f64 / 1e3).abs()).collect();
    err.sort_by(f64::total_cmp);
    let mut signed: Vec<f64> = d.iter().map(|x| (x - 10_000_000 - kernel_oneway) as f64 / 1e3).collect();
    signed.sort_by(f64::total_cmp);
    let mut vs_fm: Vec<f64> = d.iter().map(|x| ((x - 10_000_000 - base_med) as f64 / 1e3).abs()).collect();
    vs_fm.sort_by(f64::total_cmp);
    r.insert(
        "fm_delay_error_us",
        json!({"p50": quantile(&err, 0.5), "p99": quantile(&err, 0.99), "max": err.last(), "min_signed": signed.first(), "median_signed": quantile(&signed, 0.5),
               "samples": err.len(), "sent": n, "kernel_oneway_median_us": kernel_oneway as f64 / 1e3, "fm_zero_delay_oneway_median_us": base_med as f64 / 1e3,
               "vs_fm_zero_delay_p50": quantile(&vs_fm, 0.5), "vs_fm_zero_delay_p99": quantile(&vs_fm, 0.99)}),
    );

    for &bps in &rates {
        p.next(&format!("faultmesh: TCP at {} Mbit/s", bps / 1_000_000));
        let (burst, q) = shaping(bps);
        set(
            &backend,
            Impairments {
                rate: Some(RateSpec {
                    rate_bps: bps,
                    burst_bytes: burst,
                    queue_packets: None,
                    queue_bytes: Some(q),
                    overhead_bytes: 0,
                }),
                ..Default::default()
            },
        )?;
        let (got, out) = rate_run(&vc, &vs, rate_secs(bps), warm, || fm_sent_bytes(&backend))?;
        r.insert(Box::leak(format!("fm_rate_{}_bps", bps / 1_000_000).into_boxed_str()), json!(got));
        r.insert(Box::leak(format!("fm_rate_{}_shaper_bps", bps / 1_000_000).into_boxed_str()), json!(out));
    }

    p.next("faultmesh: loss ratio, 5% configured");
    set(&backend, Impairments { loss: Some(LossSpec::Random { p: 0.05, correlation: 0.0 }), ..Default::default() })?;
    let nl = 20_000u32;
    let rx = netns::run_in(Some(&vs), || UdpSocket::bind((SERVER, 7701)))?;
    rx.set_read_timeout(Some(Duration::from_millis(1000)))?;
    let counter = std::thread::spawn(move || {
        let mut n = 0u32;
        let mut b = [0u8; 16];
        while rx.recv(&mut b).is_ok() {
            n += 1;
        }
        n
    });
    let tx = netns::run_in(Some(&vc), || UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)))?;
    let t0 = Instant::now();
    for i in 0..nl {
        while t0.elapsed() < Duration::from_micros(50) * i {
            std::hint::spin_loop();
        }
        tx.send_to(&i.to_be_bytes(), (SERVER, 7701))?;
    }
    let got = counter.join().unwrap_or(0);
    let ratio = f64::from(nl - got) / f64::from(nl);
    let half = 3.2905 * (0.05 * 0.95 / f64::from(nl)).sqrt();
    r.insert("fm_loss", json!({"configured": 0.05, "measured": ratio, "interval_999": [0.05 - half, 0.05 + half], "inside": (ratio - 0.05).abs() <= half}));

    p.next("faultmesh: 64-byte UDP with a pass-through Lua script");
    set(&backend, Impairments::default())?;
    let script = ScriptRef {
        path: PathBuf::new(),
        file: "pass.lua".into(),
        source: Some("function filter(pkt) return PASS end".into()),
        params: Default::default(),
        drop_on_error: false,
        directions: [true, true],
    };
    let mut scripted = topo("veth");
    scripted.links[0].script = Some(script);
    let errs = LuaScripts::default().install_now(backend.handle(), &scripted);
    if !errs.is_empty() {
        bail!("script: {errs:?}");
    }
    let (lpps, _, _) = udp_pps(&vc, &vs, secs, None)?;
    r.insert("fm_lua_udp64_pps", json!(lpps));
    drop(backend);

    // ---- faultmesh over TUN -------------------------------------------------
    if !args.no_tun {
        let app = Appliance::start(&topo("tun"), &format!("{prefix}t-"), Options::default())?;
        let (tc, ts) = (format!("{prefix}t-client"), format!("{prefix}t-server"));
        // Warm the neighbour caches with the real `ping` (via `ip netns exec`).
        let _ = Command::new("ip").args(["netns", "exec", &tc, "ping", "-c", "2", "-q", SERVER]).output();
        p.next("faultmesh TUN: TCP, 1 stream");
        r.insert("fm_tun_tcp1_bps", json!(tcp_bps(&tc, &ts, 1, secs)?));
        p.next("faultmesh TUN: TCP, 2 streams");
        r.insert("fm_tun_tcp2_bps", json!(tcp_bps(&tc, &ts, 2, secs)?));
        p.next("faultmesh TUN: 64-byte UDP packets/s");
        r.insert("fm_tun_udp64_pps", json!(udp_pps(&tc, &ts, secs, None)?.0));
        p.next("faultmesh TUN: RTT");
        r.insert("fm_tun_rtt_ms", json!(rtt_ms(&tc)?));
        drop(app);
    }
    drop(k);
    let _ = CLIENT;

    let table = report(&r, &rates);
    println!("{table}");
    let doc = json!({"machine": machine(), "quick": args.quick, "seconds_per_measurement": secs, "results": r, "duration_s": p.t0.elapsed().as_secs_f64()});
    std::fs::create_dir_all(&args.out)?;
    let name = format!("bench-{}.json", faultmesh_api::events::unix_ms() / 1000);
    let path: &Path = &args.out.join(&name);
    std::fs::write(path, serde_json::to_vec_pretty(&doc)?)?;
    std::fs::write(args.out.join("latest.json"), serde_json::to_vec_pretty(&doc)?)?;
    std::fs::write(args.out.join("latest.txt"), &table)?;
    println!("results: {} (and latest.json, latest.txt)", path.display());
    Ok(ExitCode::SUCCESS)
}

fn f(r: &BTreeMap<&str, Value>, k: &str) -> Option<f64> {
    r.get(k).and_then(|v| v.as_f64())
}

/// The comparison table.
fn report(r: &BTreeMap<&str, Value>, rates: &[u64]) -> String {
    let g = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{:.2}", v / 1e9));
    let kp = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{:.0}k", v / 1e3));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!(" ({:.2}x)", a / b),
        _ => String::new(),
    };
    let mut rows = vec![["MEASUREMENT".to_string(), "KERNEL".into(), "FAULTMESH VETH".into(), "FAULTMESH TUN".into()]];
    for (label, key, fmt) in [
        ("TCP 1 stream, Gbit/s", "tcp1_bps", 0),
        ("TCP 2 streams, Gbit/s", "tcp2_bps", 0),
        ("64 B UDP received, packets/s", "udp64_pps", 1),
        ("  forwarded by the router, packets/s", "udp64_fwd_pps", 1),
        ("  sent by iperf3, packets/s", "udp64_sent_pps", 1),
    ] {
        let (k, v, t) =
            (f(r, &format!("kernel_{key}")), f(r, &format!("fm_veth_{key}")), f(r, &format!("fm_tun_{key}")));
        let show = |x| if fmt == 0 { g(x) } else { kp(x) };
        rows.push([label.into(), show(k), show(v) + &ratio(v, k), show(t) + &ratio(t, k)]);
    }
    let ms = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.3} ms"));
    rows.push(["RTT (ping)".into(), ms(f(r, "kernel_rtt_ms")), ms(f(r, "fm_veth_rtt_ms")), ms(f(r, "fm_tun_rtt_ms"))]);
    if let Some(d) = r.get("fm_delay_error_us") {
        rows.push([
            "delay error, 10 ms configured".into(),
            "(netem: median 71 us, worst 769 us, published)".into(),
            format!(
                "p50 {:.1} us, p99 {:.1} us, max {:.1} us vs kernel transit + 10 ms (median {:+.1} us; vs faultmesh's zero-delay transit p50 {:.1}, p99 {:.1} us)",
                d["p50"].as_f64().unwrap_or(f64::NAN),
                d["p99"].as_f64().unwrap_or(f64::NAN),
                d["max"].as_f64().unwrap_or(f64::NAN),
                d["median_signed"].as_f64().unwrap_or(f64::NAN),
                d["vs_fm_zero_delay_p50"].as_f64().unwrap_or(f64::NAN),
                d["vs_fm_zero_delay_p99"].as_f64().unwrap_or(f64::NAN)
            ),
            "-".into(),
        ]);
    }
    if let Some(gap) = f(r, "machine_spin_gap_max_us") {
        rows.push([
            "  machine noise floor".into(),
            format!(
                "spin loop: longest gap {gap:.0} us, {:.1} gaps > 100 us per s",
                f(r, "machine_spin_gaps_over_100us_per_s").unwrap_or(f64::NAN)
            ),
            format!(
                "release lateness inside the data plane: p50 {}, p99 {}, max {} us; {} of CPU stolen by the hypervisor",
                r.get("fm_delay_release_lateness_us").map_or("-".into(), |v| v["p50"].to_string()),
                r.get("fm_delay_release_lateness_us").map_or("-".into(), |v| v["p99"].to_string()),
                r.get("fm_delay_release_lateness_us").map_or("-".into(), |v| v["max"].to_string()),
                f(r, "delay_run_steal_percent").map_or("-".into(), |x| format!("{x:.2}%"))
            ),
            "-".into(),
        ]);
    }
    for &bps in rates {
        let mb = bps / 1_000_000;
        let ceiling = bps as f64 * 1448.0 / 1514.0;
        let e = |x: Option<f64>| {
            x.map_or("-".into(), |v| format!("{:.3} Mbit/s ({:+.2}%)", v / 1e6, (v / ceiling - 1.0) * 100.0))
        };
        let at = |x: Option<f64>| {
            x.map_or("-".into(), |v| format!("{:.3} Mbit/s ({:+.2}%)", v / 1e6, (v / bps as f64 - 1.0) * 100.0))
        };
        rows.push([
            format!("rate {mb} Mbit/s, shaper output (wire bytes)"),
            format!("tbf {}", at(f(r, &format!("tbf_{mb}_shaper_bps")))),
            at(f(r, &format!("fm_rate_{mb}_shaper_bps"))),
            "-".into(),
        ]);
        rows.push([
            format!("  TCP goodput at it (ceiling {:.2})", ceiling / 1e6),
            format!("tbf {}", e(f(r, &format!("tbf_{mb}_bps")))),
            e(f(r, &format!("fm_rate_{mb}_bps"))),
            "-".into(),
        ]);
    }
    if let Some(l) = r.get("fm_loss") {
        rows.push([
            "loss ratio, 5% configured".into(),
            "-".into(),
            format!(
                "{:.3}% ({} the 99.9% interval)",
                l["measured"].as_f64().unwrap_or(0.0) * 100.0,
                if l["inside"].as_bool() == Some(true) { "inside" } else { "OUTSIDE" }
            ),
            "-".into(),
        ]);
    }
    rows.push([
        "CPU idle (whole process)".into(),
        "-".into(),
        format!("{:.2}%", f(r, "fm_idle_cpu_percent").unwrap_or(f64::NAN)),
        "-".into(),
    ]);
    rows.push([
        "CPU of the data-plane thread, TCP load".into(),
        "-".into(),
        format!("{:.0}% of a core", f(r, "fm_load_cpu_percent").unwrap_or(f64::NAN)),
        "-".into(),
    ]);
    let (lua, plain) = (f(r, "fm_lua_udp64_pps"), f(r, "fm_veth_udp64_pps"));
    rows.push([
        "64 B UDP with pass-through Lua".into(),
        "-".into(),
        kp(lua) + &ratio(lua, plain) + " of no script",
        "-".into(),
    ]);
    render(&rows)
}
