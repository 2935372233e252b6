//! OpenAPI schemas of types the API serializes but does not own.
//!
//! The engine's snapshot and impairment types live in the emulator crate,
//! which knows nothing of OpenAPI, and serialize through hand-written serde
//! code (impairments as tc-style strings in a map, drops as a sparse map).
//! The mirrors here exist only to be documented: they are never built. A
//! test ([`tests`]) serializes the real types and checks every field they
//! produce against the mirror, so the two cannot drift apart silently.
#![allow(dead_code)]
// Never built, so their sizes do not matter.
#![allow(clippy::large_enum_variant)]

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// A delay in map form (as the API answers it; also accepted as input).
#[derive(Serialize, ToSchema)]
#[schema(as = DelayMap)]
pub(crate) struct DelayMap {
    /// Mean delay, e.g. `20ms`.
    time: String,
    /// Jitter (standard deviation; uniform: ±jitter), e.g. `2ms`.
    #[schema(nullable = false)]
    jitter: Option<String>,
    /// Correlation with the previous packet's jitter, e.g. `25%`.
    #[schema(nullable = false)]
    correlation: Option<String>,
    /// Jitter distribution.
    #[schema(nullable = false)]
    distribution: Option<DistributionName>,
    /// Whether jitter may reorder packets.
    #[schema(nullable = false)]
    reorder: Option<bool>,
    /// Delay-line capacity in packets.
    #[schema(nullable = false)]
    limit: Option<u32>,
}

/// A jitter distribution.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Distribution)]
pub(crate) enum DistributionName {
    /// Uniform in ±jitter.
    Uniform,
    /// Normal, σ = jitter.
    Normal,
    /// Pareto.
    Pareto,
    /// netem's paretonormal.
    Paretonormal,
}

/// Gilbert-Elliott loss parameters.
#[derive(Serialize, ToSchema)]
#[schema(as = GeModel)]
pub(crate) struct GeModel {
    /// Good → bad transition probability, e.g. `1%`.
    p: String,
    /// Bad → good, default `100% − p`.
    #[schema(nullable = false)]
    r: Option<String>,
    /// Delivery probability in the bad state (netem `1-h`).
    #[serde(rename = "1-h")]
    #[schema(nullable = false)]
    one_minus_h: Option<String>,
    /// Loss probability in the good state (netem `1-k`).
    #[serde(rename = "1-k")]
    #[schema(nullable = false)]
    one_minus_k: Option<String>,
}

/// 4-state Markov loss parameters.
#[derive(Serialize, ToSchema)]
#[schema(as = FourState)]
pub(crate) struct FourState {
    /// p13.
    p13: String,
    /// p31.
    #[schema(nullable = false)]
    p31: Option<String>,
    /// p32.
    #[schema(nullable = false)]
    p32: Option<String>,
    /// p23.
    #[schema(nullable = false)]
    p23: Option<String>,
    /// p14.
    #[schema(nullable = false)]
    p14: Option<String>,
}

/// A loss model in map form: exactly one of `percent`, `gemodel`, `state`.
#[derive(Serialize, ToSchema)]
#[schema(as = LossMap)]
pub(crate) struct LossMap {
    /// Random loss, e.g. `1%`.
    #[schema(nullable = false)]
    percent: Option<String>,
    /// Correlation of random loss, e.g. `25%`.
    #[schema(nullable = false)]
    correlation: Option<String>,
    /// Gilbert-Elliott model.
    #[schema(nullable = false)]
    gemodel: Option<GeModel>,
    /// 4-state model.
    #[schema(nullable = false)]
    state: Option<FourState>,
}

/// A (correlated) probability in map form.
#[derive(Serialize, ToSchema)]
#[schema(as = ChanceMap)]
pub(crate) struct ChanceMap {
    /// E.g. `0.1%`.
    percent: String,
    /// Correlation, e.g. `25%`.
    #[schema(nullable = false)]
    correlation: Option<String>,
}

/// Reordering in map form.
#[derive(Serialize, ToSchema)]
#[schema(as = ReorderMap)]
pub(crate) struct ReorderMap {
    /// Share of packets sent ahead of the delay, e.g. `25%`.
    percent: String,
    /// Correlation.
    #[schema(nullable = false)]
    correlation: Option<String>,
    /// Every n-th packet is a candidate (default 1).
    #[schema(nullable = false)]
    gap: Option<u32>,
}

