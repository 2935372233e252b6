//! Zero-copy packet views, a one-pass header parser and Internet checksums.
//!
//! Contract: nothing here trusts the bytes it is given. [`parse`] checks every
//! length before reading and returns a [`WireError`] for frames whose headers
//! are truncated or inconsistent (IPv4 IHL/total length, IPv6 payload length,
//! extension-header chain, TCP data offset, ARP sizes); it never panics and
//! never allocates. Views (`Ipv4`, `Ipv6`, `Tcp`, `Udp`, …) are created only
//! from offsets that [`parse`] validated, through `new_checked`, and read
//! fields with fixed offsets inside the checked length.
//!
//! Frames are always Ethernet II inside the engine; TUN packets get a
//! synthetic Ethernet header at ingress (see `packet`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Length of an Ethernet II header.
pub const ETH_HDR_LEN: usize = 14;

/// EtherType values the engine understands.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// IPv6.
    pub const IPV6: u16 = 0x86DD;
}

/// IP protocol numbers the engine understands.
pub mod ipproto {
    /// IPv6 hop-by-hop options.
    pub const HOPOPT: u8 = 0;
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 routing header.
    pub const ROUTING: u8 = 43;
    /// IPv6 fragment header.
    pub const FRAGMENT: u8 = 44;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header".
    pub const NONE: u8 = 59;
    /// IPv6 destination options.
    pub const DSTOPTS: u8 = 60;
}

/// TCP flag bits.
pub mod tcpflags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;
}

/// Why a frame could not be parsed. Cheap and `Copy`: it is produced on the
/// hot path and turned into a counted drop, never into a log line per packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The frame ends before a header does.
    #[error("truncated header")]
    Truncated,
    /// An IP version field does not match the EtherType.
    #[error("bad IP version")]
    BadVersion,
    /// A header-length field is impossible (IHL < 5, TCP offset < 5, …).
    #[error("bad header length")]
    BadHeaderLength,
    /// A total/payload length field exceeds the frame or undercuts the header.
    #[error("bad length field")]
    BadLength,
    /// An IPv6 extension-header chain that is too long to walk.
    #[error("extension header chain too long")]
    ExtensionChain,
}

