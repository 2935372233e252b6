//! The JSON Schema of topology files, for editors (yaml-language-server)
//! and other tools.
//!
//! Contract: the schema is derived from the serde types in [`super::config`]
//! (`#[derive(JsonSchema)]`, which follows their serde attributes: unknown
//! fields rejected, `default` fields optional), so it cannot drift from what
//! the parser accepts structurally. Values the parser reads from text (units,
//! tc syntax, addresses) are described here by hand. It accepts every valid
//! topology; semantic checks (names that exist, addresses that overlap, …)
//! stay with `faultmesh validate`.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::config::{Cidr, NamedMap, OneOrMany, TopologyConfig};
use crate::impair::{ChanceSpec, DelaySpec, LossSpec, RateSpec, ReorderSpec};

/// Node kinds (`kind:` of a node). Keep in step with `validate.rs`.
pub const NODE_KINDS: &[&str] = &["host", "attach", "tun", "tap", "container"];
/// Segment kinds.
pub const SEGMENT_KINDS: &[&str] = &["switch", "router"];

/// Where the schema is published (its `$id`).
pub const SCHEMA_ID: &str = "https://github.com/faultmesh/faultmesh/raw/main/docs/topology.schema.json";

/// The schema of a topology file, as a JSON value.
pub fn topology_schema() -> serde_json::Value {
    let mut s = schemars::generate::SchemaSettings::draft07().into_generator().into_root_schema_for::<TopologyConfig>();
    s.insert("$id".into(), SCHEMA_ID.into());
    s.insert("title".into(), "faultmesh topology".into());
    s.to_value()
}

pub(crate) fn node_kind(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "enum": NODE_KINDS,
        "description": "host: a namespace faultmesh creates; attach: an existing interface; tun/tap: a device for an outside program; container: a container's network namespace",
    })
}

pub(crate) fn segment_kind(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "enum": SEGMENT_KINDS,
        "description": "switch: an L2 learning switch; router: an L3 router",
    })
}

pub(crate) fn on_error(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": ["pass", "drop"]})
}

pub(crate) fn script_direction(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": ["a_to_b", "b_to_a", "both"]})
}

/// A name as every object is named: letters, digits, `-`, `_`, `.`.
pub(crate) fn name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
        "description": "ASCII letters, digits, `-`, `_` or `.`, starting with a letter or digit",
    })
}

fn duration() -> serde_json::Value {
    serde_json::json!({
        "anyOf": [
            {"type": "string", "examples": ["10ms", "1.5s", "500us"]},
            {"type": "integer", "const": 0},
        ],
        "description": "a duration with a unit: ns, us, ms, s, m, h",
    })
}

fn percent() -> serde_json::Value {
    serde_json::json!({
        "type": "string",
        "examples": ["1%", "0.5%"],
        "description": "a percentage with `%`",
    })
}

fn rate() -> serde_json::Value {
    serde_json::json!({
        "type": "string",
        "examples": ["100mbit", "1gbit", "512kbit"],
        "description": "a rate as tc writes it: bit kbit mbit gbit (powers of 1000), kibit… (1024), bps kbps mbps gbps (bytes per second)",
    })
}

fn size() -> serde_json::Value {
    serde_json::json!({
        "anyOf": [{"type": "string", "examples": ["32kb", "1mb"]}, {"type": "integer", "minimum": 0}],
        "description": "a size: b kb mb gb, or a byte count",
    })
}

fn tc_or_map(description: &str, examples: &[&str], map: serde_json::Value) -> Schema {
    json_schema!({
        "description": description,
        "anyOf": [
            {"type": "string", "description": "tc/netem syntax", "examples": examples},
            map,
        ],
    })
}

fn object(required: &[&str], properties: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

macro_rules! named_schema {
    ($t:ty, $name:literal, $body:expr) => {
        impl JsonSchema for $t {
            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $body
            }
        }
    };
}

named_schema!(
    Cidr,
    "Cidr",
    json_schema!({
        "type": "string",
        "description": "an address with a prefix length, e.g. 10.0.1.2/24 or fd00::2/64 (a bare address is a host prefix)",
        "examples": ["10.0.1.2/24", "fd00:1::2/64"],
    })
);

named_schema!(
    DelaySpec,
    "Delay",
    tc_or_map(
        "delay: `TIME [JITTER [CORRELATION%]] [distribution uniform|normal|pareto|paretonormal] [reorder] [limit N]` or a map",
        &["10ms", "20ms 2ms 25% distribution normal"],
        object(
            &["time"],
            serde_json::json!({
                "time": duration(),
                "jitter": duration(),
                "correlation": percent(),
                "distribution": {"type": "string", "enum": ["uniform", "normal", "pareto", "paretonormal"]},
                "reorder": {"type": "boolean", "description": "let jitter reorder packets (netem's behaviour)"},
                "limit": {"type": "integer", "minimum": 1, "description": "packets held by the delay line (default 100000)"},
            }),
        ),
    )
);

named_schema!(
    LossSpec,
    "Loss",
    tc_or_map(
        "loss: `P [CORRELATION]`, `gemodel P [R [1-H [1-K]]]`, `state P13 [P31 [P32 [P23 [P14]]]]` or a map with exactly one of percent, gemodel, state",
        &["1%", "1% 25%", "gemodel 1% 10% 100% 0%"],
        object(
            &[],
            serde_json::json!({
                "percent": percent(),
                "correlation": percent(),
                "gemodel": object(&["p"], serde_json::json!({
                    "p": percent(), "r": percent(), "1-h": percent(), "1-k": percent(),
                })),
                "state": object(&["p13"], serde_json::json!({
                    "p13": percent(), "p31": percent(), "p32": percent(), "p23": percent(), "p14": percent(),
                })),
            }),
        ),
    )
);

named_schema!(
    ChanceSpec,
    "Chance",
    tc_or_map(
        "a per-packet probability: `P [CORRELATION]` or a map",
        &["1%", "1% 25%"],
        object(&["percent"], serde_json::json!({"percent": percent(), "correlation": percent()})),
    )
);

named_schema!(
    ReorderSpec,
    "Reorder",
    tc_or_map(
        "reorder: `P [CORRELATION] [gap N]` (needs a delay) or a map",
        &["25%", "25% 50% gap 5"],
        object(
            &["percent"],
            serde_json::json!({
                "percent": percent(),
                "correlation": percent(),
                "gap": {"type": "integer", "minimum": 1},
            }),
        ),
    )
);

named_schema!(
    RateSpec,
    "Rate",
    tc_or_map(
        "rate limit: `RATE [burst SIZE] [queue PKTS] [queue_bytes SIZE] [overhead BYTES]` or a map",
        &["100mbit", "10mbit burst 32kb queue 100"],
        object(
            &["rate"],
            serde_json::json!({
                "rate": rate(),
                "burst": size(),
                "queue": {"type": "integer", "minimum": 0},
                "queue_bytes": size(),
                "overhead": {"type": "integer", "minimum": 0},
            }),
        ),
    )
);

impl<T: JsonSchema> JsonSchema for OneOrMany<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("OneOrMany_{}", T::schema_name()).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let one = g.subschema_for::<T>();
        json_schema!({"anyOf": [one, {"type": "array", "items": one}]})
    }
}

impl<V: JsonSchema> JsonSchema for NamedMap<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let v = g.subschema_for::<V>();
        json_schema!({
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$"},
            "additionalProperties": v,
        })
    }
}