/// A rate limit in map form.
#[derive(Serialize, ToSchema)]
#[schema(as = RateMap)]
pub(crate) struct RateMap {
    /// The rate, e.g. `100mbit`.
    rate: String,
    /// Bucket size, e.g. `32kb`.
    #[schema(nullable = false)]
    burst: Option<String>,
    /// Queue limit in packets.
    #[schema(nullable = false)]
    queue: Option<u32>,
    /// Queue limit in bytes, e.g. `1mb`.
    #[schema(nullable = false)]
    queue_bytes: Option<String>,
    /// Per-packet overhead in bytes.
    #[schema(nullable = false)]
    overhead: Option<u32>,
}

/// Impairments of one direction as configured (map form; absent: none).
#[derive(Serialize, ToSchema)]
#[schema(as = Impairments)]
pub(crate) struct ImpairmentsView {
    /// Delay.
    #[schema(nullable = false)]
    delay: Option<DelayMap>,
    /// Loss.
    #[schema(nullable = false)]
    loss: Option<LossMap>,
    /// Corruption.
    #[schema(nullable = false)]
    corrupt: Option<ChanceMap>,
    /// Duplication.
    #[schema(nullable = false)]
    duplicate: Option<ChanceMap>,
    /// Reordering.
    #[schema(nullable = false)]
    reorder: Option<ReorderMap>,
    /// Rate limit.
    #[schema(nullable = false)]
    rate: Option<RateMap>,
    /// MTU.
    #[schema(nullable = false)]
    mtu: Option<u32>,
}

/// A delay: tc syntax (`"20ms 2ms 25% distribution normal"`) or a map.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = DelayInput)]
pub(crate) enum DelayInput {
    /// tc syntax.
    Text(String),
    /// Map form.
    Map(DelayMap),
}

/// A loss: tc syntax (`"1%"`, `"gemodel 1% 10%"`) or a map.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = LossInput)]
pub(crate) enum LossInput {
    /// tc syntax.
    Text(String),
    /// Map form.
    Map(LossMap),
}

/// A probability: tc syntax (`"0.1%"`, `"1% 25%"`) or a map.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = ChanceInput)]
pub(crate) enum ChanceInput {
    /// tc syntax.
    Text(String),
    /// Map form.
    Map(ChanceMap),
}

/// Reordering: tc syntax (`"25% 50% gap 5"`) or a map.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = ReorderInput)]
pub(crate) enum ReorderInput {
    /// tc syntax.
    Text(String),
    /// Map form.
    Map(ReorderMap),
}

/// A rate limit: tc syntax (`"100mbit burst 32kb"`) or a map.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = RateInput)]
pub(crate) enum RateInput {
    /// tc syntax.
    Text(String),
    /// Map form.
    Map(RateMap),
}

/// Live state of one link direction: counters, queues, what is in force.
#[derive(Serialize, ToSchema)]
#[schema(as = DirLive)]
pub(crate) struct DirLive {
    /// Packets that entered the direction.
    rx_packets: u64,
    /// Bytes that entered.
    rx_bytes: u64,
    /// Packets that left it.
    tx_packets: u64,
    /// Bytes that left it.
    tx_bytes: u64,
    /// Dropped packets by reason (reasons with no drops are absent).
    drops: BTreeMap<String, u64>,
    /// Packets with a flipped bit.
    corrupted: u64,
    /// Extra copies created.
    duplicated: u64,
    /// Packets sent ahead of the delay.
    reordered: u64,
    /// Packets that waited in the shaper queue.
    shaped: u64,
    /// Packets that spent time in the delay line.
    delayed: u64,
    /// Packets a fault acted on.
    faulted: u64,
    /// GSO super-frames split in software.
    gso_split: u64,
    /// Script filter calls.
    filter_calls: u64,
    /// Wire packets waiting in the shaper.
    queue_packets: u64,
    /// Wire bytes waiting in the shaper.
    queue_bytes: u64,
    /// Wire packets in the delay line.
    delay_line_packets: u64,
    /// The impairments in force, netem style (configured plus faults).
    impairments: String,
    /// Ids of the faults installed on this direction.
    faults: Vec<u64>,
}

