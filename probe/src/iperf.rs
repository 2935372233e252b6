//! iperf3 between two namespaces, its JSON report read into numbers.

use std::net::IpAddr;
use std::time::Duration;

use crate::ProbeError;
use crate::exec::{output_in, spawn_in};

/// An iperf3 report.
#[derive(Clone, Debug)]
pub struct Iperf3 {
    /// The whole JSON report (`-J`).
    pub json: serde_json::Value,
}

impl Iperf3 {
    /// Bits per second the receiver got (TCP), or the UDP sum.
    pub fn received_bps(&self) -> Option<f64> {
        let e = &self.json["end"];
        e["sum_received"]["bits_per_second"].as_f64().or_else(|| e["sum"]["bits_per_second"].as_f64())
    }

    /// UDP: (packets sent, packets lost, seconds).
    pub fn udp_packets(&self) -> Option<(f64, f64, f64)> {
        let e = &self.json["end"]["sum"];
        Some((e["packets"].as_f64()?, e["lost_packets"].as_f64()?, e["seconds"].as_f64()?))
    }
}

/// Runs an iperf3 server (one test) in `server_ns` bound to `server` and a
/// client in `client_ns` with `args` (e.g. `["-t", "3"]`).
pub fn run(client_ns: &str, server_ns: &str, server: IpAddr, args: &[&str]) -> Result<Iperf3, ProbeError> {
    let addr = server.to_string();
    let mut srv = spawn_in(server_ns, &["iperf3", "-s", "-1", "-B", &addr])?;
    // iperf3 has no readiness signal; its listener is up well within this.
    std::thread::sleep(Duration::from_millis(300));
    let mut argv = vec!["iperf3", "-c", addr.as_str(), "-J"];
    argv.extend_from_slice(args);
    let out = output_in(client_ns, &argv);
    let _ = srv.kill();
    let _ = srv.wait();
    let out = out?;
    let text = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ProbeError::Output { what: "iperf3 (install iperf3)".into(), detail: format!("{e}: {text}") })?;
    if let Some(err) = json["error"].as_str() {
        return Err(ProbeError::Output { what: "iperf3".into(), detail: err.to_string() });
    }
    Ok(Iperf3 { json })
}
