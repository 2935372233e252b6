//! `kind: container` nodes: another runtime's network namespace (a Docker
//! container, a Podman/containerd process, any process), found by container
//! name or pid, wired to the appliance with one veth pair.
//!
//! Contract:
//! * A Docker name or ID is resolved through the Engine API on
//!   `/var/run/docker.sock` (or `DOCKER_HOST=unix://PATH`) with one
//!   `GET /containers/{name}/json` over HTTP/1.1 (no tokio, no client crate);
//!   the name is checked against Docker's grammar
//!   ([`check_container_name`]) before it goes into the request line.
//! * The namespace `/proc/<pid>/ns/net` gets a name under `/run/netns`
//!   ([`netns::attach`], as `ip netns attach`), so every netlink helper
//!   works on it, and it stays alive while faultmesh uses it. The name is
//!   recorded in the state file before it is made; removing it unmounts the
//!   name and never deletes the namespace, which belongs to the container.
//! * A namespace that is the host's (pid 1's) or faultmesh's own is refused:
//!   a `--network host` container would otherwise get an interface and a
//!   default route on the host.
//! * The interface added inside the container must not exist yet, and a
//!   `gateway:` is refused when the container already has a default route of
//!   that family (a Docker bridge network gives it one): faultmesh never
//!   replaces the container's own routing.
//! * [`Watcher`] checks every second whether a container's namespace is
//!   still the one wired. A restarted container (new pid, new namespace) is
//!   re-wired: the interface moves from the old namespace (which the name
//!   kept alive) into the new one and is configured again; the appliance's
//!   end, and so its port, stays as it is. A stopped or removed container,
//!   or an exited process, is reported. Every transition is logged and shown
//!   by [`status`] (the API's node view).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::super::netlink::{self, Netlink, NetlinkOp};
use super::super::{netns, sys};
use crate::names;
use crate::topology::{ContainerRef, Node, check_container_name};

/// The Docker socket when `DOCKER_HOST` does not name one.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// How often the watcher looks at each container.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// The largest Engine API answer read (an inspect is a few KB).
const MAX_RESPONSE: u64 = 4 << 20;

/// Why a container node could not be resolved or wired.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// The name does not follow Docker's grammar.
    #[error("invalid container name {}: {reason}", names::Shown(.name))]
    BadName {
        /// The name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The Docker socket could not be used.
    #[error("Docker Engine API at {socket}: {message} (is the Docker daemon running, and is its socket mounted?)")]
    Docker {
        /// The socket path.
        socket: String,
        /// What failed.
        message: String,
    },
    /// Docker does not know the container.
    #[error("no Docker container named {}", names::Shown(.0))]
    NoSuchContainer(String),
    /// The container exists but does not run.
    #[error("Docker container {} is not running (state {state})", names::Shown(.name))]
    NotRunning {
        /// The container.
        name: String,
        /// Its state.
        state: String,
    },
    /// The process (or the container's) namespace is gone or unreadable.
    #[error("{target}: {path}: {source}")]
    Namespace {
        /// Whose.
        target: String,
        /// The namespace file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The namespace is the host's or faultmesh's own.
    #[error(
        "{target} uses the host's network namespace (e.g. `--network host`); a container node only wires into a container's own namespace"
    )]
    HostNamespace {
        /// Whose.
        target: String,
    },
    /// The interface to add exists already.
    #[error("node `{node}`: {target} already has an interface `{interface}`; name another one with `interface:`")]
    InterfaceExists {
        /// The node.
        node: String,
        /// Whose namespace.
        target: String,
        /// The interface.
        interface: String,
    },
    /// The container has a default route of a family the node has a gateway for.
    #[error(
        "node `{node}`: {target} already has an {family} default route; faultmesh does not add a second one: leave `gateway:` out for this node (the topology's subnet stays reachable on-link), or start the container with `--network none`"
    )]
    DefaultRoute {
        /// The node.
        node: String,
        /// Whose namespace.
        target: String,
        /// IPv4 or IPv6.
        family: &'static str,
    },
}

/// A container node's namespace as found now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// A process inside it.
    pub pid: u32,
    /// The namespace's identity: device and inode of its nsfs file.
    pub ns: (u64, u64),
    /// Docker's full container ID (Docker targets).
    pub id: Option<String>,
}

