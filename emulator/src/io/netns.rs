//! Network namespaces: create and delete named ones, run code inside one,
//! write their sysctls.
//!
//! Contract: named namespaces are what iproute2 makes them — an empty file
//! `/run/netns/NAME` with the namespace bind-mounted onto it, `/run/netns`
//! itself a shared mount — so `ip netns list/exec/del` work on ours and we
//! on theirs. No function here runs a program: [`add`] unshares on a
//! dedicated std thread and bind-mounts, [`del`] unmounts and unlinks. Every
//! name is checked against [`crate::names`] before it becomes a path.
//! `setns` only ever happens on a short-lived dedicated thread ([`run_in`]),
//! so no other thread (and no tokio worker) changes namespace; descriptors
//! opened there — sockets, a netlink socket — stay bound to that namespace
//! after the thread ends.
//!
//! [`ip`] remains for tests and the benchmark (argument vectors, never
//! `-batch` text); no run-time path calls it.

use std::ffi::CString;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::sys;
use crate::names::{self, NameError, NameKind};

/// Where `ip netns` keeps named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// Why a namespace could not be created, entered or deleted.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// The name is not a valid namespace name.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A namespace of that name exists already.
    #[error("namespace `{0}` already exists")]
    Exists(String),
    /// A system call failed.
    #[error("{action}: {source}")]
    Os {
        /// What we were doing, naming the namespace.
        action: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

fn os_err(action: impl Into<String>) -> impl FnOnce(io::Error) -> NetnsError {
    let action = action.into();
    move |source| NetnsError::Os { action, source }
}

/// The file of namespace `name`, after checking the name.
pub fn path(name: &str) -> Result<PathBuf, NameError> {
    names::check(NameKind::Netns, name)?;
    Ok(Path::new(NETNS_DIR).join(name))
}

/// Runs `f` on a fresh thread inside namespace `ns` (`None`: the caller's).
pub fn run_in<T: Send>(ns: Option<&str>, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    let path = ns.map(path).transpose().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(p) = &path {
                let file = std::fs::File::open(p)
                    .map_err(|e| io::Error::new(e.kind(), format!("namespace {}: {e}", p.display())))?;
                sys::setns_net(file.as_raw_fd())?;
            }
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("namespace worker panicked")))
    })
}

/// True when a named namespace exists (false for an invalid name).
pub fn exists(name: &str) -> bool {
    path(name).is_ok_and(|p| p.exists())
}

/// Every named namespace.
pub fn list() -> Vec<String> {
    std::fs::read_dir(NETNS_DIR)
        .map(|d| d.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect())
        .unwrap_or_default()
}

fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path has a NUL"))
}

