//! systemd readiness (`Type=notify`) without libsystemd: one datagram to
//! `$NOTIFY_SOCKET`, as sd_notify(3) sends it.
//!
//! The socket is a path or, with a leading `@`, a Linux abstract address.
//! Without `$NOTIFY_SOCKET` (not started by systemd) nothing is sent.

use std::os::unix::net::UnixDatagram;

/// Sends `state` (e.g. `READY=1\nSTATUS=...`) to `$NOTIFY_SOCKET`, if set.
/// Errors are logged, never fatal: the appliance works without systemd.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = notify_to(&path.to_string_lossy(), state) {
        tracing::warn!("could not notify systemd at {}: {e}", path.to_string_lossy());
    }
}

/// Sends `state` to the notification socket `addr` (a path, or `@name`).
pub fn notify_to(addr: &str, state: &str) -> std::io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    if let Some(name) = addr.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let a = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        sock.send_to_addr(state.as_bytes(), &a)?;
    } else {
        sock.send_to(state.as_bytes(), addr)?;
    }
    Ok(())
}

/// The appliance is up: its devices exist and its API (if any) listens.
pub fn ready(status: &str) {
    notify(&format!("READY=1\nSTATUS={status}\nMAINPID={}", std::process::id()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_one_datagram_to_a_path_and_to_an_abstract_socket() {
        let dir = std::env::temp_dir().join(format!("fm-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        notify_to(path.to_str().unwrap(), "READY=1\nSTATUS=up").unwrap();
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=up");
        std::fs::remove_dir_all(&dir).unwrap();

        use std::os::linux::net::SocketAddrExt;
        let name = format!("fm-notify-test-{}", std::process::id());
        let a = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let server = UnixDatagram::bind_addr(&a).unwrap();
        notify_to(&format!("@{name}"), "READY=1").unwrap();
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
    }
}
