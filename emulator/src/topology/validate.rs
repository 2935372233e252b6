//! From the file as written to a consistent model, or every problem found.
//!
//! Contract: [`validate`] never panics and never stops at the first problem;
//! it reports each one at the line and column that caused it, with a hint,
//! and avoids cascades (a link to an unknown node is reported once, not again
//! as "node has no link"). Checks: names, per-kind fields, link ends, one link
//! per node, address syntax/duplicates/overlaps, MTU range, probability ranges
//! (while parsing), reorder without delay, TUN devices on switches, L2 loops,
//! gateways that no router owns, routes via unknown nodes, and node pairs that
//! cannot reach each other.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;

use serde_saphyr::{Location, Spanned};

use super::config::{Cidr, ImpairmentsConfig, LinkConfig, NodeConfig, TopologyConfig};
use super::diag::{Diagnostic, Diagnostics};
use super::model::*;
use super::scripts::ScriptDirs;
use crate::impair::Impairments;
use crate::names::{self, NameKind};
use crate::wire::Mac;

/// Reports `name` at `at` if it breaks the grammar of [`names`]; returns
/// whether it was fine.
fn check_name(cx: &mut Ctx, kind: NameKind, name: &Spanned<String>) -> bool {
    match names::check(kind, &name.value) {
        Ok(()) => true,
        Err(e) => {
            cx.err(Diagnostic::spanned(name, e.to_string()).hint(kind.hint()));
            false
        }
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    known
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= 2 && *d < k.len())
        .min()
        .map(|(_, k)| k.to_string())
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}

struct Ctx {
    diags: Diagnostics,
}

impl Ctx {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }
}

