//! faultmesh between Docker containers: `kind: container` nodes, and the
//! compose rig in `docker/`.
//!
//! Needs root and a Docker Engine with a compose tool (`docker-compose` 1.x
//! or `docker compose`). Without them the tests skip with the reason, except
//! under `CI=true`, where they fail. No registry is needed: the base image
//! is debootstrapped once (`docker/base-image.sh`, reused while it exists)
//! and the faultmesh image is built from the test binary. Every container,
//! compose project and image tag is named after this process
//! (`fmtest<pid>...`) and removed by a guard, also on panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const BASE_IMAGE: &str = "faultmesh-base:bookworm";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips (or fails under CI=true) when a prerequisite is missing.
fn unavailable(reason: &str) -> bool {
    if ci() {
        panic!("CI=true: {reason}");
    }
    eprintln!("skipping: {reason}");
    true
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn run_ok(cmd: &mut Command) -> String {
    let o = run(cmd);
    assert!(
        o.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn docker(args: &[&str]) -> Command {
    let mut c = Command::new("docker");
    c.args(args);
    c
}

/// Root, a reachable Docker daemon, and the base image (built if missing).
fn docker_ready() -> bool {
    if !privileged() {
        return false;
    }
    match Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]).output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => return !unavailable(&format!("no Docker daemon: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => return !unavailable(&format!("no docker client: {e}")),
    }
    if !run(&mut docker(&["image", "inspect", BASE_IMAGE])).status.success() {
        let t = Instant::now();
        let o = run(Command::new("bash").arg(workspace().join("docker/base-image.sh")).arg(BASE_IMAGE));
        if !o.status.success() {
            let why = format!(
                "cannot build {BASE_IMAGE} (debootstrap; bash scripts/setup installs it): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return !unavailable(&why);
        }
        eprintln!("built {BASE_IMAGE} in {:.0} s", t.elapsed().as_secs_f64());
    }
    true
}

/// Removes containers by name when dropped.
struct Containers(Vec<String>);

impl Drop for Containers {
    fn drop(&mut self) {
        let mut c = docker(&["rm", "-f"]);
        c.args(&self.0).stdout(Stdio::null()).stderr(Stdio::null());
        let _ = c.status();
    }
}

/// `docker run -d --network none` a container that idles.
fn start_container(name: &str) {
    run_ok(&mut docker(&["run", "-d", "--network", "none", "--name", name, BASE_IMAGE, "sleep", "600"]));
}

/// What a container's network looks like: links, addresses, routes.
fn network_of(container: &str) -> String {
    let mut s = String::new();
    for args in [&["ip", "-o", "link"][..], &["ip", "-o", "addr"], &["ip", "route"], &["ip", "-6", "route"]] {
        let mut c = docker(&["exec", container]);
        c.args(args);
        s += &run_ok(&mut c);
    }
    s
}

fn docker_exec(container: &str, args: &[&str]) -> Output {
    let mut c = docker(&["exec", container]);
    c.args(args);
    run(&mut c)
}

/// RTTs (ms, sorted) of `n` pings from a container.
fn ping_from(container: &str, ip: &str, n: u32) -> Vec<f64> {
    let count = n.to_string();
    // Neighbours resolved first.
    docker_exec(container, &["ping", "-c", "3", "-i", "0.05", "-q", "-n", ip]);
    let o = docker_exec(container, &["ping", "-c", &count, "-i", "0.01", "-n", ip]);
    let text = String::from_utf8_lossy(&o.stdout);
    ping_rtts(&text)
}

/// Goodput (bit/s) of a TCP transfer from `client` to the iperf3 server at `ip`.
fn iperf3_from(container: &str, ip: &str, secs: u32) -> f64 {
    let t = secs.to_string();
    let o = docker_exec(container, &["iperf3", "-c", ip, "-t", &t, "-O", "1", "-J"]);
    let text = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("iperf3 json: {e}: {text}"));
    v["end"]["sum_received"]["bits_per_second"].as_f64().unwrap_or_else(|| panic!("no throughput in {text}"))
}

/// TCP payload rate through a shaper of `rate` bit/s counting Ethernet
/// frames: 1448 payload bytes per 1514-byte frame (MSS with timestamps).
fn tcp_goodput(rate: f64) -> f64 {
    rate * 1448.0 / 1514.0
}

#[test]
fn two_container_nodes_carry_impaired_traffic_and_cleanup_restores_them() {
    if !docker_ready() {
        return;
    }
    let id = std::process::id();
    let (a, b) = (format!("fmtest{id}a"), format!("fmtest{id}b"));
    let _guard = Containers(vec![a.clone(), b.clone()]);
    start_container(&a);
    start_container(&b);
    let before = (network_of(&a), network_of(&b));
    let yaml = format!(
        "name: ctr\nnodes:\n  a: {{kind: container, container: {a}, addresses: [10.61.1.2/24], gateway: 10.61.1.1}}\n  \
         b: {{kind: container, container: {b}, interface: fm0, addresses: [10.61.2.2/24], gateway: 10.61.2.1, mtu: 1400}}\n\
         segments:\n  r: {{kind: router, addresses: [10.61.1.1/24, 10.61.2.1/24]}}\n\
         links:\n  la: {{a: a, b: r, both: {{delay: 5ms}}}}\n  lb: {{a: b, b: r, both: {{rate: 20mbit}}}}\n"
    );
    let mut lab = Lab::start(&yaml);
    // Wired as configured, inside the containers themselves.
    let link_a = String::from_utf8_lossy(&docker_exec(&a, &["ip", "-o", "addr", "show", "eth1"]).stdout).into_owned();
    assert!(link_a.contains("10.61.1.2/24"), "{link_a}");
    let link_b = String::from_utf8_lossy(&docker_exec(&b, &["ip", "-o", "link", "show", "fm0"]).stdout).into_owned();
    assert!(link_b.contains("mtu 1400"), "{link_b}");
    let route = String::from_utf8_lossy(&docker_exec(&a, &["ip", "route"]).stdout).into_owned();
    assert!(route.contains("default via 10.61.1.1 dev eth1"), "{route}");
    // The API shows whose namespace it is and that it is wired.
    let (st, node) = http(&lab, "GET", "/api/v1/nodes/a", None);
    assert_eq!(st, 200, "{node}");
    assert_eq!(node["kind"], "container", "{node}");
    assert_eq!(node["container"]["state"], "wired", "{node}");

    // ICMP: 5 ms each way on a's link.
    let rtts = ping_from(&a, "10.61.2.2", 200);
    assert!(rtts.len() >= 198, "{} of 200 replies", rtts.len());
    let med = median(&rtts);
    eprintln!("container RTT: min {:.3} median {med:.3} ms (configured 10 ms)", rtts[0]);
    assert!(rtts[0] >= 10.0, "min RTT {} ms below the configured 10 ms", rtts[0]);
    assert!((med - 10.0).abs() < 1.0, "median RTT {med} ms, configured 10 ms");
    // TCP: b → a through b's 20 Mbit/s shaper.
    let server = docker(&["exec", "-d", &a, "iperf3", "-s", "-1"]).status().expect("iperf3 -s");
    assert!(server.success());
    std::thread::sleep(Duration::from_millis(500));
    let bps = iperf3_from(&b, "10.61.1.2", 4);
    let want = tcp_goodput(20e6);
    eprintln!("container TCP goodput: {:.2} Mbit/s (expected {:.2})", bps / 1e6, want / 1e6);
    assert!((bps / want - 1.0).abs() < 0.03, "goodput {bps} bit/s, expected {want}");

    // A restarted container (new process, new namespace) is re-wired, and the
    // API says so.
    run_ok(&mut docker(&["restart", "-t", "0", &b]));
    let deadline = Instant::now() + Duration::from_secs(10);
    let node = loop {
        let (_, node) = http(&lab, "GET", "/api/v1/nodes/b", None);
        if node["container"]["rewired"].as_u64() == Some(1) && node["container"]["state"] == "wired" {
            break node;
        }
        assert!(Instant::now() < deadline, "b was not re-wired after its restart: {node}");
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!("after restart: {}", node["container"]);
    let link_b = String::from_utf8_lossy(&docker_exec(&b, &["ip", "-o", "addr", "show", "fm0"]).stdout).into_owned();
    assert!(link_b.contains("10.61.2.2/24"), "{link_b}");
    let rtts = ping_from(&a, "10.61.2.2", 20);
    assert_eq!(rtts.len(), 20, "traffic flows again after the restart");

    // SIGKILL: everything stays behind; cleanup removes exactly what faultmesh added.
    let prefix = lab.prefix.clone();
    lab.kill9();
    assert!(docker_exec(&a, &["ip", "link", "show", "eth1"]).status.success(), "still wired after SIGKILL");
    let out = run_ok(Command::new(BIN).args(["cleanup", "--prefix", &prefix]));
    assert!(out.contains("removed instance"), "{out}");
    assert_eq!((network_of(&a), network_of(&b)), before, "the containers' networks are as they were");
    assert!(namespaces_with(&prefix).is_empty(), "{:?}", namespaces_with(&prefix));
    assert!(!faultmesh_emulator::io::setup::state_file(&prefix).exists());
    // The containers still run: their namespaces were never deleted.
    for c in [&a, &b] {
        assert!(docker_exec(c, &["true"]).status.success(), "{c} no longer runs");
    }
}

/// The compose tool: `docker-compose` 1.x, else `docker compose`.
fn compose_tool() -> Option<Vec<String>> {
    let ok = |c: &mut Command| c.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if ok(Command::new("docker-compose").arg("version")) {
        return Some(vec!["docker-compose".into()]);
    }
    if ok(Command::new("docker").args(["compose", "version"])) {
        return Some(vec!["docker".into(), "compose".into()]);
    }
    None
}

/// A compose project of the rig, brought down (and its images untagged)
/// when dropped.
struct Rig {
    tool: Vec<String>,
    project: String,
    env: Vec<(String, String)>,
    images: Vec<String>,
    dir: PathBuf,
}

impl Rig {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.tool[0]);
        c.args(&self.tool[1..])
            .args(["-p", &self.project, "-f"])
            .arg(workspace().join("docker/compose.yaml"))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    fn container(&self, service: &str) -> String {
        let rig = &self.env.iter().find(|(k, _)| k == "FAULTMESH_RIG").expect("rig name").1;
        format!("{rig}-{service}")
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.cmd(&["down", "-t", "1"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        let mut c = docker(&["rmi"]);
        c.args(&self.images).stdout(Stdio::null()).stderr(Stdio::null());
        let _ = c.status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Builds the faultmesh image from the test binary, with the repository as
/// the build context when the binary lies inside it (what the README does),
/// else a context holding just what the Dockerfile copies.
fn build_image(tag: &str, dir: &Path) {
    let bin = PathBuf::from(BIN);
    let ws = workspace();
    let (context, rel) = match bin.strip_prefix(&ws) {
        Ok(rel) if rel.starts_with("target/release") || rel.starts_with("target/debug") => {
            (ws.clone(), rel.to_string_lossy().into_owned())
        }
        _ => {
            let ctx = dir.join("context");
            std::fs::create_dir_all(ctx.join("docker")).unwrap();
            std::fs::copy(&bin, ctx.join("faultmesh")).unwrap();
            for f in ["rig.yaml", "entrypoint.sh", "Dockerfile"] {
                std::fs::copy(ws.join("docker").join(f), ctx.join("docker").join(f)).unwrap();
            }
            (ctx, "faultmesh".to_string())
        }
    };
    let t = Instant::now();
    run_ok(
        docker(&["build", "-q", "-f"])
            .arg(ws.join("docker/Dockerfile"))
            .args(["--build-arg", &format!("BASE={BASE_IMAGE}")])
            .args(["--build-arg", &format!("BUILDER={BASE_IMAGE}")])
            .args(["--build-arg", &format!("BIN={rel}")])
            .args(["-t", tag])
            .arg(&context),
    );
    eprintln!("built {tag} in {:.1} s", t.elapsed().as_secs_f64());
    // The classic builder keeps the build stage as an untagged image.
    let _ = docker(&["image", "prune", "-f", "--filter", "label=faultmesh.stage=build"]).stdout(Stdio::null()).status();
}

fn host_links() -> Vec<String> {
    let out = run_ok(Command::new("ip").args(["-o", "link"]));
    out.lines().filter_map(|l| l.split(": ").nth(1)).map(|n| n.split('@').next().unwrap_or(n).to_string()).collect()
}

#[test]
fn compose_rig_puts_faultmesh_between_client_and_server() {
    if !docker_ready() {
        return;
    }
    let Some(tool) = compose_tool() else {
        unavailable("no compose tool (docker-compose or docker compose; bash scripts/setup installs it)");
        return;
    };
    let started = Instant::now();
    let id = std::process::id();
    let name = format!("fmtest{id}");
    let dir = std::env::temp_dir().join(format!("{name}-rig"));
    std::fs::create_dir_all(&dir).unwrap();
    // The shipped topology, naming this project's containers.
    let topo = std::fs::read_to_string(workspace().join("docker/rig.yaml"))
        .unwrap()
        .replace("faultmesh-client", &format!("{name}-client"))
        .replace("faultmesh-server", &format!("{name}-server"));
    let topo_path = dir.join("rig.yaml");
    std::fs::write(&topo_path, topo).unwrap();
    let rig = Rig {
        tool,
        project: name.clone(),
        env: vec![
            ("FAULTMESH_RIG".into(), name.clone()),
            ("FAULTMESH_TAG".into(), name.clone()),
            ("FAULTMESH_BASE".into(), BASE_IMAGE.into()),
            ("FAULTMESH_BUILDER".into(), BASE_IMAGE.into()),
            ("FAULTMESH_TOPOLOGY".into(), topo_path.to_string_lossy().into_owned()),
        ],
        images: vec![format!("faultmesh:{name}"), format!("faultmesh-rig:{name}")],
        dir: dir.clone(),
    };
    let links_before = host_links();
    build_image(&format!("faultmesh:{name}"), &dir);
    run_ok(&mut rig.cmd(&["up", "-d"]));
    let (client, server) = (rig.container("client"), rig.container("server"));

    // Ready when the appliance answers its own CLI.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = run(&mut rig.cmd(&["exec", "-T", "faultmesh", "faultmesh", "status"]));
        if o.status.success() {
            break;
        }
        if Instant::now() > deadline {
            let logs = run(&mut rig.cmd(&["logs", "faultmesh"]));
            panic!("the rig's faultmesh never became ready:\n{}", String::from_utf8_lossy(&logs.stdout));
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    // The topology's RTT: 10 ms each way on the client's link.
    let rtts = ping_from(&client, "10.80.2.2", 200);
    assert!(rtts.len() >= 198, "{} of 200 replies", rtts.len());
    let med = median(&rtts);
    eprintln!("rig RTT: min {:.3} median {med:.3} ms (configured 20 ms)", rtts[0]);
    assert!((med - 20.0).abs() < 1.0, "median RTT {med} ms, configured 20 ms");
    // Its rate: 50 Mbit/s, to the server's iperf3.
    let bps = iperf3_from(&client, "10.80.2.2", 5);
    let want = tcp_goodput(50e6);
    eprintln!("rig TCP goodput: {:.2} Mbit/s (expected {:.2})", bps / 1e6, want / 1e6);
    assert!((bps / want - 1.0).abs() < 0.02, "goodput {bps} bit/s, expected {want} ±2%");

    // The server goes down for 5 s, then comes back.
    let out = run_ok(&mut rig.cmd(&[
        "exec",
        "-T",
        "faultmesh",
        "faultmesh",
        "fault",
        "add",
        "--kind",
        "down",
        "--target",
        "node=server",
        "--ttl",
        "5s",
    ]));
    let added = Instant::now();
    assert!(out.contains("down"), "{out}");
    // 15 pings over 2.8 s, the last one waited for until ~4.4 s after the fault.
    let o = docker_exec(&client, &["ping", "-c", "15", "-i", "0.2", "-W", "1", "-n", "10.80.2.2"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(added.elapsed() < Duration::from_secs(5), "the ping outlasted the fault: {text}");
    assert!(text.contains("15 packets transmitted, 0 received"), "100% loss while down:\n{text}");
    std::thread::sleep(Duration::from_secs(5).saturating_sub(added.elapsed()) + Duration::from_millis(500));
    let o = docker_exec(&client, &["ping", "-c", "10", "-i", "0.1", "-W", "1", "-n", "10.80.2.2"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("10 packets transmitted, 10 received"), "recovered after the TTL:\n{text}");
    let list = run_ok(&mut rig.cmd(&["exec", "-T", "faultmesh", "faultmesh", "fault", "list", "--json"]));
    let faults: serde_json::Value = serde_json::from_str(&list).unwrap_or_else(|e| panic!("{e}: {list}"));
    assert_eq!(faults.as_array().map(Vec::len), Some(0), "the fault expired: {list}");

    // Stopping faultmesh removes what it added to the containers.
    assert!(docker_exec(&server, &["ip", "link", "show", "eth1"]).status.success());
    run_ok(&mut rig.cmd(&["stop", "faultmesh"]));
    for c in [&client, &server] {
        let links = String::from_utf8_lossy(&docker_exec(c, &["ip", "-o", "link"]).stdout).into_owned();
        assert_eq!(links.lines().count(), 1, "{c} keeps only lo:\n{links}");
        assert!(links.contains(": lo:"), "{links}");
    }
    run_ok(&mut rig.cmd(&["down", "-t", "1"]));
    // Nothing left: containers, network, host interfaces, namespaces, state files.
    let left = run_ok(&mut docker(&["ps", "-a", "-q", "--filter", &format!("name={name}")]));
    assert!(left.trim().is_empty(), "containers left: {left}");
    let nets = run_ok(&mut docker(&["network", "ls", "-q", "--filter", &format!("name={name}")]));
    assert!(nets.trim().is_empty(), "networks left: {nets}");
    let new_links: Vec<String> = host_links().into_iter().filter(|l| !links_before.contains(l)).collect();
    assert!(
        !new_links.iter().any(|l| l.starts_with("client-") || l.starts_with("server-")),
        "host interfaces left: {new_links:?}"
    );
    assert!(namespaces_with("fm-rig-").is_empty(), "{:?}", namespaces_with("fm-rig-"));
    assert!(!faultmesh_emulator::io::setup::state_file("fm-rig-").exists());
    eprintln!("compose rig test: {:.1} s", started.elapsed().as_secs_f64());
    drop(rig);
}

#[test]
fn a_container_with_a_default_route_keeps_it() {
    if !docker_ready() {
        return;
    }
    let id = std::process::id();
    let (c, d) = (format!("fmtest{id}c"), format!("fmtest{id}d"));
    let _guard = Containers(vec![c.clone(), d.clone()]);
    // c on Docker's default bridge (it has a default route via eth0), d without a network.
    let o = run(&mut docker(&["run", "-d", "--name", &c, BASE_IMAGE, "sleep", "600"]));
    if !o.status.success() {
        unavailable(&format!("no default bridge network: {}", String::from_utf8_lossy(&o.stderr).trim()));
        return;
    }
    start_container(&d);
    let before = network_of(&c);
    assert!(before.contains("default via"), "{before}");
    let topo = |gw: &str| {
        format!(
            "name: ctrgw\nnodes:\n  c: {{kind: container, container: {c}, addresses: [10.62.1.2/24]{gw}}}\n  \
             d: {{kind: container, container: {d}, addresses: [10.62.1.3/24]}}\n\
             segments:\n  s: {{kind: switch}}\nlinks:\n  lc: {{a: c, b: s}}\n  ld: {{a: d, b: s}}\n"
        )
    };
    // A second default route is refused, and nothing is left behind.
    let dir = std::env::temp_dir().join(format!("fmtest{id}-gw"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gw.yaml");
    std::fs::write(
        &file,
        topo(", gateway: 10.62.1.1").replace("s: {kind: switch}", "s: {kind: router, addresses: [10.62.1.1/24]}"),
    )
    .unwrap();
    let prefix = unique_prefix();
    let o = run(Command::new(BIN).arg("run").arg(&file).args(["--prefix", &prefix, "--no-api"]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "a second default route was accepted: {err}");
    assert!(err.contains("already has an IPv4 default route"), "{err}");
    assert_eq!(network_of(&c), before, "the refused container is untouched");
    assert!(!network_of(&d).contains("eth1"), "nothing stays in the other container either");
    assert!(namespaces_with(&prefix).is_empty(), "{:?}", namespaces_with(&prefix));
    assert!(!faultmesh_emulator::io::setup::state_file(&prefix).exists());
    // Without `gateway:` it is wired on-link and keeps its own default route.
    let mut lab = Lab::start(&topo(""));
    let now = network_of(&c);
    assert!(now.contains("10.62.1.2/24") && now.contains("default via"), "{now}");
    let rtts = ping_from(&d, "10.62.1.2", 20);
    assert_eq!(rtts.len(), 20, "on-link traffic through faultmesh");
    lab.stop();
    assert_eq!(network_of(&c), before, "SIGTERM removes exactly what faultmesh added");
    let _ = std::fs::remove_dir_all(&dir);
}
