//! faultmesh engine.
//!
//! The crate is split along the sans-IO line:
//!
//! * The **core** — [`time`], [`units`], [`wire`], [`packet`], [`gso`], [`rng`],
//!   [`impair`], [`stage`], [`pipeline`], [`counters`] — has no I/O, no clock and
//!   no `unsafe` (each module is `#[forbid(unsafe_code)]`). Stages are plain
//!   structs driven with `now` by their caller.
//! * [`engine`] connects link pipelines and segments the way smoltcp's
//!   `iface` does: `engine/mod.rs` dispatches (receive, timers, the work
//!   loop), `switch`, `router` (with its bounded neighbour cache and ICMP),
//!   `reload`, `snapshot` and `build` are files of their own; [`forward`]
//!   holds the pure tables (MAC, LPM, rules) and [`fault`] the fault overlay.
//! * [`io`] is the only part that touches the system: ports, namespaces,
//!   netlink, the data-plane thread and its typed command interface.
//! * [`sim`] drives the core in virtual time for tests.
//! * [`names`] is the grammar of every name that reaches the kernel or a path;
//!   [`topology`] checks it at validation and [`io`] again at the boundary.
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[forbid(unsafe_code)]
pub mod counters;
#[forbid(unsafe_code)]
pub mod engine;
#[forbid(unsafe_code)]
pub mod fault;
#[forbid(unsafe_code)]
pub mod forward;
#[forbid(unsafe_code)]
pub mod gso;
#[forbid(unsafe_code)]
pub mod impair;
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub mod io;
#[forbid(unsafe_code)]
pub mod names;
#[forbid(unsafe_code)]
pub mod packet;
#[forbid(unsafe_code)]
pub mod pipeline;
#[forbid(unsafe_code)]
pub mod rng;
#[forbid(unsafe_code)]
pub mod sim;
#[forbid(unsafe_code)]
pub mod stage;
#[forbid(unsafe_code)]
pub mod time;
#[forbid(unsafe_code)]
pub mod topology;
#[forbid(unsafe_code)]
pub mod units;
#[forbid(unsafe_code)]
pub mod wire;
