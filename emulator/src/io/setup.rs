//! Realizes a topology on this machine: namespaces, veth pairs, TUN/TAP
//! devices, addresses, routes — and removes them again.
//!
//! Contract: everything created is recorded, before it is created, in a state
//! file under `/run/faultmesh/`, so `faultmesh cleanup` can remove what a
//! killed instance left behind. [`realize`] either returns every port open and
//! every device configured, or removes whatever it had made and returns the
//! error. [`Instance::teardown`] removes namespaces (which takes their veth
//! ends along) and the state file; devices the appliance holds open vanish when
//! their descriptors close.
//!
//! Layout: the appliance's ends of all veth pairs live in one private "fabric"
//! namespace (`<prefix>fabric`, IPv6 disabled so its kernel never talks on our
//! links); each `host` node is a namespace `<prefix><node>` whose interface is
//! `eth0`.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::dataplane::PortBinding;
use super::netns::{self, IpError};
use super::pool::BufPool;
use super::port::{AfPacketPort, Port, TunPort};
use crate::topology::{DeviceKind, NodeKind, Topology};

/// Where state files live.
pub const STATE_DIR: &str = "/run/faultmesh";

/// Why a topology could not be realized.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// No root / CAP_NET_ADMIN.
    #[error("faultmesh needs root or CAP_NET_ADMIN to create namespaces and devices (try sudo)")]
    NotPrivileged,
    /// A namespace we would create exists already.
    #[error(
        "namespace `{0}` already exists: another instance uses this prefix, or one was killed (run `faultmesh cleanup --prefix {1}`)"
    )]
    NamespaceExists(String, String),
    /// An `ip` command failed.
    #[error(transparent)]
    Ip(#[from] IpError),
    /// Opening a device failed.
    #[error("{what}: {source}")]
    Device {
        /// What we were doing.
        what: String,
        /// The OS error.
        source: io::Error,
    },
    /// The state file could not be written.
    #[error("state file {path}: {source}")]
    State {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// What an instance created, as recorded on disk.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// The process that created it.
    pub pid: u32,
    /// The name prefix.
    pub prefix: String,
    /// Topology name.
    pub topology: String,
    /// Namespaces created (deleted on teardown, fabric last).
    pub namespaces: Vec<String>,
    /// Interfaces created outside our namespaces: `(namespace or "", name)`.
    pub interfaces: Vec<(String, String)>,
}

/// Where a node lives on this machine.
#[derive(Clone, Debug, Serialize)]
pub struct NodePlace {
    /// Node name.
    pub node: String,
    /// Its namespace (`None`: the appliance's).
    pub netns: Option<String>,
    /// Its interface inside that namespace.
    pub interface: String,
}

/// A realized topology.
pub struct Instance {
    state: State,
    path: PathBuf,
    /// The fabric namespace.
    pub fabric: String,
    /// Where each node lives, by node index.
    pub places: Vec<NodePlace>,
}

/// Turns arbitrary text into a safe name fragment.
pub fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '-' }).collect()
}

/// The default prefix for a topology: `fm-<name>-`.
pub fn default_prefix(topo: &Topology) -> String {
    let mut n = sanitize(&topo.name);
    n.truncate(24);
    format!("fm-{n}-")
}

fn state_path(prefix: &str) -> PathBuf {
    let stem = prefix.trim_end_matches(['-', '_', '.']);
    Path::new(STATE_DIR).join(format!("{}.json", if stem.is_empty() { "fm" } else { stem }))
}

impl Instance {
    fn save(&self) -> Result<(), SetupError> {
        let err = |source| SetupError::State { path: self.path.clone(), source };
        std::fs::create_dir_all(STATE_DIR).map_err(err)?;
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&self.state).unwrap_or_default()).map_err(err)?;
        std::fs::rename(&tmp, &self.path).map_err(err)
    }

    fn add_ns(&mut self, ns: &str) -> Result<(), SetupError> {
        self.state.namespaces.push(ns.to_string());
        self.save()
    }

    /// The state as recorded.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Removes everything this instance created. Returns the problems met.
    pub fn teardown(self) -> Vec<String> {
        let errors = remove(&self.state);
        let _ = std::fs::remove_file(&self.path);
        errors
    }
}

