//! UDP streams: numbered datagrams (what arrived, in which order) and
//! timestamped ones (one-way delay from the kernel's receive stamps).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use faultmesh_emulator::io::{netns, sys};

use crate::{ProbeError, io_err};

/// A UDP socket bound inside namespace `ns`.
pub fn socket_in(ns: &str, bind: SocketAddr) -> Result<UdpSocket, ProbeError> {
    netns::run_in(Some(ns), || UdpSocket::bind(bind)).map_err(io_err(format!("UDP socket on {bind} in {ns}")))
}

fn any_port(dst: SocketAddr) -> SocketAddr {
    match dst.ip() {
        IpAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        IpAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    }
}

/// Sends `n` datagrams numbered 0.. (first 4 bytes, big endian) of `payload`
/// bytes from `src_ns` to `dst` (bound in `dst_ns`), `gap` apart, and
/// returns the numbers the receiver got in arrival order. The receiver
/// stops 800 ms after the last datagram arrived.
pub fn numbered(
    src_ns: &str,
    dst_ns: &str,
    dst: SocketAddr,
    n: u32,
    gap: Duration,
    payload: usize,
) -> Result<Vec<u32>, ProbeError> {
    let rx = socket_in(dst_ns, dst)?;
    rx.set_read_timeout(Some(Duration::from_millis(800))).map_err(io_err("socket timeout"))?;
    let tx = socket_in(src_ns, any_port(dst))?;
    let h = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(len) = rx.recv(&mut buf) {
            if len >= 4 {
                got.push(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]));
            }
        }
        got
    });
    let mut pkt = vec![0u8; payload.max(4)];
    let start = Instant::now();
    for i in 0..n {
        pkt[..4].copy_from_slice(&i.to_be_bytes());
        tx.send_to(&pkt, dst).map_err(io_err(format!("sending to {dst}")))?;
        // Paced by spinning: sleeping overshoots short gaps by far more
        // than the gap on a VM.
        let due = gap * (i + 1);
        while start.elapsed() < due {
            std::hint::spin_loop();
        }
    }
    h.join().map_err(|_| ProbeError::Output { what: "UDP receiver".into(), detail: "panicked".into() })
}

/// One-way delays (ns) of `n` datagrams sent `gap` apart from `src_ns` to
/// `dst` (bound in `dst_ns`): each carries the wall-clock time it was sent,
/// and the receiver compares it with the kernel's receive timestamp, so the
/// receiving program's own scheduling does not count.
pub fn oneway_ns(src_ns: &str, dst_ns: &str, dst: SocketAddr, n: u32, gap: Duration) -> Result<Vec<i64>, ProbeError> {
    let rx = socket_in(dst_ns, dst)?;
    sys::enable_rx_timestamps(rx.as_raw_fd()).map_err(io_err("SO_TIMESTAMPNS"))?;
    rx.set_read_timeout(Some(Duration::from_millis(1500))).map_err(io_err("socket timeout"))?;
    let tx = socket_in(src_ns, any_port(dst))?;
    let h = std::thread::spawn(move || {
        let mut v = Vec::new();
        let mut buf = [0u8; 64];
        while let Ok((len, ts)) = sys::recv_timestamped(rx.as_raw_fd(), &mut buf) {
            if len >= 8 && ts > 0 {
                let sent = u64::from_be_bytes(buf[..8].try_into().unwrap_or([0; 8]));
                v.push(ts as i64 - sent as i64);
            }
        }
        v
    });
    // The sender sleeps between probes: a spinning sender would be a third
    // busy thread on a 2-core machine, and whichever thread the scheduler
    // then preempts shows up as delay error the emulator did not cause. The
    // stamp is taken right before the send, so a late wake-up only shifts
    // when a probe leaves, not what it measures.
    let start = Instant::now();
    for i in 0..n {
        if let Some(wait) = (gap * i).checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        tx.send_to(&sys::realtime_ns().to_be_bytes(), dst).map_err(io_err(format!("sending to {dst}")))?;
    }
    h.join().map_err(|_| ProbeError::Output { what: "UDP receiver".into(), detail: "panicked".into() })
}
