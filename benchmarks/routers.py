"""Every router the fan-out is measured on, behind one small interface: Telegraphy, and the peers people
would pick instead, each installed into its own virtual environment (peerenv.py) and run on loopback.

A router gives the scenario its subscribers (Node clients: WAMP, plain WebSocket or socket.io, whatever
the protocol allows), a publisher answering the pacer's ``pace`` command, and the process ids to charge
CPU and memory to:

- ``telegraphy``: the gateway; the web app publishes with ``telegraphy.publish_many`` over the configured
  transport (XML-RPC by default).
- ``autobahn (bare)``: peer_apps/bare_broadcaster.py, one prepared frame per event to every connection
  (our stack's own ceiling); a Node WebSocket publisher sends it the events.
- ``crossbar``: one router worker, JSON; a Node WAMP session publishes.
- ``python-socketio``: AsyncServer on aiohttp with AsyncRedisManager; a write-only RedisManager emitter.
- ``channels``: Django Channels with channels_redis behind daphne; a ``group_send`` emitter.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from . import common, peerenv
from .common import LineProcess, NodePeers

APPS = common.HERE / "peer_apps"
REDIS_URL = "redis://127.0.0.1:6379/0"
TOPIC = "bench.fanout"


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (/proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            children.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def redis_unreachable() -> str | None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError as exc:
        return f"Redis is not reachable on 127.0.0.1:6379 ({exc})"
    return None


class Server:
    """A server process in its own process group, logging to a file, ready once its port accepts; it ends
    after common.CHILD_MAX_SECONDS (coreutils ``timeout``) or when stop() ends its group."""

    def __init__(self, name: str, args: list[str], port: int, directory: Path, env: dict | None = None,
                 timeout: float = 60) -> None:
        self.name, self.port = name, port
        self.log_path = directory / f"{name.replace(' ', '-')}.log"
        self._log = open(self.log_path, "wb")
        guarded = ["timeout", "-k", "10", str(common.CHILD_MAX_SECONDS), *args]  # ends by itself, whatever happens
        self.proc = subprocess.Popen(guarded, stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=directory,
                                     env={**os.environ, "BENCH_MAX_SECONDS": str(common.CHILD_MAX_SECONDS),
                                          **(env or {})})
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{name} did not listen on port {port} within {timeout:.0f}s: "
                                       f"{self.log()}") from None
                time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-1500:]

    def pids(self) -> list[int]:
        return descendants(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group we started: any worker left behind
        except ProcessLookupError:
            pass
        self.proc.wait()
        self._log.close()


class Router:
    """One router under test. ``start`` raises RuntimeError (with why) when it cannot be installed or run."""

    name = "?"
    about = ""  # what and which version, for the notes

    def start(self, directory: Path) -> None:
        raise NotImplementedError

    def subscribers(self, count: int, processes: int) -> NodePeers:
        raise NotImplementedError

    def publisher(self) -> LineProcess:
        raise NotImplementedError

    def pids(self) -> list[int]:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class Telegraphy(Router):
    name = "telegraphy"

    def __init__(self, transport: str = "xmlrpc", limits: dict | None = None) -> None:
        self.transport, self.limits = transport, limits or {}
        self.about = (f"telegraphy: the gateway; a web-app process publishes with telegraphy.publish_many over "
                      f"{transport}")
        self.gw = None
        self.options = None

    def start(self, directory: Path) -> None:
        from .fanout import fanout_config

        self.options = common.transport_options(self.transport)
        self.gw = common.GatewayProcess(fanout_config(directory, self.transport, self.options, self.limits)).start()

    def subscribers(self, count: int, processes: int) -> NodePeers:
        return NodePeers("subscribe", self.gw.url, TOPIC, connections=count, processes=processes)

    def publisher(self) -> LineProcess:
        return common.WebApp(self.gw.config_path)

    def pids(self) -> list[int]:
        return [self.gw.proc.pid]

    def stop(self) -> None:
        if self.gw is not None:
            self.gw.stop()
        common.forget_transport(self.transport, self.options)


class BareAutobahn(Router):
    name = "autobahn (bare)"

    def __init__(self, python: str | None = None) -> None:
        self.python = python  # None: its own venv; the smoke test passes the project's (same versions)

    def start(self, directory: Path) -> None:
        python = self.python
        if python is None:
            venv = peerenv.ensure_venv("autobahn", peerenv.same_as_ours("twisted", "autobahn"))
            python = str(venv / "bin" / "python")
        from importlib import metadata

        self.about = (f"autobahn (bare): benchmarks/peer_apps/bare_broadcaster.py on Twisted "
                      f"{metadata.version('twisted')} + Autobahn {metadata.version('autobahn')} (the project's "
                      f"versions, in benchmarks/.peers/autobahn), one prepared frame per event to every connection; "
                      f"publisher: a Node WebSocket (ws_peer.js ws-publish)")
        port = common.free_port()
        self.url = f"ws://127.0.0.1:{port}/"
        self.server = Server(self.name, [python, str(APPS / "bare_broadcaster.py"), str(port)], port, directory)

    def subscribers(self, count: int, processes: int) -> NodePeers:
        return NodePeers("ws-subscribe", self.url, TOPIC, count, processes, script=common.WS_PEER_JS)

    def publisher(self) -> LineProcess:
        return NodePeers("ws-publish", self.url, TOPIC, script=common.WS_PEER_JS).publisher

    def pids(self) -> list[int]:
        return self.server.pids()

    def stop(self) -> None:
        self.server.stop()


class Crossbar(Router):
    name = "crossbar"
    REALM = "telegraphy"

    def start(self, directory: Path) -> None:
        venv = peerenv.ensure_venv("crossbar", ["crossbar==26.10.*"])
        self.about = (f"crossbar: Crossbar {peerenv.version(venv, 'crossbar')} from PyPI, one router worker, JSON "
                      f"serializer; publisher: a Node WAMP session (wamp_peer.js publish)")
        port = common.free_port()
        self.url = f"ws://127.0.0.1:{port}"
        cbdir = directory / ".crossbar"
        cbdir.mkdir()
        (cbdir / "config.json").write_text(json.dumps(self.config(port), indent=1))
        self.server = Server(self.name, [str(venv / "bin" / "crossbar"), "start", "--cbdir", str(cbdir),
                                         "--loglevel", "warn"], port, directory, timeout=120)

    def config(self, port: int) -> dict:
        """A minimal router: one realm, anonymous may subscribe and publish, WebSocket on loopback."""
        anyone = {"uri": "", "match": "prefix", "allow": {"call": False, "register": False, "publish": True,
                                                         "subscribe": True},
                  "disclose": {"caller": False, "publisher": False}, "cache": True}
        return {"version": 2, "controller": {}, "workers": [{
            "type": "router",
            "realms": [{"name": self.REALM, "roles": [{"name": "anonymous", "permissions": [anyone]}]}],
            "transports": [{"type": "websocket", "serializers": ["json"],
                            "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": port, "backlog": 1024},
                            "options": {"auto_ping_interval": 25000, "auto_ping_timeout": 10000}}]}]}

    def subscribers(self, count: int, processes: int) -> NodePeers:
        return NodePeers("subscribe", self.url, TOPIC, count, processes, realm=self.REALM)

    def publisher(self, timeout: float = 60) -> LineProcess:
        """A Node WAMP publisher session, retried until the router accepts it (its worker starts late)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return NodePeers("publish", self.url, TOPIC, realm=self.REALM, ready_timeout=10).publisher
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"crossbar accepted no session within {timeout:.0f}s: "
                                       f"{self.server.log()}") from None
                time.sleep(1)

    def pids(self) -> list[int]:
        return self.server.pids()

    def stop(self) -> None:
        self.server.stop()