/// Turns the file into a model, or returns every problem found.
pub fn validate(cfg: TopologyConfig, default_name: &str, scripts: &ScriptDirs) -> Result<Topology, Diagnostics> {
    let mut cx = Ctx { diags: Diagnostics::default() };
    let name = match &cfg.name {
        Some(n) => {
            check_name(&mut cx, NameKind::Topology, n);
            n.value.clone()
        }
        // The default comes from a file name: make it fit rather than refuse
        // a file called `my lab.yaml`.
        None => names::sanitize(default_name, NameKind::Topology),
    };

    // ---- names -------------------------------------------------------------
    let mut node_ids: HashMap<String, NodeId> = HashMap::new();
    let mut seg_ids: HashMap<String, SegmentId> = HashMap::new();
    for (key, _) in &cfg.nodes.0 {
        check_name(&mut cx, NameKind::Node, key);
        let id = node_ids.len();
        node_ids.entry(key.value.clone()).or_insert(id);
    }
    for (key, _) in &cfg.segments.0 {
        check_name(&mut cx, NameKind::Segment, key);
        if node_ids.contains_key(&key.value) {
            cx.err(
                Diagnostic::spanned(key, format!("duplicate name `{}`: a node already has it", key.value))
                    .hint("nodes and segments share one namespace; rename one of them"),
            );
        }
        let id = seg_ids.len();
        seg_ids.entry(key.value.clone()).or_insert(id);
    }
    let mut link_names: HashMap<String, ()> = HashMap::new();
    for (key, _) in &cfg.links.0 {
        check_name(&mut cx, NameKind::Link, key);
        link_names.insert(key.value.clone(), ());
    }

    // ---- nodes -------------------------------------------------------------
    let mut nodes: Vec<Node> = Vec::new();
    let mut node_locs: Vec<Location> = Vec::new();
    let mut addr_owner: HashMap<IpAddr, (String, Location)> = HashMap::new();
    for (key, nc) in cfg.nodes.0.iter() {
        node_locs.push(key.referenced);
        let node = build_node(&mut cx, key, nc, &mut addr_owner);
        nodes.push(node);
    }

    // Derived MACs must be unique (a 32-bit hash of the name; a clash is
    // astronomically rare, but then the later node gets the next value).
    {
        let mut seen: HashMap<Mac, usize> = HashMap::new();
        for (i, n) in nodes.iter_mut().enumerate() {
            let Some(mut m) = n.mac else { continue };
            while seen.contains_key(&m) {
                let v = u32::from_be_bytes([m.0[2], m.0[3], m.0[4], m.0[5]]).wrapping_add(1).to_be_bytes();
                m = Mac([m.0[0], m.0[1], v[0], v[1], v[2], v[3]]);
            }
            seen.insert(m, i);
            n.mac = Some(m);
        }
    }

    // ---- segments ----------------------------------------------------------
    let mut segments: Vec<Segment> = Vec::new();
    let mut seg_locs: Vec<Location> = Vec::new();
    for (key, sc) in cfg.segments.0.iter() {
        seg_locs.push(key.referenced);
        let kind = match sc.kind.value.as_str() {
            "switch" => {
                if let Some(a) = sc.addresses.as_ref().and_then(|a| a.first()) {
                    cx.err(
                        Diagnostic::spanned(a, format!("switch `{}` cannot have addresses", key.value))
                            .hint("a switch only forwards frames; give addresses to a `router` segment"),
                    );
                }
                SegmentKind::Switch
            }
            "router" => {
                let addrs: Vec<Cidr> = sc.addresses.iter().flatten().map(|a| a.value).collect();
                for (i, a) in sc.addresses.iter().flatten().enumerate() {
                    check_owner(&mut cx, &mut addr_owner, a, &key.value);
                    for b in &addrs[..i] {
                        if a.value.overlaps(b) && a.value.network() == b.network() && a.value.prefix == b.prefix {
                            cx.err(
                                Diagnostic::spanned(
                                    a,
                                    format!(
                                        "router `{}` has two addresses in {}/{}",
                                        key.value,
                                        a.value.network(),
                                        a.value.prefix
                                    ),
                                )
                                .hint("one address per subnet per router"),
                            );
                        } else if a.value.overlaps(b) {
                            cx.err(
                                Diagnostic::spanned(
                                    a,
                                    format!("address {} overlaps {} on router `{}`", a.value, b, key.value),
                                )
                                .hint("subnets on one router must not overlap"),
                            );
                        }
                    }
                }
                SegmentKind::Router { addresses: addrs }
            }
            other => {
                cx.err(
                    Diagnostic::spanned(&sc.kind, format!("unknown segment kind `{other}`"))
                        .hint("use `switch` (L2, MAC learning) or `router` (L3, longest prefix match)"),
                );
                SegmentKind::Switch
            }
        };
        let script = sc.script.as_ref().and_then(|s| {
            if let Some(d) = &s.direction {
                cx.err(
                    Diagnostic::spanned(
                        d,
                        "a segment script filters what enters the segment; `direction` applies to link scripts",
                    )
                    .hint("remove `direction`"),
                );
            }
            build_script(&mut cx, key, s, scripts)
        });
        segments.push(Segment {
            name: key.value.clone(),
            kind,
            mac: Mac::from_name(0xfe, &key.value),
            labels: sc.labels.clone(),
            links: Vec::new(),
            script,
        });
    }

    // ---- links -------------------------------------------------------------
    let mut links: Vec<Link> = Vec::new();
    let mut node_link: Vec<Option<(LinkId, Location)>> = vec![None; nodes.len()];
    let mut node_bad_ref = vec![false; nodes.len()];
    let mut seg_pairs: HashMap<(SegmentId, SegmentId), String> = HashMap::new();
    let all_names: Vec<String> = node_ids.keys().chain(seg_ids.keys()).cloned().collect();
    // A misspelt link end usually means a node's link: then "not linked" is noise.
    let mut any_unresolved = false;
    for (key, lc) in &cfg.links.0 {
        let resolve = |cx: &mut Ctx, end: &Spanned<String>| -> Option<Endpoint> {
            if let Some(&n) = node_ids.get(&end.value) {
                return Some(Endpoint::Node(n));
            }
            if let Some(&s) = seg_ids.get(&end.value) {
                return Some(Endpoint::Segment(s));
            }
            let mut d = Diagnostic::spanned(
                end,
                format!("link `{}` refers to `{}`, which is neither a node nor a segment", key.value, end.value),
            );
            d = match suggest(&end.value, all_names.iter().map(String::as_str)) {
                Some(s) => d.hint(format!("did you mean `{s}`?")),
                None => d.hint("define it under `nodes:` or `segments:`"),
            };
            cx.err(d);
            None
        };
        let a = resolve(&mut cx, &lc.a);
        let b = resolve(&mut cx, &lc.b);
        let (a_to_b, b_to_a) = link_impairments(&mut cx, &key.value, lc);
        let script = lc.script.as_ref().and_then(|s| build_script(&mut cx, key, s, scripts));
        let id = links.len();
        let (Some(a), Some(b)) = (a, b) else {
            any_unresolved = true;
            for e in [a, b].into_iter().flatten() {
                if let Endpoint::Node(n) = e {
                    node_bad_ref[n] = true;
                }
            }
            continue;
        };
        match (a, b) {
            (Endpoint::Node(_), Endpoint::Node(_)) => {
                cx.err(
                    Diagnostic::spanned(&lc.b, format!("link `{}` joins two nodes", key.value)).hint(
                        "links join a node to a segment, or two segments; put a `switch` segment between the nodes",
                    ),
                );
                continue;
            }
            (x, y) if x == y => {
                cx.err(Diagnostic::spanned(&lc.b, format!("link `{}` joins `{}` to itself", key.value, lc.a.value)));
                continue;
            }
            (Endpoint::Segment(x), Endpoint::Segment(y)) => {
                let k = (x.min(y), x.max(y));
                if let Some(prev) = seg_pairs.get(&k) {
                    cx.err(
                        Diagnostic::spanned(
                            key,
                            format!(
                                "link `{}` duplicates link `{prev}` between `{}` and `{}`",
                                key.value, lc.a.value, lc.b.value
                            ),
                        )
                        .hint("one link per pair of segments; put both impairments on one link"),
                    );
                    continue;
                }
                seg_pairs.insert(k, key.value.clone());
            }
            _ => {}
        }
        for e in [a, b] {
            match e {
                Endpoint::Node(n) => {
                    if let Some((prev, _)) = node_link[n] {
                        cx.err(
                            Diagnostic::spanned(
                                key,
                                format!(
                                    "node `{}` is already linked by `{}`; a node has exactly one link",
                                    nodes[n].name, links[prev].name
                                ),
                            )
                            .hint("give the node one link to a segment; use a switch segment to fan out"),
                        );
                    } else {
                        node_link[n] = Some((id, key.referenced));
                    }
                }
                Endpoint::Segment(s) => segments[s].links.push(id),
            }
        }
        links.push(Link { name: key.value.clone(), a, b, a_to_b, b_to_a, script, labels: lc.labels.clone() });
    }
    for (n, l) in node_link.iter().enumerate() {
        match l {
            Some((id, _)) => nodes[n].link = *id,
            None if !node_bad_ref[n] && !any_unresolved => cx.err(
                Diagnostic::at(&node_locs[n], format!("node `{}` is not linked to anything", nodes[n].name))
                    .hint(format!("add a link, e.g. `{}-link: {{a: {}, b: <segment>}}`", nodes[n].name, nodes[n].name)),
            ),
            None => {}
        }
    }
    // Later checks need every node linked; stop here if the structure is broken.
    if !cx.diags.is_empty() {
        cx.diags.sort();
        return Err(cx.diags);
    }

    let topo = Topology {
        name,
        seed: cfg.seed.unwrap_or(1),
        description: cfg.description.clone(),
        nodes,
        segments,
        links,
        routes: Vec::new(),
    };
    let mut topo = topo;

    // ---- structural checks ------------------------------------------------
    let l2 = l2_domains(&mut cx, &topo, &cfg);
    for (n, node) in topo.nodes.iter().enumerate() {
        let (seg, _) = topo.node_attachment(n);
        if node.is_l3() && !topo.segments[seg].is_router() {
            cx.err(
                Diagnostic::at(
                    &node_locs[n],
                    format!(
                        "node `{}` uses a TUN device (IP packets, no Ethernet) but is linked to switch `{}`",
                        node.name, topo.segments[seg].name
                    ),
                )
                .hint("link it to a `router` segment, or use `device: tap` for an Ethernet device"),
            );
        }
    }
    let by_domain = routers_by_domain(&topo, &l2);
    check_gateways(&mut cx, &topo, &cfg, &l2, &by_domain);
    // Routes.
    for r in &cfg.routes {
        match node_ids.get(&r.via.value) {
            Some(&n) => topo.routes.push(Route { prefix: r.prefix.value, via: n }),
            None => {
                let d = Diagnostic::spanned(&r.via, format!("route via `{}`: no such node", r.via.value));
                cx.err(match suggest(&r.via.value, node_ids.keys().map(String::as_str)) {
                    Some(s) => d.hint(format!("did you mean `{s}`?")),
                    None => d.hint("`via` names the node the prefix lies behind"),
                });
            }
        }
    }
    if cx.diags.is_empty() {
        check_reachability(&mut cx, &topo, &l2, &node_locs, &by_domain);
    }
    if cx.diags.is_empty() {
        Ok(topo)
    } else {
        cx.diags.sort();
        Err(cx.diags)
    }
}

