//! Which existing interfaces the appliance may take over (`kind: attach`).
//!
//! Contract: an `attach` node takes an interface away from its namespace's
//! network stack, so it is the one topology feature that can cut a machine
//! off. The operator decides: a topology file given on the command line may
//! attach any interface, but one arriving later (a reload through the API)
//! may only attach interfaces matching an `--allow-attach PATTERN`. And
//! whichever way a topology arrives, the interface that carries its
//! namespace's default route is never taken unless a pattern names it —
//! taking it would cut the appliance (and whoever manages it) off the network.

use std::io;

use crate::names::{self, NameKind};
use crate::topology::{NodeKind, Topology};

/// The operator's allow-list of interfaces, as `--allow-attach` patterns
/// (`*` matches any run of characters: `veth-app*`, `*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachPolicy {
    patterns: Vec<String>,
}

/// Why a topology may not attach an interface.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// A pattern is not made of interface-name characters and `*`.
    #[error("--allow-attach pattern {0}: use interface-name characters and `*`")]
    BadPattern(String),
    /// A new attach node through the API with no pattern allowing it.
    #[error(
        "node `{node}` would attach interface `{interface}`{}, which the operator has not allowed (start faultmesh with --allow-attach {interface})",
        ns_text(.netns)
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
        "node `{node}` would attach `{interface}`{}, which carries the default route there: taking it would cut this machine off (allow it explicitly with --allow-attach {interface})",
        ns_text(.netns)
    )]
    DefaultRoute {
        /// The node.
        node: String,
        /// The interface.
        interface: String,
        /// Its namespace.
        netns: Option<String>,
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

/// Where a topology came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file the operator named on the command line.
    CommandLine,
    /// A change after start (API `PUT`, reload).
    Live,
}

impl AttachPolicy {
    /// A policy from `--allow-attach` patterns.
    pub fn new(patterns: &[String]) -> Result<AttachPolicy, AttachError> {
        for p in patterns {
            let body: String = p.chars().filter(|&c| c != '*').collect();
            let ok = p.len() <= names::IFNAME_MAX
                && (body.is_empty() || body.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
            if !ok || p.is_empty() {
                return Err(AttachError::BadPattern(names::Shown(p).to_string()));
            }
        }
        Ok(AttachPolicy { patterns: patterns.to_vec() })
    }

    /// True when a pattern matches `interface`.
    pub fn allows(&self, interface: &str) -> bool {
        self.patterns.iter().any(|p| glob(p.as_bytes(), interface.as_bytes()))
    }

    /// Checks the attach nodes of `topo` that are not already attached in
    /// `running` (the whole topology at start).
    pub fn check(&self, topo: &Topology, running: Option<&Topology>, origin: Origin) -> Result<(), AttachError> {
        for n in &topo.nodes {
            let NodeKind::Attach { interface, netns } = &n.kind else { continue };
            let kept = running.is_some_and(|r| r.nodes.iter().any(|o| o.kind == n.kind));
            if kept {
                continue;
            }
            // The grammar was checked at validation; check again where the
            // name is about to reach the kernel.
            names::check(NameKind::Interface, interface).map_err(|_| AttachError::NotAllowed {
                node: n.name.clone(),
                interface: interface.clone(),
                netns: netns.clone(),
            })?;
            if self.allows(interface) {
                continue;
            }
            if origin == Origin::Live {
                return Err(AttachError::NotAllowed {
                    node: n.name.clone(),
                    interface: interface.clone(),
                    netns: netns.clone(),
                });
            }
            let defaults = default_route_interfaces(netns.as_deref())
                .map_err(|source| AttachError::Routes { netns: netns.clone(), source })?;
            if defaults.iter().any(|d| d == interface) {
                return Err(AttachError::DefaultRoute {
                    node: n.name.clone(),
                    interface: interface.clone(),
                    netns: netns.clone(),
                });
            }
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
        let p = AttachPolicy::new(&["veth-app*".into(), "eth1".into()]).unwrap();
        assert!(p.allows("veth-app1") && p.allows("veth-app") && p.allows("eth1"));
        assert!(!p.allows("eth0") && !p.allows("xveth-app1"));
        assert!(AttachPolicy::new(&["*".into()]).unwrap().allows("anything"));
        assert!(!AttachPolicy::default().allows("eth0"));
        for bad in ["", "a b", "../x", "eth0\nx", "-x/y"] {
            assert!(AttachPolicy::new(&[bad.into()]).is_err(), "{bad:?}");
        }
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
        let e = AttachPolicy::default().check(&t, None, Origin::Live).unwrap_err();
        assert!(matches!(e, AttachError::NotAllowed { .. }), "{e}");
        // Already attached before the change: kept.
        assert!(AttachPolicy::default().check(&t, Some(&t), Origin::Live).is_ok());
    }
}
