"""pytest fixtures for rigs that test through a faultmesh appliance.

Enable with ``pytest_plugins = ["faultmesh_client.pytest_plugin"]`` in a
``conftest.py`` (or ``-p faultmesh_client.pytest_plugin``)::

    @pytest.mark.faultmesh_topology(open("rig.yaml").read())   # optional
    def test_retry(faultmesh_appliance):
        fm = faultmesh_appliance                       # a Faultmesh client
        fm.link("wan").set(delay="100ms")
        with fm.fault(kind="down", target="node=db", ttl="30s"):
            ...
        fm.exec("client", "ping", "-c1", "10.0.2.2")   # run in a node's namespace

The appliance runs ``faultmesh run`` in fresh namespaces (root needed; the
test is skipped otherwise, or fails under ``CI=true``) and is stopped, and
its namespaces removed, when the test ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .appliance import DEFAULT_TOPOLOGY, Appliance, appliance


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faultmesh_topology(yaml): the topology the faultmesh_appliance fixture runs"
    )


def require_root() -> None:
    """Skips the test without root, or fails it under ``CI=true``."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: this test needs root (faultmesh run builds network namespaces)")
        pytest.skip("needs root: faultmesh run builds network namespaces")


@pytest.fixture
def faultmesh_topology(request: pytest.FixtureRequest) -> str:
    """The topology (YAML text) of :func:`faultmesh_appliance`: the test's
    ``faultmesh_topology`` marker, else a client/server pair behind a router
    (links ``wan`` and ``lan``). Override the fixture to change the default."""
    m = request.node.get_closest_marker("faultmesh_topology")
    return m.args[0] if m else DEFAULT_TOPOLOGY


@pytest.fixture
def faultmesh_appliance(faultmesh_topology: str) -> Iterator[Appliance]:
    """A running appliance on ``faultmesh_topology``, as a client."""
    require_root()
    with appliance(faultmesh_topology) as app:
        yield app
