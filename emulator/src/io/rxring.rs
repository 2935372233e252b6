//! A `TPACKET_V2` receive ring for an AF_PACKET socket.
//!
//! Why: with `recvmmsg` every frame is cloned and queued by the kernel in the
//! sender's softirq, then dequeued, copied and freed in the data-plane
//! thread's system call. With a ring the kernel copies the frame into memory
//! shared with us in the sender's softirq and frees it there; the data plane
//! reads frames without a system call. The research prototype on this machine
//! went from 252 kpps (`recvmmsg` x64) to 520 kpps of 64-byte UDP with a ring.
//!
//! Why V2 and not V3: a V3 block is handed to user space only when it is full
//! or its retire timer (whole milliseconds) fires, which would add up to a
//! millisecond of latency to a lone ping. V2 hands over every frame at once
//! and wakes the reader per frame.
//!
//! Big frames: ring frames are 2 KB, enough for a 1500-byte-MTU frame with its
//! headers. A larger frame (a 64 KB GSO super-frame, a jumbo frame) is written
//! truncated to the ring, and with `PACKET_COPY_THRESH` the kernel also queues
//! the whole frame on the socket and marks the ring frame `TP_STATUS_COPY`.
//! The kernel queues that copy before it marks the frame, under the same lock
//! that orders ring slots, so the socket queue holds exactly the copied frames
//! in ring order: the reader takes one queued frame (with `recvmmsg`) per
//! `TP_STATUS_COPY` frame it meets. A truncated frame without that flag (the
//! socket's buffer was full) is a kernel drop.
//!
//! Contract: [`RxRing::scan`] only reads frame status words; frames it reports
//! stay ours (the kernel does not touch them) until [`RxRing::release`], which
//! hands the oldest frame back. Header fields written by the kernel are
//! validated before use; a bad offset is reported as `None`, never a panic.

use std::io;
use std::os::fd::RawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use super::sys;
use super::vnet::VNET_HDR_LEN;

/// Bytes per ring frame (header, vnet header, a 1514-byte frame, slack).
const FRAME_SIZE: usize = 2048;
/// Bytes per block of contiguous kernel memory (order-4 pages).
const BLOCK_SIZE: usize = 64 * 1024;
/// Blocks per ring: 2048 frames, 4 MB of kernel memory per port (a topology
/// of 100 hosts pins 400 MB). At 300k frames/s that is 7 ms of backlog, more
/// than the data plane has been seen to stall on this VM.
const BLOCK_NR: usize = 64;

/// A frame's status word, as the reader sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The whole frame is in the ring.
    Ring,
    /// The ring holds a truncated copy; the whole frame is queued on the socket.
    Queued,
    /// The ring holds a truncated copy and nothing else: the frame is lost.
    Truncated,
}

/// A frame read from the ring.
pub struct RingFrame<'a> {
    /// The virtio-net header the kernel wrote in front of the frame.
    pub vnet: [u8; VNET_HDR_LEN],
    /// The frame, from its Ethernet header.
    pub data: &'a [u8],
}

/// The mapped ring.
pub struct RxRing {
    base: NonNull<u8>,
    map_len: usize,
    frame_nr: usize,
    head: usize,
}

// SAFETY: the mapping is owned by this value alone (no aliases are handed
// out beyond borrows of `self`), so moving it to another thread is sound.
unsafe impl Send for RxRing {}