fn mount(source: &Path, target: &Path, flags: libc::c_ulong) -> io::Result<()> {
    let (src, dst) = (c_path(source)?, c_path(target)?);
    // SAFETY: all strings are NUL-terminated and outlive the call; "none" is
    // the file-system type iproute2 passes for bind and propagation changes;
    // no data argument.
    let rc = unsafe { libc::mount(src.as_ptr(), dst.as_ptr(), c"none".as_ptr(), flags, std::ptr::null()) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Makes `/run/netns` exist and be a shared mount, as `ip netns add` does:
/// a bind mount made in one mount namespace (say by `ip netns exec`, which
/// unshares one) then shows up in the others.
fn prepare_dir() -> Result<(), NetnsError> {
    let dir = Path::new(NETNS_DIR);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(os_err(format!("creating {NETNS_DIR}")))?;
    let mut made_mount_point = false;
    loop {
        match mount(Path::new(""), dir, libc::MS_SHARED | libc::MS_REC) {
            Ok(()) => return Ok(()),
            // EINVAL: not a mount point yet. Bind it onto itself, once.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && !made_mount_point => {
                mount(dir, dir, libc::MS_BIND | libc::MS_REC)
                    .map_err(os_err(format!("making {NETNS_DIR} a mount point")))?;
                made_mount_point = true;
            }
            Err(e) => return Err(os_err(format!("making {NETNS_DIR} a shared mount"))(e)),
        }
    }
}

/// Creates the named namespace `name` (fails with [`NetnsError::Exists`] if
/// it exists: the file is created exclusively, so two creators cannot both
/// win).
pub fn add(name: &str) -> Result<(), NetnsError> {
    let file = path(name)?;
    prepare_dir()?;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o000).open(&file) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(NetnsError::Exists(name.to_string())),
        Err(e) => return Err(os_err(format!("creating {}", file.display()))(e)),
    }
    // unshare(CLONE_NEWNET) moves only the calling thread, so do it on a
    // thread of our own that ends right after: no other thread (a tokio
    // worker, the data plane) ever changes namespace. The bind mount keeps the
    // namespace alive once that thread is gone.
    let made = std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare(2) with a flag constant; it affects only this
            // thread, which is ours and ends when the closure returns.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            mount(Path::new("/proc/thread-self/ns/net"), &file, libc::MS_BIND)
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("namespace worker panicked")))
    });
    if let Err(e) = made {
        let _ = std::fs::remove_file(&file);
        return Err(os_err(format!("creating namespace {name}"))(e));
    }
    Ok(())
}

/// Gives the existing namespace at `source` (a `/proc/<pid>/ns/net` file)
/// the name `name`, as `ip netns attach` does: a bind mount that also keeps
/// the namespace alive until [`del`] removes the name. Deleting the name
/// never deletes a namespace that processes still live in.
pub fn attach(name: &str, source: &Path) -> Result<(), NetnsError> {
    let file = path(name)?;
    prepare_dir()?;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o000).open(&file) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(NetnsError::Exists(name.to_string())),
        Err(e) => return Err(os_err(format!("creating {}", file.display()))(e)),
    }
    if let Err(e) = mount(source, &file, libc::MS_BIND) {
        let _ = std::fs::remove_file(&file);
        return Err(os_err(format!("naming {} {name}", source.display()))(e));
    }
    Ok(())
}

/// Deletes the named namespace `name`: detaches its bind mount (the
/// namespace goes away with its last user) and removes the file.
pub fn del(name: &str) -> Result<(), NetnsError> {
    let file = path(name)?;
    let c = c_path(&file).map_err(os_err(format!("deleting namespace {name}")))?;
    // SAFETY: `c` is NUL-terminated and outlives the call. Like `ip netns
    // del`, ignore the result: a file that is not (or no longer) a mount
    // point is still removed below.
    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    std::fs::remove_file(&file).map_err(os_err(format!("deleting namespace {name}")))
}

/// Writes a sysctl inside namespace `ns` (e.g. `net/ipv6/conf/all/disable_ipv6`).
pub fn sysctl(ns: Option<&str>, key: &str, value: &str) -> io::Result<()> {
    let path = Path::new("/proc/sys").join(key);
    let value = value.to_string();
    run_in(ns, move || {
        std::fs::write(&path, value.as_bytes())
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    })
}

/// An `ip` failure.
#[derive(Debug, thiserror::Error)]
#[error("`ip {command}` failed: {message}")]
pub struct IpError {
    /// The command's arguments.
    pub command: String,
    /// What `ip` printed.
    pub message: String,
}

/// Runs `ip ARGS` — for tests and the benchmark, which build scratch
/// namespaces and veth pairs from constants. Arguments go to `ip` as an
/// argument vector, never as `-batch` text, so no value can become a second
/// command. Run-time paths use [`add`], [`del`] and [`super::netlink`].
pub fn ip(args: &[&str]) -> Result<(), IpError> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| IpError { command: args.join(" "), message: format!("cannot run ip: {e} (install iproute2)") })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(IpError { command: args.join(" "), message: String::from_utf8_lossy(&out.stderr).trim().to_string() })
    }
}
