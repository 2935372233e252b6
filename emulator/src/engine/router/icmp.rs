//! The ICMP, ICMPv6 and neighbour-discovery numbers the router speaks, the
//! errors it builds, and the fields it reads from NS/NA messages.
//!
//! Contract: pure functions of a parsed packet — no router state. An error
//! is never sent about an error, a fragment, or a packet from a multicast,
//! link-local or unspecified source (RFC 1812 4.3.2.7, RFC 4443 2.4(e));
//! [`error_frame`] returns `None` for those, so the caller only counts what
//! it really sends.

use std::net::{IpAddr, Ipv6Addr};

use super::is_link_local_or_multicast;
use crate::packet::Packet;
use crate::wire::{Mac, PacketInfo, build, ipproto};

/// ICMPv4 types and codes (RFC 792, RFC 1191).
pub(crate) mod icmpv4 {
    /// Destination unreachable.
    pub const DEST_UNREACHABLE: u8 = 3;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 8;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 11;
    /// Code of [`DEST_UNREACHABLE`]: host unreachable.
    pub const CODE_HOST_UNREACHABLE: u8 = 1;
    /// Code of [`DEST_UNREACHABLE`]: fragmentation needed and DF set.
    pub const CODE_FRAG_NEEDED: u8 = 4;
    /// Code of [`TIME_EXCEEDED`]: TTL exceeded in transit.
    pub const CODE_TTL_EXCEEDED: u8 = 0;
}

/// ICMPv6 types and codes (RFC 4443, RFC 4861).
pub(crate) mod icmpv6 {
    /// Destination unreachable.
    pub const DEST_UNREACHABLE: u8 = 1;
    /// Packet too big.
    pub const PACKET_TOO_BIG: u8 = 2;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 3;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 128;
    /// Router solicitation, the first neighbour-discovery type.
    pub const ROUTER_SOLICIT: u8 = 133;
    /// Neighbour solicitation.
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    /// Neighbour advertisement.
    pub const NEIGHBOR_ADVERT: u8 = 136;
    /// Redirect, the last neighbour-discovery type.
    pub const REDIRECT: u8 = 137;
    /// Code of [`DEST_UNREACHABLE`]: address unreachable.
    pub const CODE_ADDR_UNREACHABLE: u8 = 3;
    /// Code of [`TIME_EXCEEDED`]: hop limit exceeded in transit.
    pub const CODE_HOP_LIMIT_EXCEEDED: u8 = 0;
}

/// Neighbour-discovery message layout (RFC 4861 4.3, 4.4, 4.6).
pub(crate) mod nd {
    /// Where the target address sits in an NS or NA (after type, code,
    /// checksum and 4 reserved/flag bytes).
    pub const TARGET: std::ops::Range<usize> = 8..24;
    /// Options start after the 24-byte NS/NA body.
    pub const BODY_LEN: usize = 24;
    /// Option lengths are in units of 8 bytes.
    pub const OPTION_UNIT: usize = 8;
    /// Option: source link-layer address.
    pub const OPT_SOURCE_LLADDR: u8 = 1;
    /// Option: target link-layer address.
    pub const OPT_TARGET_LLADDR: u8 = 2;
}

/// ARP operations (RFC 826).
pub(crate) mod arp_op {
    /// Request.
    pub const REQUEST: u16 = 1;
}

/// The ICMP errors a router sends.
#[derive(Clone, Copy, Debug)]
pub(crate) enum IcmpKind {
    /// TTL or hop limit ran out here.
    TimeExceeded,
    /// No route to the destination.
    Unreachable,
    /// Larger than the next link's MTU (with that MTU).
    TooBig(u32),
}

/// True for an echo request (ICMP or ICMPv6).
pub(crate) fn is_echo_request(info: &PacketInfo) -> bool {
    (info.proto == ipproto::ICMP && info.icmp_type == icmpv4::ECHO_REQUEST)
        || (info.proto == ipproto::ICMPV6 && info.icmp_type == icmpv6::ECHO_REQUEST)
}

