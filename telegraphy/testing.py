"""Helpers for testing an app that publishes events.

**The outbox.** With ``transport: {name: memory}`` every event the app publishes is recorded here
instead of travelling anywhere (as Django's locmem email backend keeps mail)::

    from telegraphy import testing

    def test_a_new_order_is_announced(client):
        testing.clear()
        client.post("/orders/", {"item": "tea"})
        assert [event.name for event in testing.outbox] == ["shop.Order"]

A gateway running in the same process with the same config receives them too.

**A real gateway.** :class:`GatewayProcess` runs ``telegraphy-gateway`` for a config file whose ports
may be 0: the OS picks them, the gateway reports them through ``--ready-file``, and the file is rewritten
with them, so web apps that read it afterwards reach the gateway, and a restart keeps them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from .events import Event

__all__ = ["TEST_SECRET", "GatewayProcess", "clear", "outbox", "published", "record", "unused_port", "wait_for",
           "write_config"]


# -- the outbox of the memory transport --------------------------------------------------------------
outbox: list[Event] = []  # every event published through the memory transport in this process, in order
_outbox_lock = threading.Lock()


def record(events: Iterable[Event]) -> None:
    """Add published events to the outbox (the memory transport calls this)."""
    with _outbox_lock:
        outbox.extend(events)


def clear() -> None:
    """Empty the outbox (the same list object, so ``from telegraphy.testing import outbox`` stays valid)."""
    with _outbox_lock:
        outbox.clear()


def published(name: str | None = None) -> list[Event]:
    """The events in the outbox, or those called ``name``."""
    with _outbox_lock:
        return [event for event in outbox if name is None or event.name == name]


# -- a real gateway process ----------------------------------------------------------------------------
TEST_SECRET = "test-secret-0123456789abcdef"  # for test configs only


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02,
             message: str = "condition") -> Any:
    """Poll ``predicate`` until it returns a truthy value (returned) or ``timeout`` passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def unused_port(host: str = "127.0.0.1") -> int:
    """A port the OS had free a moment ago, for a server that can only be told a number (Crossbar, RabbitMQ's
    distribution port). Another process may take it meanwhile: the caller must notice and retry. Where a
    port of Telegraphy's own is needed, give 0 and read the real one back instead (GatewayProcess)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def write_config(directory: str | os.PathLike, transport: str = "xmlrpc", options: dict | None = None,
                 events: list | None = None, limits: dict | None = None, gateway: dict | None = None,
                 auth: dict | None = None, name: str = "telegraphy.yaml", ports: str = "os") -> Path:
    """A test config on loopback; returns its path.

    ``ports="os"`` writes port 0 for the gateway (and the xmlrpc and zeromq transports): start it with
    GatewayProcess, which fills in the ports the OS gave. ``ports="unused"`` writes ports that were free
    when written, for gateways started some other way (Django's run_telegraph).
    """
    pick = (lambda: 0) if ports == "os" else unused_port
    if options is None:
        options = {"xmlrpc": {"host": "127.0.0.1", "port": pick()},
                   "zeromq": {"bind": f"tcp://127.0.0.1:{pick()}"}}.get(transport, {})
    port = pick()
    data: dict[str, Any] = {
        "transport": {"name": transport, "options": options},
        "gateway": {"listen": {"host": "127.0.0.1", "port": port},
                    "url": f"ws://127.0.0.1:{port}/ws" if port else "ws://127.0.0.1/ws",
                    "realm": "telegraphy", **(gateway or {})},
        "auth": {"secret": TEST_SECRET, "token_ttl": 30, **(auth or {})},
        "events": events if events is not None else [{"match": "*", "access": "public", "history": 100}],
    }
    if limits:
        data["limits"] = limits
    path = Path(directory) / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class GatewayProcess:
    """A ``telegraphy-gateway --config FILE --ready-file ...`` subprocess, started and waited for.

    Ports given as 0 in the file are picked by the OS when the gateway starts; once it is ready the file is
    rewritten with them (so web apps reading it reach this gateway, and a restart binds the same ports),
    and ``port``, ``url`` and ``http`` say where it is.
    """

    def __init__(self, config_path: str | os.PathLike, env: dict | None = None) -> None:
        self.config_path = Path(config_path)
        data = yaml.safe_load(self.config_path.read_text())
        listen = (data.get("gateway") or {}).get("listen") or {}
        self.host, self.port = listen.get("host", "127.0.0.1"), listen.get("port", 8080)
        self.url = f"ws://{self.host}:{self.port}/ws"
        self.http = f"http://{self.host}:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.ready: dict | None = None  # what the gateway wrote to its ready file
        self.log_path = self.config_path.with_suffix(f".gateway-{self.port}.log")
        self.ready_path = self.config_path.with_suffix(".ready.json")

    def start(self, wait: bool = True) -> GatewayProcess:
        """Start it; return once it serves (``wait``: and /health says 200), or has exited (not ``wait``)."""
        exe = shutil.which("telegraphy-gateway", path=os.path.dirname(sys.executable)) or "telegraphy-gateway"
        self.ready_path.unlink(missing_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed by stop()
        self.proc = subprocess.Popen([exe, "--config", str(self.config_path), "--ready-file", str(self.ready_path)],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        wait_for(lambda: self.ready_path.exists() or self.proc.poll() is not None, timeout=20,
                 message=f"gateway {self.config_path} to start\n{self.log()}")
        if self.ready_path.exists():
            self._pin(json.loads(self.ready_path.read_text()))
        if wait:
            wait_for(self.healthy, timeout=20, message=f"gateway on port {self.port} to be healthy\n{self.log()}")
        return self

    def _pin(self, ready: dict) -> None:
        """Take the bound addresses, and write them into the config file where it said 0."""
        self.ready = ready
        self.host, self.port = ready["gateway"]["host"], ready["gateway"]["port"]
        self.http = f"http://{self.host}:{self.port}"
        data = yaml.safe_load(self.config_path.read_text())
        gateway = data.setdefault("gateway", {})
        listen = gateway.setdefault("listen", {})
        changed = listen.get("port") == 0
        if changed:
            listen["port"] = self.port
            url = urlsplit(gateway.get("url") or f"ws://{self.host}:0/ws")
            if url.port in (0, None):
                gateway["url"] = urlunsplit(url._replace(netloc=f"{url.hostname}:{self.port}"))
        url = urlsplit(gateway.get("url") or "/ws")
        self.url = f"ws://{self.host}:{self.port}{url.path or '/ws'}"
        options = data.setdefault("transport", {}).get("options") or {}
        pinned = {**options, **ready["transport"]["options"]}
        if pinned != options:
            data["transport"]["options"], changed = pinned, True
        if changed:
            temporary = self.config_path.with_suffix(".pinned.tmp")
            temporary.write_text(yaml.safe_dump(data, sort_keys=False))
            temporary.replace(self.config_path)

    def healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"gateway exited with {self.proc.returncode}:\n{self.log()}")
        try:
            with urllib.request.urlopen(self.http + "/health", timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.http + path, timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metrics(self) -> str:
        return self.get("/metrics")[1]

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Stop it (SIGTERM: a clean stop); returns its exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        code, self.proc = self.proc.returncode, None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)
