"""Test helpers: real gateway processes, real autobahn-python WAMP clients, condition waits.

Nothing here is a mock: gateways run as `telegraphy-gateway` subprocesses on loopback (GatewayProcess,
from telegraphy.testing, which benchmarks/ uses too), and clients are autobahn-python ApplicationSessions
(asyncio flavour, one event loop thread per client).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from autobahn.asyncio.wamp import ApplicationSession
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp import message
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import ComponentConfig, SubscribeOptions

from telegraphy import testing
from telegraphy.testing import GatewayProcess, unused_port, wait_for

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright's own browser download does not work here
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SECRET = testing.TEST_SECRET
DEFAULT_TIMEOUT = 10.0


def free_port() -> int:
    """A port free a moment ago, for servers that can only be told a number (Django's runserver, Flask's).
    Telegraphy's own gateways need none: write port 0 (``config_file``) and GatewayProcess reads back the
    ports the OS gave."""
    return unused_port()


def write_config(directory: Path, transport: str = "xmlrpc", options: dict | None = None,
                 events: list | None = None, limits: dict | None = None, gateway: dict | None = None,
                 auth: dict | None = None, name: str = "telegraphy.yaml", ports: str = "unused") -> Path:
    """A shared config on loopback (see telegraphy.testing.write_config). The default writes ports that were
    free, for gateways started by other commands (run_telegraph, ``flask telegraphy gateway``); the
    ``config_file`` fixture passes ``ports="os"`` for gateways started by GatewayProcess."""
    return testing.write_config(directory, transport, options, events, limits, gateway, auth, name, ports)


class RabbitNode:
    """A private RabbitMQ node for tests that stop or restart the broker, so the shared one on 5672 is never
    touched: its own node name, AMQP and distribution ports, database, logs, config and Erlang cookie. Only
    this node is ever stopped (``rabbitmqctl -n NAME``).

    RabbitMQ takes its ports as numbers (it refuses 0 for the distribution port), so they are ports the OS had
    free; if another process took one meanwhile the node does not start, and it is tried again on others.
    """

    SERVER = next((p for p in ("/usr/lib/rabbitmq/bin/rabbitmq-server",) if os.path.exists(p)),
                  shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server")  # the Debian wrapper would su
    CTL = os.path.join(os.path.dirname(SERVER), "rabbitmqctl")

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.name = f"telegraphy-test-{os.getpid()}@localhost"
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def start(self, attempts: int = 3) -> RabbitNode:
        for _ in range(attempts):
            if self._start_once():
                return self
        raise AssertionError(f"the private RabbitMQ node did not start:\n{self.log()[-3000:]}")

    def _start_once(self) -> bool:
        home, base = self.directory / "home", self.directory
        home.mkdir(parents=True, exist_ok=True)
        self.port, dist_port = unused_port(), unused_port()
        (base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (base / "enabled_plugins").write_text("[].\n")  # no management plugin on the shared node's 15672
        (base / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's, which names the shared node
        self.env = {**os.environ, "HOME": str(home), "RABBITMQ_NODENAME": self.name,
                    "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(dist_port),
                    "RABBITMQ_MNESIA_BASE": str(base / "mnesia"), "RABBITMQ_LOG_BASE": str(base / "log"),
                    "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
                    "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
                    "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"), "ERL_EPMD_ADDRESS": "127.0.0.1",
                    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}"}
        self._log = open(base / "server.log", "ab")  # noqa: SIM115 - closed by stop()
        self.proc = subprocess.Popen([self.SERVER], env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for(lambda: self.proc.poll() is not None or self.accepts(), timeout=120, interval=0.2,
                 message=f"the private RabbitMQ node {self.name} on port {self.port}")
        if self.proc.poll() is None:
            return True
        self._log.close()
        return False  # most likely a port taken meanwhile: try others

    def accepts(self) -> bool:
        """The node answers AMQP (it is started and its app is running)."""
        import pika

        params = pika.ConnectionParameters("127.0.0.1", self.port, connection_attempts=1, socket_timeout=2,
                                           stack_timeout=5)
        try:
            pika.BlockingConnection(params).close()
            return True
        except pika.exceptions.AMQPError:
            return False

    def ctl(self, *args: str) -> None:
        """``rabbitmqctl -n NAME ARGS`` for this node alone (``stop_app``, ``start_app``)."""
        subprocess.run([self.CTL, "-n", self.name, *args], env=self.env, check=True, capture_output=True,
                       timeout=120)

    def log(self) -> str:
        logs = [self.directory / "server.log", *sorted((self.directory / "log").glob("*.log"))]
        return "".join(path.read_text(errors="replace") for path in logs if path.exists())

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.ctl("stop")
            self.proc.wait(60)
        except (subprocess.SubprocessError, OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # the session we started: the script and its Erlang VM
            self.proc.wait()
        self._log.close()


def run_python(code: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in a separate Python process (a web app, a script) and return its result."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    return result


def _with_extra_options(base: type) -> type:
    """A serializer that adds Telegraphy's SUBSCRIBE options (filter, persistent, since), which
    autobahn's SubscribeOptions does not know, to the marshalled message."""

    class Serializer(base):
        def __init__(self) -> None:
            super().__init__()
            self.pending: dict[str, dict] = {}
            self.event_details: dict[int, dict] = {}  # publication id -> raw EVENT details (seq, epoch)

        def unserialize(self, payload, isBinary=None):
            msgs = super().unserialize(payload, isBinary)
            for raw in self._serializer.unserialize(payload):
                if raw and raw[0] == message.Event.MESSAGE_TYPE:
                    self.event_details[(raw[1], raw[2])] = raw[3]
            return msgs

        def serialize(self, msg):
            extra = self.pending.pop(msg.topic, None) if isinstance(msg, message.Subscribe) else None
            if not extra:
                return super().serialize(msg)
            raw = msg.marshal()
            raw[2].update(extra)
            return self._serializer.serialize(raw), self._serializer.BINARY
    return Serializer


