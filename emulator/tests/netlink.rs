//! Namespaces and netlink configuration against the real kernel, checked
//! with iproute2's own view (`ip -n NS addr/route`, `ip netns exec`). Needs
//! root; under CI=true a missing privilege fails instead of skipping.

use std::net::IpAddr;
use std::process::Command;

use faultmesh_emulator::io::netlink::{self, NetlinkOp};
use faultmesh_emulator::io::netns::{self, NetnsError};
use faultmesh_emulator::io::sys;
use faultmesh_emulator::topology::Cidr;
use faultmesh_emulator::wire::Mac;

fn privileged() -> bool {
    if sys::has_net_admin() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true: this test must run as root (it builds network namespaces)");
    }
    eprintln!("skipping: needs root or CAP_NET_ADMIN to build network namespaces");
    false
}

/// Namespaces deleted on drop, also when a test panics.
struct Scratch(Vec<String>);

impl Scratch {
    fn new(tag: &str, n: usize) -> Scratch {
        let names: Vec<String> = (0..n).map(|i| format!("fmt-nl-{}-{tag}{i}", std::process::id())).collect();
        Scratch(names)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for n in &self.0 {
            if netns::exists(n) {
                let _ = netns::del(n);
            }
        }
    }
}

fn ip(args: &[&str]) -> (bool, String) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

fn cidr(s: &str) -> Cidr {
    let (a, p) = s.split_once('/').unwrap();
    Cidr { addr: a.parse().unwrap(), prefix: p.parse().unwrap() }
}

fn via(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn namespaces_veth_addresses_and_routes_as_ip_sees_them() {
    if !privileged() {
        return;
    }
    let scratch = Scratch::new("p", 2);
    let (a, b) = (scratch.0[0].as_str(), scratch.0[1].as_str());
    netns::add(a).unwrap();
    netns::add(b).unwrap();
    assert!(matches!(netns::add(a), Err(NetnsError::Exists(n)) if n == a));
    let (ok, list) = ip(&["netns", "list"]);
    assert!(ok && list.contains(a) && list.contains(b), "{list}");

    netlink::apply(
        None,
        &[NetlinkOp::CreateVeth {
            name: "nla0".into(),
            netns: a.into(),
            peer: "nlb0".into(),
            peer_netns: b.into(),
            mtu_bytes: 1400,
        }],
    )
    .unwrap();
    let mac = Mac([0x02, 0xfa, 0, 0, 0x77, 0x01]);
    netlink::apply(
        Some(a),
        &[
            NetlinkOp::SetLinkUp { dev: "lo".into(), mac: None, mtu_bytes: None },
            NetlinkOp::SetLinkUp { dev: "nla0".into(), mac: Some(mac), mtu_bytes: None },
            NetlinkOp::AddAddress { dev: "nla0".into(), addr: cidr("10.77.0.1/24") },
            NetlinkOp::AddAddress { dev: "nla0".into(), addr: cidr("fd77::1/64") },
            NetlinkOp::AddDefaultRoute { dev: "nla0".into(), via: via("10.77.0.2") },
            NetlinkOp::AddDefaultRoute { dev: "nla0".into(), via: via("fd77::2") },
        ],
    )
    .unwrap();
    netlink::apply(
        Some(b),
        &[
            NetlinkOp::SetLinkUp { dev: "nlb0".into(), mac: None, mtu_bytes: Some(1300) },
            NetlinkOp::AddAddress { dev: "nlb0".into(), addr: cidr("10.77.0.2/24") },
            NetlinkOp::AddAddress { dev: "nlb0".into(), addr: cidr("fd77::2/64") },
        ],
    )
    .unwrap();

    let (ok, addr) = ip(&["-n", a, "addr", "show", "dev", "nla0"]);
    assert!(ok, "{addr}");
    for want in ["10.77.0.1/24", "fd77::1/64", "mtu 1400", "02:fa:00:00:77:01", "UP"] {
        assert!(addr.contains(want), "missing {want:?} in:\n{addr}");
    }
    // Ours skips duplicate address detection (the kernel's own link-local
    // address does not).
    let ours = addr.lines().find(|l| l.contains("fd77::1/64")).unwrap_or_default();
    assert!(ours.contains("nodad") && !ours.contains("tentative"), "{ours}");
    let (_, addr_b) = ip(&["-n", b, "addr", "show", "dev", "nlb0"]);
    assert!(addr_b.contains("10.77.0.2/24") && addr_b.contains("mtu 1300"), "{addr_b}");
    let (_, r4) = ip(&["-n", a, "route", "show", "default"]);
    assert!(r4.contains("default via 10.77.0.2 dev nla0"), "{r4}");
    let (_, r6) = ip(&["-n", a, "-6", "route", "show", "default"]);
    assert!(r6.contains("default via fd77::2 dev nla0"), "{r6}");

    // `ip netns exec` works in our namespaces, and the pair carries traffic.
    let (ok, ping) = ip(&["netns", "exec", a, "ping", "-c", "1", "-W", "2", "10.77.0.2"]);
    assert!(ok, "{ping}");

    // The index agrees with iproute2's.
    let index = netlink::ifindex_in(Some(a), "nla0").unwrap();
    let (_, line) = ip(&["-n", a, "-o", "link", "show", "nla0"]);
    assert!(line.starts_with(&format!("{index}: nla0")), "{index} vs {line}");

    // Errors say what, where and why.
    let e = netlink::apply(Some(a), &[NetlinkOp::AddAddress { dev: "nla0".into(), addr: cidr("10.77.0.1/24") }])
        .unwrap_err()
        .to_string();
    assert_eq!(e, format!("adding address 10.77.0.1/24 to nla0 in namespace {a}: File exists (os error 17)"));
    let e = netlink::apply(Some(a), &[NetlinkOp::SetLinkUp { dev: "nope0".into(), mac: None, mtu_bytes: None }])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with(&format!("setting nope0 up in namespace {a}: ")), "{e}");

    // Removal, twice: the second time there is nothing to remove, which is fine.
    let undo = [
        NetlinkOp::DelDefaultRoute { dev: "nla0".into(), via: via("10.77.0.2") },
        NetlinkOp::DelAddress { dev: "nla0".into(), addr: cidr("10.77.0.1/24") },
    ];
    netlink::apply(Some(a), &undo).unwrap();
    netlink::apply(Some(a), &undo).unwrap();
    let (_, addr) = ip(&["-n", a, "addr", "show", "dev", "nla0"]);
    assert!(!addr.contains("10.77.0.1/24") && addr.contains("fd77::1/64"), "{addr}");
    let (_, r4) = ip(&["-n", a, "route", "show", "default"]);
    assert!(r4.trim().is_empty(), "{r4}");

    // Deleting one end takes the pair.
    netlink::apply(Some(a), &[NetlinkOp::DelLink { dev: "nla0".into() }]).unwrap();
    let (ok, _) = ip(&["-n", b, "link", "show", "nlb0"]);
    assert!(!ok, "the peer outlived its pair");

    netns::del(a).unwrap();
    let (_, list) = ip(&["netns", "list"]);
    assert!(!list.contains(a) && list.contains(b), "{list}");
    // iproute2 deletes ours.
    let (ok, out) = ip(&["netns", "del", b]);
    assert!(ok, "{out}");
    assert!(!netns::exists(b));
}

