//! `faultmesh import containerlab LAB.clab.yml`: a containerlab topology
//! becomes a faultmesh topology attached to the lab's containers.
//!
//! Every endpoint of a containerlab link (`endpoints: ["n1:eth1", "n2:eth1"]`,
//! or the extended `{node, interface}` form) becomes a `kind: container` node
//! `<node>-<interface>` on container `clab-<lab>-<node>` (containerlab's
//! naming, `prefix:` honoured), whose interface faultmesh adds. Each link
//! becomes a switch with a faultmesh link to each end: link `<n1>-<n2>` (the
//! one to impair; `a_to_b` is n1 → n2) and `<n1>-<n2>-peer`. Addresses come
//! from the nodes' `exec: ip addr add ADDR dev IF` lines, else a /24 per link
//! from `--subnet`. faultmesh wants every node to reach every other, so with
//! more than one link the switches hang off a router `core` that is each
//! interface's gateway. Links to `host`, `mgmt-net`, `macvlan` and bridges,
//! which have no container end, are left out with a warning on stderr.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde::Deserialize;

/// Options of `faultmesh import containerlab`.
#[derive(clap::Args, Debug)]
pub(crate) struct ClabArgs {
    /// The containerlab topology file (`LAB.clab.yml`).
    pub file: PathBuf,
    /// IPv4 /16 to number links from when the lab's nodes do not set
    /// addresses with `exec: ip addr add`: link N gets x.y.N.1/24 and x.y.N.2/24.
    #[arg(long, default_value = "10.99.0.0/16")]
    pub subnet: String,
    /// Impairments every imported link starts with, tc style:
    /// `--impair "delay 10ms loss 1%"` (applied both ways on link `<n1>-<n2>`).
    #[arg(long, allow_hyphen_values = true)]
    pub impair: Option<String>,
    /// The faultmesh topology's name (default: the lab's).
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Deserialize, Debug)]
struct Lab {
    name: String,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    topology: Option<Topo>,
}

#[derive(Deserialize, Debug, Default)]
struct Topo {
    #[serde(default)]
    defaults: Option<NodeDef>,
    #[serde(default)]
    kinds: BTreeMap<String, Option<NodeDef>>,
    #[serde(default)]
    nodes: BTreeMap<String, Option<NodeDef>>,
    #[serde(default)]
    links: Vec<LinkDef>,
}

#[derive(Deserialize, Debug, Default, Clone)]
struct NodeDef {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    exec: Vec<String>,
}