fn check_owner(cx: &mut Ctx, owners: &mut HashMap<IpAddr, (String, Location)>, a: &Spanned<Cidr>, owner: &str) {
    if let Some((prev, _)) = owners.get(&a.value.addr) {
        cx.err(
            Diagnostic::spanned(a, format!("address {} is already used by `{prev}`", a.value.addr))
                .hint("every address must be unique across nodes and routers"),
        );
    } else {
        owners.insert(a.value.addr, (owner.to_string(), a.referenced));
    }
}

fn build_node(
    cx: &mut Ctx,
    key: &Spanned<String>,
    nc: &NodeConfig,
    owners: &mut HashMap<IpAddr, (String, Location)>,
) -> Node {
    let name = &key.value;
    let kind = nc.kind.value.as_str();
    let not_for = |cx: &mut Ctx, present: bool, loc: Option<&Location>, field: &str, hint: &str| {
        if present {
            if let Some(loc) = loc {
                cx.err(
                    Diagnostic::at(loc, format!("`{field}` is not valid for a `{kind}` node")).hint(hint.to_string()),
                );
            }
        }
    };
    let mut node = Node {
        name: name.clone(),
        kind: NodeKind::Host { device: DeviceKind::Veth, netns: None },
        addresses: Vec::new(),
        gateways: Vec::new(),
        mtu: None,
        mac: None,
        labels: nc.labels.clone(),
        link: usize::MAX,
    };
    if let Some(n) = &nc.netns {
        check_name(cx, NameKind::Netns, n);
    }
    let netns = nc.netns.as_ref().map(|n| n.value.clone());
    match kind {
        "host" => {
            not_for(
                cx,
                nc.interface.is_some(),
                nc.interface.as_ref().map(|s| &s.referenced),
                "interface",
                "a host is a namespace faultmesh creates; to use an existing interface, use `kind: attach`",
            );
            let device = match nc.device.as_ref().map(|d| d.value.as_str()) {
                None | Some("veth") => DeviceKind::Veth,
                Some("tun") => DeviceKind::Tun,
                Some("tap") => DeviceKind::Tap,
                Some(other) => {
                    if let Some(d) = &nc.device {
                        cx.err(
                            Diagnostic::spanned(d, format!("unknown host device `{other}`"))
                                .hint("use `veth` (default), `tun` or `tap`"),
                        );
                    }
                    DeviceKind::Veth
                }
            };
            if nc.addresses.as_ref().is_none_or(|a| a.value.is_empty()) {
                cx.err(
                    Diagnostic::spanned(key, format!("host `{name}` has no addresses"))
                        .hint("add e.g. `addresses: [10.0.1.2/24]`"),
                );
            }
            node.kind = NodeKind::Host { device, netns };
        }
        "attach" => {
            for (present, loc, field) in [
                (nc.gateway.is_some(), nc.gateway.as_ref().map(|s| &s.referenced), "gateway"),
                (nc.mtu.is_some(), nc.mtu.as_ref().map(|s| &s.referenced), "mtu"),
                (nc.device.is_some(), nc.device.as_ref().map(|s| &s.referenced), "device"),
                (nc.mac.is_some(), nc.mac.as_ref().map(|s| &s.referenced), "mac"),
            ] {
                not_for(
                    cx,
                    present,
                    loc,
                    field,
                    "faultmesh does not configure an attached interface; configure it where it lives",
                );
            }
            match &nc.interface {
                Some(i) => {
                    check_name(cx, NameKind::Interface, i);
                    node.kind = NodeKind::Attach { interface: i.value.clone(), netns }
                }
                None => {
                    cx.err(
                        Diagnostic::spanned(key, format!("attach node `{name}` has no `interface`"))
                            .hint("name the existing interface, e.g. `interface: veth-app1`"),
                    );
                }
            }
        }
        "tun" | "tap" => {
            not_for(
                cx,
                nc.interface.is_some(),
                nc.interface.as_ref().map(|s| &s.referenced),
                "interface",
                "a tun/tap node is a device faultmesh creates; name it with `device:`",
            );
            if kind == "tun" {
                not_for(
                    cx,
                    nc.mac.is_some(),
                    nc.mac.as_ref().map(|s| &s.referenced),
                    "mac",
                    "a TUN device has no MAC address",
                );
            }
            if let Some(d) = &nc.device {
                check_name(cx, NameKind::Interface, d);
            }
            node.kind = NodeKind::Device {
                device: if kind == "tun" { DeviceKind::Tun } else { DeviceKind::Tap },
                name: nc.device.as_ref().map(|d| d.value.clone()),
                netns,
            };
        }
        "container" => {
            for (present, loc, field, hint) in [
                (
                    nc.netns.is_some(),
                    nc.netns.as_ref().map(|s| &s.referenced),
                    "netns",
                    "a container node's namespace is the container's: name it with `container:`, `pid:` or `netns_path:`",
                ),
                (
                    nc.device.is_some(),
                    nc.device.as_ref().map(|s| &s.referenced),
                    "device",
                    "a container node is always joined by a veth pair; name its end inside the container with `interface:`",
                ),
            ] {
                not_for(cx, present, loc, field, hint);
            }
            let interface = match &nc.interface {
                Some(i) => {
                    if check_name(cx, NameKind::Interface, i) && i.value == "lo" {
                        cx.err(Diagnostic::spanned(i, "a container node cannot use `lo`").hint(format!(
                            "faultmesh adds a new interface; leave `interface:` out for `{CONTAINER_INTERFACE}`"
                        )));
                    }
                    i.value.clone()
                }
                None => CONTAINER_INTERFACE.to_string(),
            };
            let given = usize::from(nc.container.is_some())
                + usize::from(nc.pid.is_some())
                + usize::from(nc.netns_path.is_some());
            let target = if given != 1 {
                let loc = match (&nc.pid, &nc.netns_path) {
                    (Some(p), _) if given > 1 => p.referenced,
                    (_, Some(p)) if given > 1 => p.referenced,
                    _ => key.referenced,
                };
                cx.err(
                    Diagnostic::at(
                        &loc,
                        if given == 0 {
                            format!("container node `{name}` does not say whose namespace to use")
                        } else {
                            format!("container node `{name}` names more than one of `container`, `pid`, `netns_path`")
                        },
                    )
                    .hint("give exactly one: `container: NAME|ID` (Docker), `pid: N` or `netns_path: /proc/N/ns/net`"),
                );
                None
            } else if let Some(c) = &nc.container {
                match check_container_name(&c.value) {
                    Ok(()) => Some(ContainerRef::Docker(c.value.clone())),
                    Err(reason) => {
                        cx.err(
                            Diagnostic::spanned(c, format!("invalid container name {}: {reason}", names::Shown(&c.value)))
                                .hint("a Docker container name or ID: letters, digits, `_`, `.` or `-`, starting with a letter or digit"),
                        );
                        None
                    }
                }
            } else if let Some(p) = &nc.pid {
                if p.value == 0 {
                    cx.err(
                        Diagnostic::spanned(p, "pid 0 is not a process")
                            .hint("give the pid of a process inside the container"),
                    );
                    None
                } else {
                    Some(ContainerRef::Pid(p.value))
                }
            } else {
                let p = nc.netns_path.as_ref().map(|p| (p, pid_of_netns_path(&p.value)));
                match p {
                    Some((_, Some(pid))) => Some(ContainerRef::Pid(pid)),
                    Some((p, None)) => {
                        cx.err(
                            Diagnostic::spanned(p, format!("netns_path {} is not `/proc/<pid>/ns/net`", names::Shown(&p.value)))
                                .hint("write it exactly as /proc/<pid>/ns/net, e.g. /proc/4242/ns/net (for a named namespace use `kind: attach` with `netns:`)"),
                        );
                        None
                    }
                    None => None,
                }
            };
            if nc.addresses.as_ref().is_none_or(|a| a.value.is_empty()) {
                cx.err(
                    Diagnostic::spanned(key, format!("container node `{name}` has no addresses")).hint(
                        "add e.g. `addresses: [10.0.1.2/24]`: faultmesh configures them on the interface it adds",
                    ),
                );
            }
            if let Some(target) = target {
                node.kind = NodeKind::Container { target, interface };
            }
        }
        other => {
            cx.err(
                Diagnostic::spanned(&nc.kind, format!("unknown node kind `{other}`")).hint(
                    "use `host` (a namespace faultmesh creates), `attach` (an existing interface), `tun`, `tap` or `container` (a Docker container or a process's namespace)",
                ),
            );
        }
    }
    if kind != "container" {
        for (present, loc, field) in [
            (nc.container.is_some(), nc.container.as_ref().map(|s| &s.referenced), "container"),
            (nc.pid.is_some(), nc.pid.as_ref().map(|s| &s.referenced), "pid"),
            (nc.netns_path.is_some(), nc.netns_path.as_ref().map(|s| &s.referenced), "netns_path"),
        ] {
            not_for(cx, present, loc, field, "only a `kind: container` node wires into another runtime's namespace");
        }
    }
    for a in nc.addresses.iter().flat_map(|a| a.value.iter()) {
        check_owner(cx, owners, a, name);
        if let Some(prev) = node.addresses.iter().find(|b| {
            b.overlaps(&a.value)
                && b.addr.is_ipv4() == a.value.addr.is_ipv4()
                && b.prefix == a.value.prefix
                && b.network() == a.value.network()
        }) {
            cx.err(
                Diagnostic::spanned(
                    a,
                    format!("node `{name}` has two addresses in the same subnet ({prev} and {})", a.value),
                )
                .hint("one address per subnet per node"),
            );
        }
        node.addresses.push(a.value);
    }
    if let Some(g) = &nc.gateway {
        let mut seen = [false, false];
        for &gw in &g.value.0 {
            let fam = usize::from(gw.is_ipv6());
            if seen[fam] {
                cx.err(
                    Diagnostic::spanned(g, format!("node `{name}` has two {} gateways", family(gw)))
                        .hint("one default gateway per address family"),
                );
            }
            seen[fam] = true;
            if !node.addresses.iter().any(|a| a.contains(gw)) {
                let subnets: Vec<String> = node
                    .addresses
                    .iter()
                    .filter(|a| a.addr.is_ipv4() == gw.is_ipv4())
                    .map(|a| format!("{}/{}", a.network(), a.prefix))
                    .collect();
                cx.err(
                    Diagnostic::spanned(
                        g,
                        format!(
                            "gateway {gw} of `{name}` is not in any of its {} subnets{}",
                            family(gw),
                            if subnets.is_empty() {
                                String::from(" (it has none)")
                            } else {
                                format!(" ({})", subnets.join(", "))
                            }
                        ),
                    )
                    .hint("a gateway must be on-link: pick an address of the router inside the node's subnet"),
                );
            }
            node.gateways.push(gw);
        }
    }
    if let Some(m) = &nc.mtu {
        let min = if node.addresses.iter().any(|a| a.addr.is_ipv6()) { 1280 } else { 68 };
        if m.value < min || m.value > 65535 {
            cx.err(
                Diagnostic::spanned(m, format!("MTU {} is out of range", m.value)).hint(format!(
                    "use {min} to 65535{}",
                    if min == 1280 { " (IPv6 needs at least 1280)" } else { "" }
                )),
            );
        }
        node.mtu = Some(m.value);
    }
    node.mac = match &nc.mac {
        Some(m) => match m.value.parse::<Mac>() {
            Ok(mac) if !mac.is_multicast() && mac != Mac::ZERO => Some(mac),
            Ok(_) => {
                cx.err(
                    Diagnostic::spanned(m, format!("MAC {} is not a unicast address", m.value))
                        .hint("use e.g. 02:00:00:00:00:01"),
                );
                None
            }
            Err(e) => {
                cx.err(Diagnostic::spanned(m, e).hint("write six hex bytes, e.g. 02:00:00:00:00:01"));
                None
            }
        },
        // Attached interfaces keep their own MAC (learned from traffic); every
        // device faultmesh creates gets a stable one (TUN nodes use it inside
        // the engine's synthetic Ethernet header).
        None => match node.kind {
            NodeKind::Attach { .. } => None,
            _ => Some(Mac::from_name(0xfa, name)),
        },
    };
    node
}