/// Traffic of a node as the node sees it.
#[derive(Serialize, ToSchema)]
#[schema(as = NodeTraffic)]
pub(crate) struct NodeTraffic {
    /// Packets the node sent.
    sent_packets: u64,
    /// Bytes the node sent.
    sent_bytes: u64,
    /// Packets delivered to the node.
    received_packets: u64,
    /// Bytes delivered to the node.
    received_bytes: u64,
    /// Malformed frames from the node.
    malformed: u64,
    /// Frames to the node dropped on a full transmit queue.
    tx_dropped: u64,
}

/// What a reload changed.
#[derive(Serialize, ToSchema)]
#[schema(as = ReloadReport)]
pub(crate) struct ReloadReport {
    /// Links carried over untouched (queues, buckets and counters kept).
    links_kept: Vec<String>,
    /// Links carried over with new impairments.
    links_changed: Vec<String>,
    /// New (or rebuilt) links.
    links_added: Vec<String>,
    /// Links that are gone.
    links_removed: Vec<String>,
    /// Packets queued on removed links, dropped.
    packets_dropped: u64,
    /// Nodes added.
    nodes_added: Vec<String>,
    /// Nodes removed.
    nodes_removed: Vec<String>,
}

/// One topology problem (as `faultmesh validate` reports it).
#[derive(Serialize, ToSchema)]
#[schema(as = Diagnostic)]
pub(crate) struct Diagnostic {
    /// 1-based line (0: unknown).
    line: u64,
    /// 1-based column (0: unknown).
    column: u64,
    /// Characters to underline.
    len: u64,
    /// What is wrong.
    message: String,
    /// How to fix it.
    #[schema(nullable = false)]
    hint: Option<String>,
}

/// A fault as the API shows it: the request as validated, plus its state.
#[derive(Serialize, ToSchema)]
pub(crate) struct FaultViewDoc {
    /// Id.
    id: u64,
    /// What the fault does.
    kind: crate::faults::FaultKind,
    /// Where: `link=NAME`, `node=NAME`, `segment=NAME`, `label:KEY=VALUE`, `all` (null for partitions).
    target: Option<String>,
    /// For link targets: `a_to_b`, `b_to_a` or `both`.
    direction: Option<String>,
    /// Share of packets it applies to.
    probability: Option<String>,
    /// Lifetime.
    ttl: Option<String>,
    /// Delay before it started.
    start_in: Option<String>,
    /// Scenario label.
    scenario: Option<String>,
    /// delay: the added delay.
    delay: Option<String>,
    /// delay, jitter: the jitter.
    jitter: Option<String>,
    /// loss, corrupt, duplicate, reorder: the rate.
    percent: Option<String>,
    /// rate_limit: the cap.
    rate: Option<String>,
    /// flap: the cycle.
    period: Option<String>,
    /// flap: the share of each cycle the link is up.
    duty: Option<String>,
    /// partition: the two groups.
    groups: Option<Vec<Vec<String>>>,
    /// `pending`, `active` or `expired`.
    state: String,
    /// Created (ms since epoch).
    created_ms: u64,
    /// Starts (ms since epoch).
    starts_ms: u64,
    /// Expires (ms since epoch), if it has a TTL.
    expires_ms: Option<u64>,
    /// Where it applies now: `link:direction`, or node names for partitions.
    applies_to: Vec<String>,
}

/// Every counter: what `GET /counters` answers.
#[derive(Serialize, ToSchema)]
#[schema(as = Counters)]
pub(crate) struct Counters {
    /// The engine's counters.
    engine: EngineCounters,
    /// Device I/O per node: `[node name, counters]` pairs.
    ports: Vec<Vec<PortEntry>>,
    /// Data-plane punctuality.
    loop_stats: LoopStatsDoc,
    /// The script filter of every link direction that has one.
    filters: Vec<FilterStatus>,
    /// Per-script counters (appliances built with script support).
    #[schema(nullable = false, value_type = Option<Vec<Object>>)]
    scripts: Option<Vec<serde_json::Value>>,
}

/// A script filter on one link direction, with its counters.
#[derive(Serialize, ToSchema)]
pub(crate) struct FilterStatus {
    /// The link.
    link: String,
    /// `a_to_b` or `b_to_a`.
    direction: String,
    /// Identifies its configuration.
    fingerprint: u64,
    /// What runs (e.g. the script file).
    script: String,
    /// Calls.
    calls: u64,
    /// Failures (errors, limits, bad verdicts).
    errors: u64,
    /// Disabled after a failure: packets get the fallback verdict.
    disabled: bool,
    /// The failure that disabled it.
    last_error: Option<String>,
    /// Time spent in calls, ns.
    time_ns: u64,
    /// Verdicts by kind (`pass`, `drop`, `delay`, …, `fallback`).
    verdicts: BTreeMap<String, u64>,
}

