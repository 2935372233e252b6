//! Software segmentation and checksum completion.
//!
//! Contract: [`segment`] turns a TCP (v4/v6) or UDP GSO super-frame into the
//! exact wire packets a NIC would have produced — headers copied, IPv4 total
//! length/ID/header checksum, IPv6 payload length, TCP sequence numbers and
//! flags (FIN/PSH on the last segment only, CWR on the first only), UDP length
//! — each left with a partial checksum (pseudo-header seeded) so the device or
//! kernel completes it. [`finalize_checksum`] completes a partial checksum in
//! software; it is needed before a packet is corrupted, so that the receiver
//! sees the corruption as a checksum failure instead of a silently
//! recomputed checksum. Neither function panics on malformed input: they return
//! a [`wire::WireError`] and leave the packet to be counted as malformed.

use crate::packet::{Csum, GsoKind, Packet};
use crate::wire::{self, Ipv4, Ipv6, L3, WireError, ipproto};

/// Completes a partial transport checksum in place (no-op otherwise).
pub fn finalize_checksum(pkt: &mut Packet) -> Result<(), WireError> {
    let Csum::Partial { start, offset } = pkt.meta.csum else {
        return Ok(());
    };
    let (start, offset) = (usize::from(start), usize::from(offset));
    let end = match wire::parse(pkt.data()) {
        Ok(info) if info.is_ip() => info.l3_offset + info.l3_len,
        _ => pkt.len(),
    };
    let field = start + offset;
    if field + 2 > end || start >= end {
        return Err(WireError::BadLength);
    }
    let data = pkt.data_mut();
    let mut ck = !wire::fold(wire::sum(&data[start..end], 0));
    if ck == 0 && offset == 6 {
        // UDP: an all-zero result is sent as 0xffff.
        ck = 0xffff;
    }
    data[field..field + 2].copy_from_slice(&ck.to_be_bytes());
    pkt.meta.csum = Csum::None;
    Ok(())
}

