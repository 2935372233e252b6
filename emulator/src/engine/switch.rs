//! The switch: MAC learning and flooding.
//!
//! Contract: a switch learns the source MAC of every frame on its ingress
//! link (bounded, ageing table: [`MacTable`]), forwards a known unicast
//! destination out of the one port it was learned on, never back out of the
//! ingress port (counted as `filtered`), and floods broadcast, multicast and
//! unknown unicast to every other port (counted once as `flooded`, each copy
//! as `forwarded`).

use super::{Engine, SegKind};
use crate::counters::DropReason;
use crate::forward::Port;
use crate::packet::Packet;
use crate::time::Instant;
use crate::topology::{LinkId, SegmentId};
use crate::wire::PacketInfo;

impl Engine {
    pub(super) fn switch(&mut self, s: SegmentId, in_link: LinkId, pkt: Packet, info: &PacketInfo, at: Instant) {
        let SegKind::Switch(macs) = &mut self.segs[s].kind else {
            // A router told to switch (by a rule) routes.
            self.route(s, in_link, pkt, info, at);
            return;
        };
        macs.learn(info.src_mac, in_link, at);
        if !info.dst_mac.is_multicast() {
            if let Some(l) = macs.lookup(info.dst_mac, at) {
                if l == in_link {
                    self.seg_drop(s, &pkt, DropReason::Filtered);
                } else if let Some(p) = self.port_of(s, l) {
                    self.send_port(s, p, pkt, at);
                }
                return;
            }
        }
        self.flood(s, Some(in_link), pkt, at);
    }

    fn flood(&mut self, s: SegmentId, except: Option<LinkId>, pkt: Packet, at: Instant) {
        self.segs[s].counters.flooded += 1;
        let ports: Vec<Port> = self.segs[s].ports.iter().copied().filter(|p| Some(p.link) != except).collect();
        let Some((last, rest)) = ports.split_last() else {
            return;
        };
        for p in rest {
            self.send_port(s, *p, pkt.clone(), at);
        }
        self.send_port(s, *last, pkt, at);
    }
}
