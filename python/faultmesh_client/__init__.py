"""A Python client for a running faultmesh appliance.

The generated package ``faultmesh_api_client`` (``python/generate.sh``, from
``faultmesh openapi``) speaks the API; this module is the thin layer test rigs
use, in the style of Toxiproxy's clients::

    from faultmesh_client import Faultmesh

    fm = Faultmesh.from_env()                 # FAULTMESH_API / FAULTMESH_TOKEN or the token file
    fm.link("wan").set(delay="10ms", loss="1%")
    with fm.fault(kind="down", target="node=db", ttl="30s"):
        ...                                   # the fault is removed on exit, also on an exception
    print(fm.status().topology)

Every call that the appliance refuses raises :class:`FaultmeshError` with the
API's status, code, field, message and hint.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx

from faultmesh_api_client import AuthenticatedClient, Client
from faultmesh_api_client.api.counters import counters as _counters
from faultmesh_api_client.api.events import list_events as _list_events
from faultmesh_api_client.api.faults import create_fault as _create_fault
from faultmesh_api_client.api.faults import delete_fault as _delete_fault
from faultmesh_api_client.api.faults import delete_faults as _delete_faults
from faultmesh_api_client.api.faults import get_fault as _get_fault
from faultmesh_api_client.api.faults import killswitch as _killswitch
from faultmesh_api_client.api.faults import list_faults as _list_faults
from faultmesh_api_client.api.links import get_link as _get_link
from faultmesh_api_client.api.links import list_links as _list_links
from faultmesh_api_client.api.links import patch_link as _patch_link
from faultmesh_api_client.api.nodes import list_nodes as _list_nodes
from faultmesh_api_client.api.status import status as _status
from faultmesh_api_client.api.topology import reload_topology as _reload_topology
from faultmesh_api_client.models import (
    FaultRequest,
    FaultView,
    LinkPatch,
    LinkView,
    StatusView,
)

__all__ = [
    "DEFAULT_URL",
    "Fault",
    "Faultmesh",
    "FaultmeshError",
    "Link",
    "token_file",
]

#: Where ``faultmesh run`` serves its API unless told otherwise.
DEFAULT_URL = "http://127.0.0.1:7878"

#: The impairment fields of a link direction.
IMPAIRMENTS = ("delay", "loss", "corrupt", "duplicate", "reorder", "rate", "mtu")

#: Fault fields sent as they are given.
FAULT_FIELDS = (
    "target",
    "direction",
    "probability",
    "ttl",
    "start_in",
    "scenario",
    "delay",
    "jitter",
    "percent",
    "rate",
    "period",
    "duty",
    "groups",
)


class FaultmeshError(Exception):
    """The appliance refused a request (or could not be reached: ``status`` 0)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        hint: str | None = None,
        details: list[Any] | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.code = code
        self.field = field
        self.hint = hint
        self.details = details or []
        text = f"faultmesh answered {status}: {message}" if status else message
        if field:
            text += f" (field `{field}`)"
        if hint:
            text += f"\n  hint: {hint}"
        for d in self.details:
            if isinstance(d, dict):
                text += f"\n  {d.get('line')}:{d.get('column')}: {d.get('message')}"
        super().__init__(text)

    @classmethod
    def from_response(cls, status: int, content: bytes) -> FaultmeshError:
        try:
            import json

            body = json.loads(content)
        except ValueError:
            return cls(status, content.decode("utf-8", "replace").strip() or "no message")
        err = body.get("error", {}) if isinstance(body, dict) else {}
        if not isinstance(err, dict):
            err = {"message": str(err)}
        return cls(
            status,
            str(err.get("message") or body),
            code=err.get("code"),
            field=err.get("field"),
            hint=err.get("hint"),
            details=err.get("details"),
        )


def token_file(port: int) -> str:
    """The file ``faultmesh run`` writes its API token to (root only)."""
    return f"/run/faultmesh/api-{port}.token"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    return url


def _check(resp: Any, ok: tuple[int, ...] = (200,)) -> Any:
    """The parsed body of a generated ``sync_detailed`` response, or an error."""
    status = int(resp.status_code)
    if status not in ok:
        raise FaultmeshError.from_response(status, resp.content)
    return resp.parsed


