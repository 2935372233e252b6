//! Thin, checked wrappers over the Linux system calls the appliance uses.
//!
//! Contract: every function returns `io::Result` with the OS error; nothing
//! panics. Each `unsafe` block states why it is sound. Batch receive/send
//! (`recvmmsg`/`sendmmsg`) live in `port`, next to the buffers they fill.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Converts a `-1`-on-error return into `io::Result`.
pub fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r) }
}

/// Monotonic time in nanoseconds (`CLOCK_MONOTONIC`, vDSO, ~20 ns).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

/// CPU time consumed by the calling thread, in nanoseconds. Unlike a wall
/// clock it does not advance while the thread is preempted (a system call,
/// not vDSO: ~0.2-0.5 µs, so call it sparingly).
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID
    // exists on every Linux we run on.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

/// Sets this thread's timer slack (the kernel's default of 50 µs would blur
/// every timed wake-up).
pub fn set_timer_slack_ns(ns: u64) {
    // SAFETY: PR_SET_TIMERSLACK takes an unsigned long by value and only
    // affects the calling thread.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, ns as libc::c_ulong, 0, 0, 0) };
}

/// Opens a non-blocking AF_PACKET raw socket that receives nothing until
/// [`bind_packet`] binds it to one interface for every protocol.
///
/// Protocol 0 matters: a socket opened with `ETH_P_ALL` receives the frames
/// of *every* interface in the namespace from `socket()` until `bind()`.
/// When a reload added a node while traffic flowed, the new port queued a
/// few frames of other ports in that window and handed them to the engine
/// as its own; a switch then learned another node's MAC on the new link and
/// sent that node's traffic to the wrong place until the entry aged out.
pub fn packet_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the result is checked before wrapping.
    let fd =
        cvt(unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` is a fresh descriptor we own exclusively.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// setsockopt with a value of type `T`.
pub fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` of `size_of::<T>()` bytes for the
    // duration of the call; the kernel copies it.
    cvt(unsafe {
        libc::setsockopt(fd, level, name, (value as *const T).cast(), std::mem::size_of::<T>() as libc::socklen_t)
    })?;
    Ok(())
}

/// The index of interface `name` in the calling thread's namespace.
pub fn if_index(name: &str) -> io::Result<u32> {
    let c = CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name has a NUL"))?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 { Err(io::Error::last_os_error()) } else { Ok(idx) }
}

/// Binds a packet socket to one interface.
pub fn bind_packet(fd: RawFd, ifindex: u32) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sa.sll_ifindex = ifindex as i32;
    // SAFETY: `sa` is a valid sockaddr_ll and its size is passed.
    cvt(unsafe {
        libc::bind(
            fd,
            (&sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// An epoll instance.
pub struct Epoll(OwnedFd);

/// Readiness reported by [`Epoll::wait`].
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// The token given at registration.
    pub token: u64,
    /// Readable.
    pub readable: bool,
    /// Writable.
    pub writable: bool,
}

impl Epoll {
    /// A new epoll instance.
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: plain epoll_create1(2); checked before wrapping.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: fresh descriptor we own.
        Ok(Epoll(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, write: bool, token: u64) -> io::Result<()> {
        let mut ev =
            libc::epoll_event { events: (libc::EPOLLIN | if write { libc::EPOLLOUT } else { 0 }) as u32, u64: token };
        // SAFETY: `ev` is a valid epoll_event; `fd` is a descriptor the caller owns.
        cvt(unsafe { libc::epoll_ctl(self.0.as_raw_fd(), op, fd, &mut ev) })?;
        Ok(())
    }

    /// Watches `fd` for reading (and writing if `write`).
    pub fn add(&self, fd: RawFd, write: bool, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, write, token)
    }

    /// Stops watching `fd`.
    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: EPOLL_CTL_DEL ignores the event pointer; `fd` is a
        // descriptor the caller still owns.
        cvt(unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) })?;
        Ok(())
    }

    /// Changes what `fd` is watched for.
    pub fn modify(&self, fd: RawFd, write: bool, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, write, token)
    }

    /// Waits for readiness for at most `timeout` (`None`: forever), with
    /// nanosecond resolution (epoll_pwait2).
    pub fn wait(&self, out: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        const MAX: usize = 64;
        // SAFETY: epoll_event is plain old data; zeroed is valid.
        let mut evs: [libc::epoll_event; MAX] = unsafe { std::mem::zeroed() };
        let ts = timeout
            .map(|d| libc::timespec { tv_sec: d.as_secs() as libc::time_t, tv_nsec: d.subsec_nanos() as libc::c_long });
        let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `evs` has room for MAX events; `tsp` is null or points to a
        // live timespec; no signal mask is passed.
        let n = unsafe {
            libc::epoll_pwait2(self.0.as_raw_fd(), evs.as_mut_ptr(), MAX as libc::c_int, tsp, std::ptr::null())
        };
        out.clear();
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(e) };
        }
        for ev in &evs[..n as usize] {
            let flags = ev.events;
            out.push(Event {
                token: ev.u64,
                readable: flags & (libc::EPOLLIN | libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0,
                writable: flags & libc::EPOLLOUT as u32 != 0,
            });
        }
        Ok(())
    }
}