/// A MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Mac = Mac([0xff; 6]);
    /// 00:00:00:00:00:00.
    pub const ZERO: Mac = Mac([0; 6]);

    /// True for group (broadcast and multicast) addresses.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// A locally administered unicast address derived from `id`.
    pub fn local(prefix: u8, id: u32) -> Mac {
        let b = id.to_be_bytes();
        Mac([0x02, 0xfa, prefix, b[1], b[2], b[3]])
    }

    /// A locally administered unicast address derived from a name: stable
    /// across reloads and reorderings (`02:<kind>:<32-bit hash>`).
    pub fn from_name(kind: u8, name: &str) -> Mac {
        let b = (crate::rng::fnv1a(name.as_bytes()) as u32).to_be_bytes();
        Mac([0x02, kind, b[0], b[1], b[2], b[3]])
    }

    /// The Ethernet multicast address for an IPv6 multicast group (33:33:…).
    pub fn ipv6_multicast(addr: Ipv6Addr) -> Mac {
        let o = addr.octets();
        Mac([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

impl std::str::FromStr for Mac {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for b in &mut out {
            let p = parts.next().ok_or_else(|| format!("`{s}` is not a MAC address"))?;
            *b = u8::from_str_radix(p, 16).map_err(|_| format!("`{s}` is not a MAC address"))?;
        }
        if parts.next().is_some() {
            return Err(format!("`{s}` is not a MAC address"));
        }
        Ok(Mac(out))
    }
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

#[inline]
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// The network layer of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L3 {
    /// IPv4 at `l3_offset`.
    Ipv4,
    /// IPv6 at `l3_offset`.
    Ipv6,
    /// ARP at `l3_offset`.
    Arp,
    /// Some other EtherType, carried opaquely.
    Other(u16),
}

/// Everything the engine needs to know about a frame, from one pass over its
/// headers. Offsets are from the start of the Ethernet frame.
#[derive(Clone, Copy, Debug)]
pub struct PacketInfo {
    /// Destination MAC.
    pub dst_mac: Mac,
    /// Source MAC.
    pub src_mac: Mac,
    /// EtherType.
    pub ethertype: u16,
    /// Network layer.
    pub l3: L3,
    /// Offset of the network header (14).
    pub l3_offset: usize,
    /// Length of the IP datagram as its header states it (header + payload).
    pub l3_len: usize,
    /// IP source (unspecified when not IP; the ARP sender address for ARP).
    pub src_ip: IpAddr,
    /// IP destination (the ARP target address for ARP).
    pub dst_ip: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// DSCP (upper six bits of TOS / traffic class).
    pub dscp: u8,
    /// ECN bits.
    pub ecn: u8,
    /// Transport protocol after any IPv6 extension headers (255 if none).
    pub proto: u8,
    /// Offset of the transport header, or 0 when there is none (non-IP,
    /// non-first fragment).
    pub l4_offset: usize,
    /// Length of the transport header (TCP data offset, 8 for UDP, 8 for ICMP
    /// echo / 4 otherwise), 0 when none.
    pub l4_header_len: usize,
    /// TCP/UDP source port (0 otherwise).
    pub src_port: u16,
    /// TCP/UDP destination port (0 otherwise).
    pub dst_port: u16,
    /// TCP flags (0 otherwise).
    pub tcp_flags: u8,
    /// TCP sequence number (0 otherwise).
    pub tcp_seq: u32,
    /// ICMP/ICMPv6 type (0 otherwise).
    pub icmp_type: u8,
    /// ICMP/ICMPv6 code (0 otherwise).
    pub icmp_code: u8,
    /// The datagram is an IP fragment (first or later).
    pub fragment: bool,
    /// IPv4 "don't fragment" flag (always true for IPv6: routers never fragment).
    pub dont_fragment: bool,
    /// ARP opcode (1 request, 2 reply) when `l3 == Arp`.
    pub arp_op: u16,
}

impl PacketInfo {
    /// End of the transport header (start of the payload), or of the IP
    /// header when there is no transport header.
    pub fn headers_end(&self) -> usize {
        if self.l4_offset > 0 { self.l4_offset + self.l4_header_len } else { self.l3_offset }
    }

    /// True for IPv4 or IPv6.
    pub fn is_ip(&self) -> bool {
        matches!(self.l3, L3::Ipv4 | L3::Ipv6)
    }
}

/// Parses the headers of an Ethernet frame. See the module contract.
pub fn parse(frame: &[u8]) -> Result<PacketInfo, WireError> {
    if frame.len() < ETH_HDR_LEN {
        return Err(WireError::Truncated);
    }
    let mut dst = [0u8; 6];
    let mut src = [0u8; 6];
    dst.copy_from_slice(&frame[0..6]);
    src.copy_from_slice(&frame[6..12]);
    let ethertype = be16(frame, 12);
    let mut info = PacketInfo {
        dst_mac: Mac(dst),
        src_mac: Mac(src),
        ethertype,
        l3: L3::Other(ethertype),
        l3_offset: ETH_HDR_LEN,
        l3_len: frame.len() - ETH_HDR_LEN,
        src_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        dst_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        ttl: 0,
        dscp: 0,
        ecn: 0,
        proto: 255,
        l4_offset: 0,
        l4_header_len: 0,
        src_port: 0,
        dst_port: 0,
        tcp_flags: 0,
        tcp_seq: 0,
        icmp_type: 0,
        icmp_code: 0,
        fragment: false,
        dont_fragment: false,
        arp_op: 0,
    };
    let l3 = &frame[ETH_HDR_LEN..];
    match ethertype {
        ethertype::IPV4 => {
            let ip = Ipv4::new_checked(l3)?;
            info.l3 = L3::Ipv4;
            info.l3_len = ip.total_len();
            info.src_ip = IpAddr::V4(ip.src());
            info.dst_ip = IpAddr::V4(ip.dst());
            info.ttl = ip.ttl();
            info.dscp = ip.tos() >> 2;
            info.ecn = ip.tos() & 3;
            info.proto = ip.protocol();
            info.dont_fragment = ip.dont_fragment();
            info.fragment = ip.more_fragments() || ip.frag_offset() != 0;
            if ip.frag_offset() == 0 {
                let hl = ip.header_len();
                parse_l4(&mut info, &l3[hl..ip.total_len()], ETH_HDR_LEN + hl)?;
            }
        }
        ethertype::IPV6 => {
            let ip = Ipv6::new_checked(l3)?;
            info.l3 = L3::Ipv6;
            info.l3_len = 40 + ip.payload_len();
            info.src_ip = IpAddr::V6(ip.src());
            info.dst_ip = IpAddr::V6(ip.dst());
            info.ttl = ip.hop_limit();
            info.dscp = ip.traffic_class() >> 2;
            info.ecn = ip.traffic_class() & 3;
            info.dont_fragment = true;
            let end = 40 + ip.payload_len();
            let mut next = ip.next_header();
            let mut off = 40usize;
            let mut first_fragment = true;
            for _ in 0..8 {
                match next {
                    ipproto::HOPOPT | ipproto::ROUTING | ipproto::DSTOPTS => {
                        if off + 8 > end {
                            return Err(WireError::Truncated);
                        }
                        let len = (usize::from(l3[off + 1]) + 1) * 8;
                        if off + len > end {
                            return Err(WireError::BadLength);
                        }
                        next = l3[off];
                        off += len;
                    }
                    ipproto::FRAGMENT => {
                        if off + 8 > end {
                            return Err(WireError::Truncated);
                        }
                        info.fragment = true;
                        first_fragment = be16(l3, off + 2) & 0xfff8 == 0;
                        next = l3[off];
                        off += 8;
                    }
                    _ => break,
                }
            }
            if matches!(next, ipproto::HOPOPT | ipproto::ROUTING | ipproto::DSTOPTS | ipproto::FRAGMENT) {
                return Err(WireError::ExtensionChain);
            }
            info.proto = next;
            if first_fragment && next != ipproto::NONE {
                parse_l4(&mut info, &l3[off..end], ETH_HDR_LEN + off)?;
            }
        }
        ethertype::ARP => {
            let arp = Arp::new_checked(l3)?;
            info.l3 = L3::Arp;
            info.l3_len = 28;
            info.arp_op = arp.op();
            info.src_ip = IpAddr::V4(arp.sender_ip());
            info.dst_ip = IpAddr::V4(arp.target_ip());
        }
        _ => {}
    }
    Ok(info)
}

fn parse_l4(info: &mut PacketInfo, l4: &[u8], offset: usize) -> Result<(), WireError> {
    match info.proto {
        ipproto::TCP => {
            if l4.len() < 20 {
                return Err(WireError::Truncated);
            }
            let doff = usize::from(l4[12] >> 4) * 4;
            if doff < 20 {
                return Err(WireError::BadHeaderLength);
            }
            if doff > l4.len() {
                return Err(WireError::Truncated);
            }
            info.l4_offset = offset;
            info.l4_header_len = doff;
            info.src_port = be16(l4, 0);
            info.dst_port = be16(l4, 2);
            info.tcp_seq = be32(l4, 4);
            info.tcp_flags = l4[13];
        }
        ipproto::UDP => {
            if l4.len() < 8 {
                return Err(WireError::Truncated);
            }
            if be16(l4, 4) < 8 && be16(l4, 4) != 0 {
                return Err(WireError::BadLength);
            }
            info.l4_offset = offset;
            info.l4_header_len = 8;
            info.src_port = be16(l4, 0);
            info.dst_port = be16(l4, 2);
        }
        ipproto::ICMP | ipproto::ICMPV6 => {
            if l4.len() < 4 {
                return Err(WireError::Truncated);
            }
            info.l4_offset = offset;
            info.l4_header_len = l4.len().min(8);
            info.icmp_type = l4[0];
            info.icmp_code = l4[1];
        }
        _ => {
            if !l4.is_empty() {
                info.l4_offset = offset;
                info.l4_header_len = 0;
            }
        }
    }
    Ok(())
}

/// A checked view of an IPv4 header and its datagram.
pub struct Ipv4<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv4<T> {
    /// Checks version, IHL and total length against the buffer.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        let b = buf.as_ref();
        if b.len() < 20 {
            return Err(WireError::Truncated);
        }
        if b[0] >> 4 != 4 {
            return Err(WireError::BadVersion);
        }
        let hl = usize::from(b[0] & 0x0f) * 4;
        if hl < 20 {
            return Err(WireError::BadHeaderLength);
        }
        if hl > b.len() {
            return Err(WireError::Truncated);
        }
        let total = usize::from(be16(b, 2));
        if total < hl || total > b.len() {
            return Err(WireError::BadLength);
        }
        Ok(Ipv4 { buf })
    }
    /// Checks version and IHL only, not the total-length field: for
    /// rewriting a header copied in front of a shorter payload, whose total
    /// length is about to be replaced.
    pub fn new_header_checked(buf: T) -> Result<Self, WireError> {
        let b = buf.as_ref();
        if b.len() < 20 {
            return Err(WireError::Truncated);
        }
        if b[0] >> 4 != 4 {
            return Err(WireError::BadVersion);
        }
        let hl = usize::from(b[0] & 0x0f) * 4;
        if hl < 20 || hl > b.len() {
            return Err(WireError::BadHeaderLength);
        }
        Ok(Ipv4 { buf })
    }
    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        usize::from(self.buf.as_ref()[0] & 0x0f) * 4
    }
    /// Type of service byte.
    pub fn tos(&self) -> u8 {
        self.buf.as_ref()[1]
    }
    /// Total length field.
    pub fn total_len(&self) -> usize {
        usize::from(be16(self.buf.as_ref(), 2))
    }
    /// Identification field.
    pub fn ident(&self) -> u16 {
        be16(self.buf.as_ref(), 4)
    }
    /// DF flag.
    pub fn dont_fragment(&self) -> bool {
        self.buf.as_ref()[6] & 0x40 != 0
    }
    /// MF flag.
    pub fn more_fragments(&self) -> bool {
        self.buf.as_ref()[6] & 0x20 != 0
    }
    /// Fragment offset in 8-byte units.
    pub fn frag_offset(&self) -> u16 {
        be16(self.buf.as_ref(), 6) & 0x1fff
    }
    /// TTL.
    pub fn ttl(&self) -> u8 {
        self.buf.as_ref()[8]
    }
    /// Protocol.
    pub fn protocol(&self) -> u8 {
        self.buf.as_ref()[9]
    }
    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        let b = self.buf.as_ref();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }
    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        let b = self.buf.as_ref();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }
    /// True when the header checksum is correct.
    pub fn verify_checksum(&self) -> bool {
        let b = self.buf.as_ref();
        fold(sum(&b[..self.header_len()], 0)) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4<T> {
    /// Sets the TTL and updates the checksum incrementally (RFC 1624).
    pub fn set_ttl(&mut self, ttl: u8) {
        let b = self.buf.as_mut();
        let old = be16(b, 8);
        b[8] = ttl;
        let new = be16(b, 8);
        let ck = be16(b, 10);
        put16(b, 10, incremental_update(ck, old, new));
    }
    /// Sets the total length (checksum not updated).
    pub fn set_total_len(&mut self, len: u16) {
        put16(self.buf.as_mut(), 2, len);
    }
    /// Sets the identification (checksum not updated).
    pub fn set_ident(&mut self, id: u16) {
        put16(self.buf.as_mut(), 4, id);
    }
    /// Recomputes the header checksum.
    pub fn fill_checksum(&mut self) {
        let hl = self.header_len();
        let b = self.buf.as_mut();
        put16(b, 10, 0);
        let ck = !fold(sum(&b[..hl], 0));
        put16(b, 10, ck);
    }
}

/// A checked view of an IPv6 header and its datagram.
pub struct Ipv6<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv6<T> {
    /// Checks version and payload length against the buffer.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        let b = buf.as_ref();
        if b.len() < 40 {
            return Err(WireError::Truncated);
        }
        if b[0] >> 4 != 6 {
            return Err(WireError::BadVersion);
        }
        if 40 + usize::from(be16(b, 4)) > b.len() {
            return Err(WireError::BadLength);
        }
        Ok(Ipv6 { buf })
    }
    /// Checks the version and the fixed header only, not the payload length.
    pub fn new_header_checked(buf: T) -> Result<Self, WireError> {
        let b = buf.as_ref();
        if b.len() < 40 {
            return Err(WireError::Truncated);
        }
        if b[0] >> 4 != 6 {
            return Err(WireError::BadVersion);
        }
        Ok(Ipv6 { buf })
    }
    /// Traffic class.
    pub fn traffic_class(&self) -> u8 {
        let b = self.buf.as_ref();
        (b[0] << 4) | (b[1] >> 4)
    }
    /// Payload length.
    pub fn payload_len(&self) -> usize {
        usize::from(be16(self.buf.as_ref(), 4))
    }
    /// Next header.
    pub fn next_header(&self) -> u8 {
        self.buf.as_ref()[6]
    }
    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buf.as_ref()[7]
    }
    /// Source address.
    pub fn src(&self) -> Ipv6Addr {
        let mut o = [0u8; 16];
        o.copy_from_slice(&self.buf.as_ref()[8..24]);
        Ipv6Addr::from(o)
    }
    /// Destination address.
    pub fn dst(&self) -> Ipv6Addr {
        let mut o = [0u8; 16];
        o.copy_from_slice(&self.buf.as_ref()[24..40]);
        Ipv6Addr::from(o)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6<T> {
    /// Sets the hop limit (IPv6 has no header checksum).
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buf.as_mut()[7] = v;
    }
    /// Sets the payload length.
    pub fn set_payload_len(&mut self, v: u16) {
        put16(self.buf.as_mut(), 4, v);
    }
}