fn impairments_of(
    cx: &mut Ctx,
    c: Option<&ImpairmentsConfig>,
    link: &str,
    which: &str,
) -> (Impairments, Option<Location>) {
    let Some(c) = c else {
        return (Impairments::default(), None);
    };
    let imp = Impairments {
        delay: c.delay.as_ref().map(|s| s.value),
        loss: c.loss.as_ref().map(|s| s.value),
        corrupt: c.corrupt.as_ref().map(|s| s.value),
        duplicate: c.duplicate.as_ref().map(|s| s.value),
        reorder: c.reorder.as_ref().map(|s| s.value),
        rate: c.rate.as_ref().map(|s| s.value),
        mtu: c.mtu.as_ref().map(|s| s.value),
    };
    if let Some(m) = &c.mtu {
        if m.value < 68 || m.value > 65535 {
            cx.err(
                Diagnostic::spanned(m, format!("link `{link}` {which}: MTU {} is out of range", m.value))
                    .hint("use 68 to 65535 (IPv6 traffic needs at least 1280)"),
            );
        }
    }
    (imp, c.reorder.as_ref().map(|r| r.referenced))
}

fn link_impairments(cx: &mut Ctx, link: &str, lc: &LinkConfig) -> (Impairments, Impairments) {
    let (both, both_re) = impairments_of(cx, lc.both.as_ref(), link, "both");
    let (ab, ab_re) = impairments_of(cx, lc.a_to_b.as_ref(), link, "a_to_b");
    let (ba, ba_re) = impairments_of(cx, lc.b_to_a.as_ref(), link, "b_to_a");
    let ab = both.overlay(&ab);
    let ba = both.overlay(&ba);
    for (imp, loc, dir) in [(&ab, ab_re.or(both_re), "a_to_b"), (&ba, ba_re.or(both_re), "b_to_a")] {
        if imp.reorder.is_some() && imp.delay.is_none_or(|d| d.delay.is_zero() && d.jitter.is_zero()) {
            if let Some(loc) = loc {
                cx.err(Diagnostic::at(&loc, format!("reorder on {dir} has no effect without a delay"))
                    .hint("reordered packets skip the delay and overtake the others (netem semantics); add e.g. `delay: 10ms`"));
            }
        }
    }
    (ab, ba)
}

