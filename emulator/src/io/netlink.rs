//! A small synchronous rtnetlink client: links, addresses and default routes.
//!
//! Contract: configuration is a list of typed [`NetlinkOp`] values — no text
//! is parsed anywhere, so no value can turn into a second command. A
//! [`Netlink`] socket is bound to the namespace of the thread that opened it
//! (open it inside [`netns::run_in`], or use [`apply`]); every interface and
//! namespace name in an op is checked against [`crate::names`] before it is
//! sent. Each request carries `NLM_F_ACK`; requests go out in batches of up
//! to [`WINDOW`] per datagram and every one is acknowledged before the next
//! batch, so the socket's receive queue never overflows. The first failure is
//! returned as a [`NetlinkError`] naming the operation, the object, the
//! namespace and the errno text; the kernel carries on with the rest of a
//! batch, as `ip -force -batch` would.
//!
//! No tokio: this runs on the dedicated threads of [`netns::run_in`].

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use netlink_packet_core::{
    ErrorBuffer, ErrorMessage, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_ERROR, NetlinkBuffer,
    NetlinkHeader, NetlinkMessage, NetlinkPayload, Parseable,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkHeader, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use super::netns;
use crate::names::{self, NameError, NameKind};
use crate::topology::Cidr;
use crate::wire::Mac;

/// Requests sent per datagram before their acknowledgements are read. An
/// acknowledgement costs up to ~1 KB of receive buffer (its truesize), so 32
/// stay well inside the default 208 KB.
pub const WINDOW: usize = 32;

/// `RTM_NEWLINK`, the kernel's answer to `RTM_GETLINK`.
const RTM_NEWLINK: u16 = 16;

/// One change to the kernel's network configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetlinkOp {
    /// Creates a veth pair: `name` in namespace `netns`, its peer `peer` in
    /// `peer_netns`, both with MTU `mtu_bytes`.
    CreateVeth {
        /// This end's name.
        name: String,
        /// Where this end goes.
        netns: String,
        /// The other end's name.
        peer: String,
        /// Where the other end goes.
        peer_netns: String,
        /// MTU of both ends.
        mtu_bytes: u32,
    },
    /// Sets a link's MAC and MTU (each when given) and brings it up.
    SetLinkUp {
        /// The interface.
        dev: String,
        /// New MAC.
        mac: Option<Mac>,
        /// New MTU.
        mtu_bytes: Option<u32>,
    },
    /// Sets a link's MTU, leaving it up or down as it is.
    SetMtu {
        /// The interface.
        dev: String,
        /// New MTU.
        mtu_bytes: u32,
    },
    /// Adds an address (IPv6 without duplicate address detection: the
    /// emulated link is ours, and DAD would delay the address by a second).
    AddAddress {
        /// The interface.
        dev: String,
        /// Address and prefix length.
        addr: Cidr,
    },
    /// Removes an address; one that is already gone is not an error.
    DelAddress {
        /// The interface.
        dev: String,
        /// Address and prefix length.
        addr: Cidr,
    },
    /// Adds a default route (`0.0.0.0/0` or `::/0`) via `via` on `dev`.
    AddDefaultRoute {
        /// The interface.
        dev: String,
        /// The gateway.
        via: IpAddr,
    },
    /// Removes that default route; one that is already gone is not an error.
    DelDefaultRoute {
        /// The interface.
        dev: String,
        /// The gateway.
        via: IpAddr,
    },
    /// Moves a link into the named namespace `netns` (the kernel takes it
    /// down and flushes its addresses and routes on the way).
    MoveLink {
        /// The interface.
        dev: String,
        /// Where it goes.
        netns: String,
    },
    /// Deletes a link (a veth pair goes with either end).
    DelLink {
        /// The interface.
        dev: String,
    },
}