#[derive(Deserialize, Debug)]
struct LinkDef {
    #[serde(default)]
    endpoints: Vec<EndpointDef>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum EndpointDef {
    Short(String),
    Long {
        node: String,
        #[serde(default)]
        interface: Option<String>,
    },
}

impl EndpointDef {
    fn split(&self) -> Option<(String, String)> {
        match self {
            EndpointDef::Short(s) => s.split_once(':').map(|(n, i)| (n.to_string(), i.to_string())),
            EndpointDef::Long { node, interface } => Some((node.clone(), interface.clone()?)),
        }
    }
}

/// Kinds whose nodes are not containers faultmesh can wire into.
const NOT_CONTAINERS: &[&str] = &["bridge", "ovs-bridge", "host", "ext-bridge"];
/// Endpoint "nodes" that are no node at all.
const SPECIAL_NODES: &[&str] = &["host", "mgmt-net", "macvlan"];

/// A name as faultmesh wants it: letters, digits, `-`, `_`, `.`.
fn sanitize(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect();
    while out.starts_with(['-', '_', '.']) {
        out.remove(0);
    }
    if out.is_empty() { "x".into() } else { out }
}

/// Keeps names unique and within faultmesh's 40 characters.
#[derive(Default)]
struct Names(BTreeSet<String>);

impl Names {
    fn take(&mut self, want: &str) -> String {
        let base: String = sanitize(want).chars().take(36).collect();
        let mut name = base.clone();
        let mut n = 2;
        while !self.0.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        name
    }
}

/// The container containerlab runs node `node` of lab `lab` in.
fn container_name(lab: &Lab, node: &str, kind: Option<&str>) -> String {
    if kind == Some("ext-container") {
        return node.to_string();
    }
    match lab.prefix.as_deref() {
        None => format!("clab-{}-{node}", lab.name),
        Some("") => node.to_string(),
        Some("__lab-name") => format!("{}-{node}", lab.name),
        Some(p) => format!("{p}-{}-{node}", lab.name),
    }
}

/// `ip [-4|-6] addr|address|a add ADDR dev IF` lines of a node's `exec:`.
fn exec_addresses(exec: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in exec {
        for cmd in line.split([';', '&']) {
            let w: Vec<&str> = cmd.split_whitespace().map(|x| x.trim_matches(['\'', '"'])).collect();
            let Some(ip) = w.iter().position(|x| *x == "ip" || x.ends_with("/ip")) else {
                continue;
            };
            let rest: Vec<&str> = w[ip + 1..].iter().copied().filter(|x| !x.starts_with('-')).collect();
            if rest.len() < 5 || !matches!(rest[0], "addr" | "address" | "a") || rest[1] != "add" {
                continue;
            }
            if let Some(d) = rest.iter().position(|x| *x == "dev") {
                if let Some(dev) = rest.get(d + 1) {
                    let addr = rest[2];
                    if addr != "dev" && addr.contains('/') {
                        out.push((dev.to_string(), addr.to_string()));
                    }
                }
            }
        }
    }
    out
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// What was made of one containerlab link.
struct Wire {
    link: String,
    peer: String,
    switch: String,
    ends: [String; 2],
    from: String,
}

/// Converts a containerlab topology; returns the faultmesh YAML and warnings.
pub(crate) fn convert(
    text: &str,
    file: &Path,
    subnet: &str,
    impair: Option<&serde_json::Value>,
    name: Option<&str>,
) -> anyhow::Result<(String, Vec<String>)> {
    let lab: Lab = serde_saphyr::from_str(text)
        .map_err(|e| anyhow::anyhow!("{}: not a containerlab topology: {e}", file.display()))?;
    let topo = lab.topology.as_ref().map_or_else(Topo::default, |t| Topo {
        defaults: t.defaults.clone(),
        kinds: t.kinds.clone(),
        nodes: t.nodes.clone(),
        links: Vec::new(),
    });
    let links = lab.topology.as_ref().map_or(&[][..], |t| &t.links[..]);
    let [n0, n1, _, _] = check_subnet(subnet)?.octets();
    let kind_of = |node: &str| -> Option<String> {
        let nd = topo.nodes.get(node).cloned().flatten().unwrap_or_default();
        nd.kind.or_else(|| topo.defaults.as_ref().and_then(|d| d.kind.clone()))
    };
    let exec_of = |node: &str| -> Vec<String> {
        let nd = topo.nodes.get(node).cloned().flatten().unwrap_or_default();
        let mut e = topo.defaults.as_ref().map(|d| d.exec.clone()).unwrap_or_default();
        if let Some(k) = &nd.kind {
            if let Some(Some(kd)) = topo.kinds.get(k) {
                e.extend(kd.exec.clone());
            }
        }
        e.extend(nd.exec);
        e
    };
    let mut warnings = Vec::new();
    let mut names = Names::default();
    let mut nodes = String::new();
    let mut wires: Vec<Wire> = Vec::new();
    let mut router_addrs = Vec::new();
    let mut index = 0u32;
    for (i, l) in links.iter().enumerate() {
        let what = format!(
            "link {} ({})",
            i + 1,
            l.endpoints
                .iter()
                .filter_map(|e| e.split())
                .map(|(n, i)| format!("{n}:{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if l.kind.as_deref().is_some_and(|k| k != "veth") {
            warnings.push(format!(
                "{what}: type `{}` has no container at both ends; left out",
                l.kind.as_deref().unwrap_or("")
            ));
            continue;
        }
        let ends: Vec<(String, String)> = l.endpoints.iter().filter_map(EndpointDef::split).collect();
        if ends.len() != 2 {
            warnings.push(format!("{what}: needs two `node:interface` endpoints; left out"));
            continue;
        }
        if let Some((n, _)) = ends.iter().find(|(n, _)| {
            SPECIAL_NODES.contains(&n.as_str()) || kind_of(n).is_some_and(|k| NOT_CONTAINERS.contains(&k.as_str()))
        }) {
            warnings.push(format!("{what}: `{n}` is not a container faultmesh can wire into; left out"));
            continue;
        }
        if let Some((n, _)) = ends.iter().find(|(n, _)| !topo.nodes.contains_key(n)) {
            warnings.push(format!("{what}: node `{n}` is not defined under topology.nodes; left out"));
            continue;
        }
        index += 1;
        if index > 254 {
            bail!("more than 254 links: --subnet numbers at most 254 /24s");
        }
        // Addresses the lab gives (`exec: ip addr add`), per end.
        let given: Vec<Vec<String>> = ends
            .iter()
            .map(|(node, iface)| {
                exec_addresses(&exec_of(node)).into_iter().filter(|(d, _)| d == iface).map(|(_, a)| a).collect()
            })
            .collect();
        let mut fm_nodes = Vec::new();
        for (k, (node, iface)) in ends.iter().enumerate() {
            let fm_name = names.take(&format!("{node}-{iface}"));
            let container = container_name(&lab, node, kind_of(node).as_deref());
            let mut ifname = sanitize(iface);
            ifname.truncate(15);
            if &ifname != iface {
                warnings.push(format!("{what}: interface `{iface}` of `{node}` is named `{ifname}` (Linux interface names: 15 letters, digits, `-`, `_`, `.`)"));
            }
            let mut addrs = given[k].clone();
            let numbered = addrs.is_empty();
            if numbered {
                // On the other end's subnet when the lab numbered that end.
                let other = given[1 - k].first();
                addrs.push(match other.and_then(|o| neighbour_address(o)) {
                    Some(a) => a,
                    None => format!("{n0}.{n1}.{index}.{}/24", k + 1),
                });
            }
            let _ = writeln!(nodes, "  {fm_name}:");
            let _ = writeln!(nodes, "    kind: container");
            let _ = writeln!(nodes, "    container: {}", yaml_str(&container));
            let _ = writeln!(nodes, "    interface: {}", yaml_str(&ifname));
            let _ = writeln!(
                nodes,
                "    addresses: [{}]{}",
                addrs.join(", "),
                if numbered { "   # from --subnet" } else { "   # from the node's exec" }
            );
            let _ =
                writeln!(nodes, "    labels: {{clab-node: {}, clab-interface: {}}}", yaml_str(node), yaml_str(iface));
            fm_nodes.push((fm_name, addrs));
        }
        let base = format!("{}-{}", ends[0].0, ends[1].0);
        let link = names.take(&base);
        let peer = names.take(&format!("{link}-peer"));
        let switch = names.take(&format!("sw-{link}"));
        // The router's address in this link's first IPv4 subnet.
        let v4 = fm_nodes[0].1.iter().find(|a| !a.contains(':')).cloned();
        router_addrs.push(v4.map(|a| router_address(&a)));
        wires.push(Wire {
            link,
            peer,
            switch,
            ends: [fm_nodes[0].0.clone(), fm_nodes[1].0.clone()],
            from: format!("{}:{} <-> {}:{}", ends[0].0, ends[0].1, ends[1].0, ends[1].1),
        });
    }
    if wires.is_empty() {
        bail!("{}: no link between two containers to import", file.display());
    }
    let routed = wires.len() > 1;
    let core = if routed { names.take("core") } else { String::new() };
    let mut out = String::new();
    let _ = writeln!(out, "# faultmesh topology imported from {} (containerlab lab `{}`)", file.display(), lab.name);
    let _ = writeln!(out, "# by `faultmesh import containerlab`. Deploy the lab without its `links:` (faultmesh");
    let _ = writeln!(out, "# adds the interfaces), then `faultmesh run` this file. Impair a link with e.g.");
    let _ = writeln!(out, "#   faultmesh link set {} delay 10ms loss 1%", wires[0].link);
    if routed {
        let _ = writeln!(out, "# faultmesh wants every node to reach every other: the links' switches hang off");
        let _ = writeln!(out, "# router `{core}`, each interface's gateway (a default route in the container).");
    }
    let _ = writeln!(out, "name: {}", yaml_str(&sanitize(name.unwrap_or(&lab.name))));
    let _ = writeln!(out, "nodes:");
    if routed {
        // Gateways go in after each node's addresses.
        let mut with_gw = String::new();
        let mut gw = None;
        for line in nodes.lines() {
            let _ = writeln!(with_gw, "{line}");
            if line.starts_with("    addresses: [") {
                let first = line.trim_start_matches("    addresses: [").split([',', ']']).next().unwrap_or("");
                if !first.contains(':') {
                    gw = Some(router_address(first));
                }
                if let Some(g) = gw.take() {
                    let _ = writeln!(with_gw, "    gateway: {}", g.split('/').next().unwrap_or(""));
                }
            }
        }
        nodes = with_gw;
    }
    out += &nodes;
    let _ = writeln!(out, "segments:");
    for w in &wires {
        let _ = writeln!(out, "  {}: {{kind: switch}}   # {}", w.switch, w.from);
    }
    if routed {
        let addrs: Vec<String> = router_addrs.iter().flatten().cloned().collect();
        let _ = writeln!(out, "  {core}: {{kind: router, addresses: [{}]}}", addrs.join(", "));
    }
    let impair_yaml = impair.map(|v| {
        let fields: Vec<String> = v
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, x)| !x.is_null())
            .map(|(k, x)| format!("{k}: {}", if let Some(s) = x.as_str() { yaml_str(s) } else { x.to_string() }))
            .collect();
        format!(", both: {{{}}}", fields.join(", "))
    });
    let _ = writeln!(out, "links:");
    for w in &wires {
        let _ = writeln!(
            out,
            "  {}: {{a: {}, b: {}{}}}   # a_to_b: {} -> {}",
            w.link,
            w.ends[0],
            w.switch,
            impair_yaml.as_deref().unwrap_or(""),
            w.ends[0],
            w.ends[1]
        );
        let _ = writeln!(out, "  {}: {{a: {}, b: {}}}", w.peer, w.switch, w.ends[1]);
        if routed {
            let _ = writeln!(out, "  {}: {{a: {}, b: {core}}}", names.take(&format!("{}-core", w.switch)), w.switch);
        }
    }
    Ok((out, warnings))
}

/// Another host address on the subnet of `cidr` (the first one that is not
/// `cidr`'s own, nor the router's `.254`-style last address).
fn neighbour_address(cidr: &str) -> Option<String> {
    let (a, l) = cidr.split_once('/')?;
    let ip: std::net::IpAddr = a.parse().ok()?;
    match ip {
        std::net::IpAddr::V4(v4) => {
            let len: u32 = l.parse().ok().filter(|&l| l <= 30)?;
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            let net = u32::from(v4) & mask;
            let hosts = (!mask).saturating_sub(1);
            // Leave the router its address, unless the subnet only has two.
            let router = if hosts > 2 { router_address(cidr) } else { String::new() };
            (1..=hosts)
                .map(|h| format!("{}/{len}", Ipv4Addr::from(net | h)))
                .find(|c| c.split('/').next() != Some(a) && *c != router)
        }
        std::net::IpAddr::V6(v6) => {
            let len: u32 = l.parse().ok().filter(|&l| l <= 126)?;
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
            let net = u128::from(v6) & mask;
            (1u128..4).map(|h| std::net::Ipv6Addr::from(net | h)).find(|c| *c != v6).map(|c| format!("{c}/{len}"))
        }
    }
}

/// The network of `--subnet` (an IPv4 /16).
fn check_subnet(subnet: &str) -> anyhow::Result<Ipv4Addr> {
    let (net, len) = subnet.split_once('/').context("--subnet needs a prefix length, e.g. 10.99.0.0/16")?;
    let net: Ipv4Addr = net.parse().with_context(|| format!("--subnet `{subnet}`: not an IPv4 network"))?;
    if len != "16" {
        bail!("--subnet `{subnet}`: give a /16 (each link takes a /24 of it)");
    }
    Ok(net)
}

/// `.254` of a node address's /24 (or the last address of its subnet).
fn router_address(cidr: &str) -> String {
    let (a, l) = cidr.split_once('/').unwrap_or((cidr, "24"));
    let len: u32 = l.parse().unwrap_or(24).clamp(8, 30);
    let ip: Ipv4Addr = a.parse().unwrap_or(Ipv4Addr::UNSPECIFIED);
    let mask = u32::MAX << (32 - len);
    let last = (u32::from(ip) & mask) | (!mask - 1);
    format!("{}/{len}", Ipv4Addr::from(last))
}

/// `faultmesh import containerlab FILE`.
pub(crate) fn containerlab(a: &ClabArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let usage = |e: anyhow::Error| {
        eprintln!("faultmesh import: {e:#}");
        Ok(ExitCode::from(super::EXIT_USAGE))
    };
    let impair = match &a.impair {
        Some(s) => {
            let words: Vec<String> = s.split_whitespace().map(String::from).collect();
            match super::control::parse_link_args(&words) {
                Ok(v) => Some(v),
                Err(e) => return usage(e.context("--impair")),
            }
        }
        None => None,
    };
    if let Err(e) = check_subnet(&a.subnet) {
        return usage(e);
    }
    let (yaml, warnings) = convert(&text, &a.file, &a.subnet, impair.as_ref(), a.name.as_deref())?;
    for w in &warnings {
        eprintln!("faultmesh import: warning: {w}");
    }
    print!("{yaml}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
name: srl01
topology:
  nodes:
    client: {kind: linux, image: alpine:3}
    server:
      kind: linux
      image: nginx
      exec:
        - ip addr add 192.168.7.2/24 dev eth1
  links:
    - endpoints: ["client:eth1", "server:eth1"]
"#;

    const CHAIN: &str = r#"
name: chain
prefix: ""
topology:
  defaults: {kind: linux}
  kinds:
    nokia_srlinux: {image: ghcr.io/nokia/srlinux}
  nodes:
    a: {}
    r: {kind: nokia_srlinux}
    b: {exec: ["ip -6 addr add fd00:9::2/64 dev eth1"]}
    br: {kind: bridge}
  links:
    - endpoints: ["a:eth1", "r:e1-1"]
    - type: veth
      endpoints:
        - {node: r, interface: ethernet-1/2}
        - {node: b, interface: eth1}
    - endpoints: ["a:eth2", "host:a-eth2"]
    - endpoints: ["b:eth2", "br:b-eth2"]
    - type: mgmt-net
      endpoint: {node: a, interface: eth9}
"#;

    /// The imported text as faultmesh reads it; `None` while this faultmesh
    /// has no container nodes yet.
    fn parsed(y: &str) -> Option<faultmesh_emulator::topology::TopologyConfig> {
        match serde_saphyr::from_str(y) {
            Ok(c) => Some(c),
            Err(e) if e.to_string().contains("unknown field `container`") => None,
            Err(e) => panic!("{e}\n{y}"),
        }
    }

    fn conv(text: &str) -> (String, Vec<String>) {
        convert(text, Path::new("lab.clab.yml"), "10.99.0.0/16", None, None).unwrap()
    }

    #[test]
    fn one_link_becomes_two_container_nodes_on_a_switch() {
        let (y, w) = conv(TWO);
        assert!(w.is_empty(), "{w:?}");
        for want in [
            "name: \"srl01\"",
            "  client-eth1:\n    kind: container\n    container: \"clab-srl01-client\"\n    interface: \"eth1\"\n    addresses: [192.168.7.1/24]",
            "  server-eth1:\n    kind: container\n    container: \"clab-srl01-server\"\n    interface: \"eth1\"\n    addresses: [192.168.7.2/24]",
            "  sw-client-server: {kind: switch}",
            "  client-server: {a: client-eth1, b: sw-client-server}",
            "  client-server-peer: {a: sw-client-server, b: server-eth1}",
        ] {
            assert!(y.contains(want), "missing {want:?} in\n{y}");
        }
        assert!(!y.contains("gateway") && !y.contains("router"), "{y}");
        // It is YAML, and each field lands where faultmesh reads it.
        if let Some(cfg) = parsed(&y) {
            assert_eq!(cfg.nodes.0.len(), 2);
            assert_eq!(cfg.links.0.len(), 2);
        }
    }

    #[test]
    fn chains_are_routed_and_what_has_no_container_is_left_out() {
        let (y, w) = conv(CHAIN);
        assert_eq!(w.len(), 4, "{w:?}");
        assert!(w.iter().any(|m| m.contains("`host` is not a container")), "{w:?}");
        assert!(w.iter().any(|m| m.contains("`br` is not a container")), "{w:?}");
        assert!(w.iter().any(|m| m.contains("type `mgmt-net`")), "{w:?}");
        assert!(w.iter().any(|m| m.contains("`ethernet-1-2`")), "{w:?}");
        for want in [
            "container: \"a\"",
            "container: \"r\"",
            "interface: \"e1-1\"",
            "interface: \"ethernet-1-2\"",
            "addresses: [fd00:9::2/64]",
            "addresses: [fd00:9::1/64]",
            "addresses: [10.99.1.1/24]   # from --subnet\n    gateway: 10.99.1.254",
            "core: {kind: router, addresses: [10.99.1.254/24]}",
            "  a-r: {a: a-eth1, b: sw-a-r}",
            "  r-b: {a: r-ethernet-1-2, b: sw-r-b}",
            "  sw-a-r-core: {a: sw-a-r, b: core}",
        ] {
            assert!(y.contains(want), "missing {want:?} in\n{y}");
        }
        if let Some(cfg) = parsed(&y) {
            assert_eq!(cfg.segments.0.len(), 3);
        }
    }

    #[test]
    fn prefixes_impairments_and_errors() {
        let lab = |p: &str| Lab { name: "l".into(), prefix: Some(p.into()), topology: None };
        assert_eq!(container_name(&lab("__lab-name"), "n", None), "l-n");
        assert_eq!(container_name(&lab("x"), "n", None), "x-l-n");
        assert_eq!(container_name(&lab(""), "n", None), "n");
        assert_eq!(container_name(&lab("x"), "n", Some("ext-container")), "n");
        let imp = super::super::control::parse_link_args(&["delay".into(), "10ms".into(), "loss".into(), "1%".into()])
            .unwrap();
        let (y, _) = convert(TWO, Path::new("x"), "10.50.0.0/16", Some(&imp), Some("rig")).unwrap();
        assert!(y.contains("name: \"rig\""), "{y}");
        assert!(y.contains("both: {delay: \"10ms\", loss: \"1%\"}"), "{y}");
        assert!(y.contains("192.168.7.1/24") && !y.contains("10.50."), "{y}");
        let (y, _) = convert(CHAIN, Path::new("x"), "10.50.0.0/16", None, None).unwrap();
        assert!(y.contains("10.50.1.1/24") && y.contains("gateway: 10.50.1.254"), "{y}");
        assert!(convert("name: x\ntopology: {nodes: {a: {}}}\n", Path::new("x"), "10.99.0.0/16", None, None).is_err());
        assert!(convert("- not a lab\n", Path::new("x"), "10.99.0.0/16", None, None).is_err());
        assert!(convert(TWO, Path::new("x"), "10.99.0.0/24", None, None).is_err());
    }

    #[test]
    fn exec_lines_give_addresses() {
        let e = vec![
            "ip addr add 10.0.0.1/24 dev eth1".to_string(),
            "bash -c 'ip -4 address add 10.0.1.1/30 dev eth2; ip link set eth2 up'".into(),
            "ip route add default via 10.0.0.254".into(),
        ];
        assert_eq!(
            exec_addresses(&e),
            vec![("eth1".into(), "10.0.0.1/24".into()), ("eth2".into(), "10.0.1.1/30".into())]
        );
        assert_eq!(router_address("10.0.1.1/29"), "10.0.1.6/29");
        assert_eq!(router_address("10.99.3.1/24"), "10.99.3.254/24");
        assert_eq!(neighbour_address("192.168.7.1/24").as_deref(), Some("192.168.7.2/24"));
        assert_eq!(neighbour_address("192.168.7.2/24").as_deref(), Some("192.168.7.1/24"));
        assert_eq!(neighbour_address("10.0.0.1/30").as_deref(), Some("10.0.0.2/30"));
        assert_eq!(neighbour_address("fd00:9::2/64").as_deref(), Some("fd00:9::1/64"));
        assert_eq!(neighbour_address("10.0.0.1/32"), None);
    }

    /// With container nodes in the topology format, the import validates.
    #[test]
    fn the_import_validates_where_container_nodes_exist() {
        for lab in [TWO, CHAIN] {
            let (y, _) = conv(lab);
            match faultmesh_emulator::topology::parse_str(&y, "imported", None) {
                Ok(t) => assert!(t.nodes.len() >= 2),
                Err(d)
                    if d.0.iter().any(|d| {
                        d.message.contains("unknown node kind `container`")
                            || d.message.contains("unknown field `container`")
                    }) =>
                {
                    eprintln!("skipping: this faultmesh has no container nodes yet");
                }
                Err(d) => panic!("{}", d.render("imported", &y)),
            }
        }
    }
}
