//! Faults: requests, validation, target selection and the registry.
//!
//! Contract: a fault is validated against the running topology before it is
//! stored; its target selector (`link=NAME`, `node=NAME`, `segment=NAME`,
//! `label:KEY=VALUE`, `all`) is resolved to link directions every time faults
//! are installed, so a reload re-targets them by name. The registry is pure
//! bookkeeping: [`FaultRegistry::plan`] computes, for every link direction,
//! the effects to apply (a [`FaultPlan`]), and the controller sends that to
//! the engine in one command (alone, or inside a reload).

use std::collections::BTreeMap;
use std::time::Duration;

use faultmesh_emulator::fault::{EffectKind, FaultEffect, PartitionEffect};
use faultmesh_emulator::io::command::FaultPlan;
use faultmesh_emulator::time::{Instant, duration_nanos};
use faultmesh_emulator::topology::{LinkId, NodeId, Topology};
use faultmesh_emulator::units;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// The kinds of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Extra delay (`delay`, optional `jitter`), for a `probability` share of packets.
    Delay,
    /// Extra delay uniform in [0, 2·`jitter`].
    Jitter,
    /// Drop `percent` of packets.
    Loss,
    /// Flip a bit in `percent` of packets.
    Corrupt,
    /// Duplicate `percent` of packets.
    Duplicate,
    /// Send `percent` of packets ahead of the delay line.
    Reorder,
    /// Cap the bandwidth at `rate`.
    RateLimit,
    /// Drop everything.
    Blackhole,
    /// Take the target down (node: all its traffic).
    Down,
    /// Drop traffic between two `groups` of nodes.
    Partition,
    /// Alternate down and up every `period`, up for `duty` of it.
    Flap,
}

/// A request to create a fault.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "delay", "target": "all", "delay": "10ms", "jitter": "2ms", "probability": "50%", "ttl": "30s", "scenario": "slow"}))]
pub struct FaultRequest {
    /// What the fault does.
    pub kind: FaultKind,
    /// Where: `link=NAME`, `node=NAME`, `segment=NAME`, `label:KEY=VALUE` or `all`
    /// (not for partitions).
    #[serde(default)]
    pub target: Option<String>,
    /// For link targets: `a_to_b`, `b_to_a` or `both` (default).
    #[serde(default)]
    pub direction: Option<String>,
    /// Share of packets the fault applies to (delay, jitter, blackhole, down, flap), e.g. `50%`.
    #[serde(default)]
    pub probability: Option<String>,
    /// How long it lasts, e.g. `30s`.
    #[serde(default)]
    pub ttl: Option<String>,
    /// When it starts, from now, e.g. `5s`.
    #[serde(default)]
    pub start_in: Option<String>,
    /// A label to group faults (delete them together).
    #[serde(default)]
    pub scenario: Option<String>,
    /// delay: the added delay, e.g. `100ms`.
    #[serde(default)]
    pub delay: Option<String>,
    /// delay, jitter: the jitter, e.g. `10ms`.
    #[serde(default)]
    pub jitter: Option<String>,
    /// loss, corrupt, duplicate, reorder: the rate, e.g. `10%`.
    #[serde(default)]
    pub percent: Option<String>,
    /// rate_limit: the cap, e.g. `1mbit`.
    #[serde(default)]
    pub rate: Option<String>,
    /// flap: the cycle, e.g. `10s`.
    #[serde(default)]
    pub period: Option<String>,
    /// flap: the share of each cycle the link is up, e.g. `50%` (default).
    #[serde(default)]
    pub duty: Option<String>,
    /// partition: two groups of node names or `label:KEY=VALUE` selectors.
    #[serde(default)]
    pub groups: Option<Vec<Vec<String>>>,
}

/// A validated target.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Every link.
    All,
    /// One link.
    Link(String),
    /// A node's link.
    Node(String),
    /// Every link of a segment.
    Segment(String),
    /// Links of nodes, links and segments with this label.
    Label(String, String),
}