impl RxRing {
    /// Switches socket `fd` (with `PACKET_VNET_HDR` already set, not yet
    /// bound) to `TPACKET_V2`, asks for whole copies of big frames, creates
    /// the ring and maps it.
    pub fn setup(fd: RawFd) -> io::Result<RxRing> {
        let version = libc::tpacket_versions::TPACKET_V2 as libc::c_int;
        sys::setsockopt(fd, libc::SOL_PACKET, libc::PACKET_VERSION, &version)?;
        let one: libc::c_int = 1;
        sys::setsockopt(fd, libc::SOL_PACKET, libc::PACKET_COPY_THRESH, &one)?;
        let frame_nr = BLOCK_SIZE / FRAME_SIZE * BLOCK_NR;
        let req = libc::tpacket_req {
            tp_block_size: BLOCK_SIZE as libc::c_uint,
            tp_block_nr: BLOCK_NR as libc::c_uint,
            tp_frame_size: FRAME_SIZE as libc::c_uint,
            tp_frame_nr: frame_nr as libc::c_uint,
        };
        sys::setsockopt(fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req)?;
        let map_len = BLOCK_SIZE * BLOCK_NR;
        // SAFETY: maps the ring the kernel just created for `fd`; length and
        // flags are the ones packet_mmap requires; the result is checked.
        let p = unsafe {
            libc::mmap(std::ptr::null_mut(), map_len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0)
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(RxRing { base, map_len, frame_nr, head: 0 })
    }

    fn frame_ptr(&self, i: usize) -> *mut u8 {
        // Blocks are a whole number of frames, so frame i of the ring is at
        // i * FRAME_SIZE of the contiguous mapping.
        debug_assert!(i < self.frame_nr);
        // SAFETY: i < frame_nr, so the offset is inside the mapping.
        unsafe { self.base.as_ptr().add(i * FRAME_SIZE) }
    }

    fn status(&self, i: usize) -> &AtomicU32 {
        // SAFETY: every frame starts with a 4-byte-aligned `tp_status` (frames
        // are 16-byte aligned in a page-aligned mapping) that the kernel and
        // we access only atomically; the mapping lives as long as `self`.
        unsafe { AtomicU32::from_ptr(self.frame_ptr(i).cast::<u32>()) }
    }

    /// Classifies up to `max` frames from the oldest unread one, stopping at
    /// the first frame still owned by the kernel. Returns how many were
    /// written to `out`.
    pub fn scan(&self, max: usize, out: &mut [Slot]) -> usize {
        let max = max.min(out.len()).min(self.frame_nr);
        for (k, slot) in out.iter_mut().enumerate().take(max) {
            let i = (self.head + k) % self.frame_nr;
            let st = self.status(i).load(Ordering::Acquire);
            if st & libc::TP_STATUS_USER == 0 {
                return k;
            }
            *slot = if st & libc::TP_STATUS_COPY != 0 {
                Slot::Queued
            } else {
                // SAFETY: the frame is ours (status USER, read with Acquire),
                // and the header is inside the frame.
                let h = unsafe { self.frame_ptr(i).cast::<libc::tpacket2_hdr>().read() };
                if h.tp_snaplen < h.tp_len { Slot::Truncated } else { Slot::Ring }
            };
        }
        max
    }

    /// When the kernel received the oldest unread frame (`CLOCK_REALTIME`,
    /// ns; the ring header's `tp_sec`/`tp_nsec`), if the frame is ours.
    pub fn head_received_ns(&self) -> Option<u64> {
        if self.status(self.head).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return None;
        }
        // SAFETY: the frame is ours until released; its header is inside it.
        let h = unsafe { self.frame_ptr(self.head).cast::<libc::tpacket2_hdr>().read() };
        Some(u64::from(h.tp_sec) * 1_000_000_000 + u64::from(h.tp_nsec))
    }

    /// The oldest unread frame's data, if it is ours and its offsets make sense.
    pub fn head_frame(&self) -> Option<RingFrame<'_>> {
        let p = self.frame_ptr(self.head);
        if self.status(self.head).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return None;
        }
        // SAFETY: the frame is ours until released; its header is inside it.
        let h = unsafe { p.cast::<libc::tpacket2_hdr>().read() };
        let mac = usize::from(h.tp_mac);
        let len = h.tp_snaplen as usize;
        if mac < std::mem::size_of::<libc::tpacket2_hdr>() + VNET_HDR_LEN || mac + len > FRAME_SIZE {
            return None;
        }
        // SAFETY: `mac - VNET_HDR_LEN .. mac + len` lies inside this frame
        // (checked above), which the kernel does not write while it is ours;
        // the borrow ends before `release` can hand it back.
        let (vnet, data) = unsafe {
            let mut v = [0u8; VNET_HDR_LEN];
            std::ptr::copy_nonoverlapping(p.add(mac - VNET_HDR_LEN), v.as_mut_ptr(), VNET_HDR_LEN);
            (v, std::slice::from_raw_parts(p.add(mac), len))
        };
        Some(RingFrame { vnet, data })
    }

    /// Hands the oldest unread frame back to the kernel.
    pub fn release(&mut self) {
        self.status(self.head).store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.head = (self.head + 1) % self.frame_nr;
    }
}

impl Drop for RxRing {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the region mapped in `setup`; no borrow of it
        // can outlive `self`.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.map_len);
        }
    }
}

// Blocks hold whole frames, frames are aligned as the kernel requires, and a
// 1500-byte-MTU Ethernet frame fits beside the headers the kernel puts in
// front of it (tpacket2 header + sockaddr_ll, aligned, and the vnet header).
const _: () = {
    assert!(BLOCK_SIZE.is_multiple_of(FRAME_SIZE));
    assert!(BLOCK_SIZE.is_multiple_of(4096));
    assert!(FRAME_SIZE.is_multiple_of(libc::TPACKET_ALIGNMENT));
    assert!(libc::TPACKET2_HDRLEN + 16 + VNET_HDR_LEN + 1514 <= FRAME_SIZE);
};