impl Resolved {
    /// `/proc/<pid>/ns/net`.
    pub fn path(&self) -> PathBuf {
        ns_path(self.pid)
    }
}

fn ns_path(pid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/net"))
}

/// Device and inode of a namespace file: equal for equal namespaces.
pub fn ns_identity(path: &Path) -> std::io::Result<(u64, u64)> {
    let m = std::fs::metadata(path)?;
    Ok((m.dev(), m.ino()))
}

/// The Docker socket: `DOCKER_HOST=unix://PATH`, else [`DOCKER_SOCKET`].
fn docker_socket() -> Result<String, ContainerError> {
    match std::env::var("DOCKER_HOST") {
        Ok(h) if !h.is_empty() => match h.strip_prefix("unix://") {
            Some(p) => Ok(p.to_string()),
            None => Err(ContainerError::Docker {
                socket: h.clone(),
                message: "only a unix:// DOCKER_HOST is supported".into(),
            }),
        },
        _ => Ok(DOCKER_SOCKET.to_string()),
    }
}

/// What faultmesh needs of `docker inspect`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerContainer {
    /// Full ID.
    pub id: String,
    /// `running`, `exited`, `restarting`, ...
    pub state: String,
    /// Its main process (0 when not running).
    pub pid: u32,
}

/// `GET /containers/{name}/json`.
pub fn docker_inspect(name: &str) -> Result<DockerContainer, ContainerError> {
    check_container_name(name).map_err(|reason| ContainerError::BadName { name: name.to_string(), reason })?;
    let socket = docker_socket()?;
    let fail = |message: String| ContainerError::Docker { socket: socket.clone(), message };
    let (status, body) = http_get(&socket, &format!("/containers/{name}/json")).map_err(|e| fail(e.to_string()))?;
    match status {
        200 => {}
        404 => return Err(ContainerError::NoSuchContainer(name.to_string())),
        s => {
            let msg = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
                .unwrap_or_default();
            return Err(fail(format!("HTTP {s} {}", names::Shown(&msg))));
        }
    }
    parse_inspect(&body).map_err(fail)
}

fn parse_inspect(body: &[u8]) -> Result<DockerContainer, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("bad inspect answer: {e}"))?;
    let id = v.get("Id").and_then(|x| x.as_str()).ok_or("inspect answer without Id")?.to_string();
    let st = v.get("State").ok_or("inspect answer without State")?;
    let state = st.get("Status").and_then(|x| x.as_str()).unwrap_or("unknown").to_string();
    let pid = st.get("Pid").and_then(|x| x.as_u64()).unwrap_or(0);
    let pid = u32::try_from(pid).map_err(|_| format!("inspect answer with pid {pid}"))?;
    Ok(DockerContainer { id, state, pid })
}

/// One HTTP/1.1 GET over a Unix socket; returns status and body.
fn http_get(socket: &str, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: faultmesh\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.take(MAX_RESPONSE).read_to_end(&mut raw)?;
    parse_response(&raw).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("truncated HTTP answer")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "HTTP header is not text")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad HTTP status line {}", names::Shown(status_line)))?;
    let mut chunked = false;
    let mut length: Option<usize> = None;
    for l in lines {
        let Some((k, v)) = l.split_once(':') else { continue };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        } else if k == "content-length" {
            length = v.parse().ok();
        }
    }
    let body = &raw[end + 4..];
    let body = if chunked {
        let mut out = Vec::new();
        let mut rest = body;
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").ok_or("truncated chunk")?;
            let size_text = std::str::from_utf8(&rest[..nl]).map_err(|_| "bad chunk size")?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| "bad chunk size")?;
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            if rest.len() < size {
                return Err("truncated chunk".into());
            }
            out.extend_from_slice(&rest[..size]);
            rest = rest.get(size + 2..).unwrap_or_default();
        }
        out
    } else {
        match length {
            Some(n) if n <= body.len() => body[..n].to_vec(),
            Some(_) => return Err("truncated HTTP body".into()),
            None => body.to_vec(),
        }
    };
    Ok((status, body))
}

