//! Which existing interfaces the appliance may take over (`kind: attach`).
//!
//! Contract: an `attach` node takes an interface away from its namespace's
//! network stack, so it is the one topology feature that can cut a machine
//! off. The operator decides: a topology file given on the command line may
//! attach any interface, but one arriving later (a reload through the API)
//! may only attach interfaces matching an `--allow-attach PATTERN`. And
//! whichever way a topology arrives, the interface that carries its
//! namespace's default route is never taken unless a pattern names it —
//! taking it would cut the appliance (and whoever manages it) off the network;
//! a pattern must name it exactly (a `*` never takes it by accident). The
//! same holds for the other ways a live change could reach outside
//! faultmesh's own namespaces: a TUN/TAP `device` node (created in the
//! appliance's namespace or a named one, with addresses and routes) needs a
//! pattern for its name, and a `container` node an `--allow-container`
//! pattern for the container (a process's namespace, `pid:`, only from the
//! file given at start).

use std::io;

use crate::names::{self, NameKind};
use crate::topology::{NodeKind, Topology};

/// The operator's allow-lists: `--allow-attach [NS/]IFACE` patterns for
/// interfaces a live change may attach or create a device as (`*` matches
/// any run of characters: `veth-app*`, `lab/*`; no `NS/`: the appliance's
/// own namespace), and `--allow-container NAME` patterns for Docker
/// containers a live change may wire into.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachPolicy {
    interfaces: Vec<(Option<String>, String)>,
    containers: Vec<String>,
}

/// Why a topology may not attach an interface.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// A pattern is not made of name characters and `*`.
    #[error("pattern {0}: use `[NAMESPACE/]INTERFACE` (or a container name) made of name characters and `*`")]
    BadPattern(String),
    /// A new attach or device node through the API with no pattern allowing it.
    #[error(
        "node `{node}` would take interface `{interface}`{}, which the operator has not allowed (start faultmesh with --allow-attach {}{interface})",
        ns_text(.netns), .netns.as_ref().map(|n| format!("{n}/")).unwrap_or_default()
    )]
    NotAllowed {
        /// The node.
        node: String,
        /// The interface.
        interface: String,
        /// Its namespace.
        netns: Option<String>,
    },
    /// The interface carries the default route.
    #[error(
        "node `{node}` would attach `{interface}`{}, which carries the default route there: taking it would cut this machine off (allow it by its exact name: --allow-attach {}{interface})",
        ns_text(.netns), .netns.as_ref().map(|n| format!("{n}/")).unwrap_or_default()
    )]
    DefaultRoute {
        /// The node.
        node: String,
        /// The interface.
        interface: String,
        /// Its namespace.
        netns: Option<String>,
    },
    /// A container node through the API the operator has not allowed.
    #[error("node `{node}` would wire into {target}, which the operator has not allowed{}", container_hint(.target))]
    ContainerNotAllowed {
        /// The node.
        node: String,
        /// What it names.
        target: String,
    },
    /// A device node through the API without a name a pattern could allow.
    #[error(
        "node `{node}` would create a device outside faultmesh's namespaces; name it with `device:` and allow that name with --allow-attach"
    )]
    UnnamedDevice {
        /// The node.
        node: String,
    },
    /// The routing table could not be read.
    #[error("reading the routes of {}: {source}", .netns.as_deref().unwrap_or("this namespace"))]
    Routes {
        /// The namespace.
        netns: Option<String>,
        /// The error.
        source: io::Error,
    },
}

fn ns_text(ns: &Option<String>) -> String {
    ns.as_ref().map(|n| format!(" in namespace `{n}`")).unwrap_or_default()
}

fn container_hint(target: &str) -> String {
    match target.strip_prefix("container ") {
        Some(name) => format!(" (start faultmesh with --allow-container {name})"),
        None => " (a process's namespace can only be named in the topology file given at start)".to_string(),
    }
}

/// Where a topology came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file the operator named on the command line.
    CommandLine,
    /// A change after start (API `PUT`, reload).
    Live,
}

fn pattern_ok(p: &str, max: usize) -> bool {
    let body: String = p.chars().filter(|&c| c != '*').collect();
    // Like a name (a letter, digit or `*` first: never `.`, `..` or `-x`).
    p.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '*')
        && p.len() <= max
        && (body.is_empty() || body.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
}

impl AttachPolicy {
    /// A policy from `--allow-attach` patterns (no containers).
    pub fn new(patterns: &[String]) -> Result<AttachPolicy, AttachError> {
        AttachPolicy::with_containers(patterns, &[])
    }

