//! ICMP echo from a namespace, on a raw socket (no `ping` binary needed).

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use faultmesh_emulator::io::netns;
use socket2::{Domain, Protocol, Socket, Type};

use crate::{ProbeError, io_err};

/// What a ping run saw.
#[derive(Clone, Debug, Default)]
pub struct PingResult {
    /// Echo requests sent.
    pub sent: usize,
    /// Round-trip times of the replies, in the order they arrived.
    pub rtts: Vec<Duration>,
}

impl PingResult {
    /// Replies received.
    pub fn received(&self) -> usize {
        self.rtts.len()
    }

    /// The round-trip times in milliseconds, sorted.
    pub fn rtts_ms_sorted(&self) -> Vec<f64> {
        crate::stats::sorted(&self.rtts.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>())
    }
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Sends `count` echo requests from namespace `ns` to `dst`, `interval`
/// apart, and collects replies until one second after the last request.
pub fn ping(ns: &str, dst: IpAddr, count: usize, interval: Duration) -> Result<PingResult, ProbeError> {
    let (domain, proto, request, reply) = match dst {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128u8, 129u8),
    };
    let sock =
        netns::run_in(Some(ns), || Socket::new(domain, Type::RAW, Some(proto))).map_err(io_err("raw ICMP socket"))?;
    sock.set_read_timeout(Some(Duration::from_millis(1))).map_err(io_err("socket timeout"))?;
    // Several probes may run at once: tell their replies apart.
    let id = ((std::process::id() ^ (sock_id(&sock) << 8)) & 0xffff) as u16;
    let to: SocketAddr = (dst, 0).into();
    let start = Instant::now();
    let mut sent_at = vec![None; count];
    let mut rtts = Vec::new();
    let mut buf = [0u8; 1500];
    let deadline = interval * count as u32 + Duration::from_secs(1);
    let mut next = 0usize;
    while start.elapsed() < deadline && (next < count || rtts.len() < count) {
        if next < count && start.elapsed() >= interval * next as u32 {
            let mut pkt = vec![0u8; 64];
            pkt[0] = request;
            pkt[4..6].copy_from_slice(&id.to_be_bytes());
            pkt[6..8].copy_from_slice(&(next as u16).to_be_bytes());
            if dst.is_ipv4() {
                // The kernel fills the ICMPv6 checksum itself.
                let ck = checksum(&pkt);
                pkt[2..4].copy_from_slice(&ck.to_be_bytes());
            }
            sent_at[next] = Some(Instant::now());
            sock.send_to(&pkt, &to.into()).map_err(io_err(format!("echo request to {dst}")))?;
            next += 1;
        }
        if let Ok(n) = (&sock).read(&mut buf) {
            // IPv4 raw sockets deliver the IP header, IPv6 ones do not.
            let off = if dst.is_ipv4() { usize::from(buf[0] & 0x0f) * 4 } else { 0 };
            let Some(icmp) = buf[..n].get(off..off + 8) else { continue };
            if icmp[0] == reply && u16::from_be_bytes([icmp[4], icmp[5]]) == id {
                let seq = usize::from(u16::from_be_bytes([icmp[6], icmp[7]]));
                if let Some(Some(t)) = sent_at.get_mut(seq).map(Option::take) {
                    rtts.push(t.elapsed());
                }
            }
        }
    }
    Ok(PingResult { sent: count, rtts })
}

fn sock_id(s: &Socket) -> u32 {
    use std::os::fd::AsRawFd;
    s.as_raw_fd() as u32
}
