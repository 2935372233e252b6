//! Recycled packet buffers: the data plane never allocates per packet in the
//! steady state.
//!
//! Contract: receive batches use "big" buffers sized for a 64 KB super-frame.
//! A received frame that fits a "small" buffer is copied into one (a few
//! hundred nanoseconds at most) so the big buffer stays in its receive slot;
//! a larger one takes the big buffer with it and the slot gets a fresh one
//! from the pool. Buffers come back when their packet is transmitted or
//! dropped. Each class is capped so a burst cannot pin memory forever.

use crate::packet::HEADROOM;

/// Room for the largest frame a device can hand us (64 KB GSO + headers).
pub const BIG_DATA: usize = 65_536 + 512;
/// Room for an ordinary frame (jumbo up to 9 KB would go big).
pub const SMALL_DATA: usize = 2048;
const MAX_POOLED: usize = 8192;

/// A pool of big and small buffers.
#[derive(Default)]
pub struct BufPool {
    small: Vec<Vec<u8>>,
    big: Vec<Vec<u8>>,
}

impl BufPool {
    /// A big buffer, `HEADROOM + BIG_DATA` bytes long.
    pub fn take_big(&mut self) -> Vec<u8> {
        self.big.pop().unwrap_or_else(|| vec![0u8; HEADROOM + BIG_DATA])
    }

    /// An empty small buffer with capacity for `HEADROOM + SMALL_DATA`.
    pub fn take_small(&mut self) -> Vec<u8> {
        self.small.pop().unwrap_or_else(|| Vec::with_capacity(HEADROOM + SMALL_DATA))
    }

    /// Returns a buffer (from a transmitted or dropped packet).
    pub fn put(&mut self, mut v: Vec<u8>) {
        if v.capacity() >= HEADROOM + BIG_DATA {
            if self.big.len() < MAX_POOLED / 8 {
                v.resize(HEADROOM + BIG_DATA, 0);
                self.big.push(v);
            }
        } else if v.capacity() >= HEADROOM + SMALL_DATA && v.capacity() < 2 * (HEADROOM + SMALL_DATA) {
            if self.small.len() < MAX_POOLED {
                v.clear();
                self.small.push(v);
            }
        }
    }
}
