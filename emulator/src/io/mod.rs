//! The I/O layer: the only place that touches devices, namespaces, syscalls
//! and the clock.
//!
//! * [`sys`] — checked syscall wrappers (epoll, eventfd, sockets, TUN ioctls).
//! * [`port`] — AF_PACKET and TUN/TAP ports with offload-preserving batches.
//! * [`pool`] — recycled packet buffers.
//! * [`rxring`] — the AF_PACKET receive ring.
//! * [`vnet`] — the virtio-net header.
//! * [`netns`] — named namespaces (created without running `ip`).
//! * [`netlink`] — a synchronous rtnetlink client: links, addresses, routes.
//! * [`attach`] — which existing interfaces a topology may take over.
//! * [`setup`] — realizing a topology on this machine, and cleaning up.
//! * [`command`] — [`EngineCommand`](command::EngineCommand), the whole interface of a running engine.
//! * [`dataplane`] — the dedicated data-plane thread and the handles that send it commands.
//! * [`appliance`] — devices plus data plane, and live reload.
//!
//! Every `unsafe` block in the crate is in this module, with a `SAFETY:`
//! comment.

pub mod appliance;
pub mod attach;
pub mod command;
pub mod dataplane;
pub mod netlink;
pub mod netns;
pub mod pool;
pub mod port;
pub mod rxring;
pub mod setup;
pub mod sys;
pub mod vnet;

/// The current monotonic time as an engine [`Instant`](crate::time::Instant).
pub fn now() -> crate::time::Instant {
    crate::time::Instant::from_nanos(sys::monotonic_ns())
}