fn build_script(
    cx: &mut Ctx,
    owner: &Spanned<String>,
    s: &super::config::ScriptConfig,
    scripts: &ScriptDirs,
) -> Option<ScriptRef> {
    let drop_on_error = match s.on_error.as_ref().map(|o| o.value.as_str()) {
        None | Some("pass") => false,
        Some("drop") => true,
        Some(other) => {
            if let Some(o) = &s.on_error {
                cx.err(
                    Diagnostic::spanned(o, format!("unknown on_error `{other}`"))
                        .hint("use `pass` (default) or `drop`"),
                );
            }
            false
        }
    };
    let directions = match s.direction.as_ref().map(|o| o.value.as_str()) {
        None | Some("both") => [true, true],
        Some("a_to_b") => [true, false],
        Some("b_to_a") => [false, true],
        Some(other) => {
            if let Some(o) = &s.direction {
                cx.err(
                    Diagnostic::spanned(o, format!("unknown direction `{other}`"))
                        .hint("use `a_to_b`, `b_to_a` or `both`"),
                );
            }
            [true, true]
        }
    };
    let (path, file, source) = match (&s.file, &s.source) {
        (Some(f), None) => match scripts.read(&f.value) {
            Ok((path, text)) => (path, f.value.clone(), text),
            Err(e) => {
                cx.err(Diagnostic::spanned(f, e.message).hint(e.hint));
                return None;
            }
        },
        (None, Some(src)) => (PathBuf::new(), format!("{}.lua", owner.value), src.value.clone()),
        (Some(f), Some(_)) => {
            cx.err(
                Diagnostic::spanned(f, "a script has both `file` and `source`")
                    .hint("give the path of a Lua file or its source, not both"),
            );
            return None;
        }
        (None, None) => {
            cx.err(
                Diagnostic::spanned(owner, format!("the script of `{}` has neither `file` nor `source`", owner.value))
                    .hint("e.g. `script: {file: lua/drop_nth_syn.lua}` or `script: {source: \"function filter(pkt) return PASS end\"}`"),
            );
            return None;
        }
    };
    Some(ScriptRef { path, file, source: Some(source), params: s.params.clone(), drop_on_error, directions })
}

