//! Packets as the engine carries them: an owned buffer with headroom, the
//! Ethernet frame inside it, and offload metadata.
//!
//! Contract: a [`Packet`] always holds an Ethernet II frame (TUN packets get a
//! synthetic header at ingress and lose it at egress, using the headroom so
//! neither copies the payload). A packet may be a GSO super-frame: one buffer
//! standing for `segments()` wire packets of `gso.size` payload bytes each,
//! sharing one copy of the headers. Everything that charges bandwidth uses
//! [`Packet::wire_bytes`], which counts the headers of every segment.
//! Checksum offload state travels in [`Csum`] exactly as the kernel's
//! `virtio_net_hdr` describes it; offsets are relative to the frame start.

use crate::wire::{self, PacketInfo, ipproto};

/// Bytes reserved in front of the frame so headers can be prepended in place.
pub const HEADROOM: usize = 32;

/// The kind of segmentation offload a super-frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GsoKind {
    /// TCP over IPv4 (TSO4).
    Tcp4,
    /// TCP over IPv6 (TSO6).
    Tcp6,
    /// UDP segmentation (USO, `SKB_GSO_UDP_L4`), IPv4 or IPv6.
    Udp,
}

/// Segmentation offload metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gso {
    /// What to segment.
    pub kind: GsoKind,
    /// Payload bytes per segment (the MSS for TCP).
    pub size: u16,
    /// Set when the TCP flow uses ECN (`VIRTIO_NET_HDR_GSO_ECN`): CWR only on
    /// the first segment.
    pub ecn: bool,
    /// Length of the headers every segment repeats (Ethernet + IP + L4),
    /// filled by [`Packet::prepare_gso`].
    pub hdr_len: u16,
    /// Number of wire segments, filled by [`Packet::prepare_gso`].
    pub segs: u16,
}

/// Checksum state, as in `virtio_net_hdr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Csum {
    /// The checksum in the packet is complete (or the packet has none); the
    /// receiver verifies it.
    #[default]
    None,
    /// The transport checksum still has to be computed over
    /// `[start, end of datagram)` and stored at `start + offset`; the field
    /// currently holds the folded pseudo-header sum.
    Partial {
        /// Where summing starts (frame offset of the transport header).
        start: u16,
        /// Offset of the checksum field from `start`.
        offset: u16,
    },
    /// The checksum was verified by the sender's device.
    Valid,
}

/// Engine-internal metadata that travels with a packet.
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    /// Segmentation offload, if this is a super-frame.
    pub gso: Option<Gso>,
    /// Checksum offload state.
    pub csum: Csum,
    /// Index of the node the packet entered from (`u32::MAX`: the engine).
    pub origin: u32,
    /// Traffic class mark set by a filter (0 = unmarked).
    pub class: u8,
    /// Routing override set by a filter: the node to deliver to.
    pub route_to: Option<u32>,
    /// Decided at link entry: this packet skips the delay (netem reorder).
    pub reorder: bool,
    /// Extra delay added by filters or faults on the current link, in ns.
    pub extra_delay_ns: u64,
    /// When the device received the frame, by the kernel's `CLOCK_REALTIME`
    /// timestamp in ns (0: unknown). Set by ports; the data plane turns it
    /// into engine time so a packet's delay starts when it arrived, not
    /// when the loop got to it.
    pub rx_realtime_ns: u64,
}

impl Default for Meta {
    fn default() -> Self {
        Meta {
            gso: None,
            csum: Csum::None,
            origin: u32::MAX,
            class: 0,
            route_to: None,
            reorder: false,
            extra_delay_ns: 0,
            rx_realtime_ns: 0,
        }
    }
}

/// An owned frame with headroom and metadata.
pub struct Packet {
    buf: Vec<u8>,
    head: usize,
    len: usize,
    /// Offload and routing metadata.
    pub meta: Meta,
}

impl std::fmt::Debug for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packet").field("len", &self.len).field("meta", &self.meta).finish()
    }
}

impl Clone for Packet {
    fn clone(&self) -> Self {
        let mut p = Packet::from_slice(self.data());
        p.meta = self.meta;
        p
    }
}

impl Packet {
    /// Copies `frame` into a new buffer with headroom.
    pub fn from_slice(frame: &[u8]) -> Packet {
        let mut buf = Vec::with_capacity(HEADROOM + frame.len());
        buf.resize(HEADROOM, 0);
        buf.extend_from_slice(frame);
        Packet { buf, head: HEADROOM, len: frame.len(), meta: Meta::default() }
    }

    /// Wraps an existing buffer whose frame is `buf[head..head + len]`.
    ///
    /// # Panics
    /// If `head + len > buf.len()`.
    pub fn from_buffer(buf: Vec<u8>, head: usize, len: usize) -> Packet {
        assert!(head + len <= buf.len(), "frame outside its buffer");
        Packet { buf, head, len, meta: Meta::default() }
    }