/// Engine counters at one instant.
#[derive(Serialize, ToSchema)]
pub(crate) struct EngineCounters {
    /// Engine time of the copy (ns).
    at_ns: u64,
    /// Per link.
    links: Vec<LinkCounters>,
    /// Per node.
    nodes: Vec<NodeCounters>,
    /// Per segment.
    segments: Vec<SegmentCounters>,
}

/// One link's counters, per direction.
#[derive(Serialize, ToSchema)]
pub(crate) struct LinkCounters {
    /// Name.
    name: String,
    /// End a.
    a: String,
    /// End b.
    b: String,
    /// a → b.
    a_to_b: DirLive,
    /// b → a.
    b_to_a: DirLive,
}

/// One node's traffic.
#[derive(Serialize, ToSchema)]
pub(crate) struct NodeCounters {
    /// Name.
    name: String,
    /// Its link.
    link: String,
    /// Packets the node sent.
    sent_packets: u64,
    /// Bytes the node sent.
    sent_bytes: u64,
    /// Packets delivered to the node.
    received_packets: u64,
    /// Bytes delivered to the node.
    received_bytes: u64,
    /// Malformed frames from the node.
    malformed: u64,
    /// Frames to the node dropped on a full transmit queue.
    tx_dropped: u64,
}

/// One segment's forwarding counters.
#[derive(Serialize, ToSchema)]
pub(crate) struct SegmentCounters {
    /// Name.
    name: String,
    /// `switch` or `router`.
    kind: String,
    /// Frames forwarded (each flooded copy counts).
    forwarded: u64,
    /// Frames flooded.
    flooded: u64,
    /// Frames the segment answered itself (ARP, ND, ping).
    answered: u64,
    /// ICMP errors generated.
    icmp_errors: u64,
    /// Drops by reason (reasons with no drops are absent).
    drops: BTreeMap<String, u64>,
    /// Learned MACs (switch) or neighbours (router).
    table_entries: u64,
    /// Neighbour entries evicted to stay under the cache's cap.
    neighbor_evictions: u64,
    /// Packets waiting for a neighbour to resolve.
    neighbor_pending_packets: u64,
}

/// An element of a `[node name, counters]` pair.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum PortEntry {
    /// The node.
    Node(String),
    /// Its device's counters.
    Stats(PortCounters),
}

/// Device I/O counters of one port.
#[derive(Serialize, ToSchema)]
pub(crate) struct PortCounters {
    /// Frames received.
    rx_frames: u64,
    /// Frames sent.
    tx_frames: u64,
    /// Malformed frames at the device level.
    rx_malformed: u64,
    /// Frames the kernel refused.
    tx_errors: u64,
    /// Frames the kernel dropped before the appliance read them.
    rx_kernel_drops: u64,
}

/// Data-plane loop counters.
#[derive(Serialize, ToSchema)]
#[schema(as = LoopStats)]
pub(crate) struct LoopStatsDoc {
    /// Times the loop woke up.
    wakeups: u64,
    /// Deadlines served.
    deadlines: u64,
    /// Worst release lateness (ns).
    lateness_max_ns: u64,
}

/// The running topology, in the shape of a topology file (JSON).
#[derive(Serialize, ToSchema)]
#[schema(as = TopologyDoc)]
pub(crate) struct TopologyDoc {
    /// Name (namespaces are `fm-<name>-<node>` unless `--prefix`).
    name: String,
    /// Seed of every random decision.
    seed: u64,
    /// Free text.
    #[schema(nullable = false)]
    description: Option<String>,
    /// Nodes by name.
    nodes: BTreeMap<String, TopologyNode>,
    /// Segments by name.
    segments: BTreeMap<String, TopologySegment>,
    /// Links by name.
    links: BTreeMap<String, TopologyLink>,
    /// Prefixes behind nodes.
    #[schema(nullable = false)]
    routes: Option<Vec<TopologyRoute>>,
}