impl NetlinkOp {
    /// The interface the op addresses inside the socket's namespace.
    pub fn dev(&self) -> &str {
        match self {
            NetlinkOp::CreateVeth { name, .. } => name,
            NetlinkOp::SetLinkUp { dev, .. }
            | NetlinkOp::SetMtu { dev, .. }
            | NetlinkOp::AddAddress { dev, .. }
            | NetlinkOp::DelAddress { dev, .. }
            | NetlinkOp::AddDefaultRoute { dev, .. }
            | NetlinkOp::DelDefaultRoute { dev, .. }
            | NetlinkOp::MoveLink { dev, .. }
            | NetlinkOp::DelLink { dev } => dev,
        }
    }

    /// Checks every name in the op.
    pub fn check_names(&self) -> Result<(), NameError> {
        names::check(NameKind::Interface, self.dev())?;
        if let NetlinkOp::CreateVeth { netns, peer, peer_netns, .. } = self {
            names::check(NameKind::Interface, peer)?;
            names::check(NameKind::Netns, netns)?;
            names::check(NameKind::Netns, peer_netns)?;
        }
        if let NetlinkOp::MoveLink { netns, .. } = self {
            names::check(NameKind::Netns, netns)?;
        }
        Ok(())
    }

    /// True when the op names its interface by index (addresses and routes
    /// do; links are named by name).
    fn needs_index(&self) -> bool {
        matches!(
            self,
            NetlinkOp::AddAddress { .. }
                | NetlinkOp::DelAddress { .. }
                | NetlinkOp::AddDefaultRoute { .. }
                | NetlinkOp::DelDefaultRoute { .. }
        )
    }

    /// An error the op tolerates: deleting what is already gone.
    fn tolerates(&self, errno: i32) -> bool {
        match self {
            NetlinkOp::DelAddress { .. } => errno == libc::EADDRNOTAVAIL || errno == libc::ENOENT,
            NetlinkOp::DelDefaultRoute { .. } => errno == libc::ESRCH || errno == libc::ENOENT,
            _ => false,
        }
    }
}

fn default_route(via: &IpAddr) -> &'static str {
    if via.is_ipv6() { "::/0" } else { "0.0.0.0/0" }
}

impl fmt::Display for NetlinkOp {
    /// What the op does, as an error message's subject.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetlinkOp::CreateVeth { name, netns, peer, peer_netns, mtu_bytes } => write!(
                f,
                "creating veth pair {name} (namespace {netns}) / {peer} (namespace {peer_netns}), mtu {mtu_bytes}"
            ),
            NetlinkOp::SetLinkUp { dev, mac, mtu_bytes } => {
                write!(f, "setting {dev} up")?;
                if let Some(m) = mac {
                    write!(f, ", MAC {m}")?;
                }
                if let Some(m) = mtu_bytes {
                    write!(f, ", mtu {m}")?;
                }
                Ok(())
            }
            NetlinkOp::SetMtu { dev, mtu_bytes } => write!(f, "setting mtu {mtu_bytes} on {dev}"),
            NetlinkOp::AddAddress { dev, addr } => write!(f, "adding address {addr} to {dev}"),
            NetlinkOp::DelAddress { dev, addr } => write!(f, "removing address {addr} from {dev}"),
            NetlinkOp::AddDefaultRoute { dev, via } => {
                write!(f, "adding route {} via {via} dev {dev}", default_route(via))
            }
            NetlinkOp::DelDefaultRoute { dev, via } => {
                write!(f, "removing route {} via {via} dev {dev}", default_route(via))
            }
            NetlinkOp::DelLink { dev } => write!(f, "deleting link {dev}"),
            NetlinkOp::MoveLink { dev, netns } => write!(f, "moving link {dev} to namespace {netns}"),
        }
    }
}

/// Where an operation ran, for messages.
struct InNs<'a>(&'a Option<String>);

impl fmt::Display for InNs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ns) => write!(f, "in namespace {ns}"),
            None => write!(f, "in faultmesh's own namespace"),
        }
    }
}

/// Why a netlink operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// A name was refused before anything was sent.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The kernel (or the socket) refused: e.g. "adding address 10.0.0.2/24
    /// to eth0 in namespace fm-x-a: File exists (os error 17)".
    #[error("{action} {}: {source}", InNs(netns))]
    Kernel {
        /// What was being done, naming the object.
        action: String,
        /// The namespace (`None`: faultmesh's own).
        netns: Option<String>,
        /// The errno.
        #[source]
        source: io::Error,
    },
}