JsonOptionsSerializer = _with_extra_options(JsonSerializer)
MsgPackOptionsSerializer = _with_extra_options(MsgPackSerializer)


_loop: asyncio.AbstractEventLoop | None = None


def client_loop() -> asyncio.AbstractEventLoop:
    """One asyncio loop thread for every client of this process (txaio has one global loop)."""
    global _loop
    if _loop is None:
        import txaio

        txaio.use_asyncio()
        _loop = asyncio.new_event_loop()
        txaio.config.loop = _loop
        threading.Thread(target=_loop.run_forever, daemon=True, name="wamp-clients").start()
    return _loop


class WampClient:
    """An autobahn-python ApplicationSession on the shared asyncio loop thread, driven synchronously."""

    def __init__(self, url: str, realm: str = "telegraphy", serializer: str = "json", ticket: str | None = None,
                 previous_session: str | None = None, origin: str | None = None) -> None:
        self.url, self.realm, self.ticket, self.previous = url, realm, ticket, previous_session
        self.serializer = JsonOptionsSerializer() if serializer == "json" else MsgPackOptionsSerializer()
        self.origin = origin
        self.events: list[dict] = []
        self.lock = threading.Condition()
        self.session: ApplicationSession | None = None
        self.join_details = None
        self.close_details = None
        self.closed = threading.Event()
        self.joined = threading.Event()
        self.loop = client_loop()

    def _run(self, coro, timeout: float = DEFAULT_TIMEOUT):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def connect(self, timeout: float = DEFAULT_TIMEOUT, expect_failure: bool = False) -> WampClient:
        client = self

        class Session(ApplicationSession):
            def onConnect(self):
                methods = ["ticket"] if client.ticket else ["anonymous"]
                extra = {"previous_session": client.previous} if client.previous else None
                self.join(client.realm, authmethods=methods, authextra=extra)

            def onChallenge(self, challenge):
                return client.ticket

            def onJoin(self, details):
                client.session, client.join_details = self, details
                client.joined.set()

            def onLeave(self, details):
                client.close_details = details
                super().onLeave(details)

            def onDisconnect(self):
                client.closed.set()

        def make():
            return Session(ComponentConfig(self.realm, {}))

        host, port = self.url.split("//")[1].split("/")[0].split(":")
        headers = {"Origin": self.origin} if self.origin else None
        factory = WampWebSocketClientFactory(make, url=self.url, serializers=[self.serializer], headers=headers,
                                             loop=self.loop)
        factory.setProtocolOptions(autoPingInterval=0)
        self._run(self.loop.create_connection(factory, host, int(port)))
        deadline = time.monotonic() + timeout
        while not self.joined.is_set() and not self.closed.is_set():
            if time.monotonic() > deadline:
                raise AssertionError(f"WAMP session to {self.url} not established within {timeout}s")
            time.sleep(0.01)
        if not self.joined.is_set() and not expect_failure:
            raise AssertionError(f"WAMP session refused: {self.close_details}")
        return self

    @property
    def authextra(self) -> dict:
        return self.join_details.authextra or {}

    def subscribe(self, topic: str, match: str = "exact", **extra) -> int:
        """Subscribe; events land in ``self.events`` as dicts with topic, seq and envelope."""
        def handler(envelope, details=None):
            with self.lock:
                sub = details.subscription.id
                raw = self.serializer.event_details.pop((sub, details.publication), {})
                self.events.append({"topic": details.topic, "envelope": envelope, "sub": sub,
                                    "seq": raw.get("seq"), "epoch": raw.get("epoch")})
                self.lock.notify_all()
        if extra:
            self.serializer.pending[topic] = extra

        async def go():
            return await self.session.subscribe(handler, topic, options=SubscribeOptions(match=match, details=True))
        return self._run(go()).id

    def call(self, procedure: str, *args, **kwargs):
        async def go():
            return await self.session.call(procedure, *args, **kwargs)
        return self._run(go())

    def publish(self, topic: str, *args, acknowledge: bool = True, **kwargs):
        from autobahn.wamp.types import PublishOptions

        async def go():
            return await self.session.publish(topic, *args, options=PublishOptions(acknowledge=acknowledge), **kwargs)
        return self._run(go())

    def wait_events(self, count: int, timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.events) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} events, got {len(self.events)}: {self.events[-3:]}")
                self.lock.wait(left)
            return list(self.events)

    def envelopes(self) -> list[dict]:
        with self.lock:
            return [e["envelope"] for e in self.events]

    def close(self) -> None:
        if self.session is not None and self.joined.is_set() and not self.closed.is_set():
            try:
                self._run(self._leave(), timeout=5)
            except Exception:  # noqa: BLE001 - already gone
                pass

    async def _leave(self):
        if self.session.is_attached():
            self.session.leave()
        for _ in range(100):
            if self.closed.is_set():
                return
            await asyncio.sleep(0.02)

    def drop(self) -> None:
        """Cut the TCP connection without a goodbye (a network failure, a closed laptop)."""
        transport = self.session._transport
        self.loop.call_soon_threadsafe(lambda: transport.transport.abort() if transport else None)
        wait_for(self.closed.is_set, message="client connection to drop")


__all__ = ["ApplicationError", "GatewayProcess", "RabbitNode", "SECRET", "WampClient", "free_port", "json",
           "run_python", "wait_for", "write_config"]