/// A node of the topology.
#[derive(Serialize, ToSchema)]
pub(crate) struct TopologyNode {
    /// `host`, `attach`, `tun` or `tap`.
    kind: String,
    /// Addresses with prefix length.
    #[schema(nullable = false)]
    addresses: Option<Vec<String>>,
    /// Default gateways.
    #[schema(nullable = false)]
    gateway: Option<Vec<String>>,
    /// MTU.
    #[schema(nullable = false)]
    mtu: Option<u32>,
    /// host: `veth`, `tun` or `tap`; tun/tap: the device name.
    #[schema(nullable = false)]
    device: Option<String>,
    /// Its namespace, when not the one faultmesh makes.
    #[schema(nullable = false)]
    netns: Option<String>,
    /// attach: the interface taken.
    #[schema(nullable = false)]
    interface: Option<String>,
    /// MAC address.
    #[schema(nullable = false)]
    mac: Option<String>,
    /// Labels.
    #[schema(nullable = false)]
    labels: Option<BTreeMap<String, String>>,
}

/// A segment of the topology.
#[derive(Serialize, ToSchema)]
pub(crate) struct TopologySegment {
    /// `switch` or `router`.
    kind: String,
    /// router: its addresses.
    #[schema(nullable = false)]
    addresses: Option<Vec<String>>,
    /// Labels.
    #[schema(nullable = false)]
    labels: Option<BTreeMap<String, String>>,
    /// Its Lua script.
    #[schema(nullable = false, value_type = Option<Object>)]
    script: Option<serde_json::Value>,
}

/// A link of the topology.
#[derive(Serialize, ToSchema)]
pub(crate) struct TopologyLink {
    /// End a (node or segment).
    a: String,
    /// End b.
    b: String,
    /// Impairments a → b (absent: none).
    #[schema(nullable = false)]
    a_to_b: Option<ImpairmentsView>,
    /// Impairments b → a.
    #[schema(nullable = false)]
    b_to_a: Option<ImpairmentsView>,
    /// Its Lua script.
    #[schema(nullable = false, value_type = Option<Object>)]
    script: Option<serde_json::Value>,
    /// Labels.
    #[schema(nullable = false)]
    labels: Option<BTreeMap<String, String>>,
}

/// A prefix that lies behind a node.
#[derive(Serialize, ToSchema)]
pub(crate) struct TopologyRoute {
    /// The prefix.
    prefix: String,
    /// The node.
    via: String,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use faultmesh_emulator::engine::Engine;
    use faultmesh_emulator::impair::ImpairmentsDoc;
    use faultmesh_emulator::time::Instant;
    use faultmesh_emulator::topology;
    use utoipa::PartialSchema;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;

    use super::*;

    fn props<T: PartialSchema>() -> BTreeSet<String> {
        match T::schema() {
            RefOr::T(Schema::Object(o)) => o.properties.keys().cloned().collect(),
            other => panic!("not an object schema: {}", serde_json::to_string(&other).unwrap_or_default()),
        }
    }

    fn keys(v: &serde_json::Value) -> BTreeSet<String> {
        v.as_object().expect("an object").keys().cloned().collect()
    }

    fn subset(have: &BTreeSet<String>, schema: &BTreeSet<String>, what: &str) {
        let extra: Vec<_> = have.difference(schema).collect();
        assert!(extra.is_empty(), "{what}: fields {extra:?} are not in the schema");
    }