/// True for a neighbour-discovery message (router solicitation to redirect).
pub(crate) fn is_nd(info: &PacketInfo) -> bool {
    info.proto == ipproto::ICMPV6 && (icmpv6::ROUTER_SOLICIT..=icmpv6::REDIRECT).contains(&info.icmp_type)
}

/// The error `kind` about `pkt`, sent from `from` with `mac` as both MACs
/// (the router routes it like any packet it originates, which rewrites
/// them). `None` when no error may be sent about this packet.
pub(crate) fn error_frame(from: IpAddr, mac: Mac, pkt: &Packet, info: &PacketInfo, kind: IcmpKind) -> Option<Vec<u8>> {
    // Never answer an error with an error (only queries get one), nor
    // multicast, link-local or fragments.
    let is_icmp = matches!(info.proto, ipproto::ICMP | ipproto::ICMPV6);
    if is_icmp && !is_echo_request(info) {
        return None;
    }
    if info.fragment || is_link_local_or_multicast(info.src_ip) || info.src_ip.is_unspecified() {
        return None;
    }
    let err = |icmp_type, code, mtu| build::IcmpError { icmp_type, code, mtu };
    match (from, kind) {
        (IpAddr::V4(f), kind) => {
            let e = match kind {
                IcmpKind::TimeExceeded => err(icmpv4::TIME_EXCEEDED, icmpv4::CODE_TTL_EXCEEDED, 0),
                IcmpKind::Unreachable => err(icmpv4::DEST_UNREACHABLE, icmpv4::CODE_HOST_UNREACHABLE, 0),
                IcmpKind::TooBig(mtu) => err(icmpv4::DEST_UNREACHABLE, icmpv4::CODE_FRAG_NEEDED, mtu),
            };
            build::icmpv4_error(f, mac, mac, pkt.data(), info, e)
        }
        (IpAddr::V6(f), kind) => {
            let e = match kind {
                IcmpKind::TimeExceeded => err(icmpv6::TIME_EXCEEDED, icmpv6::CODE_HOP_LIMIT_EXCEEDED, 0),
                IcmpKind::Unreachable => err(icmpv6::DEST_UNREACHABLE, icmpv6::CODE_ADDR_UNREACHABLE, 0),
                // Packet too big has no code.
                IcmpKind::TooBig(mtu) => err(icmpv6::PACKET_TOO_BIG, 0, mtu),
            };
            build::icmpv6_error(f, mac, mac, pkt.data(), info, e)
        }
    }
}

/// The fields of an NS or NA the router uses.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct NdFields {
    /// The target address, if the body is long enough to hold one.
    pub target: Option<Ipv6Addr>,
    /// The source (NS) or target (NA) link-layer address option.
    pub lladdr: Option<Mac>,
}

/// Reads an NS/NA body (`l4` starts at the ICMPv6 header). Options are
/// walked with their declared lengths; a zero or overrunning length ends the
/// walk (RFC 4861 4.6: such a message is invalid, what was read stands).
pub(crate) fn nd_fields(l4: &[u8]) -> NdFields {
    let target = l4.get(nd::TARGET).map(|b| {
        let mut o = [0u8; 16];
        o.copy_from_slice(b);
        Ipv6Addr::from(o)
    });
    let mut lladdr = None;
    let mut off = nd::BODY_LEN;
    while off + nd::OPTION_UNIT <= l4.len() {
        let (kind, len) = (l4[off], usize::from(l4[off + 1]) * nd::OPTION_UNIT);
        if len == 0 || off + len > l4.len() {
            break;
        }
        if kind == nd::OPT_SOURCE_LLADDR || kind == nd::OPT_TARGET_LLADDR {
            let mut m = [0u8; 6];
            m.copy_from_slice(&l4[off + 2..off + 8]);
            lladdr = Some(Mac(m));
        }
        off += len;
    }
    NdFields { target, lladdr }
}