/// Finds the namespace of `target` now.
pub fn resolve(target: &ContainerRef) -> Result<Resolved, ContainerError> {
    let (pid, id) = match target {
        ContainerRef::Docker(name) => {
            let c = docker_inspect(name)?;
            if c.state != "running" || c.pid == 0 {
                return Err(ContainerError::NotRunning { name: name.clone(), state: c.state });
            }
            (c.pid, Some(c.id))
        }
        ContainerRef::Pid(p) => (*p, None),
    };
    let path = ns_path(pid);
    let ns = ns_identity(&path).map_err(|source| ContainerError::Namespace {
        target: target.to_string(),
        path: path.display().to_string(),
        source,
    })?;
    let host = [Path::new("/proc/1/ns/net"), Path::new("/proc/self/ns/net")]
        .iter()
        .any(|p| ns_identity(p).is_ok_and(|h| h == ns));
    if host {
        return Err(ContainerError::HostNamespace { target: target.to_string() });
    }
    Ok(Resolved { pid, ns, id })
}

/// True when the named namespace `name` is the namespace `r` found.
pub fn is_named(name: &str, r: &Resolved) -> bool {
    netns::path(name).ok().and_then(|p| ns_identity(&p).ok()) == Some(r.ns)
}

/// Families (`[IPv4, IPv6]`) that have a default route in namespace `ns`.
fn default_routes(ns: &str) -> std::io::Result<[bool; 2]> {
    netns::run_in(Some(ns), || {
        let v4 = std::fs::read_to_string("/proc/thread-self/net/route").unwrap_or_default();
        let v6 = std::fs::read_to_string("/proc/thread-self/net/ipv6_route").unwrap_or_default();
        Ok(parse_default_families(&v4, &v6))
    })
}

fn parse_default_families(v4: &str, v6: &str) -> [bool; 2] {
    let has4 = v4.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 8 && f[1] == "00000000" && f[7] == "00000000"
    });
    let has6 = v6.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        // A kernel's unreachable ::/0 on lo is not a default route.
        f.len() >= 10 && f[0].bytes().all(|b| b == b'0') && f[1] == "00" && f[9] != "lo"
    });
    [has4, has6]
}

/// Checks, inside the container's named namespace `ns`, that node `n` can
/// be wired there: `interface` is free and no gateway competes with an
/// existing default route.
pub fn precheck(ns: &str, n: &Node, target: &ContainerRef, interface: &str) -> Result<(), ContainerError> {
    if netlink::ifindex_in(Some(ns), interface).is_ok() {
        return Err(ContainerError::InterfaceExists {
            node: n.name.clone(),
            target: target.to_string(),
            interface: interface.to_string(),
        });
    }
    precheck_routes(ns, n, target)
}

/// What the watcher last saw of a container node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContainerStatus {
    /// `container NAME` or `process PID`.
    pub target: String,
    /// `wired`, `stopped` (the container does not run; its interface waits
    /// in the old namespace), `gone` (removed, or the process exited) or
    /// `error` (re-wiring failed: see `message`).
    pub state: String,
    /// The process whose namespace is wired (the last one).
    pub pid: u32,
    /// How often the node was re-wired after a restart.
    pub rewired: u32,
    /// What happened last, in words.
    pub message: String,
}

static STATUS: Mutex<BTreeMap<String, ContainerStatus>> = Mutex::new(BTreeMap::new());

/// The watcher's view of the container node whose namespace faultmesh named
/// `netns` (`None`: not a container node).
pub fn status(netns: &str) -> Option<ContainerStatus> {
    STATUS.lock().ok().and_then(|s| s.get(netns).cloned())
}

fn set_status(netns: &str, st: ContainerStatus) {
    if let Ok(mut s) = STATUS.lock() {
        s.insert(netns.to_string(), st);
    }
}

fn clear_status(netns: &str) {
    if let Ok(mut s) = STATUS.lock() {
        s.remove(netns);
    }
}

/// A wired container node the watcher looks after.
#[derive(Clone, Debug)]
pub struct Watched {
    /// The node as configured (addresses, gateways, MTU, MAC).
    pub node: Node,
    /// Whose namespace.
    pub target: ContainerRef,
    /// Faultmesh's name for it.
    pub netns: String,
    /// The interface inside it.
    pub interface: String,
    /// The namespace wired now.
    pub current: Resolved,
    status: ContainerStatus,
}

impl Watched {
    /// A freshly wired node.
    pub fn new(node: Node, target: ContainerRef, netns: String, interface: String, current: Resolved) -> Watched {
        let status = ContainerStatus {
            target: target.to_string(),
            state: "wired".into(),
            pid: current.pid,
            rewired: 0,
            message: format!("{interface} wired into the namespace of pid {}", current.pid),
        };
        set_status(&netns, status.clone());
        Watched { node, target, netns, interface, current, status }
    }