impl Target {
    /// Parses a selector.
    pub fn parse(s: &str) -> Result<Target, String> {
        let s = s.trim();
        if s == "all" {
            return Ok(Target::All);
        }
        if let Some(rest) = s.strip_prefix("label:") {
            let (k, v) = rest.split_once('=').ok_or_else(|| format!("label selector `{s}` needs KEY=VALUE"))?;
            return Ok(Target::Label(k.to_string(), v.to_string()));
        }
        let (kind, name) = s.split_once('=').ok_or_else(|| {
            format!("target `{s}` is not `link=NAME`, `node=NAME`, `segment=NAME`, `label:KEY=VALUE` or `all`")
        })?;
        match kind {
            "link" => Ok(Target::Link(name.to_string())),
            "node" => Ok(Target::Node(name.to_string())),
            "segment" => Ok(Target::Segment(name.to_string())),
            other => Err(format!("unknown target kind `{other}`")),
        }
    }

    /// The link directions it covers in `topo` (before any direction filter).
    pub fn links(&self, topo: &Topology) -> Vec<LinkId> {
        let labelled = |labels: &BTreeMap<String, String>, k: &str, v: &str| labels.get(k).is_some_and(|x| x == v);
        let mut out: Vec<LinkId> = match self {
            Target::All => (0..topo.links.len()).collect(),
            Target::Link(n) => topo.link_index(n).into_iter().collect(),
            Target::Node(n) => topo.node_index(n).map(|i| topo.nodes[i].link).into_iter().collect(),
            Target::Segment(n) => topo.segment_index(n).map(|s| topo.segments[s].links.clone()).unwrap_or_default(),
            Target::Label(k, v) => {
                let mut l: Vec<LinkId> =
                    topo.links.iter().enumerate().filter(|(_, l)| labelled(&l.labels, k, v)).map(|(i, _)| i).collect();
                l.extend(topo.nodes.iter().filter(|n| labelled(&n.labels, k, v)).map(|n| n.link));
                for s in topo.segments.iter().filter(|s| labelled(&s.labels, k, v)) {
                    l.extend(s.links.iter().copied());
                }
                l
            }
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    fn exists(&self, topo: &Topology) -> bool {
        match self {
            Target::All => true,
            Target::Link(n) => topo.link_index(n).is_some(),
            Target::Node(n) => topo.node_index(n).is_some(),
            Target::Segment(n) => topo.segment_index(n).is_some(),
            Target::Label(..) => !self.links(topo).is_empty(),
        }
    }
}

fn nodes_of(sel: &str, topo: &Topology) -> Vec<NodeId> {
    if let Some(rest) = sel.strip_prefix("label:") {
        if let Some((k, v)) = rest.split_once('=') {
            return topo
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.labels.get(k).is_some_and(|x| x == v))
                .map(|(i, _)| i)
                .collect();
        }
        return Vec::new();
    }
    topo.node_index(sel).into_iter().collect()
}

/// A stored fault.
#[derive(Clone, Debug)]
pub struct Fault {
    /// Id.
    pub id: u64,
    /// The request as validated (echoed back).
    pub request: FaultRequest,
    /// The effect (none for partitions).
    pub effect: Option<EffectKind>,
    /// Target (none for partitions).
    pub target: Option<Target>,
    /// Directions of link targets: `[a_to_b, b_to_a]`.
    pub directions: [bool; 2],
    /// Per-packet probability.
    pub probability: f64,
    /// Engine time it starts.
    pub start: Instant,
    /// Engine time it ends.
    pub end: Option<Instant>,
    /// Wall clock: created, starts, expires (ms since epoch).
    pub created_ms: u64,
    /// Wall clock start.
    pub starts_ms: u64,
    /// Wall clock end.
    pub expires_ms: Option<u64>,
}

/// A fault as the API shows it. Its schema is [`crate::schema::FaultViewDoc`]:
/// derived, the flattened request would carry the request's "no other
/// fields" rule into the view.
#[derive(Clone, Debug, Serialize)]
pub struct FaultView {
    /// Id.
    pub id: u64,
    /// The request, normalised.
    #[serde(flatten)]
    pub request: FaultRequest,
    /// `pending`, `active` or `expired`.
    pub state: &'static str,
    /// Created (ms since epoch).
    pub created_ms: u64,
    /// Starts (ms since epoch).
    pub starts_ms: u64,
    /// Expires (ms since epoch), if it has a TTL.
    pub expires_ms: Option<u64>,
    /// Where it applies now: `link:direction`, or node names for partitions.
    pub applies_to: Vec<String>,
}

fn dur(field: &str, v: &Option<String>) -> Result<Option<Duration>, ApiError> {
    v.as_ref()
        .map(|s| {
            units::parse_duration(s)
                .map_err(|e| ApiError::invalid(field, e.message).with_hint(e.hint.unwrap_or_default()))
        })
        .transpose()
}

fn pct(field: &str, v: &Option<String>) -> Result<Option<f64>, ApiError> {
    v.as_ref()
        .map(|s| {
            units::parse_percent(s)
                .map_err(|e| ApiError::invalid(field, e.message).with_hint(e.hint.unwrap_or_default()))
        })
        .transpose()
}

fn need<T>(field: &str, kind: FaultKind, v: Option<T>, example: &str) -> Result<T, ApiError> {
    v.ok_or_else(|| {
        ApiError::invalid(
            field,
            format!(
                "a `{}` fault needs `{field}`",
                serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
            ),
        )
        .with_hint(format!("e.g. \"{field}\": \"{example}\""))
    })
}

fn forbid(field: &str, present: bool, why: &str) -> Result<(), ApiError> {
    if present { Err(ApiError::invalid(field, format!("`{field}` does not apply here: {why}"))) } else { Ok(()) }
}

impl Fault {
    /// Validates a request against the running topology.
    pub fn validate(req: FaultRequest, topo: &Topology, now: Instant, now_ms: u64) -> Result<Fault, ApiError> {
        let k = req.kind;
        let probability = pct("probability", &req.probability)?;
        let percent = pct("percent", &req.percent)?;
        let ttl = dur("ttl", &req.ttl)?;
        let start_in = dur("start_in", &req.start_in)?.unwrap_or(Duration::ZERO);
        if ttl == Some(Duration::ZERO) {
            return Err(
                ApiError::invalid("ttl", "ttl is zero").with_hint("omit it for a fault that lasts until deleted")
            );
        }
        let delay = dur("delay", &req.delay)?;
        let jitter = dur("jitter", &req.jitter)?;
        let period = dur("period", &req.period)?;
        let duty = pct("duty", &req.duty)?;
        let rate = req
            .rate
            .as_ref()
            .map(|s| {
                units::parse_rate(s)
                    .map_err(|e| ApiError::invalid("rate", e.message).with_hint(e.hint.unwrap_or_default()))
            })
            .transpose()?;
        use FaultKind as K;
        // Fields that belong to other kinds.
        forbid("delay", req.delay.is_some() && k != K::Delay, "only `delay` faults take a delay")?;
        forbid(
            "jitter",
            req.jitter.is_some() && !matches!(k, K::Delay | K::Jitter),
            "only `delay` and `jitter` faults take a jitter",
        )?;
        forbid(
            "percent",
            percent.is_some() && !matches!(k, K::Loss | K::Corrupt | K::Duplicate | K::Reorder),
            "only loss, corrupt, duplicate and reorder take a percent",
        )?;
        forbid(
            "probability",
            probability.is_some() && matches!(k, K::Loss | K::Corrupt | K::Duplicate | K::Reorder),
            "the rate of this fault is its `percent`",
        )?;
        forbid("probability", probability.is_some() && k == K::RateLimit, "a rate limit applies to all traffic")?;
        forbid("rate", rate.is_some() && k != K::RateLimit, "only `rate_limit` takes a rate")?;
        forbid("period", period.is_some() && k != K::Flap, "only `flap` takes a period")?;
        forbid("duty", duty.is_some() && k != K::Flap, "only `flap` takes a duty")?;
        forbid("groups", req.groups.is_some() && k != K::Partition, "only `partition` takes groups")?;
        let effect = match k {
            K::Delay => Some(EffectKind::Delay {
                delay: need("delay", k, delay, "100ms")?,
                jitter: jitter.unwrap_or(Duration::ZERO),
            }),
            K::Jitter => {
                let j = need("jitter", k, jitter, "10ms")?;
                Some(EffectKind::Delay { delay: j, jitter: j })
            }
            K::Loss => Some(EffectKind::Loss),
            K::Corrupt => Some(EffectKind::Corrupt),
            K::Duplicate => Some(EffectKind::Duplicate),
            K::Reorder => Some(EffectKind::Reorder),
            K::RateLimit => Some(EffectKind::RateLimit { rate_bps: need("rate", k, rate, "1mbit")? }),
            K::Blackhole => Some(EffectKind::Blackhole),
            K::Down => Some(EffectKind::Down),
            K::Flap => {
                let p = need("period", k, period, "10s")?;
                if p.is_zero() {
                    return Err(ApiError::invalid("period", "period is zero").with_hint("e.g. \"period\": \"10s\""));
                }
                let up = duty.unwrap_or(0.5);
                Some(EffectKind::Flap { period: p, down: p.mul_f64(1.0 - up) })
            }
            K::Partition => None,
        };
        let probability = match k {
            K::Loss | K::Corrupt | K::Duplicate | K::Reorder => need("percent", k, percent, "10%")?,
            _ => probability.unwrap_or(1.0),
        };
        let (target, directions) = if k == K::Partition {
            forbid("target", req.target.is_some(), "a partition is between `groups` of nodes")?;
            forbid("direction", req.direction.is_some(), "a partition is between `groups` of nodes")?;
            let groups = need("groups", k, req.groups.clone(), "[[\"web1\",\"web2\"],[\"db\"]]")?;
            if groups.len() != 2 {
                return Err(ApiError::invalid(
                    "groups",
                    format!("a partition needs exactly 2 groups, got {}", groups.len()),
                ));
            }
            let mut seen = vec![0u8; topo.nodes.len()];
            for (gi, g) in groups.iter().enumerate() {
                if g.is_empty() {
                    return Err(ApiError::invalid(format!("groups[{gi}]"), "group is empty"));
                }
                for sel in g {
                    let ns = nodes_of(sel, topo);
                    if ns.is_empty() {
                        return Err(ApiError::invalid(format!("groups[{gi}]"), format!("`{sel}` matches no node")));
                    }
                    for n in ns {
                        if seen[n] != 0 && seen[n] != gi as u8 + 1 {
                            return Err(ApiError::invalid(
                                "groups",
                                format!("node `{}` is in both groups", topo.nodes[n].name),
                            ));
                        }
                        seen[n] = gi as u8 + 1;
                    }
                }
            }
            (None, [true, true])
        } else {
            let sel = need("target", k, req.target.clone(), "node=db")?;
            let t = Target::parse(&sel).map_err(|m| ApiError::invalid("target", m))?;
            if !t.exists(topo) {
                return Err(ApiError::invalid("target", format!("`{sel}` matches nothing in the running topology")));
            }
            let dirs = match req.direction.as_deref() {
                None | Some("both") => [true, true],
                Some(d @ ("a_to_b" | "b_to_a")) => {
                    if !matches!(t, Target::Link(_)) {
                        return Err(ApiError::invalid("direction", "a direction applies to link targets only"));
                    }
                    [d == "a_to_b", d == "b_to_a"]
                }
                Some(other) => {
                    return Err(ApiError::invalid("direction", format!("unknown direction `{other}`"))
                        .with_hint("use a_to_b, b_to_a or both"));
                }
            };
            (Some(t), dirs)
        };
        if let Some(s) = &req.scenario {
            if s.is_empty() || s.len() > 128 {
                return Err(ApiError::invalid("scenario", "a scenario label has 1 to 128 characters"));
            }
        }
        let start = now.add_nanos(duration_nanos(start_in));
        let end = ttl.map(|t| start.add_nanos(duration_nanos(t)));
        Ok(Fault {
            id: 0,
            request: req,
            effect,
            target,
            directions,
            probability,
            start,
            end,
            created_ms: now_ms,
            starts_ms: now_ms + start_in.as_millis() as u64,
            expires_ms: ttl.map(|t| now_ms + (start_in + t).as_millis() as u64),
        })
    }