/// A checked view of an ARP packet for IPv4 over Ethernet.
pub struct Arp<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Arp<T> {
    /// Checks that the packet is Ethernet/IPv4 ARP and long enough.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        let b = buf.as_ref();
        if b.len() < 28 {
            return Err(WireError::Truncated);
        }
        if be16(b, 0) != 1 || be16(b, 2) != ethertype::IPV4 || b[4] != 6 || b[5] != 4 {
            return Err(WireError::BadHeaderLength);
        }
        Ok(Arp { buf })
    }
    /// Opcode.
    pub fn op(&self) -> u16 {
        be16(self.buf.as_ref(), 6)
    }
    /// Sender hardware address.
    pub fn sender_mac(&self) -> Mac {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.buf.as_ref()[8..14]);
        Mac(m)
    }
    /// Sender protocol address.
    pub fn sender_ip(&self) -> Ipv4Addr {
        let b = self.buf.as_ref();
        Ipv4Addr::new(b[14], b[15], b[16], b[17])
    }
    /// Target protocol address.
    pub fn target_ip(&self) -> Ipv4Addr {
        let b = self.buf.as_ref();
        Ipv4Addr::new(b[24], b[25], b[26], b[27])
    }
}

/// Adds `data` to a ones'-complement accumulator. Works on native-endian
/// 64-bit words (RFC 1071: the sum is byte-order independent up to a final
/// swap, which [`fold`] applies).
pub fn sum(data: &[u8], initial: u64) -> u64 {
    let mut acc: u64 = initial;
    let mut chunks = data.chunks_exact(8);
    let mut native: u64 = 0;
    for c in &mut chunks {
        let w = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let (s, carry) = native.overflowing_add(w);
        native = s + u64::from(carry);
    }
    // Fold the native 64-bit sum to 16 bits, then convert to big-endian order.
    let mut n = native;
    while n > 0xffff {
        n = (n & 0xffff) + (n >> 16);
    }
    let n16 = n as u16;
    let be = if cfg!(target_endian = "little") { n16.swap_bytes() } else { n16 };
    acc += u64::from(be);
    let rest = chunks.remainder();
    let mut i = 0;
    while i + 1 < rest.len() {
        acc += u64::from(be16(rest, i));
        i += 2;
    }
    if i < rest.len() {
        acc += u64::from(rest[i]) << 8;
    }
    acc
}

