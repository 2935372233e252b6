"""Start a faultmesh appliance for a test and stop it afterwards.

``faultmesh run`` needs root (or CAP_NET_ADMIN): it builds network namespaces.
The binary is ``$FAULTMESH_BIN``, else ``faultmesh`` on ``PATH``. Each
appliance gets a unique namespace prefix and its own random API token, and
listens on a free loopback port; on exit it is stopped with SIGTERM (which
removes its namespaces and devices), or killed and cleaned up with
``faultmesh cleanup --prefix`` if it does not stop in time.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import Faultmesh, FaultmeshError

#: A two-host topology: ``client ⇄ [wan] ⇄ core ⇄ [lan] ⇄ server``.
DEFAULT_TOPOLOGY = """\
name: pytest
seed: 7
nodes:
  client: {kind: host, addresses: [10.0.1.2/24], gateway: 10.0.1.1}
  server: {kind: host, addresses: [10.0.2.2/24], gateway: 10.0.2.1}
segments:
  core: {kind: router, addresses: [10.0.1.1/24, 10.0.2.1/24]}
links:
  wan: {a: client, b: core}
  lan: {a: core, b: server}
"""

_counter = itertools.count()


def faultmesh_bin() -> str:
    """The faultmesh binary: ``$FAULTMESH_BIN`` or ``faultmesh`` on ``PATH``."""
    b = os.environ.get("FAULTMESH_BIN") or shutil.which("faultmesh")
    if not b:
        raise FileNotFoundError("no faultmesh binary: set FAULTMESH_BIN or put faultmesh on PATH")
    return b


def unique_prefix() -> str:
    """A namespace prefix no other appliance of this machine uses."""
    return f"fmpy{os.getpid() % 100000}x{next(_counter)}-"


class Appliance(Faultmesh):
    """A client of an appliance this process started, with what a test needs
    to reach its nodes."""

    def __init__(self, url: str, token: str, process: subprocess.Popen[str], prefix: str, workdir: Path) -> None:
        super().__init__(url, token)
        self.process = process
        self.prefix = prefix
        self.workdir = workdir
        self.stats_path = workdir / "stats.json"
        self.output: list[str] = []

    def ns(self, node: str) -> str:
        """The network namespace of a host node."""
        return f"{self.prefix}{node}"

    def exec(self, node: str, *args: str, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Runs a command inside a node's namespace (``ip netns exec``)."""
        return subprocess.run(
            ["ip", "netns", "exec", self.ns(node), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def stop(self, timeout: float = 30) -> dict[str, Any] | None:
        """Stops it (SIGTERM: it removes what it created); returns its final
        counters. Kills it and runs ``faultmesh cleanup`` if it hangs."""
        self.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                subprocess.run([faultmesh_bin(), "cleanup", "--prefix", self.prefix], capture_output=True, check=False)
        try:
            return json.loads(self.stats_path.read_text())
        except (OSError, ValueError):
            return None


@contextlib.contextmanager
def appliance(
    topology: str = DEFAULT_TOPOLOGY,
    *,
    args: tuple[str, ...] = (),
    prefix: str | None = None,
    ready_timeout: float = 60,
) -> Iterator[Appliance]:
    """Runs ``faultmesh run`` on ``topology`` (YAML text) and yields a client
    once it is ready; stops it when the block ends, whatever happened."""
    prefix = prefix or unique_prefix()
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}py-"))
    topo = workdir / "topology.yaml"
    topo.write_text(topology)
    token = secrets.token_hex(32)
    env = dict(os.environ, FAULTMESH_TOKEN=token, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    # The appliance's own settings come from the command line, not from a
    # FAULTMESH_* variable the caller's environment happens to hold.
    for k in ("FAULTMESH_PREFIX", "FAULTMESH_LISTEN", "FAULTMESH_NO_API", "FAULTMESH_INSECURE_NO_AUTH"):
        env.pop(k, None)
    cmd = [
        faultmesh_bin(),
        "run",
        str(topo),
        "--prefix",
        prefix,
        "--api",
        "127.0.0.1:0",
        "--stats-json",
        str(workdir / "stats.json"),
        *args,
    ]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    url = None
    deadline = time.monotonic() + ready_timeout
    app: Appliance | None = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"faultmesh run did not get ready in {ready_timeout}s:\n{''.join(output)}")
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise FaultmeshError(0, f"faultmesh run exited with {proc.wait()}:\n{''.join(output)}")
            m = re.search(r"API on (http://\S+?)/api/v1", line)
            if m:
                url = m.group(1)
            if "ready" in line and line.startswith("faultmesh: ready"):
                break
        if url is None:
            raise FaultmeshError(0, f"faultmesh run printed no API address:\n{''.join(output)}")
        app = Appliance(url, token, proc, prefix, workdir)
        app.output = output
        yield app
    finally:
        if app is not None:
            app.stop()
        elif proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.returncode not in (0, None) or app is None:
            # Whatever a failed start left behind.
            subprocess.run([faultmesh_bin(), "cleanup", "--prefix", prefix], capture_output=True, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
