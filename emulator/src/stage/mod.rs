//! The impairment stages, each a plain struct with no I/O and no clock.
//!
//! Contract: decision stages (`loss`, `chance`) answer one question per wire
//! packet and draw from the `StageRng` they are handed, so the same seed and
//! the same input give the same decisions. Holding stages (`shaper`, `delay`)
//! take `now` from their caller, keep packets in bounded queues, report the
//! next instant they need attention (`poll_timeout`) and release packets with
//! the exact virtual instant they became due (`release_due`), so lateness of
//! the caller never accumulates into rate or delay error.

pub mod chance;
pub mod delay;
pub mod loss;
pub mod shaper;