/// The L2 broadcast domain of every segment: switches joined by links share
/// one; a router is its own.
pub(crate) struct L2 {
    /// Domain of each segment.
    pub domain: Vec<usize>,
    /// Connected component (over all segment links) of each segment.
    pub component: Vec<usize>,
}

fn find(p: &mut [usize], mut x: usize) -> usize {
    while p[x] != x {
        p[x] = p[p[x]];
        x = p[x];
    }
    x
}

fn l2_domains(cx: &mut Ctx, topo: &Topology, cfg: &TopologyConfig) -> L2 {
    let n = topo.segments.len();
    let mut dom: Vec<usize> = (0..n).collect();
    let mut comp: Vec<usize> = (0..n).collect();
    for (li, link) in topo.links.iter().enumerate() {
        if let (Endpoint::Segment(x), Endpoint::Segment(y)) = (link.a, link.b) {
            let (cx_, cy) = (find(&mut comp, x), find(&mut comp, y));
            comp[cx_] = cy;
            if !topo.segments[x].is_router() && !topo.segments[y].is_router() {
                let (dx, dy) = (find(&mut dom, x), find(&mut dom, y));
                if dx == dy {
                    let loc =
                        cfg.links.0.iter().find(|(k, _)| k.value == topo.links[li].name).map(|(k, _)| k.referenced);
                    if let Some(loc) = loc {
                        cx.err(Diagnostic::at(&loc, format!("link `{}` closes a loop of switches", link.name))
                            .hint("faultmesh switches do not run spanning tree; remove one link of the loop or make a segment a router"));
                    }
                } else {
                    dom[dx] = dy;
                }
            }
        }
    }
    let domain = (0..n).map(|i| find(&mut dom, i)).collect();
    let component = (0..n).map(|i| find(&mut comp, i)).collect();
    L2 { domain, component }
}