fn remove(state: &State) -> Vec<String> {
    let mut errors = Vec::new();
    for (ns, ifname) in &state.interfaces {
        let ns = (!ns.is_empty()).then_some(ns.as_str());
        if netns::run_in(ns, || super::sys::if_index(ifname)).is_ok() {
            let mut args = vec![];
            if let Some(n) = ns {
                args.extend(["-n", n]);
            }
            args.extend(["link", "del", ifname.as_str()]);
            if let Err(e) = netns::ip(&args) {
                errors.push(e.to_string());
            }
        }
    }
    // Node namespaces first, the fabric (listed first) last.
    for ns in state.namespaces.iter().rev() {
        if netns::exists(ns) {
            if let Err(e) = netns::ip(&["netns", "del", ns]) {
                errors.push(e.to_string());
            }
        }
    }
    errors
}

/// The appliance-side interface name of a node: readable and stable across
/// reloads (`<first 10 chars of the name>-<16-bit hash>`).
fn ifname(node: &str) -> String {
    let mut head = sanitize(node);
    head.truncate(10);
    format!("{head}-{:04x}", crate::rng::fnv1a(node.as_bytes()) as u16)
}

/// Creates the devices of `topo` with names starting with `prefix` and opens
/// a port for every node.
pub fn realize(topo: &Topology, prefix: &str) -> Result<(Instance, Vec<PortBinding>), SetupError> {
    if !super::sys::has_net_admin() {
        return Err(SetupError::NotPrivileged);
    }
    let fabric = format!("{prefix}fabric");
    let mut inst = Instance {
        state: State {
            pid: std::process::id(),
            prefix: prefix.to_string(),
            topology: topo.name.clone(),
            ..State::default()
        },
        path: state_path(prefix),
        fabric: fabric.clone(),
        places: Vec::new(),
    };
    inst.places = topo.nodes.iter().map(|n| place_of(prefix, n)).collect();
    let host_ns: Vec<String> = topo
        .nodes
        .iter()
        .zip(&inst.places)
        .filter(|(n, _)| matches!(n.kind, NodeKind::Host { .. }))
        .filter_map(|(_, p)| p.netns.clone())
        .collect();
    for ns in std::iter::once(&fabric).chain(host_ns.iter()) {
        if netns::exists(ns) {
            return Err(SetupError::NamespaceExists(ns.clone(), prefix.to_string()));
        }
    }
    let all: Vec<usize> = (0..topo.nodes.len()).collect();
    let result = create_fabric(&mut inst).and_then(|()| add_nodes(&mut inst, topo, &all));
    match result {
        Ok(ports) => Ok((inst, ports.into_iter().map(|(node, port)| PortBinding { node, port }).collect())),
        Err(e) => {
            let _ = inst.teardown();
            Err(e)
        }
    }
}

/// Where node `n` lives.
fn place_of(prefix: &str, n: &crate::topology::Node) -> NodePlace {
    match &n.kind {
        NodeKind::Host { netns, .. } => NodePlace {
            node: n.name.clone(),
            netns: Some(netns.clone().unwrap_or_else(|| format!("{prefix}{}", sanitize(&n.name)))),
            interface: "eth0".into(),
        },
        NodeKind::Attach { interface, netns } => {
            NodePlace { node: n.name.clone(), netns: netns.clone(), interface: interface.clone() }
        }
        NodeKind::Device { name, netns, .. } => NodePlace {
            node: n.name.clone(),
            netns: netns.clone(),
            interface: name.clone().unwrap_or_else(|| ifname(&n.name)),
        },
    }
}

