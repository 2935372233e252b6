//! Network namespaces: run code inside one, list them, and drive `ip`.
//!
//! Contract: `setns` only ever happens on a short-lived dedicated thread, so
//! no other thread (and no tokio worker) changes namespace; descriptors opened
//! there stay bound to that namespace after the thread ends. Namespace and
//! link management goes through iproute2's `ip` (batched), whose errors are
//! returned with the failing command and its message.

use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Stdio};

use super::sys;

/// Where `ip netns` keeps named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// Runs `f` on a fresh thread inside namespace `ns` (`None`: the caller's).
pub fn run_in<T: Send>(ns: Option<&str>, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    let path = ns.map(|n| Path::new(NETNS_DIR).join(n));
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

/// True when a named namespace exists.
pub fn exists(name: &str) -> bool {
    Path::new(NETNS_DIR).join(name).exists()
}

/// Every named namespace.
pub fn list() -> Vec<String> {
    std::fs::read_dir(NETNS_DIR)
        .map(|d| d.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect())
        .unwrap_or_default()
}

/// An `ip` failure.
#[derive(Debug, thiserror::Error)]
#[error("`ip {command}` failed: {message}")]
pub struct IpError {
    /// The command (arguments, or the batch).
    pub command: String,
    /// What `ip` printed.
    pub message: String,
}

/// Runs `ip ARGS`.
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

/// Runs a batch of `ip` commands (one per line), optionally inside `ns`.
pub fn ip_batch(ns: Option<&str>, lines: &[String]) -> Result<(), IpError> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut cmd = Command::new("ip");
    if let Some(n) = ns {
        cmd.args(["-n", n]);
    }
    cmd.args(["-batch", "-"]).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let err = |message: String| IpError {
        command: format!("{}-batch: {}", ns.map(|n| format!("-n {n} ")).unwrap_or_default(), lines.join("; ")),
        message,
    };
    let mut child = cmd.spawn().map_err(|e| err(format!("cannot run ip: {e} (install iproute2)")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let text = lines.join("\n") + "\n";
        stdin.write_all(text.as_bytes()).map_err(|e| err(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| err(e.to_string()))?;
    if out.status.success() { Ok(()) } else { Err(err(String::from_utf8_lossy(&out.stderr).trim().to_string())) }
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
