//! Counters: what every link direction, node and segment did with traffic.
//!
//! Contract: counters are plain `u64` fields owned by the single thread that
//! moves packets — no atomics, no locks on the hot path. The I/O layer copies
//! them into a snapshot periodically for the control plane. Packet counts are
//! in *wire packets*: a GSO super-frame of 40 segments counts 40, and bytes
//! are wire bytes (every segment's headers). Drops are not errors: each has a
//! [`DropReason`], counted per link direction.

use serde::Serialize;

/// Why a packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum DropReason {
    /// The loss model dropped it.
    Loss = 0,
    /// The shaper queue was full (tail drop).
    QueueFull,
    /// The delay line was full.
    DelayLineFull,
    /// A filter script returned `drop`.
    Filter,
    /// Larger than the link MTU.
    Mtu,
    /// Headers were truncated or inconsistent.
    Malformed,
    /// No route / no known destination.
    NoRoute,
    /// TTL or hop limit expired at a router.
    TtlExceeded,
    /// A loss or blackhole fault dropped it.
    Fault,
    /// The link was down (fault: down or flapping).
    LinkDown,
    /// A partition fault separates its source and destination.
    Partition,
    /// The device's transmit queue was full.
    TxQueueFull,
    /// A filter script failed and its link is configured to drop on error.
    ScriptError,
    /// The link was removed by a reload while the packet was queued.
    LinkRemoved,
    /// The next hop's address did not resolve (ARP/ND) within the resolve
    /// timeout; the router held the packet until then.
    Unresolved,
    /// The frame was dropped by the segment on purpose (e.g. a switch
    /// filtering a frame back to its own port, link-local control traffic).
    Filtered,
    /// The router's queue for an unresolved next hop (or its table of
    /// next hops waiting to resolve) was full.
    NeighborQueueFull,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 17] = [
        DropReason::Loss,
        DropReason::QueueFull,
        DropReason::DelayLineFull,
        DropReason::Filter,
        DropReason::Mtu,
        DropReason::Malformed,
        DropReason::NoRoute,
        DropReason::TtlExceeded,
        DropReason::Fault,
        DropReason::LinkDown,
        DropReason::Partition,
        DropReason::TxQueueFull,
        DropReason::ScriptError,
        DropReason::LinkRemoved,
        DropReason::Unresolved,
        DropReason::Filtered,
        DropReason::NeighborQueueFull,
    ];
    /// Number of reasons.
    pub const COUNT: usize = Self::ALL.len();

    /// The label used in JSON and Prometheus.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::QueueFull => "queue_full",
            DropReason::DelayLineFull => "delay_line_full",
            DropReason::Filter => "filter",
            DropReason::Mtu => "mtu",
            DropReason::Malformed => "malformed",
            DropReason::NoRoute => "no_route",
            DropReason::TtlExceeded => "ttl_exceeded",
            DropReason::Fault => "fault",
            DropReason::LinkDown => "link_down",
            DropReason::Partition => "partition",
            DropReason::TxQueueFull => "tx_queue_full",
            DropReason::ScriptError => "script_error",
            DropReason::LinkRemoved => "link_removed",
            DropReason::Unresolved => "unresolved",
            DropReason::Filtered => "filtered",
            DropReason::NeighborQueueFull => "neighbor_queue_full",
        }
    }

    /// The pipeline stage that counts this reason.
    pub fn stage(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::QueueFull => "shaper",
            DropReason::DelayLineFull => "delay",
            DropReason::Filter | DropReason::ScriptError => "filter",
            DropReason::Mtu => "mtu",
            DropReason::Fault | DropReason::LinkDown | DropReason::Partition => "fault",
            _ => "forward",
        }
    }
}

/// Drops by reason: packets and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// Packets per reason, indexed by `DropReason as usize`.
    pub packets: [u64; DropReason::COUNT],
    /// Bytes per reason.
    pub bytes: [u64; DropReason::COUNT],
}

impl DropCounts {
    /// Counts one drop.
    #[inline]
    pub fn add(&mut self, reason: DropReason, packets: u64, bytes: u64) {
        self.packets[reason as usize] += packets;
        self.bytes[reason as usize] += bytes;
    }

    /// Packets dropped for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.packets[reason as usize]
    }

    /// All dropped packets.
    pub fn total(&self) -> u64 {
        self.packets.iter().sum()
    }

    /// Adds another set of drops.
    pub fn merge(&mut self, o: &DropCounts) {
        for i in 0..DropReason::COUNT {
            self.packets[i] += o.packets[i];
            self.bytes[i] += o.bytes[i];
        }
    }
}

impl Serialize for DropCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for r in DropReason::ALL {
            if self.packets[r as usize] > 0 {
                m.serialize_entry(r.as_str(), &self.packets[r as usize])?;
            }
        }
        m.end()
    }
}

/// Counters of one link direction, stage by stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DirCounters {
    /// Packets that entered the direction.
    pub rx_packets: u64,
    /// Bytes that entered.
    pub rx_bytes: u64,
    /// Packets that left it.
    pub tx_packets: u64,
    /// Bytes that left it.
    pub tx_bytes: u64,
    /// Drops by reason.
    pub drops: DropCounts,
    /// Packets with a flipped bit.
    pub corrupted: u64,
    /// Extra copies created.
    pub duplicated: u64,
    /// Packets sent ahead of the delay (netem reorder).
    pub reordered: u64,
    /// Packets that had to wait in the shaper queue.
    pub shaped: u64,
    /// Packets that spent time in the delay line.
    pub delayed: u64,
    /// Packets that went through the fault overlay with an effect.
    pub faulted: u64,
    /// GSO super-frames split in software because a per-segment decision hit.
    pub gso_split: u64,
    /// Filter calls.
    pub filter_calls: u64,
}

impl DirCounters {
    /// All drops.
    pub fn dropped(&self) -> u64 {
        self.drops.total()
    }

    /// Adds another direction's counters (for per-node sums).
    pub fn merge(&mut self, o: &DirCounters) {
        self.rx_packets += o.rx_packets;
        self.rx_bytes += o.rx_bytes;
        self.tx_packets += o.tx_packets;
        self.tx_bytes += o.tx_bytes;
        self.drops.merge(&o.drops);
        self.corrupted += o.corrupted;
        self.duplicated += o.duplicated;
        self.reordered += o.reordered;
        self.shaped += o.shaped;
        self.delayed += o.delayed;
        self.faulted += o.faulted;
        self.gso_split += o.gso_split;
        self.filter_calls += o.filter_calls;
    }
}

/// Per-node traffic as the node sees it: what it sent into the appliance and
/// what the appliance delivered to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeCounters {
    /// Packets the node sent.
    pub sent_packets: u64,
    /// Bytes the node sent.
    pub sent_bytes: u64,
    /// Packets delivered to the node.
    pub received_packets: u64,
    /// Bytes delivered to the node.
    pub received_bytes: u64,
    /// Frames from the node that were malformed.
    pub malformed: u64,
    /// Frames to the node dropped because its transmit queue was full.
    pub tx_dropped: u64,
}

/// Per-segment forwarding counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SegmentCounters {
    /// Frames forwarded (including each flooded copy).
    pub forwarded: u64,
    /// Frames flooded (unknown unicast, broadcast, multicast).
    pub flooded: u64,
    /// Frames the segment answered itself (ARP, ND, ping to the gateway).
    pub answered: u64,
    /// ICMP errors generated (time exceeded, unreachable, too big).
    pub icmp_errors: u64,
    /// Drops by reason.
    pub drops: DropCounts,
}
