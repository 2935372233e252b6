//! Probes: real traffic between network namespaces, measured.
//!
//! Contract: every probe runs its sockets (and any program it starts) inside
//! the namespaces it is given — a socket is opened on a short-lived thread
//! that entered the namespace (`netns::run_in`), and a program forked from
//! such a thread starts in that namespace — so no probe needs `ip netns
//! exec` or a shell, and no probe sends to an address outside the
//! namespaces it was pointed at. Every probe is bounded in time: it returns
//! what it measured, never waits forever. Results are typed; the
//! statistics used to judge them (quantiles, binomial intervals) live in
//! [`stats`].
//!
//! The demo, `faultmesh bench` and the integration tests use these probes,
//! so a figure in the README and an assertion in a test are measured the
//! same way.

pub mod exec;
pub mod iperf;
pub mod ping;
pub mod stats;
pub mod tcp;
pub mod udp;

/// Why a probe could not run (not: what it measured).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A socket, thread or program failed.
    #[error("{what}: {source}")]
    Io {
        /// What the probe was doing.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A program's output was not what was expected.
    #[error("{what}: {detail}")]
    Output {
        /// The program.
        what: String,
        /// What was wrong, with the output.
        detail: String,
    },
}

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ProbeError {
    let what = what.into();
    move |source| ProbeError::Io { what, source }
}