class Faultmesh:
    """A connection to one appliance's API.

    ``url`` is ``http://HOST:PORT`` (``/api/v1`` may follow); ``token`` the
    bearer token. :attr:`api` is the generated client, for everything this
    layer does not wrap.
    """

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, *, timeout: float = 30.0) -> None:
        self.url = _normalize_url(url)
        self.token = token
        self.timeout = timeout
        if token:
            self.api: AuthenticatedClient | Client = AuthenticatedClient(
                base_url=self.url, token=token, timeout=httpx.Timeout(timeout), raise_on_unexpected_status=False
            )
        else:
            self.api = Client(base_url=self.url, timeout=httpx.Timeout(timeout), raise_on_unexpected_status=False)
        self.api = self.api.with_headers({"X-Faultmesh-Actor": f"python:{os.environ.get('USER', 'unknown')}"})

    @classmethod
    def from_env(cls, url: str | None = None, token: str | None = None, *, timeout: float = 30.0) -> Faultmesh:
        """Like the CLI: the URL from ``url`` or ``FAULTMESH_API`` (default
        ``http://127.0.0.1:7878``); the token from ``token``, ``FAULTMESH_TOKEN``
        or, for a loopback URL only, the root-only file
        ``/run/faultmesh/api-<port>.token``."""
        url = _normalize_url(url or os.environ.get("FAULTMESH_API") or DEFAULT_URL)
        token = token or os.environ.get("FAULTMESH_TOKEN") or None
        if token is None:
            parts = urllib.parse.urlsplit(url)
            if parts.hostname and parts.port and _is_loopback(parts.hostname):
                try:
                    with open(token_file(parts.port), encoding="ascii") as f:
                        token = f.read().strip() or None
                except OSError:
                    token = None  # the appliance will answer 401, which says why
        return cls(url, token, timeout=timeout)

    def __repr__(self) -> str:
        return f"Faultmesh({self.url!r})"

    def close(self) -> None:
        """Closes the HTTP connections."""
        self.api.get_httpx_client().close()

    def __enter__(self) -> Faultmesh:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, fn: Any, *args: Any, ok: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        try:
            resp = fn.sync_detailed(*args, client=self.api, **kwargs)
        except httpx.TransportError as e:
            raise FaultmeshError(0, f"no faultmesh appliance answered at {self.url}: {e}") from e
        return _check(resp, ok)

    # -- status, topology ---------------------------------------------------

    def status(self) -> StatusView:
        """Topology name, counts and data-plane timing."""
        return self._call(_status)

    def reload(self, topology: str | None = None) -> dict[str, Any]:
        """Replaces the running topology with ``topology`` (YAML or JSON text),
        or reloads the file the appliance was started with. Returns the report."""
        if topology is None:
            return self._call(_reload_topology).to_dict()
        try:
            r = self.api.get_httpx_client().put(
                "/api/v1/topology", content=topology.encode(), headers={"Content-Type": "application/yaml"}
            )
        except httpx.TransportError as e:
            raise FaultmeshError(0, f"no faultmesh appliance answered at {self.url}: {e}") from e
        if r.status_code != 200:
            raise FaultmeshError.from_response(r.status_code, r.content)
        return r.json()

    def nodes(self) -> list[Any]:
        """Every node with its traffic, links and faults."""
        return self._call(_list_nodes)

    def counters(self) -> dict[str, Any]:
        """Every counter, as the appliance reports them."""
        return self._call(_counters).to_dict()

    def events(self, after: int | None = None) -> list[Any]:
        """The audit log (events after sequence number ``after``)."""
        kwargs = {} if after is None else {"after": after}
        return self._call(_list_events, **kwargs)

    # -- links --------------------------------------------------------------

    def link(self, name: str) -> Link:
        """One link, to read or change."""
        return Link(self, name)

    def links(self) -> list[LinkView]:
        """Every link with its impairments and live counters."""
        return self._call(_list_links)

    # -- faults -------------------------------------------------------------

    def fault(self, kind: str, target: str | None = None, **params: Any) -> Fault:
        """Adds a fault now and returns it. As a context manager it is removed
        when the block ends, also on an exception::

            with fm.fault(kind="loss", target="link=wan", percent="30%", ttl="10s"):
                ...

        ``params``: direction, probability, ttl, start_in, scenario, delay,
        jitter, percent, rate, period, duty, groups (``[["a"], ["b"]]`` or
        ``"a,b/c"``)."""
        unknown = set(params) - set(FAULT_FIELDS)
        if unknown:
            raise TypeError(f"unknown fault field(s): {', '.join(sorted(unknown))}; use {', '.join(FAULT_FIELDS)}")
        body: dict[str, Any] = {"kind": kind}
        if target is not None:
            body["target"] = target
        for k, v in params.items():
            if v is None:
                continue
            if k == "groups" and isinstance(v, str):
                v = [[x.strip() for x in g.split(",") if x.strip()] for g in v.split("/")]
            body[k] = v
        try:
            request = FaultRequest.from_dict(body)
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"not a fault the API accepts: {e}") from e
        view = self._call(_create_fault, body=request, ok=(200, 201))
        return Fault(self, view)

    def faults(self) -> list[FaultView]:
        """The active and scheduled faults."""
        return self._call(_list_faults)

    def clear_faults(self, scenario: str | None = None) -> int:
        """Removes the faults of ``scenario``, or every fault (the kill switch).
        Returns how many were removed."""
        if scenario is None:
            d = self._call(_killswitch)
        else:
            d = self._call(_delete_faults, scenario=scenario)
        return len(d.deleted)