/// Folds a ones'-complement accumulator to 16 bits (not inverted).
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The pseudo-header sum for a transport checksum.
pub fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u64 {
    let mut acc = 0u64;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc = sum(&s.octets(), acc);
            acc = sum(&d.octets(), acc);
            acc += u64::from(proto);
            acc += (len as u64) & 0xffff;
        }
        (s, d) => {
            let s6 = match s {
                IpAddr::V6(a) => a,
                IpAddr::V4(a) => a.to_ipv6_mapped(),
            };
            let d6 = match d {
                IpAddr::V6(a) => a,
                IpAddr::V4(a) => a.to_ipv6_mapped(),
            };
            acc = sum(&s6.octets(), acc);
            acc = sum(&d6.octets(), acc);
            acc += len as u64;
            acc += u64::from(proto);
        }
    }
    acc
}

/// RFC 1624 incremental checksum update when a 16-bit word changes.
pub fn incremental_update(check: u16, old: u16, new: u16) -> u16 {
    let acc = u64::from(!check) + u64::from(!old) + u64::from(new);
    !fold(acc)
}

/// Computes and stores the transport checksum of the datagram whose transport
/// header starts at `l4_offset` in `frame`, given parsed `info`.
/// Returns false (and changes nothing) for protocols without one.
pub fn fill_l4_checksum(frame: &mut [u8], info: &PacketInfo) -> bool {
    if info.l4_offset == 0 {
        return false;
    }
    let end = (info.l3_offset + info.l3_len).min(frame.len());
    if info.l4_offset >= end {
        return false;
    }
    let at = match info.proto {
        ipproto::TCP => 16,
        ipproto::UDP => 6,
        ipproto::ICMP => 2,
        ipproto::ICMPV6 => 2,
        _ => return false,
    };
    let seg_len = end - info.l4_offset;
    if seg_len < at + 2 {
        return false;
    }
    let seg = &mut frame[info.l4_offset..end];
    seg[at] = 0;
    seg[at + 1] = 0;
    let initial =
        if info.proto == ipproto::ICMP { 0 } else { pseudo_header(info.src_ip, info.dst_ip, info.proto, seg_len) };
    let mut ck = !fold(sum(seg, initial));
    if info.proto == ipproto::UDP && ck == 0 {
        ck = 0xffff;
    }
    put16(seg, at, ck);
    true
}