    /// A policy from `--allow-attach` and `--allow-container` patterns.
    pub fn with_containers(patterns: &[String], containers: &[String]) -> Result<AttachPolicy, AttachError> {
        let mut interfaces = Vec::new();
        for p in patterns {
            let (ns, iface) = match p.split_once('/') {
                Some((ns, i)) => (Some(ns), i),
                None => (None, p.as_str()),
            };
            if !pattern_ok(iface, names::IFNAME_MAX) || ns.is_some_and(|n| !pattern_ok(n, names::NETNS_MAX)) {
                return Err(AttachError::BadPattern(names::Shown(p).to_string()));
            }
            interfaces.push((ns.map(str::to_string), iface.to_string()));
        }
        for c in containers {
            if !pattern_ok(c, crate::topology::CONTAINER_NAME_MAX) {
                return Err(AttachError::BadPattern(names::Shown(c).to_string()));
            }
        }
        Ok(AttachPolicy { interfaces, containers: containers.to_vec() })
    }

    /// True when a pattern matches `interface` in namespace `netns`.
    pub fn allows(&self, netns: Option<&str>, interface: &str) -> bool {
        self.interfaces.iter().any(|(ns, p)| {
            let ns_ok = match (ns, netns) {
                (None, None) => true,
                (Some(pn), Some(n)) => glob(pn.as_bytes(), n.as_bytes()),
                _ => false,
            };
            ns_ok && glob(p.as_bytes(), interface.as_bytes())
        })
    }

    /// True when a pattern names exactly `interface` in `netns`, without
    /// wildcards: how the interface carrying the default route is allowed
    /// (`*` must not take it by accident).
    pub fn names_exactly(&self, netns: Option<&str>, interface: &str) -> bool {
        self.interfaces.iter().any(|(ns, p)| ns.as_deref() == netns && p == interface)
    }