    /// Every field the real types produce is in the mirror, and (where the
    /// real type always writes them) the mirror has no field they lack.
    #[test]
    fn mirrors_match_what_the_engine_serializes() {
        let yaml = "name: t\nnodes:\n  a: {kind: host, addresses: [10.0.0.1/24]}\n  b: {kind: host, addresses: [10.0.0.2/24]}\nsegments:\n  lan: {kind: switch}\nlinks:\n  la: {a: a, b: lan, both: {delay: 10ms 2ms 25% distribution normal limit 50, loss: gemodel 1% 10%, corrupt: 1% 5%, duplicate: 1%, reorder: 5% 10% gap 3, rate: 10mbit burst 64kb queue 10 queue_bytes 64kb overhead 4, mtu: 1400}}\n  lb: {a: b, b: lan, both: {loss: state 1%}}\n";
        let t = topology::parse_str(yaml, "t", None).unwrap();
        let e = Engine::new(&t, Instant::ZERO);
        let snap = e.snapshot();

        let live = serde_json::to_value(&snap.links[0].a_to_b).unwrap();
        assert_eq!(keys(&live), props::<DirLive>(), "DirLive");
        let node = serde_json::to_value(snap.nodes[0].counters).unwrap();
        assert_eq!(keys(&node), props::<NodeTraffic>(), "NodeTraffic");
        let report = serde_json::to_value(faultmesh_emulator::engine::ReloadReport::default()).unwrap();
        assert_eq!(keys(&report), props::<ReloadReport>(), "ReloadReport");

        let doc = serde_json::to_value(ImpairmentsDoc::from(&t.links[0].a_to_b)).unwrap();
        assert_eq!(keys(&doc), props::<ImpairmentsView>(), "Impairments");
        subset(&keys(&doc["delay"]), &props::<DelayMap>(), "DelayMap");
        subset(&keys(&doc["loss"]), &props::<LossMap>(), "LossMap");
        subset(&keys(&doc["loss"]["gemodel"]), &props::<GeModel>(), "GeModel");
        subset(&keys(&doc["corrupt"]), &props::<ChanceMap>(), "ChanceMap");
        subset(&keys(&doc["reorder"]), &props::<ReorderMap>(), "ReorderMap");
        assert_eq!(keys(&doc["rate"]), props::<RateMap>(), "RateMap");
        let four = serde_json::to_value(ImpairmentsDoc::from(&t.links[1].a_to_b)).unwrap();
        assert_eq!(keys(&four["loss"]["state"]), props::<FourState>(), "FourState");

        let req =
            serde_json::from_value(serde_json::json!({"kind": "delay", "target": "all", "delay": "1ms"})).unwrap();
        let fault = crate::faults::Fault::validate(req, &t, Instant::ZERO, 0).unwrap();
        let view = serde_json::to_value(fault.view(&t, Instant::ZERO)).unwrap();
        assert_eq!(keys(&view), props::<FaultViewDoc>(), "FaultView");

        let counters = serde_json::to_value(faultmesh_emulator::io::dataplane::DataPlaneSnapshot {
            engine: e.snapshot(),
            ports: vec![("a".into(), faultmesh_emulator::io::port::PortStats::default().into())],
            loop_stats: Default::default(),
            filters: vec![faultmesh_emulator::io::command::FilterStatus {
                link: "la".into(),
                direction: "a_to_b",
                fingerprint: 1,
                stats: Default::default(),
            }],
        })
        .unwrap();
        let mut want = props::<Counters>();
        want.remove("scripts");
        assert_eq!(keys(&counters), want, "Counters");
        assert_eq!(keys(&counters["engine"]), props::<EngineCounters>(), "EngineCounters");
        assert_eq!(keys(&counters["engine"]["links"][0]), props::<LinkCounters>(), "LinkCounters");
        assert_eq!(keys(&counters["engine"]["nodes"][0]), props::<NodeCounters>(), "NodeCounters");
        assert_eq!(keys(&counters["engine"]["segments"][0]), props::<SegmentCounters>(), "SegmentCounters");
        assert_eq!(keys(&counters["ports"][0][1]), props::<PortCounters>(), "PortCounters");
        assert_eq!(keys(&counters["loop_stats"]), props::<LoopStatsDoc>(), "LoopStats");
        assert_eq!(keys(&counters["filters"][0]), props::<FilterStatus>(), "FilterStatus");

        for file in ["wan.yaml", "three-tier.yaml", "star.yaml", "dual-stack.yaml"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../topologies").join(file);
            let (t, _) = topology::load_file(&path).unwrap_or_else(|_| panic!("{file}"));
            let doc = serde_json::to_value(&t).unwrap();
            subset(&keys(&doc), &props::<TopologyDoc>(), file);
            for n in doc["nodes"].as_object().unwrap().values() {
                subset(&keys(n), &props::<TopologyNode>(), "TopologyNode");
            }
            for n in doc["segments"].as_object().unwrap().values() {
                subset(&keys(n), &props::<TopologySegment>(), "TopologySegment");
            }
            for n in doc["links"].as_object().unwrap().values() {
                subset(&keys(n), &props::<TopologyLink>(), "TopologyLink");
            }
        }

        let bad = topology::parse_str("links:\n  x: {a: y, b: z}\n", "t", None).unwrap_err();
        let d = serde_json::to_value(&bad).unwrap();
        subset(&keys(&d[0]), &props::<Diagnostic>(), "Diagnostic");
    }
}