class SocketIO(Router):
    name = "python-socketio"
    REQUIREMENTS = ["python-socketio==5.*", "aiohttp==3.*", "redis==8.*"]

    def start(self, directory: Path) -> None:
        why = redis_unreachable()
        if why:
            raise RuntimeError(why)
        self.venv = venv = peerenv.ensure_venv("socketio", self.REQUIREMENTS)
        self.about = (f"python-socketio: python-socketio {peerenv.version(venv, 'python-socketio')} AsyncServer on "
                      f"aiohttp {peerenv.version(venv, 'aiohttp')} with AsyncRedisManager (redis "
                      f"{peerenv.version(venv, 'redis')}, the local Redis); publisher: a write-only "
                      f"socketio.RedisManager in another process; clients: socket.io-client, WebSocket transport")
        self.channel = f"bench-{uuid.uuid4().hex[:8]}"
        port = common.free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = Server(self.name, [str(venv / "bin" / "python"), str(APPS / "socketio_server.py"), str(port),
                                         REDIS_URL, self.channel], port, directory)

    def subscribers(self, count: int, processes: int) -> NodePeers:
        return NodePeers("sio-subscribe", self.url, TOPIC, count, processes, script=common.WS_PEER_JS)

    def publisher(self) -> LineProcess:
        emitter = LineProcess([str(self.venv / "bin" / "python"), str(APPS / "socketio_emitter.py"), REDIS_URL,
                               self.channel], env={"PYTHONPATH": str(common.ROOT),
                                                   "BENCH_MAX_SECONDS": str(common.CHILD_MAX_SECONDS)},
                              name="socketio emitter")
        emitter.read(60)
        return emitter

    def pids(self) -> list[int]:
        return self.server.pids()

    def stop(self) -> None:
        self.server.stop()