    fn report(&mut self, state: &str, message: String) {
        if self.status.state == state && self.status.message == message {
            return;
        }
        if state == "wired" {
            tracing::info!(node = %self.node.name, target = %self.target, "{message}");
        } else {
            tracing::warn!(node = %self.node.name, target = %self.target, state, "{message}");
        }
        self.status.state = state.to_string();
        self.status.pid = self.current.pid;
        self.status.message = message;
        set_status(&self.netns, self.status.clone());
    }

    /// Looks once; re-wires a restarted container.
    fn check(&mut self) {
        let found = match &self.target {
            ContainerRef::Docker(name) => match docker_inspect(name) {
                Ok(c) if c.state == "running" && c.pid != 0 => Some(c.pid),
                Ok(c) => {
                    return self.report(
                        "stopped",
                        format!("container is {}; {} waits for it to run again", c.state, self.interface),
                    );
                }
                Err(ContainerError::NoSuchContainer(_)) => {
                    return self.report("gone", "container was removed; waiting for one of that name".into());
                }
                Err(e) => return self.report("error", e.to_string()),
            },
            ContainerRef::Pid(p) => Some(*p),
        };
        let Some(pid) = found else { return };
        let ns = match ns_identity(&ns_path(pid)) {
            Ok(ns) => ns,
            Err(e) => {
                return match self.target {
                    ContainerRef::Pid(_) => {
                        self.report("gone", format!("process exited ({e}); nothing is wired any more"))
                    }
                    ContainerRef::Docker(_) => self.report(
                        "stopped",
                        format!("the container's process {pid} exited; {} waits for it to run again", self.interface),
                    ),
                };
            }
        };
        if ns == self.current.ns {
            self.current.pid = pid;
            if self.status.state != "wired" {
                self.report("wired", format!("{} wired into the namespace of pid {pid}", self.interface));
            }
            return;
        }
        if let ContainerRef::Pid(_) = self.target {
            // Same pid, another namespace: the process is gone and the pid was
            // reused (or it moved itself). Never follow it blindly.
            return self.report("gone", format!("pid {pid} is now in another network namespace; not following it"));
        }
        match resolve(&self.target).and_then(|r| self.rewire(r)) {
            Ok(()) => {
                self.status.rewired += 1;
                let msg = format!(
                    "container restarted: {} re-wired into its new namespace (pid {})",
                    self.interface, self.current.pid
                );
                self.report("wired", msg);
            }
            Err(e) => self.report("error", format!("container restarted; re-wiring failed: {e}")),
        }
    }

    /// Moves the interface from the old namespace (still alive: the name
    /// holds it) into `new`, names `new`, and configures the interface.
    fn rewire(&mut self, new: Resolved) -> Result<(), ContainerError> {
        let target = self.target.to_string();
        let ns_err = |path: String| {
            let target = target.clone();
            move |source: std::io::Error| ContainerError::Namespace { target, path, source }
        };
        let name_path = netns::path(&self.netns).map_err(|e| ContainerError::Namespace {
            target: target.clone(),
            path: self.netns.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        })?;
        // An open descriptor keeps the old namespace (and the interface in it)
        // alive while the name moves to the new one.
        let old = std::fs::File::open(&name_path).map_err(ns_err(name_path.display().to_string()))?;
        netns::del(&self.netns).map_err(|e| ns_err(self.netns.clone())(std::io::Error::other(e.to_string())))?;
        netns::attach(&self.netns, &new.path())
            .map_err(|e| ns_err(self.netns.clone())(std::io::Error::other(e.to_string())))?;
        if !is_named(&self.netns, &new) {
            return Err(ns_err(self.netns.clone())(std::io::Error::other("the container restarted again meanwhile")));
        }
        self.current = new;
        let dev = self.interface.clone();
        let to = self.netns.clone();
        let moved = std::thread::scope(|s| {
            s.spawn(|| {
                sys::setns_net(old.as_raw_fd())?;
                Ok(Netlink::open(None).and_then(|mut nl| nl.execute(&[NetlinkOp::MoveLink { dev, netns: to }])))
            })
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("namespace worker panicked")))
        });
        let moved: Result<(), String> = match moved {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        moved.map_err(|e| ns_err(self.netns.clone())(std::io::Error::other(e)))?;
        drop(old);
        precheck_routes(&self.netns, &self.node, &self.target)?;
        netlink::apply(Some(&self.netns), &super::node_ops(&self.interface, &self.node, true))
            .map_err(|e| ns_err(self.netns.clone())(std::io::Error::other(e.to_string())))
    }
}

