//! The topology file as written: serde types that keep source locations.
//!
//! Contract: these types mirror the YAML exactly (unknown fields rejected) and
//! wrap every value that semantic validation may complain about in
//! [`Spanned`], so errors point at the offending line and column. They carry
//! no defaults beyond "absent"; `validate` turns them into the model.
//!
//! They also derive the topology JSON Schema (`super::schema`, `faultmesh
//! schema`): a `Spanned<T>` field needs `#[schemars(with = "T")]` (or
//! `schema_with`), and a new field changes `docs/topology.schema.json`
//! (regenerate it with `cargo run -q -- schema > docs/topology.schema.json`).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::impair::{ChanceSpec, DelaySpec, HINT_SEP, LossSpec, RateSpec, ReorderSpec};

/// An address with a prefix length, such as `10.0.1.2/24` or `fd00::1/64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `ADDR/LEN`; a bare address is a host prefix (/32 or /128).
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().map_err(|_| {
            format!("`{s}` is not an IP address{HINT_SEP}write it as e.g. `10.0.1.2/24` or `fd00::2/64`")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&v| v <= max)
                .ok_or_else(|| format!("`{s}` has a bad prefix length{HINT_SEP}use /0 to /{max}"))?,
        };
        Ok(Cidr { addr, prefix })
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> IpAddr {
        mask(self.addr, self.prefix)
    }

    /// True when `ip` lies inside this prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.network()
    }

    /// True when the two prefixes share any address.
    pub fn overlaps(&self, o: &Cidr) -> bool {
        if self.addr.is_ipv4() != o.addr.is_ipv4() {
            return false;
        }
        let p = self.prefix.min(o.prefix);
        mask(self.addr, p) == mask(o.addr, p)
    }
}

/// Clears all but the first `prefix` bits of `ip`.
pub fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix.min(128))) };
            IpAddr::V6((bits & m).into())
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Cidr::parse(&s).map_err(de::Error::custom)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One value or a list of values (`gateway: 10.0.0.1` or `gateway: [..]`).
#[derive(Clone, Debug, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element()? {
                    v.push(x);
                }
                Ok(OneOrMany(v))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                T::deserialize(de::value::StrDeserializer::<E>::new(s)).map(|x| OneOrMany(vec![x]))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<T: Serialize> Serialize for OneOrMany<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A YAML map kept in source order, with the location of every key.
#[derive(Clone, Debug)]
pub struct NamedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for NamedMap<V> {
    fn default() -> Self {
        NamedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for NamedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = NamedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of names to definitions")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    let val = map.next_value::<V>()?;
                    v.push((k, val));
                }
                Ok(NamedMap(v))
            }
        }
        d.deserialize_map(Vis(PhantomData))
    }
}

impl<V: Serialize> Serialize for NamedMap<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(&k.value, v)?;
        }
        m.end()
    }
}

/// The whole file.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopologyConfig {
    /// A short name (defaults to the file name).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    /// Seed for every random decision.
    #[serde(default)]
    pub seed: Option<u64>,
    /// A free-form description.
    #[serde(default)]
    pub description: Option<String>,
    /// Traffic endpoints.
    #[serde(default)]
    pub nodes: NamedMap<NodeConfig>,
    /// Emulated networks.
    #[serde(default)]
    pub segments: NamedMap<SegmentConfig>,
    /// Links and their impairments.
    #[serde(default)]
    pub links: NamedMap<LinkConfig>,
    /// Extra routed prefixes (networks behind a node).
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