/// Routers attached to the L2 domain `d` (a router is attached to its own
/// domain and to the domain of every switch it links to).
fn routers_on_domain(topo: &Topology, l2: &L2, d: usize) -> Vec<SegmentId> {
    let mut out = Vec::new();
    for (s, seg) in topo.segments.iter().enumerate() {
        if !seg.is_router() {
            continue;
        }
        if l2.domain[s] == d {
            out.push(s);
            continue;
        }
        let touches = seg.links.iter().any(|&l| {
            let link = &topo.links[l];
            [link.a, link.b].iter().any(|e| matches!(e, Endpoint::Segment(o) if *o != s && !topo.segments[*o].is_router() && l2.domain[*o] == d))
        });
        if touches {
            out.push(s);
        }
    }
    out
}

/// `routers_on_domain` for every domain that has a node, computed once (the
/// per-node calls made validation O(nodes x segments x links)).
fn routers_by_domain(topo: &Topology, l2: &L2) -> HashMap<usize, Vec<SegmentId>> {
    let mut out = HashMap::new();
    for n in 0..topo.nodes.len() {
        let d = l2.domain[topo.node_attachment(n).0];
        out.entry(d).or_insert_with(|| routers_on_domain(topo, l2, d));
    }
    out
}

fn check_gateways(
    cx: &mut Ctx,
    topo: &Topology,
    cfg: &TopologyConfig,
    l2: &L2,
    by_domain: &HashMap<usize, Vec<SegmentId>>,
) {
    for (n, node) in topo.nodes.iter().enumerate() {
        let (seg, _) = topo.node_attachment(n);
        let Some(gw_cfg) = cfg.nodes.0[n].1.gateway.as_ref() else {
            continue;
        };
        let routers = by_domain.get(&l2.domain[seg]).map_or(&[][..], Vec::as_slice);
        for &gw in &gw_cfg.value.0 {
            let owned = routers.iter().any(|&r| topo.segments[r].addresses().iter().any(|a| a.addr == gw));
            if owned {
                continue;
            }
            let d = Diagnostic::spanned(
                gw_cfg,
                format!(
                    "gateway {gw} of `{}` cannot be routed: no router reachable from it has that address",
                    node.name
                ),
            );
            cx.err(match routers.first() {
                Some(&r) => {
                    d.hint(format!("add `{gw}/<prefix>` to the `addresses` of router `{}`", topo.segments[r].name))
                }
                None => d.hint(format!(
                    "`{}` sits on `{}`, which reaches no router; link a `router` segment to it",
                    node.name, topo.segments[seg].name
                )),
            });
        }
    }
}