impl NetlinkError {
    /// The OS error, if the kernel refused.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel { source, .. } => source.raw_os_error(),
            NetlinkError::Name(_) => None,
        }
    }
}

/// A request on the wire, waiting for its acknowledgement.
struct Pending {
    seq: u32,
    /// Index into the ops being executed (`None`: an interface lookup).
    op: Option<usize>,
}

/// The answers to a batch, by sequence number.
struct Replies {
    /// The errno of each request that failed.
    failed: HashMap<u32, i32>,
    /// The index of each link a lookup found.
    found: HashMap<u32, u32>,
}

/// An rtnetlink socket in one namespace.
pub struct Netlink {
    socket: Socket,
    netns: Option<String>,
    seq: u32,
    rx: Vec<u8>,
    ifindex: HashMap<String, u32>,
}

impl Netlink {
    /// Opens a socket in the calling thread's namespace; `netns` names that
    /// namespace in errors (`None`: faultmesh's own).
    pub fn open(netns: Option<&str>) -> Result<Netlink, NetlinkError> {
        let netns = netns.map(str::to_string);
        let err =
            |action: &str, source| NetlinkError::Kernel { action: action.to_string(), netns: netns.clone(), source };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| err("opening a netlink socket", e))?;
        socket.bind_auto().map_err(|e| err("binding a netlink socket", e))?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(|e| err("connecting a netlink socket", e))?;
        // Errors then carry only the failed request's header, not its whole
        // body: acknowledgements stay small.
        let _ = socket.set_cap_ack(true);
        Ok(Netlink { socket, netns, seq: 0, rx: Vec::with_capacity(64 * 1024), ifindex: HashMap::new() })
    }

    fn err(&self, action: String, source: io::Error) -> NetlinkError {
        NetlinkError::Kernel { action, netns: self.netns.clone(), source }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Serializes one request onto `out`.
    fn push(out: &mut Vec<u8>, seq: u32, flags: u16, msg: RouteNetlinkMessage) {
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let start = out.len();
        out.resize(start + packet.buffer_len(), 0);
        packet.serialize(&mut out[start..]);
    }

    /// Sends `out` and reads until every request in `pending` is answered.
    fn exchange(&mut self, out: &[u8], pending: &[Pending]) -> Result<Replies, NetlinkError> {
        let mut failed = HashMap::new();
        let mut found = HashMap::new();
        if pending.is_empty() {
            return Ok(Replies { failed, found });
        }
        self.socket.send(out, 0).map_err(|e| self.err("sending netlink requests".into(), e))?;
        let first = pending[0].seq;
        let in_batch = |seq: u32| seq.wrapping_sub(first) < pending.len() as u32;
        let mut answered = 0;
        while answered < pending.len() {
            self.rx.clear();
            let n = self.socket.recv(&mut self.rx, 0).map_err(|e| self.err("reading netlink replies".into(), e))?;
            let mut at = 0;
            while at < n.min(self.rx.len()) {
                let bad = |what: String| NetlinkError::Kernel {
                    action: "reading netlink replies".into(),
                    netns: self.netns.clone(),
                    source: io::Error::new(io::ErrorKind::InvalidData, what),
                };
                let msg = NetlinkBuffer::new_checked(&self.rx[at..]).map_err(|e| bad(e.to_string()))?;
                let len = msg.length() as usize;
                let (kind, seq) = (msg.message_type(), msg.sequence_number());
                if in_batch(seq) {
                    if kind == NLMSG_ERROR {
                        let payload = msg.payload();
                        let e = ErrorBuffer::new_checked(&payload)
                            .and_then(|b| ErrorMessage::parse(&b))
                            .map_err(|e| bad(e.to_string()))?;
                        if let Some(code) = e.code {
                            failed.insert(seq, code.get().abs());
                        }
                        answered += 1;
                    } else if kind == RTM_NEWLINK {
                        let h = LinkHeader::parse(msg.payload()).map_err(|e| bad(e.to_string()))?;
                        found.insert(seq, h.index);
                    }
                }
                if len == 0 {
                    break;
                }
                at += (len + 3) & !3;
            }
        }
        Ok(Replies { failed, found })
    }

    /// The index of interface `dev` in this namespace.
    pub fn ifindex(&mut self, dev: &str) -> Result<u32, NetlinkError> {
        names::check(NameKind::Interface, dev)?;
        if let Some(&i) = self.ifindex.get(dev) {
            return Ok(i);
        }
        let seq = self.next_seq();
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(dev.to_string()));
        let mut out = Vec::new();
        Self::push(&mut out, seq, 0, RouteNetlinkMessage::GetLink(msg));
        let Replies { failed, found } = self.exchange(&out, &[Pending { seq, op: None }])?;
        let action = || format!("looking up interface {dev}");
        if let Some(&errno) = failed.get(&seq) {
            return Err(self.err(action(), io::Error::from_raw_os_error(errno)));
        }
        let index = *found
            .get(&seq)
            .ok_or_else(|| self.err(action(), io::Error::new(io::ErrorKind::InvalidData, "no link in the reply")))?;
        self.ifindex.insert(dev.to_string(), index);
        Ok(index)
    }

    /// Carries out `ops` in order; returns the first failure (the kernel
    /// still carries out the rest of that op's batch).
    pub fn execute(&mut self, ops: &[NetlinkOp]) -> Result<(), NetlinkError> {
        for op in ops {
            op.check_names()?;
        }
        let mut out = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        // Namespace files a veth request refers to by descriptor: open until
        // the request is answered.
        let mut fds: Vec<File> = Vec::new();
        let mut first_error: Option<NetlinkError> = None;
        for (i, op) in ops.iter().enumerate() {
            let index = if op.needs_index() {
                if !self.ifindex.contains_key(op.dev()) {
                    // The lookup must see the effect of earlier requests.
                    self.flush(ops, &mut out, &mut pending, &mut fds, &mut first_error)?;
                }
                match self.ifindex(op.dev()) {
                    Ok(ix) => ix,
                    Err(e) => {
                        first_error.get_or_insert(e);
                        continue;
                    }
                }
            } else {
                0
            };
            let seq = self.next_seq();
            let (flags, msg) = match self.message(op, index, &mut fds) {
                Ok(m) => m,
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            Self::push(&mut out, seq, flags, msg);
            pending.push(Pending { seq, op: Some(i) });
            if let NetlinkOp::DelLink { dev } | NetlinkOp::MoveLink { dev, .. } = op {
                self.ifindex.remove(dev);
            }
            if pending.len() >= WINDOW {
                self.flush(ops, &mut out, &mut pending, &mut fds, &mut first_error)?;
            }
        }
        self.flush(ops, &mut out, &mut pending, &mut fds, &mut first_error)?;
        first_error.map_or(Ok(()), Err)
    }

    fn flush(
        &mut self,
        ops: &[NetlinkOp],
        out: &mut Vec<u8>,
        pending: &mut Vec<Pending>,
        fds: &mut Vec<File>,
        first_error: &mut Option<NetlinkError>,
    ) -> Result<(), NetlinkError> {
        let failed = self.exchange(out, pending)?.failed;
        for p in pending.iter() {
            let (Some(&errno), Some(i)) = (failed.get(&p.seq), p.op) else { continue };
            if first_error.is_none() && !ops[i].tolerates(errno) {
                *first_error = Some(self.err(ops[i].to_string(), io::Error::from_raw_os_error(errno)));
            }
        }
        out.clear();
        pending.clear();
        fds.clear();
        Ok(())
    }

    /// The request for `op` (`index`: its interface's, when it needs one).
    fn message(
        &self,
        op: &NetlinkOp,
        index: u32,
        fds: &mut Vec<File>,
    ) -> Result<(u16, RouteNetlinkMessage), NetlinkError> {
        let create = NLM_F_CREATE | NLM_F_EXCL;
        Ok(match op {
            NetlinkOp::CreateVeth { name, netns, peer, peer_netns, mtu_bytes } => {
                let mut open = |ns: &str| -> Result<i32, NetlinkError> {
                    let path = netns::path(ns)?;
                    let f = File::open(&path).map_err(|e| self.err(format!("{op}: opening {}", path.display()), e))?;
                    let fd = f.as_raw_fd();
                    fds.push(f);
                    Ok(fd)
                };
                let (fd, peer_fd) = (open(netns)?, open(peer_netns)?);
                let mut peer_msg = LinkMessage::default();
                peer_msg.attributes = vec![
                    LinkAttribute::IfName(peer.clone()),
                    LinkAttribute::Mtu(*mtu_bytes),
                    LinkAttribute::NetNsFd(peer_fd),
                ];
                let mut msg = LinkMessage::default();
                msg.attributes = vec![
                    LinkAttribute::IfName(name.clone()),
                    LinkAttribute::Mtu(*mtu_bytes),
                    LinkAttribute::NetNsFd(fd),
                    LinkAttribute::LinkInfo(vec![
                        LinkInfo::Kind(InfoKind::Veth),
                        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
                    ]),
                ];
                (create, RouteNetlinkMessage::NewLink(msg))
            }
            NetlinkOp::SetLinkUp { dev, mac, mtu_bytes } => {
                let mut msg = LinkMessage::default();
                msg.header.flags = LinkFlags::Up;
                msg.header.change_mask = LinkFlags::Up;
                msg.attributes.push(LinkAttribute::IfName(dev.clone()));
                if let Some(m) = mac {
                    msg.attributes.push(LinkAttribute::Address(m.0.to_vec()));
                }
                if let Some(m) = mtu_bytes {
                    msg.attributes.push(LinkAttribute::Mtu(*m));
                }
                (0, RouteNetlinkMessage::SetLink(msg))
            }
            NetlinkOp::SetMtu { dev, mtu_bytes } => {
                let mut msg = LinkMessage::default();
                msg.attributes = vec![LinkAttribute::IfName(dev.clone()), LinkAttribute::Mtu(*mtu_bytes)];
                (0, RouteNetlinkMessage::SetLink(msg))
            }
            NetlinkOp::MoveLink { dev, netns } => {
                let path = netns::path(netns)?;
                let f = File::open(&path).map_err(|e| self.err(format!("{op}: opening {}", path.display()), e))?;
                let mut msg = LinkMessage::default();
                msg.attributes = vec![LinkAttribute::IfName(dev.clone()), LinkAttribute::NetNsFd(f.as_raw_fd())];
                fds.push(f);
                (0, RouteNetlinkMessage::SetLink(msg))
            }
            NetlinkOp::DelLink { dev } => {
                let mut msg = LinkMessage::default();
                msg.attributes.push(LinkAttribute::IfName(dev.clone()));
                (0, RouteNetlinkMessage::DelLink(msg))
            }
            NetlinkOp::AddAddress { addr, .. } | NetlinkOp::DelAddress { addr, .. } => {
                let add = matches!(op, NetlinkOp::AddAddress { .. });
                let mut msg = AddressMessage::default();
                msg.header.family = family(&addr.addr);
                msg.header.prefix_len = addr.prefix;
                msg.header.index = index;
                // As `ip addr add`: IFA_LOCAL is the address, IFA_ADDRESS the
                // same (no peer); a delete names IFA_LOCAL only.
                msg.attributes.push(AddressAttribute::Local(addr.addr));
                if add {
                    msg.attributes.push(AddressAttribute::Address(addr.addr));
                    if addr.addr.is_ipv6() {
                        msg.header.flags = AddressHeaderFlags::Nodad;
                        msg.attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
                    }
                    (create, RouteNetlinkMessage::NewAddress(msg))
                } else {
                    (0, RouteNetlinkMessage::DelAddress(msg))
                }
            }
            NetlinkOp::AddDefaultRoute { via, .. } | NetlinkOp::DelDefaultRoute { via, .. } => {
                let add = matches!(op, NetlinkOp::AddDefaultRoute { .. });
                let mut header = RouteHeader {
                    address_family: family(via),
                    table: RouteHeader::RT_TABLE_MAIN,
                    // A delete matches any scope, as `ip route del` asks.
                    scope: RouteScope::NoWhere,
                    ..RouteHeader::default()
                };
                if add {
                    header.protocol = RouteProtocol::Boot;
                    header.scope = RouteScope::Universe;
                    header.kind = RouteType::Unicast;
                }
                let mut msg = RouteMessage::default();
                msg.header = header;
                msg.attributes = vec![RouteAttribute::Gateway(RouteAddress::from(*via)), RouteAttribute::Oif(index)];
                if add { (create, RouteNetlinkMessage::NewRoute(msg)) } else { (0, RouteNetlinkMessage::DelRoute(msg)) }
            }
        })
    }
}