    /// Checks the nodes of `topo` that take something outside faultmesh's
    /// own namespaces — attach, device and container nodes — and are not
    /// already in `running` (the whole topology at start).
    pub fn check(&self, topo: &Topology, running: Option<&Topology>, origin: Origin) -> Result<(), AttachError> {
        for n in &topo.nodes {
            let kept = running.is_some_and(|r| r.nodes.iter().any(|o| o.kind == n.kind));
            if kept {
                continue;
            }
            match &n.kind {
                NodeKind::Attach { interface, netns } => self.check_attach(&n.name, interface, netns, origin)?,
                NodeKind::Device { name, netns, .. } if origin == Origin::Live => {
                    // A device lands in the appliance's own namespace or a
                    // named one, with addresses and routes: from the API
                    // only where the operator allowed that name.
                    let Some(name) = name else {
                        return Err(AttachError::UnnamedDevice { node: n.name.clone() });
                    };
                    if !self.allows(netns.as_deref(), name) {
                        return Err(AttachError::NotAllowed {
                            node: n.name.clone(),
                            interface: name.clone(),
                            netns: netns.clone(),
                        });
                    }
                }
                NodeKind::Container { target, .. } if origin == Origin::Live => {
                    let allowed = match target {
                        crate::topology::ContainerRef::Docker(c) => {
                            self.containers.iter().any(|p| glob(p.as_bytes(), c.as_bytes()))
                        }
                        crate::topology::ContainerRef::Pid(_) => false,
                    };
                    if !allowed {
                        return Err(AttachError::ContainerNotAllowed {
                            node: n.name.clone(),
                            target: target.to_string(),
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn check_attach(
        &self,
        node: &str,
        interface: &str,
        netns: &Option<String>,
        origin: Origin,
    ) -> Result<(), AttachError> {
        let refuse = || AttachError::NotAllowed {
            node: node.to_string(),
            interface: interface.to_string(),
            netns: netns.clone(),
        };
        // The grammar was checked at validation; check again where the name
        // is about to reach the kernel.
        names::check(NameKind::Interface, interface).map_err(|_| refuse())?;
        if origin == Origin::Live && !self.allows(netns.as_deref(), interface) {
            return Err(refuse());
        }
        if self.names_exactly(netns.as_deref(), interface) {
            return Ok(());
        }
        let defaults = default_route_interfaces(netns.as_deref())
            .map_err(|source| AttachError::Routes { netns: netns.clone(), source })?;
        if defaults.iter().any(|d| d == interface) {
            return Err(AttachError::DefaultRoute {
                node: node.to_string(),
                interface: interface.to_string(),
                netns: netns.clone(),
            });
        }
        Ok(())
    }
}

/// `*` matches any run of bytes; everything else matches itself.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// The interfaces that carry a default route (IPv4 or IPv6) in namespace
/// `ns` (`None`: the appliance's own).
pub fn default_route_interfaces(ns: Option<&str>) -> io::Result<Vec<String>> {
    if let Some(n) = ns {
        names::check(NameKind::Netns, n).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    }
    super::netns::run_in(ns, || {
        // thread-self: /proc/self/net shows the main thread's namespace, not
        // the one this thread entered.
        let v4 = std::fs::read_to_string("/proc/thread-self/net/route").unwrap_or_default();
        let v6 = std::fs::read_to_string("/proc/thread-self/net/ipv6_route").unwrap_or_default();
        Ok(parse_default_routes(&v4, &v6))
    })
}

/// Default-route interfaces from `/proc/net/route` and `/proc/net/ipv6_route`.
fn parse_default_routes(v4: &str, v6: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
    for l in v4.lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() >= 8 && f[1] == "00000000" && f[7] == "00000000" {
            out.push(f[0].to_string());
        }
    }
    // dest dest_len src src_len next_hop metric refcnt use flags iface
    for l in v6.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() >= 10 && f[0].bytes().all(|b| b == b'0') && f[1] == "00" && f[9] != "lo" {
            out.push(f[9].to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = AttachPolicy::new(&["veth-app*".into(), "eth1".into(), "lab/*".into()]).unwrap();
        assert!(p.allows(None, "veth-app1") && p.allows(None, "veth-app") && p.allows(None, "eth1"));
        assert!(!p.allows(None, "eth0") && !p.allows(None, "xveth-app1"));
        // A pattern without a namespace is for the appliance's own only.
        assert!(!p.allows(Some("fm-x-a"), "eth1"));
        assert!(p.allows(Some("lab"), "anything") && !p.allows(None, "anything"));
        assert!(p.names_exactly(None, "eth1") && !p.names_exactly(None, "veth-app1"));
        assert!(AttachPolicy::new(&["*".into()]).unwrap().allows(None, "anything"));
        assert!(!AttachPolicy::default().allows(None, "eth0"));
        for bad in ["", "a b", "../x", "eth0\nx", "-x/y", "a/b/c", "/eth0", "ns/"] {
            assert!(AttachPolicy::new(&[bad.into()]).is_err(), "{bad:?}");
        }
        assert!(AttachPolicy::with_containers(&[], &["db-*".into()]).is_ok());
        assert!(AttachPolicy::with_containers(&[], &["a/b".into()]).is_err());
    }

    #[test]
    fn default_routes_from_proc() {
        let v4 = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                  ens3\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
                  ens3\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n\
                  dummy0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n";
        let v6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 wan6\n\
                  fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 ens3\n\
                  00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo\n";
        assert_eq!(parse_default_routes(v4, v6), vec!["ens3".to_string(), "wan6".to_string()]);
    }

    #[test]
    fn the_default_route_interface_here_is_refused_from_a_file() {
        let Ok(ifs) = default_route_interfaces(None) else { return };
        let Some(dev) = ifs.first() else {
            eprintln!("skipped: this machine has no default route");
            return;
        };
        let yaml = format!(
            "nodes:\n  up: {{kind: attach, interface: {dev}}}\n  h: {{kind: host, addresses: [10.9.0.2/24]}}\nsegments:\n  s: {{kind: switch}}\nlinks:\n  a: {{a: up, b: s}}\n  b: {{a: h, b: s}}\n"
        );
        let t = crate::topology::parse_str(&yaml, "t", None).unwrap();
        let e = AttachPolicy::default().check(&t, None, Origin::CommandLine).unwrap_err();
        assert!(matches!(e, AttachError::DefaultRoute { .. }), "{e}");
        assert!(AttachPolicy::new(std::slice::from_ref(dev)).unwrap().check(&t, None, Origin::CommandLine).is_ok());
        // A wildcard that happens to match does not take the default route.
        let e = AttachPolicy::new(&["*".into()]).unwrap().check(&t, None, Origin::Live).unwrap_err();
        assert!(matches!(e, AttachError::DefaultRoute { .. }), "{e}");
        let e = AttachPolicy::default().check(&t, None, Origin::Live).unwrap_err();
        assert!(matches!(e, AttachError::NotAllowed { .. }), "{e}");
        // Already attached before the change: kept.
        assert!(AttachPolicy::default().check(&t, Some(&t), Origin::Live).is_ok());
    }
}