class Channels(Router):
    name = "channels"
    REQUIREMENTS = ["channels==4.*", "channels-redis==4.*", "daphne==4.*"]

    def start(self, directory: Path) -> None:
        why = redis_unreachable()
        if why:
            raise RuntimeError(why)
        self.venv = venv = peerenv.ensure_venv("channels", self.REQUIREMENTS)
        self.about = (f"channels: Django {peerenv.version(venv, 'django')} + Channels "
                      f"{peerenv.version(venv, 'channels')} + channels_redis {peerenv.version(venv, 'channels-redis')} "
                      f"(RedisChannelLayer, pool "
                      f"raised to 2,000 connections) behind daphne {peerenv.version(venv, 'daphne')}, one process; "
                      f"publisher: channel_layer.group_send in another process; clients: plain WebSockets (ws)")
        self.env = {"PYTHONPATH": os.pathsep.join([str(APPS), str(common.ROOT)]), "BENCH_REDIS_URL": REDIS_URL,
                    "BENCH_PREFIX": f"bench-{uuid.uuid4().hex[:8]}", "BENCH_MAX_SECONDS": str(common.CHILD_MAX_SECONDS)}
        port = common.free_port()
        self.url = f"ws://127.0.0.1:{port}/ws/"
        self.server = Server(self.name, [str(venv / "bin" / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                                         "channels_app:application"], port, directory, env=self.env)

    def subscribers(self, count: int, processes: int) -> NodePeers:
        return NodePeers("ws-subscribe", self.url, TOPIC, count, processes, script=common.WS_PEER_JS)

    def publisher(self) -> LineProcess:
        emitter = LineProcess([str(self.venv / "bin" / "python"), str(APPS / "channels_emitter.py")], env=self.env,
                              name="channels emitter")
        emitter.read(60)
        return emitter

    def pids(self) -> list[int]:
        return self.server.pids()

    def stop(self) -> None:
        self.server.stop()
        # leave the shared Redis as it was: the run's keys (groups live for a day otherwise)
        code = ("import os, redis; r = redis.Redis.from_url(os.environ['BENCH_REDIS_URL']); "
                "keys = list(r.scan_iter(os.environ['BENCH_PREFIX'] + '*')); keys and r.delete(*keys)")
        subprocess.run([str(self.venv / "bin" / "python"), "-c", code], env={**os.environ, **self.env}, timeout=30,
                       capture_output=True)


def peers() -> list[Router]:
    """The peers, in the order the tables show them."""
    return [BareAutobahn(), Crossbar(), SocketIO(), Channels()]


if __name__ == "__main__":  # a manual check: start each peer and stop it
    import tempfile

    for router in peers():
        with tempfile.TemporaryDirectory() as tmp:
            try:
                router.start(Path(tmp))
                print(router.name, "started:", router.about, file=sys.stderr)
            finally:
                if hasattr(router, "server"):
                    router.stop()