fn node_config_lines(dev: &str, n: &crate::topology::Node, set_mac: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let mut link = format!("link set {dev}");
    if set_mac {
        if let Some(m) = n.mac {
            link += &format!(" address {m}");
        }
    }
    if let Some(mtu) = n.mtu {
        link += &format!(" mtu {mtu}");
    }
    lines.push(link + " up");
    // Batch lines take no global options: the family follows from the address.
    for a in &n.addresses {
        if a.addr.is_ipv6() {
            lines.push(format!("addr add {a} dev {dev} nodad"));
        } else {
            lines.push(format!("addr add {a} dev {dev}"));
        }
    }
    for g in &n.gateways {
        let default = if g.is_ipv6() { "::/0" } else { "0.0.0.0/0" };
        lines.push(format!("route add {default} via {g} dev {dev}"));
    }
    lines
}

fn sys_err(what: &str) -> impl FnOnce(io::Error) -> SetupError {
    let what = what.to_string();
    move |source: io::Error| SetupError::Device { what, source }
}

fn create_fabric(inst: &mut Instance) -> Result<(), SetupError> {
    let fabric = inst.fabric.clone();
    inst.add_ns(&fabric)?;
    netns::ip(&["netns", "add", &fabric])?;
    netns::sysctl(Some(&fabric), "net/ipv6/conf/default/disable_ipv6", "1").map_err(sys_err("fabric sysctl"))?;
    netns::sysctl(Some(&fabric), "net/ipv6/conf/all/disable_ipv6", "1").map_err(sys_err("fabric sysctl"))?;
    Ok(())
}

/// Creates the devices of nodes `which` (indices into `topo`, whose places
/// must already be planned in `inst.places`) and opens their ports. On error
/// the caller removes what was recorded.
pub fn add_nodes(inst: &mut Instance, topo: &Topology, which: &[usize]) -> Result<Vec<(usize, Port)>, SetupError> {
    let fabric = inst.fabric.clone();
    let mut root_batch = Vec::new();
    let mut veths: Vec<(usize, String)> = Vec::new();
    for &i in which {
        let n = &topo.nodes[i];
        if let NodeKind::Host { device, .. } = n.kind {
            let ns = inst.places[i].netns.clone().unwrap_or_default();
            if netns::exists(&ns) {
                return Err(SetupError::NamespaceExists(ns, inst.state.prefix.clone()));
            }
            inst.add_ns(&ns)?;
            root_batch.push(format!("netns add {ns}"));
            if device == DeviceKind::Veth {
                let name = ifname(&n.name);
                root_batch.push(format!("link add {name} netns {fabric} type veth peer name eth0 netns {ns}"));
                veths.push((i, name));
            }
        }
    }
    netns::ip_batch(None, &root_batch)?;
    let fabric_lines: Vec<String> = veths
        .iter()
        .map(|(i, name)| format!("link set {name} mtu {} up", topo.nodes[*i].mtu.unwrap_or(1500)))
        .collect();
    netns::ip_batch(Some(&fabric), &fabric_lines)?;
    let mut ports: Vec<(usize, Port)> = Vec::new();
    for &i in which {
        let n = &topo.nodes[i];
        let place = inst.places[i].clone();
        match &n.kind {
            NodeKind::Host { device, .. } => {
                let ns = place.netns.clone().unwrap_or_default();
                if *device != DeviceKind::Veth {
                    let tap = *device == DeviceKind::Tap;
                    let port = netns::run_in(Some(&ns), || TunPort::create("eth0", tap, &mut BufPool::default()))
                        .map_err(sys_err(&format!("creating {} in {ns}", if tap { "TAP" } else { "TUN" })))?;
                    ports.push((i, Port::Tun(port)));
                }
                let mut lines = vec!["link set lo up".to_string()];
                lines.extend(node_config_lines("eth0", n, *device != DeviceKind::Tun));
                netns::ip_batch(Some(&ns), &lines)?;
            }
            NodeKind::Attach { interface, netns: ns } => {
                let iface = interface.clone();
                netns::ip_batch(ns.as_deref(), &[format!("link set {interface} up")])?;
                let port = netns::run_in(ns.as_deref(), || AfPacketPort::open(&iface, &mut BufPool::default()))
                    .map_err(sys_err(&format!("attaching to {interface}")))?;
                ports.push((i, Port::Packet(port)));
            }
            NodeKind::Device { device, netns: ns, .. } => {
                let tap = *device == DeviceKind::Tap;
                let name = place.interface.clone();
                let port = netns::run_in(ns.as_deref(), || TunPort::create(&name, tap, &mut BufPool::default()))
                    .map_err(sys_err(&format!("creating device {name}")))?;
                inst.state.interfaces.push((ns.clone().unwrap_or_default(), port.name().to_string()));
                inst.save()?;
                netns::ip_batch(ns.as_deref(), &node_config_lines(port.name(), n, tap))?;
                ports.push((i, Port::Tun(port)));
            }
        }
    }
    let opened = netns::run_in(Some(&fabric), || {
        let mut p = BufPool::default();
        veths
            .iter()
            .map(|(i, name)| AfPacketPort::open(name, &mut p).map(|port| (*i, port)))
            .collect::<io::Result<Vec<_>>>()
    })
    .map_err(sys_err("opening fabric ports"))?;
    ports.extend(opened.into_iter().map(|(i, p)| (i, Port::Packet(p))));
    Ok(ports)
}

