"""The client against a live appliance: real namespaces, real pings.

Needs root (skipped without it, failed under CI=true); the faultmesh binary
is $FAULTMESH_BIN (tests/python_client.rs sets it) or on PATH.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from faultmesh_client import Faultmesh, FaultmeshError
from faultmesh_client.appliance import appliance
from faultmesh_client.pytest_plugin import require_root


def ping(fm, n: int = 10, interval: float = 0.05, wait: int = 1) -> tuple[list[float], int]:
    """Pings the server from the client: (RTTs in ms, replies)."""
    out = fm.exec("client", "ping", "-n", "-c", str(n), "-i", str(interval), "-W", str(wait), "10.0.2.2").stdout
    rtts = [float(x) for x in re.findall(r"time=([\d.]+) ms", out)]
    return rtts, len(rtts)


def warm_up(fm) -> None:
    # The first packets resolve ARP through the router.
    for _ in range(20):
        if ping(fm, n=1)[1] == 1:
            return
    pytest.fail("the client never reached the server")


def test_link_delay_shows_in_ping_rtt(faultmesh_appliance):
    fm = faultmesh_appliance
    warm_up(fm)
    before, _ = ping(fm)
    assert before and min(before) < 10, before
    view = fm.link("wan").set(delay="20ms")
    assert "20ms" in view.a_to_b.live.impairments
    after, replies = ping(fm)
    assert replies == 10
    # 20 ms each way on `wan`: the round trip gains 40 ms.
    assert 40 <= min(after) < 40 + min(before) + 15, after
    fm.link("wan").clear("delay")
    cleared, _ = ping(fm)
    assert min(cleared) < 10, cleared


def test_fault_context_manager_causes_loss_and_is_removed(faultmesh_appliance):
    fm = faultmesh_appliance
    warm_up(fm)
    with fm.fault(kind="down", target="node=server", ttl="30s", scenario="py") as f:
        assert [x.id for x in fm.faults()] == [f.id]
        assert f.refresh().state == "active"
        _, replies = ping(fm, n=10, interval=0.1)
        assert replies == 0, "a downed server answered"
    assert fm.faults() == []
    _, replies = ping(fm, n=5)
    assert replies == 5


def test_fault_is_removed_on_exception(faultmesh_appliance):
    fm = faultmesh_appliance
    with pytest.raises(RuntimeError, match="boom"):
        with fm.fault(kind="loss", target="link=wan", percent="100%", ttl="60s"):
            assert len(fm.faults()) == 1
            raise RuntimeError("boom")
    assert fm.faults() == []


def test_partial_loss_fault_is_counted(faultmesh_appliance):
    fm = faultmesh_appliance
    warm_up(fm)
    with fm.fault(kind="loss", target="link=wan", direction="a_to_b", percent="50%", ttl="30s"):
        _, replies = ping(fm, n=40, interval=0.02)
    # 40 echoes through 50% loss: 0.999 of runs see between 8 and 32 replies.
    assert 8 <= replies <= 32, replies
    drops = fm.link("wan").get().a_to_b.live.drops.to_dict()
    assert sum(drops.values()) >= 40 - replies


def test_status_and_errors(faultmesh_appliance):
    fm = faultmesh_appliance
    s = fm.status()
    assert s.topology == "pytest"
    assert (s.nodes, s.links) == (2, 2)
    with pytest.raises(FaultmeshError) as e:
        fm.link("nope").set(delay="1ms")
    assert e.value.status == 404
    with pytest.raises(FaultmeshError) as e:
        fm.link("wan").set(delay="10 parsecs")
    assert 400 <= e.value.status < 500
    assert e.value.field and "delay" in e.value.field, e.value
    with pytest.raises(ValueError, match="teleport"):
        fm.fault(kind="teleport", target="link=wan")
    with pytest.raises(FaultmeshError) as e:
        fm.fault(kind="loss", target="link=nope", percent="10%")
    assert 400 <= e.value.status < 500
    with pytest.raises(TypeError, match="percnt"):
        fm.fault(kind="loss", target="link=wan", percnt="10%")
    assert fm.clear_faults() == 0


def test_from_env_and_tokens(faultmesh_appliance, monkeypatch):
    fm = faultmesh_appliance
    monkeypatch.setenv("FAULTMESH_API", fm.url + "/api/v1")
    monkeypatch.setenv("FAULTMESH_TOKEN", fm.token)
    assert Faultmesh.from_env().status().topology == "pytest"
    monkeypatch.setenv("FAULTMESH_TOKEN", "0" * 64)
    with pytest.raises(FaultmeshError) as e:
        Faultmesh.from_env().status()
    assert e.value.status == 401
    # Nothing listening: status 0, says so.
    with pytest.raises(FaultmeshError, match="no faultmesh appliance"):
        Faultmesh("http://127.0.0.1:9", "t").status()


def test_reload_through_the_client(faultmesh_appliance):
    fm = faultmesh_appliance
    from faultmesh_client.appliance import DEFAULT_TOPOLOGY

    report = fm.reload(DEFAULT_TOPOLOGY.replace("wan: {a: client, b: core}", "wan: {a: client, b: core, both: {loss: 1%}}"))
    assert report["report"]["links_changed"] == ["wan"]
    assert "1%" in fm.link("wan").get().a_to_b.live.impairments
    with pytest.raises(FaultmeshError) as e:
        fm.reload("nodes: {a: {kind: hots}}")
    assert e.value.status == 422


def namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout


def test_the_appliance_cleans_up_after_itself():
    require_root()
    with appliance() as app:
        prefix = app.prefix
        assert app.ns("client") in namespaces()
        assert app.status().topology == "pytest"
    assert app.process.returncode == 0
    assert prefix not in namespaces()
    # Also when the test body fails.
    with pytest.raises(ZeroDivisionError):
        with appliance() as app:
            prefix = app.prefix
            1 / 0
    assert prefix not in namespaces()
    # A topology that does not validate: an error that says why, and nothing left.
    with pytest.raises(FaultmeshError, match="exited"):
        with appliance("nodes: {a: {kind: hots}}\nlinks: {}\n") as app:
            pass
