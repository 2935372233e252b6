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
//! No program is run: namespaces are made by [`netns::add`], links,
//! addresses and routes by typed [`NetlinkOp`] lists ([`node_ops`],
//! [`reconfigure_ops`]) sent over netlink. Every prefix, namespace and
//! interface name is checked against [`crate::names`] before it becomes a
//! path or reaches the kernel, and the state file's name is built so that it
//! cannot leave [`STATE_DIR`].
//!
//! Layout: the appliance's ends of all veth pairs live in one private "fabric"
//! namespace (`<prefix>fabric`, IPv6 disabled so its kernel never talks on our
//! links); each `host` node is a namespace `<prefix><node>` whose interface is
//! `eth0`. A `container` node's namespace belongs to someone else: it gets
//! the name `<prefix><node>` (recorded in [`State::attached`]) and one veth
//! end (recorded in [`State::interfaces`]); teardown deletes that interface
//! and removes the name, never the namespace ([`container`]).

pub mod container;

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::dataplane::PortBinding;
use super::netlink::{self, NetlinkError, NetlinkOp};
use super::netns::{self, NetnsError};
use super::pool::BufPool;
use super::port::{AfPacketPort, Port, TunPort};
use crate::names::{self, NameError, NameKind};
use crate::topology::{DeviceKind, Node, NodeKind, Topology};
use container::{ContainerError, Watched, Watcher};

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
    /// A prefix, namespace or interface name is not acceptable.
    #[error(transparent)]
    Name(#[from] NameError),
    /// Creating or deleting a namespace failed.
    #[error(transparent)]
    Netns(NetnsError),
    /// A netlink request (link, address, route) failed.
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    /// Opening a device failed.
    #[error("{what}: {source}")]
    Device {
        /// What we were doing.
        what: String,
        /// The OS error.
        source: io::Error,
    },
    /// A container node could not be resolved or wired.
    #[error(transparent)]
    Container(#[from] ContainerError),
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
    /// Names given to other runtimes' namespaces (container nodes), removed
    /// after `interfaces`: removing a name never deletes the namespace.
    #[serde(default)]
    pub attached: Vec<String>,
    /// The creating process's start time (`/proc/PID/stat` field 22), so a
    /// later process that reuses the pid is not taken for it (0: unknown).
    #[serde(default)]
    pub start_time: u64,
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
    /// Looks after container nodes (started with the first one).
    watcher: Option<Watcher>,
}

/// Turns arbitrary text into a safe name fragment.
pub fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '-' }).collect()
}

/// The default prefix for a topology: `fm-<name>-`, cut to fit
/// [`names::PREFIX_MAX`].
pub fn default_prefix(topo: &Topology) -> String {
    let mut n = sanitize(&topo.name);
    n.truncate(names::PREFIX_MAX - "fm--".len());
    format!("fm-{n}-")
}

/// The state file of `prefix`: `/run/faultmesh/<prefix>.json`. The whole
/// prefix names it, so `fm-a-` and `fm-a_` never share one. Whatever the
/// prefix, the name has no `/` (sanitized) and is never `.` or `..` (it ends
/// in `.json`), so the path stays directly inside [`STATE_DIR`].
fn state_path(prefix: &str) -> PathBuf {
    let stem = sanitize(prefix);
    Path::new(STATE_DIR).join(format!("{}.json", if stem.is_empty() { "fm" } else { stem.as_str() }))
}

/// The start time of process `pid` in clock ticks since boot (field 22 of
/// `/proc/PID/stat`; the command name before it may hold spaces and
/// parentheses, so fields are counted after the last `)`).
fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()
}