fn precheck_routes(ns: &str, n: &Node, target: &ContainerRef) -> Result<(), ContainerError> {
    let have = default_routes(ns).map_err(|source| ContainerError::Namespace {
        target: target.to_string(),
        path: ns.to_string(),
        source,
    })?;
    for g in &n.gateways {
        if have[usize::from(g.is_ipv6())] {
            return Err(ContainerError::DefaultRoute {
                node: n.name.clone(),
                target: target.to_string(),
                family: if g.is_ipv6() { "IPv6" } else { "IPv4" },
            });
        }
    }
    Ok(())
}

/// The thread that looks after an instance's container nodes.
pub struct Watcher {
    list: Arc<Mutex<Vec<Watched>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    /// Starts watching (an empty list until [`Watcher::add`]).
    pub fn start() -> Watcher {
        let list: Arc<Mutex<Vec<Watched>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (l, s) = (list.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("fm-containers".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    let mut waited = Duration::ZERO;
                    while waited < WATCH_INTERVAL && !s.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(100));
                        waited += Duration::from_millis(100);
                    }
                    if s.load(Ordering::Relaxed) {
                        break;
                    }
                    if let Ok(mut list) = l.lock() {
                        for w in list.iter_mut() {
                            w.check();
                        }
                    }
                }
            })
            .ok();
        Watcher { list, stop, thread }
    }

    /// Looks after `w` from now on.
    pub fn add(&self, w: Watched) {
        if let Ok(mut l) = self.list.lock() {
            l.retain(|x| x.netns != w.netns);
            l.push(w);
        }
    }

    /// Stops looking after the node whose namespace is named `netns`.
    pub fn remove(&self, netns: &str) {
        if let Ok(mut l) = self.list.lock() {
            l.retain(|x| x.netns != netns);
        }
        clear_status(netns);
    }

    /// Stops the thread and forgets every node.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Ok(mut l) = self.list.lock() {
            for w in l.drain(..) {
                clear_status(&w.netns);
            }
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_answers_parse() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
        assert_eq!(parse_response(raw).unwrap(), (200, b"{\"a\":1}".to_vec()));
        let raw = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"me\r\n5\r\nss\":1\r\n1\r\n}\r\n0\r\n\r\n";
        assert_eq!(parse_response(raw).unwrap(), (404, b"{\"mess\":1}".to_vec()));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort").is_err());
        assert!(parse_response(b"garbage").is_err());
    }

    #[test]
    fn inspect_answers_parse() {
        let body = br#"{"Id":"abc123","Name":"/c1","State":{"Status":"running","Running":true,"Pid":4242}}"#;
        assert_eq!(
            parse_inspect(body).unwrap(),
            DockerContainer { id: "abc123".into(), state: "running".into(), pid: 4242 }
        );
        let body = br#"{"Id":"abc","State":{"Status":"exited","Pid":0}}"#;
        assert_eq!(parse_inspect(body).unwrap().pid, 0);
        assert!(parse_inspect(b"{}").is_err());
    }

    #[test]
    fn hostile_container_names_never_reach_the_socket() {
        for bad in ["", "../../info", "a/b", "a?x=1", "a b", "a%2f", "-x", ".hidden", "a\nb", "ａ"] {
            assert!(matches!(docker_inspect(bad), Err(ContainerError::BadName { .. })), "{bad:?}");
        }
    }

    #[test]
    fn default_route_families() {
        let v4 = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                  eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
        let v6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo\n";
        assert_eq!(parse_default_families(v4, v6), [true, false]);
        assert_eq!(parse_default_families("Iface\n", ""), [false, false]);
    }

    #[test]
    fn own_namespace_is_refused() {
        let me = std::process::id();
        let e = resolve(&ContainerRef::Pid(me)).unwrap_err();
        assert!(matches!(e, ContainerError::HostNamespace { .. }), "{e}");
        let e = resolve(&ContainerRef::Pid(u32::MAX - 1)).unwrap_err();
        assert!(matches!(e, ContainerError::Namespace { .. }), "{e}");
    }
}
