//! A closed output pipe never makes `faultmesh` panic.
//!
//! Rust ignores `SIGPIPE`, so `println!` to a pipe whose reader has gone
//! (`faultmesh validate big.yaml | head -2`) fails with `EPIPE` and panics.
//! Commands that own nothing restore the default action instead: they end
//! quietly, as `cat` does ([`restore_default_sigpipe`]). Commands that own
//! namespaces and devices (`run`, `demo`, `bench`) must never die before
//! they clean up, so their stdout and stderr are relayed through a pipe of
//! their own ([`shield`]): prints always succeed, and what the reader no
//! longer wants is discarded. Under systemd (`$NOTIFY_SOCKET`), the relay of
//! `run`'s stdout also reports readiness when `run` prints its ready line.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::sync::mpsc;
use std::time::Duration;

/// Gives `SIGPIPE` its default action back: writing to a closed pipe ends
/// the process without a message. Call before any thread starts.
pub fn restore_default_sigpipe() {
    // SAFETY: resetting a signal's disposition to its default touches no
    // memory of this program; it is called at start-up before other threads.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Ignores `SIGPIPE` again (Rust's own start-up setting).
pub fn ignore_sigpipe() {
    // SAFETY: as above; SIG_IGN is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// A relay of one standard stream; [`Shield::finish`] flushes it.
#[derive(Debug)]
pub struct Shield {
    fd: RawFd,
    done: mpsc::Receiver<()>,
}

/// True when `fd` is a pipe or a socket: only those can lose their reader.
fn is_pipe(fd: RawFd) -> bool {
    // SAFETY: fstat writes into the zeroed struct it is given, nothing else.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 {
            return false;
        }
        let t = st.st_mode & libc::S_IFMT;
        t == libc::S_IFIFO || t == libc::S_IFSOCK
    }
}

/// The line `faultmesh run` prints once its devices exist and its API
/// listens (the README's "ready"); the relay tells systemd on seeing it.
pub const READY_LINE: &[u8] = b"faultmesh: ready";

/// Relays `fd` (1 or 2) through a pipe of our own when it is a pipe or a
/// socket, or always with `notify_ready`: then the relay also sends
/// `READY=1` to `$NOTIFY_SOCKET` when the [`READY_LINE`] goes through.
/// Needs `SIGPIPE` ignored (see [`ignore_sigpipe`]).
pub fn shield(fd: RawFd, notify_ready: bool) -> Option<Shield> {
    if !is_pipe(fd) && !notify_ready {
        return None;
    }
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return None;
    }
    // SAFETY: duplicating a descriptor we hold open; the copy is ours.
    let orig = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    // SAFETY: dup2 replaces `fd` with the pipe's write end; closing our copy
    // of that end leaves `fd` as its only holder (children inherit it).
    let moved = orig >= 0 && unsafe { libc::dup2(fds[1], fd) } == fd;
    // SAFETY: fds[1] is ours and no longer needed (fd now refers to it).
    unsafe { libc::close(fds[1]) };
    if !moved {
        // SAFETY: closing descriptors this function opened.
        unsafe {
            libc::close(fds[0]);
            if orig >= 0 {
                libc::close(orig);
            }
        }
        return None;
    }
    // SAFETY: fds[0] and orig are open descriptors owned by nothing else.
    let (mut from, mut to) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(orig)) };
    let (tx, done) = mpsc::channel();
    let relay = move || {
        let mut buf = [0u8; 8192];
        let mut reader_gone = false;
        let mut watch = notify_ready.then(Vec::<u8>::new);
        loop {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if let Some(line) = watch.as_mut() {
                        if ready_seen(line, &buf[..n]) {
                            super::notify::ready("forwarding; API up");
                            watch = None;
                        }
                    }
                    if !reader_gone && to.write_all(&buf[..n]).is_err() {
                        // The reader went away: keep draining, discard.
                        reader_gone = true;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(());
    };
    // The relay must never take a signal meant for the process (SIGTERM,
    // SIGINT: `run` waits for them with the signals blocked in every other
    // thread): it starts with every signal blocked.
    let spawned = with_signals_blocked(|| std::thread::Builder::new().name(format!("fm-stdio-{fd}")).spawn(relay));
    spawned.ok()?;
    Some(Shield { fd, done })
}

/// Runs `f` with every signal blocked in this thread (threads it spawns
/// inherit the mask), then restores the mask.
fn with_signals_blocked<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: sigset_t is plain data, filled by sigfillset; pthread_sigmask
    // only reads `all` and writes `old`, both valid for the call.
    let old = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
        old
    };
    let r = f();
    // SAFETY: restores the mask saved above.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
    r
}

/// Feeds `data` to the line being assembled in `line`; true once a line
/// starting with [`READY_LINE`] is complete.
fn ready_seen(line: &mut Vec<u8>, data: &[u8]) -> bool {
    for &b in data {
        if b == b'\n' {
            if line.starts_with(READY_LINE) {
                return true;
            }
            line.clear();
        } else if line.len() < 256 {
            line.push(b);
        }
    }
    false
}

impl Shield {
    /// Flushes what was printed to the real stream and stops relaying: the
    /// stream then goes to `/dev/null`. Waits at most a second (a child that
    /// inherited the stream may still hold it open).
    pub fn finish(self) {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        if let Ok(null) = File::options().write(true).open("/dev/null") {
            use std::os::fd::AsRawFd;
            // SAFETY: replaces our relay's write end with /dev/null; the
            // relay then reads end-of-file once no child holds it.
            unsafe { libc::dup2(null.as_raw_fd(), self.fd) };
        }
        let _ = self.done.recv_timeout(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_is_found_across_reads() {
        let mut line = Vec::new();
        assert!(!ready_seen(&mut line, b"faultmesh: running `x`\nfaultmesh: rea"));
        assert!(ready_seen(&mut line, b"dy \xe2\x80\x94 Ctrl-C\n"));
        let mut line = Vec::new();
        assert!(!ready_seen(&mut line, b"  not faultmesh: ready\n"));
    }
}