/// Makes sure [`STATE_DIR`] exists, is a real directory owned by root and
/// writable by nobody else: cleanup trusts what it finds there (it deletes
/// the namespaces and interfaces a state file names, and signals its pid).
fn state_dir() -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    match std::fs::DirBuilder::new().mode(0o755).create(STATE_DIR) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(STATE_DIR)?;
    let euid = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0);
    if !meta.is_dir() || meta.uid() != euid || meta.permissions().mode() & 0o022 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{STATE_DIR} must be a directory owned by this user and writable by nobody else"),
        ));
    }
    Ok(())
}

/// Checks the names a node's place would use.
fn check_place(place: &NodePlace) -> Result<(), NameError> {
    if let Some(ns) = &place.netns {
        names::check(NameKind::Netns, ns)?;
    }
    names::check(NameKind::Interface, &place.interface)
}

/// Maps a namespace-creation error: an existing namespace gets the hint to
/// clean up.
fn ns_err(prefix: &str) -> impl Fn(NetnsError) -> SetupError + '_ {
    move |e| match e {
        NetnsError::Exists(ns) => SetupError::NamespaceExists(ns, prefix.to_string()),
        NetnsError::Name(e) => SetupError::Name(e),
        e => SetupError::Netns(e),
    }
}

impl Instance {
    fn save(&self) -> Result<(), SetupError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let err = |source| SetupError::State { path: self.path.clone(), source };
        state_dir().map_err(err)?;
        let tmp = self.path.with_extension("tmp");
        // A fresh file (O_EXCL: never through a planted symlink), then an
        // atomic rename over the old state.
        match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e)),
        }
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o644).open(&tmp).map_err(err)?;
        f.write_all(&serde_json::to_vec_pretty(&self.state).unwrap_or_default()).map_err(err)?;
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
    pub fn teardown(mut self) -> Vec<String> {
        if let Some(mut w) = self.watcher.take() {
            w.stop();
        }
        let errors = remove(&self.state);
        let _ = std::fs::remove_file(&self.path);
        errors
    }
}