/// True when the transport checksum of the datagram is correct (or absent:
/// UDP over IPv4 with checksum 0).
pub fn verify_l4_checksum(frame: &[u8], info: &PacketInfo) -> bool {
    if info.l4_offset == 0 {
        return true;
    }
    let end = (info.l3_offset + info.l3_len).min(frame.len());
    if info.l4_offset >= end {
        return true;
    }
    let seg = &frame[info.l4_offset..end];
    match info.proto {
        ipproto::UDP if seg.len() >= 8 && be16(seg, 6) == 0 && info.l3 == L3::Ipv4 => true,
        ipproto::TCP | ipproto::UDP | ipproto::ICMPV6 => {
            fold(sum(seg, pseudo_header(info.src_ip, info.dst_ip, info.proto, seg.len()))) == 0xffff
        }
        ipproto::ICMP => fold(sum(seg, 0)) == 0xffff,
        _ => true,
    }
}

/// Writes an Ethernet header at the start of `frame`.
pub fn write_eth(frame: &mut [u8], dst: Mac, src: Mac, ethertype: u16) {
    frame[0..6].copy_from_slice(&dst.0);
    frame[6..12].copy_from_slice(&src.0);
    put16(frame, 12, ethertype);
}

/// Rewrites the source and destination MAC of a frame.
pub fn set_macs(frame: &mut [u8], dst: Mac, src: Mac) {
    frame[0..6].copy_from_slice(&dst.0);
    frame[6..12].copy_from_slice(&src.0);
}

/// Builders for packets the engine originates (ARP/ND answers, ICMP errors).
pub mod build {
    use super::*;

    /// An ARP reply from `our_mac`/`our_ip` to the requester.
    pub fn arp_reply(our_mac: Mac, our_ip: Ipv4Addr, to_mac: Mac, to_ip: Ipv4Addr) -> Vec<u8> {
        let mut f = vec![0u8; ETH_HDR_LEN + 28];
        write_eth(&mut f, to_mac, our_mac, ethertype::ARP);
        let a = &mut f[ETH_HDR_LEN..];
        put16(a, 0, 1);
        put16(a, 2, ethertype::IPV4);
        a[4] = 6;
        a[5] = 4;
        put16(a, 6, 2);
        a[8..14].copy_from_slice(&our_mac.0);
        a[14..18].copy_from_slice(&our_ip.octets());
        a[18..24].copy_from_slice(&to_mac.0);
        a[24..28].copy_from_slice(&to_ip.octets());
        f
    }