fn family(a: &IpAddr) -> AddressFamily {
    if a.is_ipv6() { AddressFamily::Inet6 } else { AddressFamily::Inet }
}

/// Carries out `ops` on a fresh socket inside namespace `ns` (`None`:
/// faultmesh's own).
pub fn apply(ns: Option<&str>, ops: &[NetlinkOp]) -> Result<(), NetlinkError> {
    if ops.is_empty() {
        return Ok(());
    }
    if let Some(n) = ns {
        names::check(NameKind::Netns, n)?;
    }
    netns::run_in(ns, || Ok(Netlink::open(ns).and_then(|mut nl| nl.execute(ops)))).unwrap_or_else(|e| {
        Err(NetlinkError::Kernel { action: "entering the namespace".into(), netns: ns.map(str::to_string), source: e })
    })
}

/// The index of `dev` inside namespace `ns`.
pub fn ifindex_in(ns: Option<&str>, dev: &str) -> Result<u32, NetlinkError> {
    if let Some(n) = ns {
        names::check(NameKind::Netns, n)?;
    }
    netns::run_in(ns, || Ok(Netlink::open(ns).and_then(|mut nl| nl.ifindex(dev)))).unwrap_or_else(|e| {
        Err(NetlinkError::Kernel { action: "entering the namespace".into(), netns: ns.map(str::to_string), source: e })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        let (a, p) = s.split_once('/').unwrap();
        Cidr { addr: a.parse().unwrap(), prefix: p.parse().unwrap() }
    }

    #[test]
    fn errors_name_operation_object_and_namespace() {
        let op = NetlinkOp::AddAddress { dev: "eth0".into(), addr: cidr("10.0.0.2/24") };
        let e = NetlinkError::Kernel {
            action: op.to_string(),
            netns: Some("fm-x-a".into()),
            source: io::Error::from_raw_os_error(libc::EEXIST),
        };
        assert_eq!(e.to_string(), "adding address 10.0.0.2/24 to eth0 in namespace fm-x-a: File exists (os error 17)");
        let op = NetlinkOp::AddDefaultRoute { dev: "eth0".into(), via: "fd00::1".parse().unwrap() };
        assert_eq!(op.to_string(), "adding route ::/0 via fd00::1 dev eth0");
    }

    #[test]
    fn hostile_names_are_refused_before_sending() {
        let op = NetlinkOp::SetLinkUp { dev: "eth0\nnetns del x".into(), mac: None, mtu_bytes: None };
        assert!(op.check_names().is_err());
        let op = NetlinkOp::CreateVeth {
            name: "a".into(),
            netns: "../../etc".into(),
            peer: "b".into(),
            peer_netns: "ok".into(),
            mtu_bytes: 1500,
        };
        assert!(op.check_names().is_err());
        let op = NetlinkOp::DelLink { dev: "sixteen-bytes-xx".into() };
        assert!(op.check_names().is_err());
    }

    #[test]
    fn requests_serialize_with_ack() {
        let mut out = Vec::new();
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName("eth0".into()));
        Netlink::push(&mut out, 7, 0, RouteNetlinkMessage::SetLink(msg));
        let b = NetlinkBuffer::new_checked(&out[..]).unwrap();
        assert_eq!(b.sequence_number(), 7);
        assert_eq!(b.length() as usize, out.len());
        assert_ne!(b.flags() & NLM_F_ACK, 0);
        assert_ne!(b.flags() & NLM_F_REQUEST, 0);
    }
}