#[test]
fn we_delete_and_enter_namespaces_ip_made() {
    if !privileged() {
        return;
    }
    let scratch = Scratch::new("i", 1);
    let a = scratch.0[0].as_str();
    let (ok, out) = ip(&["netns", "add", a]);
    assert!(ok, "{out}");
    netlink::apply(Some(a), &[NetlinkOp::SetLinkUp { dev: "lo".into(), mac: None, mtu_bytes: None }]).unwrap();
    let (_, lo) = ip(&["-n", a, "link", "show", "lo"]);
    assert!(lo.contains("UP"), "{lo}");
    netns::del(a).unwrap();
    let (_, list) = ip(&["netns", "list"]);
    assert!(!list.contains(a), "{list}");
}

#[test]
fn hostile_names_never_reach_the_kernel() {
    // No privilege needed: every one is refused before any system call.
    for bad in ["x\nnetns add owned", "../../etc/x", "-n", "", "a b"] {
        assert!(matches!(netns::add(bad), Err(NetnsError::Name(_))), "{bad:?}");
        assert!(matches!(netns::del(bad), Err(NetnsError::Name(_))), "{bad:?}");
        assert!(!netns::exists(bad), "{bad:?}");
        let e = netlink::apply(None, &[NetlinkOp::DelLink { dev: bad.into() }]).unwrap_err();
        assert!(matches!(e, netlink::NetlinkError::Name(_)), "{bad:?}: {e}");
        let e = netlink::apply(Some(bad), &[NetlinkOp::DelLink { dev: "eth0".into() }]).unwrap_err();
        assert!(matches!(e, netlink::NetlinkError::Name(_)), "{bad:?}: {e}");
    }
    assert!(netlink::apply(None, &[NetlinkOp::DelLink { dev: "sixteen-bytes-xx".into() }]).is_err());
}