    /// An ARP request for `target` (broadcast).
    pub fn arp_request(our_mac: Mac, our_ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
        let mut f = vec![0u8; ETH_HDR_LEN + 28];
        write_eth(&mut f, Mac::BROADCAST, our_mac, ethertype::ARP);
        let a = &mut f[ETH_HDR_LEN..];
        put16(a, 0, 1);
        put16(a, 2, ethertype::IPV4);
        a[4] = 6;
        a[5] = 4;
        put16(a, 6, 1);
        a[8..14].copy_from_slice(&our_mac.0);
        a[14..18].copy_from_slice(&our_ip.octets());
        a[24..28].copy_from_slice(&target.octets());
        f
    }

    /// An IPv4 datagram with the given transport payload; checksums filled.
    pub fn ipv4(dst_mac: Mac, src_mac: Mac, src: Ipv4Addr, dst: Ipv4Addr, proto: u8, ttl: u8, l4: &[u8]) -> Vec<u8> {
        let total = 20 + l4.len();
        let mut f = vec![0u8; ETH_HDR_LEN + total];
        write_eth(&mut f, dst_mac, src_mac, ethertype::IPV4);
        {
            let ip = &mut f[ETH_HDR_LEN..];
            ip[0] = 0x45;
            put16(ip, 2, total as u16);
            ip[6] = 0x40;
            ip[8] = ttl;
            ip[9] = proto;
            ip[12..16].copy_from_slice(&src.octets());
            ip[16..20].copy_from_slice(&dst.octets());
            ip[20..].copy_from_slice(l4);
        }
        let mut v = Ipv4::new_checked(&mut f[ETH_HDR_LEN..]).expect("built header is valid");
        v.fill_checksum();
        if let Ok(info) = parse(&f) {
            fill_l4_checksum(&mut f, &info);
        }
        f
    }

    /// An IPv6 datagram with the given transport payload; checksum filled.
    pub fn ipv6(
        dst_mac: Mac,
        src_mac: Mac,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        next_header: u8,
        hop_limit: u8,
        l4: &[u8],
    ) -> Vec<u8> {
        let mut f = vec![0u8; ETH_HDR_LEN + 40 + l4.len()];
        write_eth(&mut f, dst_mac, src_mac, ethertype::IPV6);
        {
            let ip = &mut f[ETH_HDR_LEN..];
            ip[0] = 0x60;
            put16(ip, 4, l4.len() as u16);
            ip[6] = next_header;
            ip[7] = hop_limit;
            ip[8..24].copy_from_slice(&src.octets());
            ip[24..40].copy_from_slice(&dst.octets());
            ip[40..].copy_from_slice(l4);
        }
        if let Ok(info) = parse(&f) {
            fill_l4_checksum(&mut f, &info);
        }
        f
    }

    /// An ICMPv6 neighbour advertisement for `target` (solicited, override,
    /// router flag set) with a target link-layer address option.
    pub fn neighbor_advert(our_mac: Mac, target: Ipv6Addr, to_mac: Mac, to_ip: Ipv6Addr) -> Vec<u8> {
        let mut l4 = vec![0u8; 32];
        l4[0] = 136;
        l4[4] = 0xe0; // router, solicited, override
        l4[8..24].copy_from_slice(&target.octets());
        l4[24] = 2; // target link-layer address
        l4[25] = 1;
        l4[26..32].copy_from_slice(&our_mac.0);
        ipv6(to_mac, our_mac, target, to_ip, ipproto::ICMPV6, 255, &l4)
    }