    /// Where the fault applies in `topo`.
    pub fn applies_to(&self, topo: &Topology) -> Vec<String> {
        match &self.target {
            Some(t) => {
                let mut v = Vec::new();
                for l in t.links(topo) {
                    for (d, name) in [(0usize, "a_to_b"), (1, "b_to_a")] {
                        if self.directions[d] {
                            v.push(format!("{}:{name}", topo.links[l].name));
                        }
                    }
                }
                v
            }
            None => self
                .request
                .groups
                .iter()
                .flatten()
                .map(|g| {
                    g.iter()
                        .flat_map(|s| nodes_of(s, topo))
                        .map(|n| topo.nodes[n].name.clone())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect(),
        }
    }

    /// The view shown to clients.
    pub fn view(&self, topo: &Topology, now: Instant) -> FaultView {
        let state = if now < self.start {
            "pending"
        } else if self.end.is_some_and(|e| now >= e) {
            "expired"
        } else {
            "active"
        };
        FaultView {
            id: self.id,
            request: self.request.clone(),
            state,
            created_ms: self.created_ms,
            starts_ms: self.starts_ms,
            expires_ms: self.expires_ms,
            applies_to: self.applies_to(topo),
        }
    }
}

/// Every fault, by id.
#[derive(Clone, Default)]
pub struct FaultRegistry {
    next: u64,
    faults: BTreeMap<u64, Fault>,
}

impl FaultRegistry {
    /// Stores a validated fault; returns its id.
    pub fn insert(&mut self, mut f: Fault) -> u64 {
        self.next += 1;
        f.id = self.next;
        self.faults.insert(f.id, f);
        self.next
    }

    /// A fault by id.
    pub fn get(&self, id: u64) -> Option<&Fault> {
        self.faults.get(&id)
    }

    /// Every fault.
    pub fn all(&self) -> impl Iterator<Item = &Fault> {
        self.faults.values()
    }

    /// Number of faults.
    pub fn len(&self) -> usize {
        self.faults.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// Removes one.
    pub fn remove(&mut self, id: u64) -> Option<Fault> {
        self.faults.remove(&id)
    }

    /// Removes those with a scenario label.
    pub fn remove_scenario(&mut self, scenario: &str) -> Vec<Fault> {
        let ids: Vec<u64> =
            self.faults.values().filter(|f| f.request.scenario.as_deref() == Some(scenario)).map(|f| f.id).collect();
        ids.into_iter().filter_map(|i| self.faults.remove(&i)).collect()
    }

    /// Removes everything.
    pub fn clear(&mut self) -> Vec<Fault> {
        std::mem::take(&mut self.faults).into_values().collect()
    }

    /// Removes the faults that ended by `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<Fault> {
        let ids: Vec<u64> = self.faults.values().filter(|f| f.end.is_some_and(|e| e <= now)).map(|f| f.id).collect();
        ids.into_iter().filter_map(|i| self.faults.remove(&i)).collect()
    }

    /// Removes faults whose target no longer exists (after a reload).
    pub fn prune(&mut self, topo: &Topology) -> Vec<Fault> {
        let gone: Vec<u64> = self
            .faults
            .values()
            .filter(|f| match &f.target {
                Some(t) => !t.exists(topo),
                None => f.applies_to(topo).iter().any(|g| g.is_empty()),
            })
            .map(|f| f.id)
            .collect();
        gone.into_iter().filter_map(|i| self.faults.remove(&i)).collect()
    }

    /// Computes what every link direction should carry.
    pub fn plan(&self, topo: &Topology) -> FaultPlan {
        let mut plan = FaultPlan::none(topo.links.len());
        for f in self.faults.values() {
            match (&f.target, f.effect) {
                (Some(t), Some(kind)) => {
                    for l in t.links(topo) {
                        for d in 0..2 {
                            if f.directions[d] {
                                plan.links[l][d].push(FaultEffect {
                                    id: f.id,
                                    kind,
                                    probability: f.probability,
                                    start: f.start,
                                    end: f.end,
                                });
                            }
                        }
                    }
                }
                _ => {
                    let mut side = vec![0u8; topo.nodes.len()];
                    for (gi, g) in f.request.groups.iter().flatten().enumerate() {
                        for sel in g {
                            for n in nodes_of(sel, topo) {
                                side[n] = gi as u8 + 1;
                            }
                        }
                    }
                    plan.partitions.push(PartitionEffect {
                        id: f.id,
                        side,
                        probability: f.probability,
                        start: f.start,
                        end: f.end,
                    });
                }
            }
        }
        plan
    }
}

impl utoipa::PartialSchema for FaultView {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <crate::schema::FaultViewDoc as utoipa::PartialSchema>::schema()
    }
}

impl ToSchema for FaultView {
    fn name() -> std::borrow::Cow<'static, str> {
        "FaultView".into()
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <crate::schema::FaultViewDoc as ToSchema>::schemas(schemas);
    }
}