impl Instance {
    /// Plans the places of a new topology (for a reload).
    pub fn plan(&self, topo: &Topology) -> Vec<NodePlace> {
        topo.nodes.iter().map(|n| place_of(&self.state.prefix, n)).collect()
    }

    /// Adopts new places after a reload.
    pub fn set_places(&mut self, places: Vec<NodePlace>) {
        self.places = places;
    }

    /// Removes a node's namespace or device (its port must be closed first).
    pub fn remove_node(&mut self, place: &NodePlace, kind: &NodeKind) -> Vec<String> {
        let mut errors = Vec::new();
        match kind {
            NodeKind::Host { .. } => {
                if let Some(ns) = &place.netns {
                    if netns::exists(ns) {
                        if let Err(e) = netns::ip(&["netns", "del", ns]) {
                            errors.push(e.to_string());
                        }
                    }
                    self.state.namespaces.retain(|n| n != ns);
                }
            }
            NodeKind::Device { netns: ns, .. } => {
                let key = (ns.clone().unwrap_or_default(), place.interface.clone());
                self.state.interfaces.retain(|i| *i != key);
            }
            NodeKind::Attach { .. } => {}
        }
        if let Err(e) = self.save() {
            errors.push(e.to_string());
        }
        errors
    }

    /// Re-applies addresses, gateways and MTU of a kept node whose settings changed.
    pub fn reconfigure_node(
        &self,
        place: &NodePlace,
        old: &crate::topology::Node,
        new: &crate::topology::Node,
    ) -> Result<(), SetupError> {
        let dev = place.interface.as_str();
        let mut lines = Vec::new();
        for a in &old.addresses {
            if !new.addresses.contains(a) {
                lines.push(format!("addr del {a} dev {dev}"));
            }
        }
        for g in &old.gateways {
            let default = if g.is_ipv6() { "::/0" } else { "0.0.0.0/0" };
            lines.push(format!("route del {default} via {g} dev {dev}"));
        }
        for a in &new.addresses {
            if !old.addresses.contains(a) {
                lines.push(if a.addr.is_ipv6() {
                    format!("addr add {a} dev {dev} nodad")
                } else {
                    format!("addr add {a} dev {dev}")
                });
            }
        }
        if new.mtu != old.mtu {
            lines.push(format!("link set {dev} mtu {}", new.mtu.unwrap_or(1500)));
        }
        for g in &new.gateways {
            let default = if g.is_ipv6() { "::/0" } else { "0.0.0.0/0" };
            lines.push(format!("route add {default} via {g} dev {dev}"));
        }
        netns::ip_batch(place.netns.as_deref(), &lines)?;
        Ok(())
    }
}