    /// An ICMPv6 neighbour solicitation for `target` sent to its
    /// solicited-node multicast group.
    pub fn neighbor_solicit(our_mac: Mac, our_ip: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
        let t = target.octets();
        let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00 | u16::from(t[13]), u16::from_be_bytes([t[14], t[15]]));
        let mut l4 = vec![0u8; 32];
        l4[0] = 135;
        l4[8..24].copy_from_slice(&target.octets());
        l4[24] = 1; // source link-layer address
        l4[25] = 1;
        l4[26..32].copy_from_slice(&our_mac.0);
        ipv6(Mac::ipv6_multicast(group), our_mac, our_ip, group, ipproto::ICMPV6, 255, &l4)
    }

    /// The start of an offending datagram quoted in an ICMP error.
    fn quote(original: &[u8], max: usize) -> &[u8] {
        let q = original.get(ETH_HDR_LEN..).unwrap_or(&[]);
        &q[..q.len().min(max)]
    }

    /// Type, code and the 32-bit "rest of header" of an ICMP error.
    #[derive(Clone, Copy, Debug)]
    pub struct IcmpError {
        /// ICMP type.
        pub icmp_type: u8,
        /// ICMP code.
        pub code: u8,
        /// Next-hop MTU (frag needed / packet too big), else 0.
        pub mtu: u32,
    }

    /// An ICMPv4 error (time exceeded, destination unreachable, …) about
    /// `original`, sent from `from` back to the original source.
    pub fn icmpv4_error(
        from: Ipv4Addr,
        our_mac: Mac,
        to_mac: Mac,
        original: &[u8],
        info: &PacketInfo,
        e: IcmpError,
    ) -> Option<Vec<u8>> {
        let (icmp_type, code, mtu) = (e.icmp_type, e.code, e.mtu as u16);
        let IpAddr::V4(to) = info.src_ip else {
            return None;
        };
        let q = quote(original, 28 + 40);
        let mut l4 = vec![0u8; 8 + q.len()];
        l4[0] = icmp_type;
        l4[1] = code;
        put16(&mut l4, 6, mtu);
        l4[8..].copy_from_slice(q);
        Some(ipv4(to_mac, our_mac, from, to, ipproto::ICMP, 64, &l4))
    }

    /// An ICMPv6 error (time exceeded, packet too big, …) about `original`.
    pub fn icmpv6_error(
        from: Ipv6Addr,
        our_mac: Mac,
        to_mac: Mac,
        original: &[u8],
        info: &PacketInfo,
        e: IcmpError,
    ) -> Option<Vec<u8>> {
        let (icmp_type, code, mtu) = (e.icmp_type, e.code, e.mtu);
        let IpAddr::V6(to) = info.src_ip else {
            return None;
        };
        let q = quote(original, 1280 - 48);
        let mut l4 = vec![0u8; 8 + q.len()];
        l4[0] = icmp_type;
        l4[1] = code;
        put32(&mut l4, 4, mtu);
        l4[8..].copy_from_slice(q);
        Some(ipv6(to_mac, our_mac, from, to, ipproto::ICMPV6, 64, &l4))
    }

    /// Turns an ICMP/ICMPv6 echo request frame into the matching reply in
    /// place: swaps addresses, sets the reply type, fixes checksums.
    pub fn echo_reply_in_place(frame: &mut [u8], info: &PacketInfo, our_mac: Mac) -> bool {
        if info.l4_offset == 0 {
            return false;
        }
        let peer = info.src_mac;
        set_macs(frame, peer, our_mac);
        let l3 = info.l3_offset;
        match info.l3 {
            L3::Ipv4 => {
                let (s, d) = (l3 + 12, l3 + 16);
                for i in 0..4 {
                    frame.swap(s + i, d + i);
                }
                frame[l3 + 8] = 64;
                frame[info.l4_offset] = 0;
                if let Ok(mut ip) = Ipv4::new_checked(&mut frame[l3..]) {
                    ip.fill_checksum();
                }
            }
            L3::Ipv6 => {
                let (s, d) = (l3 + 8, l3 + 24);
                for i in 0..16 {
                    frame.swap(s + i, d + i);
                }
                frame[l3 + 7] = 64;
                frame[info.l4_offset] = 129;
            }
            _ => return false,
        }
        match parse(frame) {
            Ok(i) => fill_l4_checksum(frame, &i),
            Err(_) => false,
        }
    }
}

/// TCP header field offsets (from the start of the TCP header).
pub mod tcp {
    /// Sequence number.
    pub const SEQ: usize = 4;
    /// Flags byte.
    pub const FLAGS: usize = 13;
    /// Checksum.
    pub const CHECKSUM: usize = 16;
}

/// Reads a big-endian u16 at `at`, if in bounds.
pub fn read_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Reads a big-endian u32 at `at`, if in bounds.
pub fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([*b.get(at)?, *b.get(at + 1)?, *b.get(at + 2)?, *b.get(at + 3)?]))
}

/// Writes a big-endian u16 at `at`; false if out of bounds.
pub fn write_u16(b: &mut [u8], at: usize, v: u16) -> bool {
    match b.get_mut(at..at + 2) {
        Some(s) => {
            s.copy_from_slice(&v.to_be_bytes());
            true
        }
        None => false,
    }
}