class Link:
    """One link of a running appliance."""

    def __init__(self, fm: Faultmesh, name: str) -> None:
        self.fm = fm
        self.name = name

    def __repr__(self) -> str:
        return f"Link({self.name!r})"

    def get(self) -> LinkView:
        """Its impairments and live counters."""
        return self.fm._call(_get_link, self.name)

    def set(self, direction: str = "both", **impairments: Any) -> LinkView:
        """Changes impairments in tc syntax or map form; ``None`` clears one::

            fm.link("wan").set(delay="10ms 2ms", loss="1%")
            fm.link("wan").set(direction="a_to_b", rate="10mbit", delay=None)

        Fields not named keep their values (queues and counters too)."""
        if direction not in ("both", "a_to_b", "b_to_a"):
            raise ValueError(f"direction {direction!r}: use both, a_to_b or b_to_a")
        unknown = set(impairments) - set(IMPAIRMENTS)
        if unknown:
            raise TypeError(f"unknown impairment(s): {', '.join(sorted(unknown))}; use {', '.join(IMPAIRMENTS)}")
        if not impairments:
            raise TypeError("nothing to set: give e.g. delay='10ms'")
        patch = LinkPatch.from_dict({direction: impairments})
        return self.fm._call(_patch_link, self.name, body=patch)

    def clear(self, *fields: str, direction: str = "both") -> LinkView:
        """Clears the named impairments (all of them when none is named)."""
        return self.set(direction, **{f: None for f in (fields or IMPAIRMENTS)})


class Fault:
    """A fault added through :meth:`Faultmesh.fault`."""

    def __init__(self, fm: Faultmesh, view: FaultView) -> None:
        self.fm = fm
        self.view = view
        self.id: int = view.id

    def __repr__(self) -> str:
        return f"Fault(id={self.id}, kind={self.view.kind!r})"

    def refresh(self) -> FaultView:
        """Its current state (``active``, ``scheduled``, …)."""
        self.view = self.fm._call(_get_fault, self.id)
        return self.view

    def delete(self) -> bool:
        """Removes it; False when it was already gone (expired or cleared)."""
        try:
            self.fm._call(_delete_fault, self.id)
        except FaultmeshError as e:
            if e.status == 404:
                return False
            raise
        return True

    def __enter__(self) -> Fault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.delete()


def iter_faults(fm: Faultmesh) -> Iterator[FaultView]:
    """Iterates over the faults of ``fm``."""
    yield from fm.faults()