/// Every ordered pair of nodes is checked, so this is O(nodes^2); the
/// per-node address lists and router flags are computed once so a pair costs
/// a few comparisons and no allocation.
fn check_reachability(
    cx: &mut Ctx,
    topo: &Topology,
    l2: &L2,
    node_locs: &[Location],
    by_domain: &HashMap<usize, Vec<SegmentId>>,
) {
    let mut reported_components: BTreeMap<(usize, usize), ()> = BTreeMap::new();
    let attach: Vec<SegmentId> = (0..topo.nodes.len()).map(|n| topo.node_attachment(n).0).collect();
    let has_router: Vec<bool> = attach
        .iter()
        .map(|&s| topo.segments[s].is_router() || by_domain.get(&l2.domain[s]).is_some_and(|r| !r.is_empty()))
        .collect();
    // addrs[node][0] = IPv4, addrs[node][1] = IPv6.
    let addrs: Vec<[Vec<&Cidr>; 2]> = topo
        .nodes
        .iter()
        .map(|n| {
            let (v6, v4): (Vec<&Cidr>, Vec<&Cidr>) = n.addresses.iter().partition(|a| a.addr.is_ipv6());
            [v4, v6]
        })
        .collect();
    for (i, src) in topo.nodes.iter().enumerate() {
        'dst: for (j, dst) in topo.nodes.iter().enumerate() {
            if i == j {
                continue;
            }
            for fam_v6 in [false, true] {
                let src_addrs = &addrs[i][usize::from(fam_v6)];
                let dst_addrs = &addrs[j][usize::from(fam_v6)];
                if src_addrs.is_empty() || dst_addrs.is_empty() {
                    continue;
                }
                let (si, di) = (attach[i], attach[j]);
                if l2.component[si] != l2.component[di] {
                    let key = (l2.component[si].min(l2.component[di]), l2.component[si].max(l2.component[di]));
                    if reported_components.insert(key, ()).is_none() {
                        cx.err(
                            Diagnostic::at(
                                &node_locs[j],
                                format!(
                                    "`{}` cannot reach `{}`: no chain of links joins segment `{}` to segment `{}`",
                                    src.name, dst.name, topo.segments[si].name, topo.segments[di].name
                                ),
                            )
                            .hint("link the segments, or split unrelated networks into separate topology files"),
                        );
                    }
                    continue 'dst;
                }
                let on_link = dst_addrs.iter().any(|d| src_addrs.iter().any(|s| s.contains(d.addr)));
                let has_gw = src.gateways.iter().any(|g| g.is_ipv6() == fam_v6);
                let same_l2 = !topo.segments[si].is_router() && l2.domain[si] == l2.domain[di];
                let ok = if same_l2 { on_link || has_gw } else { has_gw || (on_link && has_router[i]) };
                if !ok {
                    let fam = if fam_v6 { "IPv6" } else { "IPv4" };
                    cx.err(Diagnostic::at(&node_locs[i], format!(
                        "`{}` cannot reach `{}` over {fam}: {} is not on its subnet and it has no {fam} gateway",
                        src.name, dst.name, dst_addrs[0].addr
                    ))
                    .hint(format!("add `gateway:` with a router address to `{}`, or put both nodes in one subnet", src.name)));
                    break 'dst;
                }
            }
        }
    }
}
