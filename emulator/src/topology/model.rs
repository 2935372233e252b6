//! The validated topology: names resolved to indices, impairments merged per
//! direction, defaults applied. Nothing here can be inconsistent — `validate`
//! is the only constructor.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::config::Cidr;
use crate::impair::{Impairments, ImpairmentsDoc};
use crate::wire::Mac;

/// Index of a node.
pub type NodeId = usize;
/// Index of a segment.
pub type SegmentId = usize;
/// Index of a link.
pub type LinkId = usize;

/// The device joining a node to the appliance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// A veth pair (Ethernet).
    Veth,
    /// A TUN device (IP packets, no Ethernet).
    Tun,
    /// A TAP device (Ethernet).
    Tap,
}

/// What kind of node, and how the appliance reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A namespace the appliance creates, joined by `device`.
    Host {
        /// The joining device.
        device: DeviceKind,
        /// Namespace name override.
        netns: Option<String>,
    },
    /// An existing interface, read and written with AF_PACKET.
    Attach {
        /// The interface name.
        interface: String,
        /// Its namespace (None: the appliance's).
        netns: Option<String>,
    },
    /// Another runtime's network namespace (a Docker container, a process):
    /// the appliance adds a veth end `interface` there, configures it, and
    /// removes exactly that again. The namespace itself is never deleted.
    Container {
        /// Whose namespace.
        target: ContainerRef,
        /// The interface added inside it.
        interface: String,
    },
    /// A TUN or TAP device the appliance creates for an outside program.
    Device {
        /// Tun or Tap.
        device: DeviceKind,
        /// Device name override.
        name: Option<String>,
        /// Namespace to create it in (None: the appliance's).
        netns: Option<String>,
    },
}

/// Whose network namespace a `container` node wires into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerRef {
    /// A Docker container, by name or ID (resolved through the Engine API
    /// each time it is needed, so a restarted container is found again).
    Docker(String),
    /// A process: `/proc/<pid>/ns/net`.
    Pid(u32),
}

impl std::fmt::Display for ContainerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContainerRef::Docker(n) => write!(f, "container {n}"),
            ContainerRef::Pid(p) => write!(f, "process {p}"),
        }
    }
}

/// The interface a `container` node gets when the file names none.
pub const CONTAINER_INTERFACE: &str = "eth1";

/// Longest Docker container name or ID accepted.
pub const CONTAINER_NAME_MAX: usize = 128;

/// Checks a Docker container name or ID against Docker's own grammar
/// (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`, which also covers hex IDs), at most
/// [`CONTAINER_NAME_MAX`] bytes. What passes is inert in a URL path: no `/`,
/// `?`, `%`, `#`, whitespace or `..` on its own.
pub fn check_container_name(name: &str) -> Result<(), String> {
    let first = name.chars().next().ok_or("it is empty")?;
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return Err(format!("it contains {:?}", c));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(format!("it starts with {first:?}"));
    }
    if name.len() > CONTAINER_NAME_MAX {
        return Err(format!("it has {} bytes, at most {CONTAINER_NAME_MAX} are allowed", name.len()));
    }
    Ok(())
}

/// The pid in a namespace path written exactly as `/proc/<digits>/ns/net`.
pub fn pid_of_netns_path(path: &str) -> Option<u32> {
    let digits = path.strip_prefix("/proc/")?.strip_suffix("/ns/net")?;
    if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&p| p > 0)
}

/// A traffic endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: NodeKind,
    /// Addresses (for attach nodes: what lies behind the interface, if known).
    pub addresses: Vec<Cidr>,
    /// Default gateways (at most one per family).
    pub gateways: Vec<IpAddr>,
    /// Interface MTU.
    pub mtu: Option<u32>,
    /// The MAC the node's interface uses (host/tap/container nodes; learned
    /// for attach).
    pub mac: Option<Mac>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Its one link.
    pub link: LinkId,
}

impl Node {
    /// True when the node exchanges IP packets without Ethernet (TUN).
    pub fn is_l3(&self) -> bool {
        matches!(
            self.kind,
            NodeKind::Host { device: DeviceKind::Tun, .. } | NodeKind::Device { device: DeviceKind::Tun, .. }
        )
    }

    /// The kind as written in the file.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Host { .. } => "host",
            NodeKind::Attach { .. } => "attach",
            NodeKind::Container { .. } => "container",
            NodeKind::Device { device: DeviceKind::Tap, .. } => "tap",
            NodeKind::Device { .. } => "tun",
        }
    }
}

/// What a segment does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    /// An L2 learning switch.
    Switch,
    /// An L3 router with these interface addresses.
    Router {
        /// The router's addresses (gateways of the nodes).
        addresses: Vec<Cidr>,
    },
}