    /// The frame.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.head..self.head + self.len]
    }

    /// The frame, mutable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.head..self.head + self.len]
    }

    /// Frame length in bytes (one copy of the headers for a super-frame).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty frame.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Offset of the frame inside the buffer.
    pub fn head(&self) -> usize {
        self.head
    }

    /// Grows the frame by `n` bytes at the front and returns them. Uses the
    /// headroom when there is enough; reallocates otherwise.
    pub fn prepend(&mut self, n: usize) -> &mut [u8] {
        if self.head < n {
            let mut nb = Vec::with_capacity(HEADROOM + n + self.len);
            nb.resize(HEADROOM + n, 0);
            nb.extend_from_slice(self.data());
            self.buf = nb;
            self.head = HEADROOM + n;
        }
        self.head -= n;
        self.len += n;
        &mut self.buf[self.head..self.head + n]
    }

    /// Removes `n` bytes from the front (at most the whole frame).
    pub fn strip_front(&mut self, n: usize) {
        let n = n.min(self.len);
        self.head += n;
        self.len -= n;
    }

    /// Shortens the frame to `len` bytes (no-op if already shorter).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Gives back the underlying buffer, e.g. to a pool.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Number of wire packets this frame stands for.
    pub fn segments(&self) -> u32 {
        match self.meta.gso {
            Some(g) if g.segs > 1 => u32::from(g.segs),
            _ => 1,
        }
    }

    /// Bytes this frame occupies on the wire, counting every segment's
    /// headers plus `overhead` bytes per segment (preamble, FCS, …).
    pub fn wire_bytes(&self, overhead: u32) -> u64 {
        let segs = u64::from(self.segments());
        let extra_headers = match self.meta.gso {
            Some(g) if g.segs > 1 => (segs - 1) * u64::from(g.hdr_len),
            _ => 0,
        };
        self.len as u64 + extra_headers + segs * u64::from(overhead)
    }

    /// Validates GSO metadata against the parsed headers and fills
    /// `hdr_len`/`segs`. A super-frame whose headers do not match its GSO kind
    /// is malformed (`Err`). A "super-frame" that fits in one segment loses
    /// its GSO marking.
    pub fn prepare_gso(&mut self, info: &PacketInfo) -> Result<(), wire::WireError> {
        let Some(mut g) = self.meta.gso else {
            return Ok(());
        };
        let ok = match g.kind {
            GsoKind::Tcp4 => info.l3 == wire::L3::Ipv4 && info.proto == ipproto::TCP,
            GsoKind::Tcp6 => info.l3 == wire::L3::Ipv6 && info.proto == ipproto::TCP,
            GsoKind::Udp => info.is_ip() && info.proto == ipproto::UDP,
        };
        if !ok || info.l4_offset == 0 || g.size == 0 || info.fragment {
            return Err(wire::WireError::BadLength);
        }
        let hdr = info.headers_end();
        let end = info.l3_offset + info.l3_len;
        let payload = end.saturating_sub(hdr);
        let segs = payload.div_ceil(usize::from(g.size)).max(1);
        if segs <= 1 {
            self.meta.gso = None;
            return Ok(());
        }
        g.hdr_len = u16::try_from(hdr).map_err(|_| wire::WireError::BadLength)?;
        g.segs = u16::try_from(segs).map_err(|_| wire::WireError::BadLength)?;
        self.meta.gso = Some(g);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_prepend_and_strip() {
        let mut p = Packet::from_slice(&[1, 2, 3]);
        p.prepend(2).copy_from_slice(&[9, 9]);
        assert_eq!(p.data(), &[9, 9, 1, 2, 3]);
        p.strip_front(2);
        assert_eq!(p.data(), &[1, 2, 3]);
        // More than the headroom forces a reallocation but keeps the data.
        p.prepend(HEADROOM * 2)[0] = 7;
        assert_eq!(p.len(), 3 + HEADROOM * 2);
        assert_eq!(p.data()[0], 7);
        assert_eq!(&p.data()[HEADROOM * 2..], &[1, 2, 3]);
    }

    #[test]
    fn wire_bytes_count_every_segment() {
        let mut p = Packet::from_slice(&vec![0u8; 14 + 20 + 20 + 3000]);
        assert_eq!(p.wire_bytes(0), 3054);
        p.meta.gso = Some(Gso { kind: GsoKind::Tcp4, size: 1000, ecn: false, hdr_len: 54, segs: 3 });
        assert_eq!(p.segments(), 3);
        assert_eq!(p.wire_bytes(0), 3054 + 2 * 54);
        assert_eq!(p.wire_bytes(24), 3054 + 2 * 54 + 3 * 24);
    }
}