/// A node, any kind. Which fields are allowed depends on `kind`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// `host`, `attach`, `tun`, `tap` or `container`.
    #[schemars(schema_with = "super::schema::node_kind")]
    pub kind: Spanned<String>,
    /// Addresses with prefix length.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Cidr>>")]
    pub addresses: Option<Spanned<Vec<Spanned<Cidr>>>>,
    /// Default gateway(s), one per address family.
    #[serde(default)]
    #[schemars(with = "Option<OneOrMany<IpAddr>>")]
    pub gateway: Option<Spanned<OneOrMany<IpAddr>>>,
    /// Interface MTU.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<Spanned<u32>>,
    /// host: the device joining the namespace to the appliance (`veth`,
    /// `tun`, `tap`); tun/tap: the device name.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub device: Option<Spanned<String>>,
    /// attach: the existing interface; container: the interface faultmesh
    /// adds inside the container (default `eth1`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub interface: Option<Spanned<String>>,
    /// host: the namespace to create; attach/tun/tap: the existing namespace.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub netns: Option<Spanned<String>>,
    /// A MAC address for the node's interface (host, tap, container).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub mac: Option<Spanned<String>>,
    /// container: a Docker container's name or ID (resolved through the
    /// Docker Engine API to its network namespace).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub container: Option<Spanned<String>>,
    /// container: a process whose network namespace to wire into (Podman,
    /// containerd, plain processes).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub pid: Option<Spanned<u32>>,
    /// container: the same as `pid`, written as `/proc/<pid>/ns/net`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub netns_path: Option<Spanned<String>>,
    /// Labels for selecting the node.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A segment.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    /// `switch` or `router`.
    #[schemars(schema_with = "super::schema::segment_kind")]
    pub kind: Spanned<String>,
    /// router: the router's own addresses (the hosts' gateways).
    #[serde(default)]
    #[schemars(with = "Option<Vec<Cidr>>")]
    pub addresses: Option<Vec<Spanned<Cidr>>>,
    /// A Lua filter run on every packet entering the segment.
    #[serde(default)]
    pub script: Option<ScriptConfig>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Impairments of one direction as written, with the location of each field.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpairmentsConfig {
    /// Delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DelaySpec>")]
    pub delay: Option<Spanned<DelaySpec>>,
    /// Loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<LossSpec>")]
    pub loss: Option<Spanned<LossSpec>>,
    /// Corruption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<ChanceSpec>")]
    pub corrupt: Option<Spanned<ChanceSpec>>,
    /// Duplication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<ChanceSpec>")]
    pub duplicate: Option<Spanned<ChanceSpec>>,
    /// Reordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<ReorderSpec>")]
    pub reorder: Option<Spanned<ReorderSpec>>,
    /// Rate limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<RateSpec>")]
    pub rate: Option<Spanned<RateSpec>>,
    /// MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<Spanned<u32>>,
}

/// A script attached to a link direction or segment.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptConfig {
    /// Path to the Lua file, relative to the topology file (inside an
    /// allowed scripts directory).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub file: Option<Spanned<String>>,
    /// The Lua source itself (instead of `file`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub source: Option<Spanned<String>>,
    /// Parameters passed to the script as `params`.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// What to do with packets when the script fails: `pass` (default) or `drop`.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::on_error")]
    pub on_error: Option<Spanned<String>>,
    /// Which direction(s) of a link it filters: `a_to_b`, `b_to_a`, `both` (default).
    #[serde(default)]
    #[schemars(schema_with = "super::schema::script_direction")]
    pub direction: Option<Spanned<String>>,
}

/// A link.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// One end (node or segment).
    #[schemars(schema_with = "super::schema::name")]
    pub a: Spanned<String>,
    /// The other end.
    #[schemars(schema_with = "super::schema::name")]
    pub b: Spanned<String>,
    /// Impairments applied in both directions (overridden field by field by
    /// `a_to_b` / `b_to_a`).
    #[serde(default)]
    pub both: Option<ImpairmentsConfig>,
    /// Impairments from `a` to `b`.
    #[serde(default)]
    pub a_to_b: Option<ImpairmentsConfig>,
    /// Impairments from `b` to `a`.
    #[serde(default)]
    pub b_to_a: Option<ImpairmentsConfig>,
    /// Lua filter.
    #[serde(default)]
    pub script: Option<ScriptConfig>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// An extra routed prefix.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The prefix.
    #[schemars(with = "Cidr")]
    pub prefix: Spanned<Cidr>,
    /// The node it lies behind.
    #[schemars(schema_with = "super::schema::name")]
    pub via: Spanned<String>,
}
