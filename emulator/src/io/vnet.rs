//! The `virtio_net_hdr` that TUN/TAP (IFF_VNET_HDR) and AF_PACKET
//! (PACKET_VNET_HDR) put in front of every frame: segmentation and checksum
//! offload state, translated to and from [`Meta`](crate::packet::Meta).
//!
//! Contract: decoding never fails silently — an offload kind the engine cannot
//! segment (legacy UFO) is reported as an error and the frame is counted as
//! malformed. Fields are in native byte order (legacy virtio, x86).

use crate::packet::{Csum, Gso, GsoKind, Meta};

/// Length of the header.
pub const VNET_HDR_LEN: usize = 10;

const F_NEEDS_CSUM: u8 = 1;
const F_DATA_VALID: u8 = 2;
const GSO_NONE: u8 = 0;
const GSO_TCPV4: u8 = 1;
/// Legacy UFO (IP fragmentation of UDP): not supported.
#[cfg(test)]
const GSO_UDP: u8 = 3;
const GSO_TCPV6: u8 = 4;
const GSO_UDP_L4: u8 = 5;
const GSO_ECN: u8 = 0x80;

/// An offload the engine cannot handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported segmentation offload type {0}")]
pub struct UnsupportedGso(pub u8);

/// Reads the header into offload metadata.
pub fn decode(h: &[u8; VNET_HDR_LEN]) -> Result<(Option<Gso>, Csum), UnsupportedGso> {
    let flags = h[0];
    let gso_type = h[1];
    let gso_size = u16::from_ne_bytes([h[4], h[5]]);
    let csum_start = u16::from_ne_bytes([h[6], h[7]]);
    let csum_offset = u16::from_ne_bytes([h[8], h[9]]);
    let csum = if flags & F_NEEDS_CSUM != 0 {
        Csum::Partial { start: csum_start, offset: csum_offset }
    } else if flags & F_DATA_VALID != 0 {
        Csum::Valid
    } else {
        Csum::None
    };
    let kind = match gso_type & !GSO_ECN {
        GSO_NONE => return Ok((None, csum)),
        GSO_TCPV4 => GsoKind::Tcp4,
        GSO_TCPV6 => GsoKind::Tcp6,
        GSO_UDP_L4 => GsoKind::Udp,
        other => return Err(UnsupportedGso(other)),
    };
    Ok((Some(Gso { kind, size: gso_size, ecn: gso_type & GSO_ECN != 0, hdr_len: 0, segs: 0 }), csum))
}

/// Writes the header for a frame with metadata `m`.
pub fn encode(m: &Meta) -> [u8; VNET_HDR_LEN] {
    let mut h = [0u8; VNET_HDR_LEN];
    match m.csum {
        Csum::Partial { start, offset } => {
            h[0] = F_NEEDS_CSUM;
            h[6..8].copy_from_slice(&start.to_ne_bytes());
            h[8..10].copy_from_slice(&offset.to_ne_bytes());
        }
        Csum::Valid => h[0] = F_DATA_VALID,
        Csum::None => {}
    }
    if let Some(g) = m.gso.filter(|g| g.segs > 1) {
        h[1] = match g.kind {
            GsoKind::Tcp4 => GSO_TCPV4,
            GsoKind::Tcp6 => GSO_TCPV6,
            GsoKind::Udp => GSO_UDP_L4,
        } | if g.ecn { GSO_ECN } else { 0 };
        h[2..4].copy_from_slice(&g.hdr_len.to_ne_bytes());
        h[4..6].copy_from_slice(&g.size.to_ne_bytes());
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut m = Meta {
            csum: Csum::Partial { start: 34, offset: 16 },
            gso: Some(Gso { kind: GsoKind::Tcp4, size: 1448, ecn: true, hdr_len: 66, segs: 10 }),
            ..Meta::default()
        };
        let h = encode(&m);
        let (g, c) = decode(&h).unwrap();
        assert_eq!(c, m.csum);
        let g = g.unwrap();
        assert_eq!((g.kind, g.size, g.ecn), (GsoKind::Tcp4, 1448, true));
        m.gso = None;
        m.csum = Csum::Valid;
        assert_eq!(decode(&encode(&m)).unwrap(), (None, Csum::Valid));
        let mut ufo = [0u8; 10];
        ufo[1] = GSO_UDP;
        assert!(decode(&ufo).is_err());
    }
}