fn remove(state: &State) -> Vec<String> {
    let mut errors = Vec::new();
    for (ns, ifname) in &state.interfaces {
        let ns = (!ns.is_empty()).then_some(ns.as_str());
        if ns.is_some_and(|n| !netns::exists(n)) {
            continue; // Gone with its namespace.
        }
        match netlink::apply(ns, &[NetlinkOp::DelLink { dev: ifname.clone() }]) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {} // Closed with its descriptor.
            Err(e) => errors.push(e.to_string()),
        }
    }
    // Names of containers' namespaces: the name goes, the namespace stays.
    for ns in &state.attached {
        if netns::exists(ns) {
            if let Err(e) = netns::del(ns) {
                errors.push(e.to_string());
            }
        }
    }
    // Node namespaces first, the fabric (listed first) last.
    for ns in state.namespaces.iter().rev() {
        if netns::exists(ns) {
            if let Err(e) = netns::del(ns) {
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
    names::check(NameKind::Prefix, prefix)?;
    let fabric = format!("{prefix}fabric");
    names::check(NameKind::Netns, &fabric)?;
    let mut inst = Instance {
        state: State {
            pid: std::process::id(),
            start_time: process_start_time(std::process::id()).unwrap_or(0),
            prefix: prefix.to_string(),
            topology: topo.name.clone(),
            ..State::default()
        },
        path: state_path(prefix),
        fabric: fabric.clone(),
        places: Vec::new(),
        watcher: None,
    };
    inst.places = topo.nodes.iter().map(|n| place_of(prefix, n)).collect();
    for place in &inst.places {
        check_place(place)?;
    }
    let host_ns: Vec<String> = topo
        .nodes
        .iter()
        .zip(&inst.places)
        .filter(|(n, _)| matches!(n.kind, NodeKind::Host { .. } | NodeKind::Container { .. }))
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
fn place_of(prefix: &str, n: &Node) -> NodePlace {
    match &n.kind {
        NodeKind::Host { netns, .. } => NodePlace {
            node: n.name.clone(),
            netns: Some(netns.clone().unwrap_or_else(|| format!("{prefix}{}", sanitize(&n.name)))),
            interface: "eth0".into(),
        },
        NodeKind::Attach { interface, netns } => {
            NodePlace { node: n.name.clone(), netns: netns.clone(), interface: interface.clone() }
        }
        NodeKind::Container { interface, .. } => NodePlace {
            node: n.name.clone(),
            netns: Some(format!("{prefix}{}", sanitize(&n.name))),
            interface: interface.clone(),
        },
        NodeKind::Device { name, netns, .. } => NodePlace {
            node: n.name.clone(),
            netns: netns.clone(),
            interface: name.clone().unwrap_or_else(|| ifname(&n.name)),
        },
    }
}

/// The configuration of node `n`'s interface `dev`: MAC (with `set_mac`;
/// a TUN device has none) and MTU, up, addresses, default routes.
pub fn node_ops(dev: &str, n: &Node, set_mac: bool) -> Vec<NetlinkOp> {
    let mut ops =
        vec![NetlinkOp::SetLinkUp { dev: dev.to_string(), mac: if set_mac { n.mac } else { None }, mtu_bytes: n.mtu }];
    ops.extend(n.addresses.iter().map(|a| NetlinkOp::AddAddress { dev: dev.to_string(), addr: *a }));
    ops.extend(n.gateways.iter().map(|g| NetlinkOp::AddDefaultRoute { dev: dev.to_string(), via: *g }));
    ops
}

/// The configuration of a host node's namespace: loopback up, then `eth0`.
fn host_ops(n: &Node, device: DeviceKind) -> Vec<NetlinkOp> {
    let mut ops = vec![NetlinkOp::SetLinkUp { dev: "lo".into(), mac: None, mtu_bytes: None }];
    ops.extend(node_ops("eth0", n, device != DeviceKind::Tun));
    ops
}

/// What turns a kept node's interface `dev` from `old`'s settings into
/// `new`'s: addresses no longer wanted go, old default routes go (they may
/// depend on those addresses), new addresses come, the MTU changes, default
/// routes come back.
pub fn reconfigure_ops(dev: &str, old: &Node, new: &Node) -> Vec<NetlinkOp> {
    let dev = || dev.to_string();
    let mut ops = Vec::new();
    for a in old.addresses.iter().filter(|a| !new.addresses.contains(a)) {
        ops.push(NetlinkOp::DelAddress { dev: dev(), addr: *a });
    }
    for g in &old.gateways {
        ops.push(NetlinkOp::DelDefaultRoute { dev: dev(), via: *g });
    }
    for a in new.addresses.iter().filter(|a| !old.addresses.contains(a)) {
        ops.push(NetlinkOp::AddAddress { dev: dev(), addr: *a });
    }
    if new.mtu != old.mtu {
        ops.push(NetlinkOp::SetMtu { dev: dev(), mtu_bytes: new.mtu.unwrap_or(1500) });
    }
    for g in &new.gateways {
        ops.push(NetlinkOp::AddDefaultRoute { dev: dev(), via: *g });
    }
    ops
}

fn sys_err(what: &str) -> impl FnOnce(io::Error) -> SetupError {
    let what = what.to_string();
    move |source: io::Error| SetupError::Device { what, source }
}

fn create_fabric(inst: &mut Instance) -> Result<(), SetupError> {
    let fabric = inst.fabric.clone();
    let prefix = inst.state.prefix.clone();
    inst.add_ns(&fabric)?;
    if let Err(e) = netns::add(&fabric) {
        // Not ours (it appeared meanwhile, or was never made): forget it, so
        // cleanup on error leaves it alone.
        inst.state.namespaces.retain(|n| *n != fabric);
        let _ = inst.save();
        return Err(ns_err(&prefix)(e));
    }
    netns::sysctl(Some(&fabric), "net/ipv6/conf/default/disable_ipv6", "1").map_err(sys_err("fabric sysctl"))?;
    netns::sysctl(Some(&fabric), "net/ipv6/conf/all/disable_ipv6", "1").map_err(sys_err("fabric sysctl"))?;
    Ok(())
}

/// Creates the devices of nodes `which` (indices into `topo`, whose places
/// must already be planned in `inst.places`) and opens their ports. On error
/// the caller removes what was recorded.
pub fn add_nodes(inst: &mut Instance, topo: &Topology, which: &[usize]) -> Result<Vec<(usize, Port)>, SetupError> {
    let fabric = inst.fabric.clone();
    let prefix = inst.state.prefix.clone();
    names::check(NameKind::Netns, &fabric)?;
    // Plan and check everything before creating anything.
    let mut new_ns: Vec<String> = Vec::new();
    let mut veths: Vec<(usize, String)> = Vec::new();
    let mut create_veths: Vec<NetlinkOp> = Vec::new();
    // Container nodes: (node, our name for its namespace, the namespace found).
    let mut containers: Vec<(usize, String, container::Resolved)> = Vec::new();
    for &i in which {
        let n = &topo.nodes[i];
        let place = &inst.places[i];
        check_place(place)?;
        if let NodeKind::Host { device, .. } = n.kind {
            let ns = place.netns.clone().unwrap_or_default();
            if netns::exists(&ns) || new_ns.contains(&ns) {
                return Err(SetupError::NamespaceExists(ns, prefix));
            }
            if device == DeviceKind::Veth {
                let name = ifname(&n.name);
                create_veths.push(NetlinkOp::CreateVeth {
                    name: name.clone(),
                    netns: fabric.clone(),
                    peer: "eth0".into(),
                    peer_netns: ns.clone(),
                    mtu_bytes: n.mtu.unwrap_or(1500),
                });
                veths.push((i, name));
            }
            new_ns.push(ns);
        }
        if let NodeKind::Container { target, .. } = &n.kind {
            let ns = place.netns.clone().unwrap_or_default();
            if netns::exists(&ns) || new_ns.contains(&ns) || containers.iter().any(|(_, c, _)| *c == ns) {
                return Err(SetupError::NamespaceExists(ns, prefix));
            }
            containers.push((i, ns, container::resolve(target)?));
        }
    }
    // Record, then create.
    inst.state.namespaces.extend(new_ns.iter().cloned());
    inst.save()?;
    for ns in &new_ns {
        if let Err(e) = netns::add(ns) {
            // Not ours: forget it, so cleanup on error leaves it alone.
            inst.state.namespaces.retain(|n| n != ns);
            let _ = inst.save();
            return Err(ns_err(&prefix)(e));
        }
    }
    // Containers: name the namespace, check it, record the interface, plan
    // its veth pair.
    for (i, ns, found) in &containers {
        let n = &topo.nodes[*i];
        let NodeKind::Container { target, interface } = &n.kind else { continue };
        inst.state.attached.push(ns.clone());
        inst.save()?;
        if let Err(e) = netns::attach(ns, &found.path()) {
            inst.state.attached.retain(|x| x != ns);
            let _ = inst.save();
            return Err(ns_err(&prefix)(e));
        }
        // The pid could have been reused between the lookup and the mount.
        if !container::is_named(ns, found) {
            return Err(ContainerError::Namespace {
                target: target.to_string(),
                path: found.path().display().to_string(),
                source: io::Error::other("the namespace changed while it was being named (did it restart?)"),
            }
            .into());
        }
        container::precheck(ns, n, target, interface)?;
        inst.state.interfaces.push((ns.clone(), interface.clone()));
        inst.save()?;
        let name = ifname(&n.name);
        create_veths.push(NetlinkOp::CreateVeth {
            name: name.clone(),
            netns: fabric.clone(),
            peer: interface.clone(),
            peer_netns: ns.clone(),
            mtu_bytes: n.mtu.unwrap_or(1500),
        });
        veths.push((*i, name));
    }
    // Both ends are placed by the kernel from faultmesh's own namespace.
    if let Err(e) = netlink::apply(None, &create_veths) {
        // A container interface whose pair was not made is not ours: forget
        // it, so cleanup cannot delete one of that name the container has.
        for (i, ns, _) in &containers {
            let NodeKind::Container { interface, .. } = &topo.nodes[*i].kind else { continue };
            if netlink::ifindex_in(Some(&fabric), &ifname(&topo.nodes[*i].name)).is_err() {
                inst.state.interfaces.retain(|(a, b)| !(a == ns && b == interface));
            }
        }
        let _ = inst.save();
        return Err(e.into());
    }
    let fabric_up: Vec<NetlinkOp> =
        veths.iter().map(|(_, name)| NetlinkOp::SetLinkUp { dev: name.clone(), mac: None, mtu_bytes: None }).collect();
    netlink::apply(Some(&fabric), &fabric_up)?;
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
                netlink::apply(Some(&ns), &host_ops(n, *device))?;
            }
            NodeKind::Container { target, interface } => {
                let ns = place.netns.clone().unwrap_or_default();
                netlink::apply(Some(&ns), &node_ops(interface, n, true))?;
                if let Some((_, _, found)) = containers.iter().find(|(j, _, _)| *j == i) {
                    let w = Watched::new(n.clone(), target.clone(), ns, interface.clone(), found.clone());
                    inst.watcher.get_or_insert_with(Watcher::start).add(w);
                }
            }
            NodeKind::Attach { interface, netns: ns } => {
                let iface = interface.clone();
                let up = NetlinkOp::SetLinkUp { dev: interface.clone(), mac: None, mtu_bytes: None };
                netlink::apply(ns.as_deref(), &[up])?;
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
                netlink::apply(ns.as_deref(), &node_ops(port.name(), n, tap))?;
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
                    // Only a namespace this instance made: one that existed
                    // before (a failed reload's clash) is not ours to delete.
                    if self.state.namespaces.contains(ns) && netns::exists(ns) {
                        if let Err(e) = netns::del(ns) {
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
            NodeKind::Container { .. } => {
                if let Some(ns) = &place.netns {
                    if let Some(w) = &self.watcher {
                        w.remove(ns);
                    }
                    let key = (ns.clone(), place.interface.clone());
                    // Only what this instance recorded: a failed plan's clash
                    // is not ours to touch.
                    if self.state.interfaces.contains(&key) && netns::exists(ns) {
                        match netlink::apply(Some(ns), &[NetlinkOp::DelLink { dev: place.interface.clone() }]) {
                            Ok(()) => {}
                            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {}
                            Err(e) => errors.push(e.to_string()),
                        }
                    }
                    self.state.interfaces.retain(|i| *i != key);
                    if self.state.attached.contains(ns) && netns::exists(ns) {
                        if let Err(e) = netns::del(ns) {
                            errors.push(e.to_string());
                        }
                    }
                    self.state.attached.retain(|n| n != ns);
                }
            }
            NodeKind::Attach { .. } => {}
        }
        if let Err(e) = self.save() {
            errors.push(e.to_string());
        }
        errors
    }

    /// Re-applies addresses, gateways and MTU of a kept node whose settings changed.
    pub fn reconfigure_node(&self, place: &NodePlace, old: &Node, new: &Node) -> Result<(), SetupError> {
        check_place(place)?;
        netlink::apply(place.netns.as_deref(), &reconfigure_ops(&place.interface, old, new))?;
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

/// True when the process that wrote `state` still runs: same pid and, when
/// recorded, the same start time (a pid reused by another process is not it).
fn alive(state: &State) -> bool {
    let pid = state.pid;
    if pid == std::process::id() || !Path::new(&format!("/proc/{pid}")).exists() {
        return false;
    }
    state.start_time == 0 || process_start_time(pid) == Some(state.start_time)
}

/// Removes what dead instances left behind (all of them, or those whose
/// prefix starts with `prefix`); with `force`, also those still running.
/// With a prefix, namespaces named `<prefix>*` that no state file claims are
/// removed too.
pub fn cleanup(prefix: Option<&str>, force: bool) -> CleanupReport {
    let mut report = CleanupReport::default();
    // An empty or odd prefix would match (and delete) other people's
    // namespaces.
    if let Some(Err(e)) = prefix.map(|p| names::check(NameKind::Prefix, p)) {
        report.errors.push(e.to_string());
        return report;
    }
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
            if alive(&state) && !force {
                report.running.push(format!("{} (pid {})", state.prefix, state.pid));
                claimed.extend(state.namespaces.iter().cloned());
                claimed.extend(state.attached.iter().cloned());
                continue;
            }
            if alive(&state) {
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
    // Namespaces no state file claims are removed only for a prefix that
    // ends in a separator, as faultmesh's own do: `--prefix fmrev` must not
    // take `fmrevouter`, which somebody else made.
    if let Some(p) = prefix.filter(|p| !p.ends_with(['-', '_', '.'])) {
        if netns::list().iter().any(|n| n.starts_with(p) && !claimed.contains(n)) {
            report.errors.push(format!(
                "namespaces starting with `{p}` that no state file claims were left alone: give the full prefix, ending in `-`, `_` or `.`"
            ));
        }
    }
    if let Some(p) = prefix.filter(|p| p.ends_with(['-', '_', '.'])) {
        let mut stray: Vec<String> =
            netns::list().into_iter().filter(|n| n.starts_with(p) && !claimed.contains(n)).collect();
        // Fabric last: deleting it takes the veth ends with it.
        stray.sort_by_key(|n| n.ends_with("fabric"));
        for ns in stray {
            match netns::del(&ns) {
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
        assert!(state_path("fm-wan-").ends_with("fm-wan-.json"));
        assert_ne!(state_path("fm-a-"), state_path("fm-a_"));
        let me = process_start_time(std::process::id()).unwrap();
        assert!(me > 0);
        let st = State { pid: std::process::id() + 1_000_000, start_time: me, ..State::default() };
        assert!(!alive(&st), "a pid that does not exist");
        let init = State { pid: 1, start_time: me + 1, ..State::default() };
        assert!(!alive(&init), "pid 1 started at another time is not the recorded process");
    }

    fn topo(nodes: &str) -> Topology {
        let y = format!(
            "nodes:\n{nodes}segments:\n  r: {{kind: router, addresses: [10.0.0.1/24, fd00::1/64]}}\nlinks:\n  l: {{a: a, b: r}}\n  m: {{a: b, b: r}}\n"
        );
        crate::topology::parse_str(&y, "t", None).unwrap()
    }

    fn cidr(s: &str) -> crate::topology::Cidr {
        let (a, p) = s.split_once('/').unwrap();
        crate::topology::Cidr { addr: a.parse().unwrap(), prefix: p.parse().unwrap() }
    }

    #[test]
    fn node_ops_cover_mac_mtu_addresses_and_gateways() {
        let t = topo(
            "  a: {kind: host, addresses: [10.0.0.2/24, fd00::2/64], gateway: [10.0.0.1, fd00::1], mtu: 1400}\n  b: {kind: host, device: tun, addresses: [10.0.0.3/24]}\n",
        );
        let a = &t.nodes[0];
        let ops = host_ops(a, DeviceKind::Veth);
        let eth0 = || "eth0".to_string();
        assert_eq!(ops[0], NetlinkOp::SetLinkUp { dev: "lo".into(), mac: None, mtu_bytes: None });
        let NetlinkOp::SetLinkUp { dev, mac: Some(mac), mtu_bytes: Some(1400) } = &ops[1] else {
            panic!("{ops:?}");
        };
        assert_eq!(dev, "eth0");
        assert_eq!(mac.0[..2], [0x02, 0xfa], "{mac}");
        assert_eq!(
            ops[2..],
            [
                NetlinkOp::AddAddress { dev: eth0(), addr: cidr("10.0.0.2/24") },
                NetlinkOp::AddAddress { dev: eth0(), addr: cidr("fd00::2/64") },
                NetlinkOp::AddDefaultRoute { dev: eth0(), via: "10.0.0.1".parse().unwrap() },
                NetlinkOp::AddDefaultRoute { dev: eth0(), via: "fd00::1".parse().unwrap() },
            ]
        );
        // A TUN device has no MAC to set.
        let ops = host_ops(&t.nodes[1], DeviceKind::Tun);
        assert_eq!(ops[1], NetlinkOp::SetLinkUp { dev: eth0(), mac: None, mtu_bytes: None });
        assert_eq!(ops.len(), 3);
    }

    #[test]
    fn reconfigure_ops_swap_what_changed() {
        let old = topo(
            "  a: {kind: host, addresses: [10.0.0.2/24, fd00::2/64], gateway: 10.0.0.1}\n  b: {kind: host, addresses: [10.0.0.3/24]}\n",
        );
        let new = topo(
            "  a: {kind: host, addresses: [10.0.0.4/24, fd00::2/64], gateway: 10.0.0.1, mtu: 1300}\n  b: {kind: host, addresses: [10.0.0.3/24]}\n",
        );
        let ops = reconfigure_ops("eth0", &old.nodes[0], &new.nodes[0]);
        let eth0 = || "eth0".to_string();
        let gw: std::net::IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(
            ops,
            [
                NetlinkOp::DelAddress { dev: eth0(), addr: cidr("10.0.0.2/24") },
                NetlinkOp::DelDefaultRoute { dev: eth0(), via: gw },
                NetlinkOp::AddAddress { dev: eth0(), addr: cidr("10.0.0.4/24") },
                NetlinkOp::SetMtu { dev: eth0(), mtu_bytes: 1300 },
                NetlinkOp::AddDefaultRoute { dev: eth0(), via: gw },
            ]
        );
        assert!(reconfigure_ops("eth0", &old.nodes[1], &new.nodes[1]).is_empty());
    }

    #[test]
    fn state_files_stay_in_the_state_dir() {
        for p in ["../../etc/passwd", "..", ".", "/", "a/../../b", "x\n/y", "", "-", "fm-wan-"] {
            let path = state_path(p);
            assert_eq!(path.parent(), Some(Path::new(STATE_DIR)), "{p:?} -> {}", path.display());
            let file = path.file_name().unwrap().to_str().unwrap();
            assert!(file.ends_with(".json") && !file.contains('/'), "{p:?} -> {file}");
        }
    }

    #[test]
    fn default_prefixes_are_valid_prefixes() {
        let t = topo("  a: {kind: host, addresses: [10.0.0.2/24]}\n  b: {kind: host, addresses: [10.0.0.3/24]}\n");
        let mut long = t.clone();
        long.name = "a".repeat(names::OBJECT_NAME_MAX);
        for t in [&t, &long] {
            let p = default_prefix(t);
            assert!(names::is_valid(NameKind::Prefix, &p), "{p}");
            assert!(names::is_valid(NameKind::Netns, &format!("{p}fabric")), "{p}");
        }
    }

    #[test]
    fn hostile_places_are_refused() {
        let place = |ns: &str, iface: &str| NodePlace {
            node: "n".into(),
            netns: Some(ns.to_string()),
            interface: iface.to_string(),
        };
        assert!(check_place(&place("fm-x-a", "eth0")).is_ok());
        assert!(check_place(&place("fm-x\nnetns del y", "eth0")).is_err());
        assert!(check_place(&place("../../etc", "eth0")).is_err());
        assert!(check_place(&place("fm-x-a", "eth0 up")).is_err());
    }
}