/// An emulated network.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: SegmentKind,
    /// The MAC the segment uses when it speaks (routers).
    pub mac: Mac,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Links attached to it.
    pub links: Vec<LinkId>,
    /// A filter run on every packet entering the segment.
    pub script: Option<ScriptRef>,
}

impl Segment {
    /// True for routers.
    pub fn is_router(&self) -> bool {
        matches!(self.kind, SegmentKind::Router { .. })
    }

    /// The router's addresses (empty for switches).
    pub fn addresses(&self) -> &[Cidr] {
        match &self.kind {
            SegmentKind::Router { addresses } => addresses,
            SegmentKind::Switch => &[],
        }
    }
}

/// A link end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A node.
    Node(NodeId),
    /// A segment.
    Segment(SegmentId),
}

/// A Lua script attached to a link.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptRef {
    /// Absolute or topology-relative path as resolved.
    pub path: PathBuf,
    /// The path as written (or a label for inline source).
    pub file: String,
    /// The script's text: read from `path` at validation (so what was checked
    /// is what runs), or given inline (`path` empty).
    pub source: Option<String>,
    /// Parameters.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Drop packets when the script fails (else pass them).
    pub drop_on_error: bool,
    /// Directions filtered: `[a_to_b, b_to_a]`.
    pub directions: [bool; 2],
}

/// A link with its per-direction impairments.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// Name.
    pub name: String,
    /// End a.
    pub a: Endpoint,
    /// End b.
    pub b: Endpoint,
    /// Impairments a → b.
    pub a_to_b: Impairments,
    /// Impairments b → a.
    pub b_to_a: Impairments,
    /// Filter script.
    pub script: Option<ScriptRef>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

impl Link {
    /// Impairments of direction `dir` (0 = a→b).
    pub fn dir(&self, dir: u8) -> &Impairments {
        if dir == 0 { &self.a_to_b } else { &self.b_to_a }
    }

    /// The end the direction starts from.
    pub fn from(&self, dir: u8) -> Endpoint {
        if dir == 0 { self.a } else { self.b }
    }

    /// The end the direction leads to.
    pub fn to(&self, dir: u8) -> Endpoint {
        if dir == 0 { self.b } else { self.a }
    }
}

/// An extra routed prefix.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// The prefix.
    pub prefix: Cidr,
    /// The node behind which it lies.
    pub via: NodeId,
}

/// A validated topology.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    /// Name.
    pub name: String,
    /// Seed of every random decision.
    pub seed: u64,
    /// Description.
    pub description: Option<String>,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Segments.
    pub segments: Vec<Segment>,
    /// Links.
    pub links: Vec<Link>,
    /// Extra routes.
    pub routes: Vec<Route>,
}

impl Topology {
    /// Index of the node called `name`.
    pub fn node_index(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Index of the segment called `name`.
    pub fn segment_index(&self, name: &str) -> Option<SegmentId> {
        self.segments.iter().position(|s| s.name == name)
    }

    /// Index of the link called `name`.
    pub fn link_index(&self, name: &str) -> Option<LinkId> {
        self.links.iter().position(|l| l.name == name)
    }

    /// The name of an endpoint.
    pub fn endpoint_name(&self, e: Endpoint) -> &str {
        match e {
            Endpoint::Node(n) => &self.nodes[n].name,
            Endpoint::Segment(s) => &self.segments[s].name,
        }
    }

    /// The segment a node is linked to, and the direction of its link that
    /// leads from the node to the segment.
    pub fn node_attachment(&self, n: NodeId) -> (SegmentId, u8) {
        let link = &self.links[self.nodes[n].link];
        match (link.a, link.b) {
            (Endpoint::Node(_), Endpoint::Segment(s)) => (s, 0),
            (Endpoint::Segment(s), Endpoint::Node(_)) => (s, 1),
            _ => unreachable!("validated: a node link has one segment end"),
        }
    }
}

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Endpoint::Node(n) => s.serialize_str(&format!("node:{n}")),
            Endpoint::Segment(n) => s.serialize_str(&format!("segment:{n}")),
        }
    }
}