/// Writes a big-endian u32 at `at`; false if out of bounds.
pub fn write_u32(b: &mut [u8], at: usize, v: u32) -> bool {
    match b.get_mut(at..at + 4) {
        Some(s) => {
            s.copy_from_slice(&v.to_be_bytes());
            true
        }
        None => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_sum(data: &[u8]) -> u16 {
        let mut acc: u64 = 0;
        let mut i = 0;
        while i + 1 < data.len() {
            acc += u64::from(u16::from_be_bytes([data[i], data[i + 1]]));
            i += 2;
        }
        if i < data.len() {
            acc += u64::from(data[i]) << 8;
        }
        fold(acc)
    }

    /// A UDP/IPv4 frame with a correct checksum.
    pub(crate) fn udp4_frame(payload: &[u8]) -> Vec<u8> {
        let mut l4 = vec![0u8; 8 + payload.len()];
        l4[0..2].copy_from_slice(&1234u16.to_be_bytes());
        l4[2..4].copy_from_slice(&5678u16.to_be_bytes());
        l4[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        l4[8..].copy_from_slice(payload);
        build::ipv4(
            Mac([2, 0, 0, 0, 0, 2]),
            Mac([2, 0, 0, 0, 0, 1]),
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            ipproto::UDP,
            64,
            &l4,
        )
    }

    #[test]
    fn parses_udp4_and_checksums() {
        let f = udp4_frame(b"hello world");
        let info = parse(&f).unwrap();
        assert_eq!(info.l3, L3::Ipv4);
        assert_eq!(info.proto, ipproto::UDP);
        assert_eq!((info.src_port, info.dst_port), (1234, 5678));
        assert_eq!(info.l4_offset, 34);
        assert_eq!(info.ttl, 64);
        assert!(verify_l4_checksum(&f, &info));
        assert!(Ipv4::new_checked(&f[14..]).unwrap().verify_checksum());
        let mut g = f.clone();
        g[40] ^= 0x10;
        assert!(!verify_l4_checksum(&g, &info));
    }

    #[test]
    fn ttl_update_keeps_checksum_valid() {
        let mut f = udp4_frame(b"x");
        let mut ip = Ipv4::new_checked(&mut f[14..]).unwrap();
        ip.set_ttl(63);
        assert!(ip.verify_checksum());
        assert_eq!(ip.ttl(), 63);
    }

    #[test]
    fn rejects_inconsistent_headers() {
        let f = udp4_frame(b"hello");
        assert_eq!(parse(&f[..10]).unwrap_err(), WireError::Truncated);
        let mut g = f.clone();
        g[14] = 0x44; // IHL 4
        assert_eq!(parse(&g).unwrap_err(), WireError::BadHeaderLength);
        let mut g = f.clone();
        g[16] = 0xff; // total length way past the end
        assert_eq!(parse(&g).unwrap_err(), WireError::BadLength);
        let mut g = f.clone();
        g[14] = 0x65; // version 6 in an IPv4 EtherType
        assert_eq!(parse(&g).unwrap_err(), WireError::BadVersion);
        // TCP header cut short.
        let mut g = f.clone();
        g[23] = ipproto::TCP;
        assert_eq!(parse(&g).unwrap_err(), WireError::Truncated);
    }

    #[test]
    fn arp_and_nd_builders_round_trip() {
        let our = Mac([2, 0xfa, 0, 0, 0, 1]);
        let f = build::arp_request(our, Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let info = parse(&f).unwrap();
        assert_eq!(info.l3, L3::Arp);
        assert_eq!(info.arp_op, 1);
        assert_eq!(info.dst_ip, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
        let na = build::neighbor_advert(
            our,
            "fd00::1".parse().unwrap(),
            Mac([2, 0, 0, 0, 0, 9]),
            "fd00::2".parse().unwrap(),
        );
        let info = parse(&na).unwrap();
        assert_eq!(info.proto, ipproto::ICMPV6);
        assert_eq!(info.icmp_type, 136);
        assert!(verify_l4_checksum(&na, &info));
    }

    #[test]
    fn echo_reply_is_valid() {
        let mut l4 = vec![8u8, 0, 0, 0, 0, 1, 0, 1];
        l4.extend_from_slice(b"ping");
        let mut f = build::ipv4(
            Mac([2, 0, 0, 0, 0, 2]),
            Mac([2, 0, 0, 0, 0, 1]),
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            ipproto::ICMP,
            64,
            &l4,
        );
        let info = parse(&f).unwrap();
        assert!(verify_l4_checksum(&f, &info));
        assert!(build::echo_reply_in_place(&mut f, &info, Mac([2, 0, 0, 0, 0, 2])));
        let r = parse(&f).unwrap();
        assert_eq!(r.icmp_type, 0);
        assert_eq!(r.dst_ip, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(verify_l4_checksum(&f, &r));
    }

    proptest! {
        #[test]
        fn fast_sum_matches_naive(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(fold(sum(&data, 0)), naive_sum(&data));
        }

        #[test]
        fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&data);
        }

        #[test]
        fn parse_never_panics_on_mutated_ip(
            flips in proptest::collection::vec((0usize..80, any::<u8>()), 1..6),
            v6 in any::<bool>(),
        ) {
            let mut f = if v6 {
                build::neighbor_advert(Mac::ZERO, "fd00::1".parse().unwrap(), Mac::ZERO, "fd00::2".parse().unwrap())
            } else {
                udp4_frame(b"0123456789abcdef0123456789")
            };
            for (i, b) in flips {
                if i < f.len() { f[i] = b; }
            }
            if let Ok(info) = parse(&f) {
                // Every offset the parser reports lies inside the frame.
                prop_assert!(info.l4_offset + info.l4_header_len <= f.len());
                prop_assert!(info.l3_offset + info.l3_len <= f.len());
                let _ = verify_l4_checksum(&f, &info);
                let _ = fill_l4_checksum(&mut f, &info);
            }
        }
    }
}