/// What `cleanup` did.
#[derive(Debug, Default)]
pub struct CleanupReport {
    /// Instances whose leftovers were removed.
    pub removed: Vec<String>,
    /// Instances still running (left alone).
    pub running: Vec<String>,
    /// Stray namespaces matching the prefix that were removed.
    pub stray_namespaces: Vec<String>,
    /// Problems.
    pub errors: Vec<String>,
}

fn alive(pid: u32) -> bool {
    pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes what dead instances left behind (all of them, or those whose
/// prefix starts with `prefix`); with `force`, also those still running.
/// With a prefix, namespaces named `<prefix>*` that no state file claims are
/// removed too.
pub fn cleanup(prefix: Option<&str>, force: bool) -> CleanupReport {
    let mut report = CleanupReport::default();
    let mut claimed: Vec<String> = Vec::new();
    if let Ok(dir) = std::fs::read_dir(STATE_DIR) {
        for entry in dir.filter_map(|e| e.ok()) {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let Ok(state) = serde_json::from_str::<State>(&text) else {
                report.errors.push(format!("{}: not a faultmesh state file", path.display()));
                continue;
            };
            if prefix.is_some_and(|p| !state.prefix.starts_with(p)) {
                continue;
            }
            if alive(state.pid) && !force {
                report.running.push(format!("{} (pid {})", state.prefix, state.pid));
                claimed.extend(state.namespaces.iter().cloned());
                continue;
            }
            if alive(state.pid) {
                // SAFETY: kill(2) with a pid read from our own state file; at
                // worst the signal goes to a process that no longer exists.
                unsafe { libc::kill(state.pid as i32, libc::SIGKILL) };
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            report.errors.extend(remove(&state));
            let _ = std::fs::remove_file(&path);
            report.removed.push(state.prefix.clone());
        }
    }
    if let Some(p) = prefix {
        let mut stray: Vec<String> =
            netns::list().into_iter().filter(|n| n.starts_with(p) && !claimed.contains(n)).collect();
        // Fabric last: deleting it takes the veth ends with it.
        stray.sort_by_key(|n| n.ends_with("fabric"));
        for ns in stray {
            match netns::ip(&["netns", "del", &ns]) {
                Ok(()) => report.stray_namespaces.push(ns),
                Err(e) => report.errors.push(e.to_string()),
            }
        }
    }
    report
}

/// Removes the state file of an instance that never got going.
pub fn forget(prefix: &str) {
    let _ = std::fs::remove_file(state_path(prefix));
}

/// Path of the state file for `prefix` (for diagnostics).
pub fn state_file(prefix: &str) -> PathBuf {
    state_path(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_fit() {
        assert!(ifname("client").starts_with("client-"));
        assert!(ifname("a-very-long-node-name").len() <= 15);
        assert_ne!(ifname("a-very-long-node-name-1"), ifname("a-very-long-node-name-2"));
        assert_eq!(sanitize("a b/c"), "a-b-c");
        assert!(state_path("fm-wan-").ends_with("fm-wan.json"));
    }

    #[test]
    fn config_lines_cover_addresses_and_gateways() {
        let t = crate::topology::parse_str(
            "nodes:\n  a: {kind: host, addresses: [10.0.0.2/24, fd00::2/64], gateway: [10.0.0.1, fd00::1], mtu: 1400}\n  b: {kind: host, addresses: [10.0.0.3/24]}\nsegments:\n  r: {kind: router, addresses: [10.0.0.1/24, fd00::1/64]}\nlinks:\n  l: {a: a, b: r}\n  m: {a: b, b: r}\n",
            "t",
            None,
        )
        .unwrap();
        let lines = node_config_lines("eth0", &t.nodes[0], true);
        assert!(lines[0].starts_with("link set eth0 address 02:fa:") && lines[0].ends_with("mtu 1400 up"), "{lines:?}");
        assert!(lines.contains(&"addr add fd00::2/64 dev eth0 nodad".to_string()));
        assert!(lines.contains(&"route add 0.0.0.0/0 via 10.0.0.1 dev eth0".to_string()));
        assert!(lines.contains(&"route add ::/0 via fd00::1 dev eth0".to_string()));
    }
}