/// Serializes the topology in the same shape as the file (maps keyed by name).
impl Serialize for Topology {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("seed", &self.seed)?;
        if let Some(d) = &self.description {
            m.serialize_entry("description", d)?;
        }
        let nodes: BTreeMap<&str, serde_json::Value> = self
            .nodes
            .iter()
            .map(|n| {
                let mut o = serde_json::Map::new();
                o.insert("kind".into(), n.kind_name().into());
                if !n.addresses.is_empty() {
                    o.insert("addresses".into(), n.addresses.iter().map(|a| a.to_string()).collect());
                }
                if !n.gateways.is_empty() {
                    o.insert("gateway".into(), n.gateways.iter().map(|a| a.to_string()).collect());
                }
                if let Some(mtu) = n.mtu {
                    o.insert("mtu".into(), mtu.into());
                }
                match &n.kind {
                    NodeKind::Host { device, netns } => {
                        o.insert("device".into(), serde_json::to_value(device).unwrap_or_default());
                        if let Some(ns) = netns {
                            o.insert("netns".into(), ns.clone().into());
                        }
                    }
                    NodeKind::Attach { interface, netns } => {
                        o.insert("interface".into(), interface.clone().into());
                        if let Some(ns) = netns {
                            o.insert("netns".into(), ns.clone().into());
                        }
                    }
                    NodeKind::Container { target, interface } => {
                        match target {
                            ContainerRef::Docker(c) => o.insert("container".into(), c.clone().into()),
                            ContainerRef::Pid(p) => o.insert("pid".into(), (*p).into()),
                        };
                        o.insert("interface".into(), interface.clone().into());
                    }
                    NodeKind::Device { name, netns, .. } => {
                        if let Some(d) = name {
                            o.insert("device".into(), d.clone().into());
                        }
                        if let Some(ns) = netns {
                            o.insert("netns".into(), ns.clone().into());
                        }
                    }
                }
                if let Some(mac) = n.mac {
                    o.insert("mac".into(), mac.to_string().into());
                }
                if !n.labels.is_empty() {
                    o.insert("labels".into(), serde_json::to_value(&n.labels).unwrap_or_default());
                }
                (n.name.as_str(), serde_json::Value::Object(o))
            })
            .collect();
        m.serialize_entry("nodes", &nodes)?;
        let segments: BTreeMap<&str, serde_json::Value> = self
            .segments
            .iter()
            .map(|sg| {
                let mut o = serde_json::Map::new();
                match &sg.kind {
                    SegmentKind::Switch => {
                        o.insert("kind".into(), "switch".into());
                    }
                    SegmentKind::Router { addresses } => {
                        o.insert("kind".into(), "router".into());
                        o.insert("addresses".into(), addresses.iter().map(|a| a.to_string()).collect());
                    }
                }
                if !sg.labels.is_empty() {
                    o.insert("labels".into(), serde_json::to_value(&sg.labels).unwrap_or_default());
                }
                if let Some(sc) = &sg.script {
                    o.insert("script".into(), script_json(sc));
                }
                (sg.name.as_str(), serde_json::Value::Object(o))
            })
            .collect();
        m.serialize_entry("segments", &segments)?;
        let links: BTreeMap<&str, serde_json::Value> = self
            .links
            .iter()
            .map(|l| {
                let mut o = serde_json::Map::new();
                o.insert("a".into(), self.endpoint_name(l.a).into());
                o.insert("b".into(), self.endpoint_name(l.b).into());
                if !l.a_to_b.is_clean() {
                    o.insert(
                        "a_to_b".into(),
                        serde_json::to_value(ImpairmentsDoc::from(&l.a_to_b)).unwrap_or_default(),
                    );
                }
                if !l.b_to_a.is_clean() {
                    o.insert(
                        "b_to_a".into(),
                        serde_json::to_value(ImpairmentsDoc::from(&l.b_to_a)).unwrap_or_default(),
                    );
                }
                if let Some(sc) = &l.script {
                    o.insert("script".into(), script_json(sc));
                }
                if !l.labels.is_empty() {
                    o.insert("labels".into(), serde_json::to_value(&l.labels).unwrap_or_default());
                }
                (l.name.as_str(), serde_json::Value::Object(o))
            })
            .collect();
        m.serialize_entry("links", &links)?;
        if !self.routes.is_empty() {
            let routes: Vec<serde_json::Value> = self
                .routes
                .iter()
                .map(|r| serde_json::json!({"prefix": r.prefix.to_string(), "via": self.nodes[r.via].name}))
                .collect();
            m.serialize_entry("routes", &routes)?;
        }
        m.end()
    }
}

fn script_json(sc: &ScriptRef) -> serde_json::Value {
    let mut so = serde_json::Map::new();
    // A script that came inline goes back out inline, so the topology read
    // from the API can be sent back unchanged.
    match (&sc.source, sc.path.as_os_str().is_empty()) {
        (Some(src), true) => so.insert("source".into(), src.clone().into()),
        _ => so.insert("file".into(), sc.file.clone().into()),
    };
    if !sc.params.is_empty() {
        so.insert("params".into(), serde_json::to_value(&sc.params).unwrap_or_default());
    }
    so.insert("on_error".into(), if sc.drop_on_error { "drop" } else { "pass" }.into());
    let dir = match sc.directions {
        [true, true] => "both",
        [true, false] => "a_to_b",
        _ => "b_to_a",
    };
    so.insert("direction".into(), dir.into());
    serde_json::Value::Object(so)
}