/// An eventfd used to wake the data plane from other threads.
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    /// A non-blocking eventfd.
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: plain eventfd(2); checked before wrapping.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        // SAFETY: fresh descriptor we own.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Wakes the waiter.
    pub fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64, as eventfd requires.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Clears pending wake-ups.
    pub fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64; non-blocking.
        unsafe { libc::read(self.0.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
    }

    /// The descriptor.
    pub fn raw(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Moves the calling thread into the network namespace open at `fd`.
pub fn setns_net(fd: RawFd) -> io::Result<()> {
    // SAFETY: setns(2) on a descriptor the caller holds; affects this thread only.
    cvt(unsafe { libc::setns(fd, libc::CLONE_NEWNET) })?;
    Ok(())
}

/// True when the process may administer networking (root or CAP_NET_ADMIN).
pub fn has_net_admin() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        // SAFETY: geteuid(2) cannot fail.
        return unsafe { libc::geteuid() } == 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 12) != 0)
}

/// TUN/TAP ioctls not in `libc`.
mod tun_ioctl {
    pub const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
    pub const TUNSETVNETHDRSZ: libc::c_ulong = 0x4004_54d8;
    pub const IFF_VNET_HDR: libc::c_short = 0x4000;
}

#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Creates a TUN (`tap == false`) or TAP device named `name` in the calling
/// thread's namespace, with a 10-byte virtio header and checksum/TSO/USO
/// offload, non-blocking. Returns the descriptor and the kernel's name.
pub fn open_tun(name: &str, tap: bool) -> io::Result<(OwnedFd, String)> {
    if name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("device name `{name}` is too long")));
    }
    // SAFETY: open(2) on a constant NUL-terminated path; checked.
    let fd = cvt(unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    // SAFETY: fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: (if tap { libc::IFF_TAP } else { libc::IFF_TUN }) as libc::c_short
            | libc::IFF_NO_PI as libc::c_short
            | tun_ioctl::IFF_VNET_HDR
            // Never take over an existing persistent device: it is not
            // ours, and teardown would delete it.
            | libc::IFF_TUN_EXCL as libc::c_short,
        _pad: [0; 22],
    };
    for (d, s) in req.name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: TUNSETIFF reads and writes an ifreq; `req` is a valid, live,
    // correctly laid out ifreq.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req as *mut IfReq) })?;
    let hdr: libc::c_int = 10;
    // SAFETY: TUNSETVNETHDRSZ reads an int through the pointer.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), tun_ioctl::TUNSETVNETHDRSZ, &hdr as *const libc::c_int) })?;
    let full = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6 | libc::TUN_F_TSO_ECN;
    let with_uso = full | libc::TUN_F_USO4 | libc::TUN_F_USO6;
    // SAFETY: TUNSETOFFLOAD takes the flags by value.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), tun_ioctl::TUNSETOFFLOAD, with_uso as libc::c_ulong) };
    if r < 0 {
        // Kernels before 6.2 lack USO.
        // SAFETY: as above.
        cvt(unsafe { libc::ioctl(fd.as_raw_fd(), tun_ioctl::TUNSETOFFLOAD, full as libc::c_ulong) })?;
    }
    let kname: String = req.name.iter().take_while(|&&c| c != 0).map(|&c| c as u8 as char).collect();
    Ok((fd, kname))
}

fn termination_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t; the signal numbers are valid.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
    }
    set
}

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread
/// it spawns afterwards, so they can be taken with [`wait_termination`].
pub fn block_termination_signals() -> io::Result<()> {
    let set = termination_set();
    // SAFETY: `set` is initialised; the old mask is not requested.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 { Err(io::Error::from_raw_os_error(r)) } else { Ok(()) }
}

/// Waits until SIGINT, SIGTERM or SIGHUP arrives; returns its number.
pub fn wait_termination() -> i32 {
    let set = termination_set();
    let mut sig: libc::c_int = 0;
    // SAFETY: `set` is initialised and blocked in this thread; `sig` is writable.
    unsafe { libc::sigwait(&set, &mut sig) };
    sig
}

/// Sends `sig` to this process (used to stop `run` from inside, e.g. the demo).
pub fn raise_termination() {
    // SAFETY: kill(2) on our own pid with a valid signal.
    unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
}

/// Gives the calling thread real-time FIFO priority `prio` (1..=99).
pub fn set_realtime(prio: i32) -> io::Result<()> {
    let param = libc::sched_param { sched_priority: prio };
    // SAFETY: sched_setscheduler(2) on the calling thread (0) with a valid param.
    cvt(unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) })?;
    Ok(())
}

/// Asks the kernel to timestamp received datagrams (`SO_TIMESTAMPNS`, realtime clock).
pub fn enable_rx_timestamps(fd: RawFd) -> io::Result<()> {
    let one: libc::c_int = 1;
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &one)
}

/// Receives one datagram with its kernel receive time (realtime ns, 0 if absent).
pub fn recv_timestamped(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, u64)> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let mut control = [0u64; 16];
    // SAFETY: msghdr is plain old data; zeroed is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: `msg` points at a live iovec over `buf` and a live control buffer of the size given.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut ts = 0u64;
    // SAFETY: CMSG_FIRSTHDR/NXTHDR walk the control buffer the kernel filled, bounded by msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let t = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                ts = (t.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(t.tv_nsec as u64);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, ts))
}

/// Realtime clock in ns (comparable with [`recv_timestamped`]).
pub fn realtime_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

/// CPU time (user + system) consumed by thread `tid` of this process, in ns,
/// or by the whole process when `tid` is `None`.
pub fn cpu_time_ns(tid: Option<u32>) -> u64 {
    let path = match tid {
        Some(t) => format!("/proc/self/task/{t}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let Ok(s) = std::fs::read_to_string(path) else { return 0 };
    // Fields after the command (which may contain spaces) start after ')'.
    let rest = s.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    // SAFETY: sysconf(3) has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ticks * 1_000_000_000 / hz
}

/// The thread id of the calling thread.
pub fn gettid() -> u32 {
    // SAFETY: gettid(2) cannot fail.
    unsafe { libc::gettid() as u32 }
}
