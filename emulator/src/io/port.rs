//! Ports: the devices a node's frames come in and go out through.
//!
//! * [`AfPacketPort`] — a raw AF_PACKET socket on a veth or Ethernet interface
//!   with `PACKET_VNET_HDR` (so TSO/GSO super-frames and partial checksums
//!   cross the appliance intact — without it veth hands over TCP frames with
//!   partial checksums that the far end rejects), `PACKET_IGNORE_OUTGOING`
//!   (we never see our own transmissions), `PACKET_QDISC_BYPASS`, promiscuous
//!   membership, a `TPACKET_V2` receive ring ([`super::rxring`]; frames too
//!   big for it, and every frame if the ring cannot be set up, come through
//!   `recvmmsg`) and `sendmmsg` batches of 64. `FAULTMESH_RX_RING=0` in the
//!   environment turns the ring off (for comparisons).
//! * [`TunPort`] — a TUN or TAP descriptor with `IFF_VNET_HDR` and
//!   checksum/TSO/USO offload. We open TUN devices ourselves instead of using
//!   tun-rs: its `recv_multiple` splits GSO super-frames into segments, and the
//!   engine wants them whole (shaped and delayed as one unit, split only when a
//!   per-segment decision requires it).
//!
//! Contract: `recv` never blocks and appends at most one batch; `send` writes
//! as much of a queue as the device accepts and reports whether it would
//! block. A frame the kernel rejects (bad offload metadata, too big) is
//! dropped and counted, never retried forever.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::pool::{BIG_DATA, BufPool, SMALL_DATA};
use super::rxring::{RxRing, Slot};
use super::sys;
use super::vnet::{self, VNET_HDR_LEN};
use crate::packet::{HEADROOM, Packet};

/// Frames per `recvmmsg`/`sendmmsg`.
pub const BATCH: usize = 64;

/// Per-port counters kept by the I/O layer.
#[derive(Clone, Copy, Debug, Default)]
pub struct PortStats {
    /// Frames received.
    pub rx_frames: u64,
    /// Frames sent.
    pub tx_frames: u64,
    /// Frames received truncated or with offload metadata we cannot handle.
    pub rx_malformed: u64,
    /// Frames the kernel refused to send.
    pub tx_errors: u64,
    /// `recvmmsg`/`read` calls that returned data.
    pub rx_batches: u64,
    /// Frames the kernel dropped because the appliance did not read them in
    /// time (AF_PACKET `tp_drops`).
    pub rx_kernel_drops: u64,
    /// Receive calls that failed (interface down, …).
    pub rx_errors: u64,
}

/// Result of a send attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// The queue is empty.
    Drained,
    /// The device is full; wait for writability.
    WouldBlock,
}

fn to_packet(pool: &mut BufPool, slot: &mut Vec<u8>, len: usize) -> Packet {
    if len <= SMALL_DATA {
        let mut b = pool.take_small();
        b.resize(HEADROOM, 0);
        b.extend_from_slice(&slot[HEADROOM..HEADROOM + len]);
        Packet::from_buffer(b, HEADROOM, len)
    } else {
        let fresh = pool.take_big();
        let full = std::mem::replace(slot, fresh);
        Packet::from_buffer(full, HEADROOM, len)
    }
}

fn packet_from_slice(pool: &mut BufPool, data: &[u8]) -> Packet {
    let mut b = if data.len() <= SMALL_DATA { pool.take_small() } else { Vec::new() };
    b.clear();
    b.resize(HEADROOM, 0);
    b.extend_from_slice(data);
    Packet::from_buffer(b, HEADROOM, data.len())
}

/// Whether AF_PACKET ports use a receive ring (default yes).
fn ring_wanted() -> bool {
    std::env::var("FAULTMESH_RX_RING").map(|v| v != "0").unwrap_or(true)
}

