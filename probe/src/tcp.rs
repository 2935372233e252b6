//! TCP goodput: a download measured by the receiving application.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use faultmesh_emulator::io::netns;

use crate::{ProbeError, io_err};

/// Downloads from `server` (a listener opened in `server_ns`) to
/// `client_ns` for `secs` seconds and returns the goodput in bit/s over the
/// last `secs - 1` seconds (the first second, slow start, is not counted).
pub fn goodput_bps(client_ns: &str, server_ns: &str, server: SocketAddr, secs: f64) -> Result<f64, ProbeError> {
    let listener = netns::run_in(Some(server_ns), || TcpListener::bind(server))
        .map_err(io_err(format!("listening on {server}")))?;
    let tx = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        let chunk = vec![0x5au8; 64 * 1024];
        let start = Instant::now();
        while start.elapsed().as_secs_f64() < secs + 0.5 {
            if s.write_all(&chunk).is_err() {
                break;
            }
        }
        Ok(())
    });
    let mut c = netns::run_in(Some(client_ns), || TcpStream::connect_timeout(&server, Duration::from_secs(5)))
        .map_err(io_err(format!("connecting to {server}")))?;
    c.set_read_timeout(Some(Duration::from_secs(5))).map_err(io_err("socket timeout"))?;
    let mut buf = vec![0u8; 256 * 1024];
    let t0 = Instant::now();
    let mut warm = true;
    let mut bytes = 0u64;
    let mut tm = t0;
    loop {
        let n = c.read(&mut buf).map_err(io_err("receiving"))?;
        if n == 0 {
            break;
        }
        if warm && t0.elapsed() >= Duration::from_secs(1) {
            warm = false;
            tm = Instant::now();
            bytes = 0;
        }
        bytes += n as u64;
        if !warm && tm.elapsed().as_secs_f64() >= secs - 1.0 {
            break;
        }
    }
    let elapsed = tm.elapsed().as_secs_f64();
    drop(c);
    let _ = tx.join();
    Ok(bytes as f64 * 8.0 / elapsed.max(1e-9))
}
