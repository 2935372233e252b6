"""docs/topology.schema.json accepts every example topology and rejects
broken ones (no appliance, no root needed)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "topology.schema.json").read_text())
EXAMPLES = sorted((REPO / "topologies").glob("*.yaml"))


def validator() -> jsonschema.Draft7Validator:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    return jsonschema.Draft7Validator(SCHEMA)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_topology_validates(path):
    errors = list(validator().iter_errors(yaml.safe_load(path.read_text())))
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors]


def test_there_are_examples():
    assert len(EXAMPLES) >= 4


GOOD = """
name: ok
nodes:
  a: {kind: host, addresses: [10.0.0.2/24], gateway: 10.0.0.1}
  b: {kind: host, addresses: [10.0.0.3/24], gateway: [10.0.0.1]}
segments:
  s: {kind: switch}
links:
  la: {a: a, b: s, both: {delay: {time: 10ms, jitter: 1ms, distribution: normal}, loss: {gemodel: {p: 1%, r: 10%}}}}
  lb: {a: b, b: s, a_to_b: {rate: {rate: 10mbit, burst: 32kb}, reorder: 5% gap 3, corrupt: 1%}}
"""


def test_map_forms_and_lists_validate():
    assert not list(validator().iter_errors(yaml.safe_load(GOOD)))


BROKEN = {
    "unknown top-level field": "name: x\nnodez: {}\n",
    "unknown node field": "nodes:\n  a: {kind: host, adresses: [10.0.0.1/24]}\n",
    "unknown node kind": "nodes:\n  a: {kind: hots}\n",
    "link without b": "links:\n  l: {a: x}\n",
    "delay map without time": "links:\n  l: {a: x, b: y, both: {delay: {jitter: 1ms}}}\n",
    "unknown impairment": "links:\n  l: {a: x, b: y, both: {latency: 10ms}}\n",
    "seed as text": "seed: forty-two\n",
    "segment kind": "segments:\n  s: {kind: hub}\n",
    "bad name": "nodes:\n  'a b': {kind: host}\n",
    "mtu as text": "links:\n  l: {a: x, b: y, both: {mtu: big}}\n",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_topologies_do_not_validate(name):
    assert list(validator().iter_errors(yaml.safe_load(BROKEN[name]))), name