/// Splits a GSO super-frame into wire packets appended to `out`. A packet
/// without GSO is moved to `out` unchanged.
pub fn segment(mut pkt: Packet, out: &mut Vec<Packet>) -> Result<(), WireError> {
    let Some(gso) = pkt.meta.gso else {
        out.push(pkt);
        return Ok(());
    };
    let frame = pkt.data();
    let info = wire::parse(frame)?;
    if info.l4_offset == 0 {
        return Err(WireError::BadLength);
    }
    let hdr_end = info.headers_end();
    let dgram_end = info.l3_offset + info.l3_len;
    if hdr_end > dgram_end {
        return Err(WireError::BadLength);
    }
    let mss = usize::from(gso.size.max(1));
    let payload = &frame[hdr_end..dgram_end];
    let n = payload.len().div_ceil(mss).max(1);
    let (ck_off, is_tcp) = match (gso.kind, info.proto) {
        (GsoKind::Tcp4 | GsoKind::Tcp6, ipproto::TCP) => (16usize, true),
        (GsoKind::Udp, ipproto::UDP) => (6usize, false),
        _ => return Err(WireError::BadLength),
    };
    if n == 1 {
        pkt.meta.gso = None;
        out.push(pkt);
        return Ok(());
    }
    let ident = if info.l3 == L3::Ipv4 { Ipv4::new_checked(&frame[info.l3_offset..])?.ident() } else { 0 };
    let l3_hdr_len = info.l4_offset - info.l3_offset;
    let l4_hdr_len = hdr_end - info.l4_offset;
    out.reserve(n);
    for i in 0..n {
        let chunk = &payload[i * mss..((i + 1) * mss).min(payload.len())];
        let mut seg = Vec::with_capacity(crate::packet::HEADROOM + hdr_end + chunk.len());
        seg.resize(crate::packet::HEADROOM, 0);
        seg.extend_from_slice(&frame[..hdr_end]);
        seg.extend_from_slice(chunk);
        let f = &mut seg[crate::packet::HEADROOM..];
        let l4_len = l4_hdr_len + chunk.len();
        match info.l3 {
            L3::Ipv4 => {
                let mut ip = Ipv4::new_header_checked(&mut f[info.l3_offset..])?;
                ip.set_total_len((l3_hdr_len + l4_len) as u16);
                ip.set_ident(ident.wrapping_add(i as u16));
                ip.fill_checksum();
            }
            L3::Ipv6 => {
                let mut ip = Ipv6::new_header_checked(&mut f[info.l3_offset..])?;
                ip.set_payload_len((l3_hdr_len - 40 + l4_len) as u16);
            }
            _ => return Err(WireError::BadLength),
        }
        let l4 = &mut f[info.l4_offset..];
        if is_tcp {
            let seq = info.tcp_seq.wrapping_add((i * mss) as u32);
            wire::write_u32(l4, wire::tcp::SEQ, seq);
            let mut flags = l4[wire::tcp::FLAGS];
            if i + 1 != n {
                flags &= !(wire::tcpflags::FIN | wire::tcpflags::PSH);
            }
            if i != 0 {
                flags &= !wire::tcpflags::CWR;
            }
            l4[wire::tcp::FLAGS] = flags;
        } else {
            wire::write_u16(l4, 4, l4_len as u16);
        }
        let pseudo = wire::fold(wire::pseudo_header(info.src_ip, info.dst_ip, info.proto, l4_len));
        wire::write_u16(l4, ck_off, pseudo);
        let mut p = Packet::from_buffer(seg, crate::packet::HEADROOM, hdr_end + chunk.len());
        p.meta = pkt.meta;
        p.meta.gso = None;
        p.meta.csum = Csum::Partial { start: info.l4_offset as u16, offset: ck_off as u16 };
        out.push(p);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::packet::Gso;
    use crate::wire::{Mac, build};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    /// A TCP super-frame of `payload` bytes with MSS `mss` and a partial checksum.
    pub(crate) fn tcp_superframe(v6: bool, payload: usize, mss: u16, flags: u8) -> Packet {
        let mut l4 = vec![0u8; 20 + payload];
        l4[0..2].copy_from_slice(&40000u16.to_be_bytes());
        l4[2..4].copy_from_slice(&5201u16.to_be_bytes());
        l4[4..8].copy_from_slice(&1000u32.to_be_bytes());
        l4[12] = 5 << 4;
        l4[13] = flags;
        for (i, b) in l4[20..].iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        let f = if v6 {
            build::ipv6(
                Mac([2, 0, 0, 0, 0, 2]),
                Mac([2, 0, 0, 0, 0, 1]),
                Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1),
                Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2),
                ipproto::TCP,
                64,
                &l4,
            )
        } else {
            build::ipv4(
                Mac([2, 0, 0, 0, 0, 2]),
                Mac([2, 0, 0, 0, 0, 1]),
                Ipv4Addr::new(10, 0, 0, 1),
                Ipv4Addr::new(10, 0, 0, 2),
                ipproto::TCP,
                64,
                &l4,
            )
        };
        let mut p = Packet::from_slice(&f);
        let info = wire::parse(p.data()).unwrap();
        // Turn the complete checksum into a partial one, as the kernel sends it.
        let seg_len = info.l3_len - (info.l4_offset - info.l3_offset);
        let pseudo = wire::fold(wire::pseudo_header(info.src_ip, info.dst_ip, ipproto::TCP, seg_len));
        let off = info.l4_offset + 16;
        p.data_mut()[off..off + 2].copy_from_slice(&pseudo.to_be_bytes());
        p.meta.csum = Csum::Partial { start: info.l4_offset as u16, offset: 16 };
        p.meta.gso = Some(Gso {
            kind: if v6 { GsoKind::Tcp6 } else { GsoKind::Tcp4 },
            size: mss,
            ecn: false,
            hdr_len: 0,
            segs: 0,
        });
        p.prepare_gso(&info).unwrap();
        p
    }

    #[test]
    fn tcp4_segments_are_valid_wire_packets() {
        let flags = wire::tcpflags::ACK | wire::tcpflags::PSH | wire::tcpflags::FIN | wire::tcpflags::CWR;
        let p = tcp_superframe(false, 3500, 1448, flags);
        assert_eq!(p.segments(), 3);
        let wire_bytes = p.wire_bytes(0);
        let mut out = Vec::new();
        segment(p, &mut out).unwrap();
        assert_eq!(out.len(), 3);
        let total: u64 = out.iter().map(|s| s.wire_bytes(0)).sum();
        assert_eq!(total, wire_bytes, "segments occupy what the super-frame was charged");
        let mut payload = Vec::new();
        for (i, mut s) in out.into_iter().enumerate() {
            finalize_checksum(&mut s).unwrap();
            let info = wire::parse(s.data()).unwrap();
            assert!(wire::verify_l4_checksum(s.data(), &info), "segment {i}");
            assert!(Ipv4::new_checked(&s.data()[14..]).unwrap().verify_checksum());
            assert_eq!(info.tcp_seq, 1000 + (i as u32) * 1448);
            let last = i == 2;
            assert_eq!(info.tcp_flags & wire::tcpflags::FIN != 0, last);
            assert_eq!(info.tcp_flags & wire::tcpflags::PSH != 0, last);
            assert_eq!(info.tcp_flags & wire::tcpflags::CWR != 0, i == 0);
            payload.extend_from_slice(&s.data()[info.headers_end()..]);
        }
        let expect: Vec<u8> = (0..3500).map(|i| (i % 251) as u8).collect();
        assert_eq!(payload, expect);
    }

    #[test]
    fn tcp6_segments_are_valid() {
        let p = tcp_superframe(true, 4000, 1000, wire::tcpflags::ACK);
        let mut out = Vec::new();
        segment(p, &mut out).unwrap();
        assert_eq!(out.len(), 4);
        for mut s in out {
            finalize_checksum(&mut s).unwrap();
            let info = wire::parse(s.data()).unwrap();
            assert_eq!(info.src_ip, IpAddr::V6("fd00::1".parse().unwrap()));
            assert!(wire::verify_l4_checksum(s.data(), &info));
        }
    }

    #[test]
    fn finalize_then_corrupt_is_detectable() {
        let mut p = tcp_superframe(false, 500, 1448, wire::tcpflags::ACK);
        assert!(p.meta.gso.is_none(), "fits one segment");
        finalize_checksum(&mut p).unwrap();
        let info = wire::parse(p.data()).unwrap();
        assert!(wire::verify_l4_checksum(p.data(), &info));
        p.data_mut()[100] ^= 0x04;
        assert!(!wire::verify_l4_checksum(p.data(), &info));
    }

    #[test]
    fn malformed_superframe_is_an_error_not_a_panic() {
        let mut p = tcp_superframe(false, 3000, 1000, wire::tcpflags::ACK);
        p.truncate(30);
        let mut out = Vec::new();
        assert!(segment(p, &mut out).is_err());
        let mut q = Packet::from_slice(&[0u8; 20]);
        q.meta.csum = Csum::Partial { start: 18, offset: 16 };
        assert!(finalize_checksum(&mut q).is_err());
    }
}