/// A raw packet socket bound to one interface.
pub struct AfPacketPort {
    fd: OwnedFd,
    name: String,
    ring: Option<RxRing>,
    slots: Vec<Vec<u8>>,
    hdrs: Vec<[u8; VNET_HDR_LEN]>,
    /// Per `recvmmsg` result: frame length with its vnet header, and whether
    /// it was truncated.
    got: Vec<(usize, bool)>,
    /// Counters.
    pub stats: PortStats,
}

impl AfPacketPort {
    /// Opens interface `ifname` in the calling thread's network namespace.
    /// Receives through a ring unless `FAULTMESH_RX_RING=0`.
    pub fn open(ifname: &str, pool: &mut BufPool) -> io::Result<AfPacketPort> {
        AfPacketPort::open_with(ifname, pool, ring_wanted())
    }

    /// Opens interface `ifname`, receiving through a ring if `ring` is set
    /// and the kernel grants one (else through `recvmmsg`).
    pub fn open_with(ifname: &str, pool: &mut BufPool, ring: bool) -> io::Result<AfPacketPort> {
        let ifindex =
            sys::if_index(ifname).map_err(|e| io::Error::new(e.kind(), format!("interface `{ifname}`: {e}")))?;
        let fd = sys::packet_socket()?;
        let raw = fd.as_raw_fd();
        let one: libc::c_int = 1;
        sys::setsockopt(raw, libc::SOL_PACKET, libc::PACKET_VNET_HDR, &one)?;
        // Kernel >= 4.20; older kernels would echo our own frames back.
        sys::setsockopt(raw, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, &one)?;
        let _ = sys::setsockopt(raw, libc::SOL_PACKET, libc::PACKET_QDISC_BYPASS, &one);
        let buf: libc::c_int = 8 << 20;
        if sys::setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &buf).is_err() {
            let _ = sys::setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, &buf);
        }
        if sys::setsockopt(raw, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, &buf).is_err() {
            let _ = sys::setsockopt(raw, libc::SOL_SOCKET, libc::SO_SNDBUF, &buf);
        }
        // The ring must exist before bind (nothing is received until then).
        // Without it (old kernel, no memory) the port still works, on recvmmsg.
        let ring = if ring { RxRing::setup(raw).ok() } else { None };
        sys::bind_packet(raw, ifindex)?;
        let mreq = libc::packet_mreq {
            mr_ifindex: ifindex as libc::c_int,
            mr_type: libc::PACKET_MR_PROMISC as libc::c_ushort,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        sys::setsockopt(raw, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq)?;
        Ok(AfPacketPort {
            fd,
            name: ifname.to_string(),
            ring,
            slots: (0..BATCH).map(|_| pool.take_big()).collect(),
            hdrs: vec![[0u8; VNET_HDR_LEN]; BATCH],
            got: vec![(0, false); BATCH],
            stats: PortStats::default(),
        })
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Folds the kernel's receive-drop counter into `stats` (reading resets it).
    pub fn poll_kernel_stats(&mut self) {
        #[repr(C)]
        struct TpacketStats {
            packets: u32,
            drops: u32,
        }
        let mut st = TpacketStats { packets: 0, drops: 0 };
        let mut len = std::mem::size_of::<TpacketStats>() as libc::socklen_t;
        // SAFETY: PACKET_STATISTICS writes a tpacket_stats (two u32) into the
        // buffer whose size we pass; `len` is updated by the kernel.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut TpacketStats).cast(),
                &mut len,
            )
        };
        if r == 0 {
            self.stats.rx_kernel_drops += u64::from(st.drops);
        }
    }

    /// Whether frames arrive through a receive ring.
    pub fn has_ring(&self) -> bool {
        self.ring.is_some()
    }

    /// Receives up to one batch into `out`. Returns the number of frames.
    pub fn recv(&mut self, pool: &mut BufPool, out: &mut Vec<Packet>) -> io::Result<usize> {
        if self.ring.is_some() {
            return self.recv_ring(pool, out);
        }
        let n = self.recvmmsg(BATCH)?;
        if n > 0 {
            self.stats.rx_batches += 1;
        }
        for i in 0..n {
            if let Some(p) = self.take_received(i, pool) {
                out.push(p);
            }
        }
        Ok(n)
    }

    fn recv_ring(&mut self, pool: &mut BufPool, out: &mut Vec<Packet>) -> io::Result<usize> {
        let mut slots = [Slot::Ring; BATCH];
        let n = match &self.ring {
            Some(r) => r.scan(BATCH, &mut slots),
            None => 0,
        };
        if n == 0 {
            return Ok(0);
        }
        self.stats.rx_batches += 1;
        let queued = slots[..n].iter().filter(|s| **s == Slot::Queued).count();
        // The kernel queued each copy before marking its ring frame, so
        // they are all there; a shortfall (never seen) counts as drops.
        let copies = if queued > 0 { self.recvmmsg(queued)? } else { 0 };
        let mut next_copy = 0;
        for slot in slots.iter().take(n) {
            let rx_ns = self.ring.as_ref().and_then(RxRing::head_received_ns).unwrap_or(0);
            let frame = match slot {
                Slot::Ring => {
                    let decoded = self.ring.as_ref().and_then(|r| r.head_frame()).map(|f| {
                        let meta = vnet::decode(&f.vnet);
                        (meta, if meta.is_ok() { Some(packet_from_slice(pool, f.data)) } else { None })
                    });
                    match decoded {
                        Some((Ok((gso, csum)), Some(mut p))) => {
                            p.meta.gso = gso;
                            p.meta.csum = csum;
                            self.stats.rx_frames += 1;
                            Some(p)
                        }
                        _ => {
                            self.stats.rx_malformed += 1;
                            None
                        }
                    }
                }
                Slot::Queued => {
                    let j = next_copy;
                    next_copy += 1;
                    if j < copies {
                        self.take_received(j, pool)
                    } else {
                        self.stats.rx_kernel_drops += 1;
                        None
                    }
                }
                Slot::Truncated => {
                    // Too big for the ring and no room for a whole copy.
                    self.stats.rx_kernel_drops += 1;
                    None
                }
            };
            if let Some(r) = self.ring.as_mut() {
                r.release();
            }
            if let Some(mut p) = frame {
                p.meta.rx_realtime_ns = rx_ns;
                out.push(p);
            }
        }
        Ok(n)
    }

    /// `recvmmsg` of up to `k` frames into the receive slots; results in
    /// `self.got`. Returns how many arrived (0 if none is waiting).
    fn recvmmsg(&mut self, k: usize) -> io::Result<usize> {
        let k = k.min(BATCH);
        // SAFETY: iovec and mmsghdr are plain old data; zeroed is valid.
        let mut iov: [[libc::iovec; 2]; BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for i in 0..k {
            iov[i][0] = libc::iovec { iov_base: self.hdrs[i].as_mut_ptr().cast(), iov_len: VNET_HDR_LEN };
            let slot = &mut self.slots[i];
            debug_assert!(slot.len() >= HEADROOM + BIG_DATA);
            iov[i][1] = libc::iovec {
                // SAFETY: `slot` is at least HEADROOM + BIG_DATA bytes long,
                // so the offset stays inside the allocation.
                iov_base: unsafe { slot.as_mut_ptr().add(HEADROOM) }.cast(),
                iov_len: BIG_DATA,
            };
            msgs[i].msg_hdr.msg_iov = iov[i].as_mut_ptr();
            msgs[i].msg_hdr.msg_iovlen = 2;
        }
        // SAFETY: `msgs[..k]` hold headers, each pointing at two iovecs that
        // point into buffers we own and that outlive the call; the socket is
        // non-blocking; no timeout pointer.
        let n = unsafe {
            libc::recvmmsg(
                self.fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                k as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        let n = n as usize;
        for (g, msg) in self.got.iter_mut().zip(&msgs).take(n) {
            *g = (msg.msg_len as usize, msg.msg_hdr.msg_flags & libc::MSG_TRUNC != 0);
        }
        Ok(n)
    }

    /// The packet in receive slot `i` (after `recvmmsg`), or `None` (counted)
    /// if it was truncated or carries offload metadata we cannot handle.
    fn take_received(&mut self, i: usize, pool: &mut BufPool) -> Option<Packet> {
        let (total, truncated) = self.got[i];
        if truncated || total < VNET_HDR_LEN {
            self.stats.rx_malformed += 1;
            return None;
        }
        let Ok((gso, csum)) = vnet::decode(&self.hdrs[i]) else {
            self.stats.rx_malformed += 1;
            return None;
        };
        let mut p = to_packet(pool, &mut self.slots[i], total - VNET_HDR_LEN);
        p.meta.gso = gso;
        p.meta.csum = csum;
        self.stats.rx_frames += 1;
        Some(p)
    }

    /// Sends frames from the front of `q` until it is empty or the socket is full.
    pub fn send(&mut self, q: &mut VecDeque<Packet>, pool: &mut BufPool) -> SendOutcome {
        while !q.is_empty() {
            let k = q.len().min(BATCH);
            // SAFETY: plain old data, zeroed is valid.
            let mut iov: [[libc::iovec; 2]; BATCH] = unsafe { std::mem::zeroed() };
            // SAFETY: as above.
            let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
            for (i, p) in q.iter().take(k).enumerate() {
                self.hdrs[i] = vnet::encode(&p.meta);
                iov[i][0] = libc::iovec { iov_base: self.hdrs[i].as_mut_ptr().cast(), iov_len: VNET_HDR_LEN };
                iov[i][1] = libc::iovec { iov_base: p.data().as_ptr().cast_mut().cast(), iov_len: p.len() };
                msgs[i].msg_hdr.msg_iov = iov[i].as_mut_ptr();
                msgs[i].msg_hdr.msg_iovlen = 2;
            }
            // SAFETY: `msgs[..k]` point at iovecs over buffers owned by `q`
            // and `self.hdrs`, all alive for the call; the kernel only reads them.
            let r = unsafe {
                libc::sendmmsg(self.fd.as_raw_fd(), msgs.as_mut_ptr(), k as libc::c_uint, libc::MSG_DONTWAIT)
            };
            if r > 0 {
                for _ in 0..r {
                    if let Some(p) = q.pop_front() {
                        pool.put(p.into_buffer());
                    }
                }
                self.stats.tx_frames += r as u64;
                continue;
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::ENOBUFS) => return SendOutcome::WouldBlock,
                Some(libc::EINTR) => continue,
                _ => {
                    // The head frame is unacceptable to the kernel: drop it.
                    if let Some(p) = q.pop_front() {
                        pool.put(p.into_buffer());
                    }
                    self.stats.tx_errors += 1;
                }
            }
        }
        SendOutcome::Drained
    }

    /// The descriptor (for epoll).
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A TUN or TAP device the appliance created.
pub struct TunPort {
    fd: OwnedFd,
    name: String,
    slot: Vec<u8>,
    hdr: [u8; VNET_HDR_LEN],
    /// Counters.
    pub stats: PortStats,
}

impl TunPort {
    /// Creates the device in the calling thread's namespace.
    pub fn create(name: &str, tap: bool, pool: &mut BufPool) -> io::Result<TunPort> {
        let (fd, kname) = sys::open_tun(name, tap)?;
        Ok(TunPort { fd, name: kname, slot: pool.take_big(), hdr: [0; VNET_HDR_LEN], stats: PortStats::default() })
    }

    /// The device name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Receives up to one batch into `out`.
    pub fn recv(&mut self, pool: &mut BufPool, out: &mut Vec<Packet>) -> io::Result<usize> {
        let mut n = 0;
        while n < BATCH {
            let iov = [
                libc::iovec { iov_base: self.hdr.as_mut_ptr().cast(), iov_len: VNET_HDR_LEN },
                libc::iovec {
                    // SAFETY: the slot is HEADROOM + BIG_DATA bytes long.
                    iov_base: unsafe { self.slot.as_mut_ptr().add(HEADROOM) }.cast(),
                    iov_len: BIG_DATA,
                },
            ];
            // SAFETY: both iovecs point into buffers we own, alive for the call.
            let r = unsafe { libc::readv(self.fd.as_raw_fd(), iov.as_ptr(), 2) };
            if r < 0 {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(n),
                    _ if n > 0 => Ok(n),
                    _ => Err(e),
                };
            }
            let total = r as usize;
            n += 1;
            if total < VNET_HDR_LEN {
                self.stats.rx_malformed += 1;
                continue;
            }
            let Ok((gso, csum)) = vnet::decode(&self.hdr) else {
                self.stats.rx_malformed += 1;
                continue;
            };
            let mut p = to_packet(pool, &mut self.slot, total - VNET_HDR_LEN);
            p.meta.gso = gso;
            p.meta.csum = csum;
            out.push(p);
            self.stats.rx_frames += 1;
        }
        if n > 0 {
            self.stats.rx_batches += 1;
        }
        Ok(n)
    }

    /// Writes frames from the front of `q`.
    pub fn send(&mut self, q: &mut VecDeque<Packet>, pool: &mut BufPool) -> SendOutcome {
        while let Some(p) = q.front() {
            let hdr = vnet::encode(&p.meta);
            let iov = [
                libc::iovec { iov_base: hdr.as_ptr().cast_mut().cast(), iov_len: VNET_HDR_LEN },
                libc::iovec { iov_base: p.data().as_ptr().cast_mut().cast(), iov_len: p.len() },
            ];
            // SAFETY: both iovecs point at live buffers the kernel only reads.
            let r = unsafe { libc::writev(self.fd.as_raw_fd(), iov.as_ptr(), 2) };
            if r < 0 {
                match io::Error::last_os_error().raw_os_error() {
                    Some(libc::EAGAIN) | Some(libc::ENOBUFS) => return SendOutcome::WouldBlock,
                    Some(libc::EINTR) => continue,
                    _ => self.stats.tx_errors += 1,
                }
            } else {
                self.stats.tx_frames += 1;
            }
            if let Some(p) = q.pop_front() {
                pool.put(p.into_buffer());
            }
        }
        SendOutcome::Drained
    }

    /// The descriptor (for epoll).
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Either kind of port.
pub enum Port {
    /// AF_PACKET on an interface.
    Packet(AfPacketPort),
    /// A TUN/TAP descriptor.
    Tun(TunPort),
}

impl Port {
    /// Receives up to one batch.
    pub fn recv(&mut self, pool: &mut BufPool, out: &mut Vec<Packet>) -> io::Result<usize> {
        match self {
            Port::Packet(p) => p.recv(pool, out),
            Port::Tun(p) => p.recv(pool, out),
        }
    }

    /// Sends from a queue.
    pub fn send(&mut self, q: &mut VecDeque<Packet>, pool: &mut BufPool) -> SendOutcome {
        match self {
            Port::Packet(p) => p.send(q, pool),
            Port::Tun(p) => p.send(q, pool),
        }
    }

    /// The descriptor.
    pub fn raw_fd(&self) -> RawFd {
        match self {
            Port::Packet(p) => p.raw_fd(),
            Port::Tun(p) => p.raw_fd(),
        }
    }

    /// Counts a failed receive call.
    pub fn count_rx_error(&mut self) {
        match self {
            Port::Packet(p) => p.stats.rx_errors += 1,
            Port::Tun(p) => p.stats.rx_errors += 1,
        }
    }

    /// Refreshes counters kept by the kernel.
    pub fn poll_kernel_stats(&mut self) {
        if let Port::Packet(p) = self {
            p.poll_kernel_stats();
        }
    }

    /// Counters.
    pub fn stats(&self) -> PortStats {
        match self {
            Port::Packet(p) => p.stats,
            Port::Tun(p) => p.stats,
        }
    }

    /// Device name.
    pub fn name(&self) -> &str {
        match self {
            Port::Packet(p) => p.name(),
            Port::Tun(p) => p.name(),
        }
    }
}
