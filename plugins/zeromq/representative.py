"""Gateway side of the zeromq transport: a PULL socket read from the Twisted reactor, no thread.

libzmq exposes each socket's state through a file descriptor (``zmq.FD``) that the reactor watches.
That descriptor is edge-triggered: it says "something changed", not "a message is waiting", and it
does not fire again for messages already there. So every wake-up drains the socket until EAGAIN,
and a wake-up that stops early (to keep the reactor responsive) schedules the rest itself.

With CURVE on, the ZAP handler that lets in only the configured client key is a REP socket on
``inproc://zeromq.zap.01`` read the same way (pyzmq's ``zmq.auth`` would add a thread for it), and a
monitor socket counts connected proxies and refused handshakes for /health.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import zmq
from twisted.internet.interfaces import IReactorFDSet, IReactorTime, IReadDescriptor
from twisted.logger import Logger
from zmq.utils.monitor import parse_monitor_message
from zmq.utils.z85 import decode as z85_decode
from zope.interface import implementer

from telegraphy.config import Config
from telegraphy.errors import ConfigError
from telegraphy.representative import Representative

from .options import ZeroMQOptions, curve_keys, is_loopback, os_picks_port

BATCH = 512  # messages read per reactor turn before letting other work run
ZAP_ENDPOINT = "inproc://zeromq.zap.01"  # fixed by the ZAP specification (RFC 27)
# Failed handshakes other than a refusal by our ZAP handler (which counts those itself).
HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
MONITORED = zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED | HANDSHAKE_FAILED[0] | HANDSHAKE_FAILED[1]


@implementer(IReadDescriptor)
class SocketReader:
    """Feeds every message of a ZeroMQ socket to ``handle``, in the reactor thread.

    A handler may send on the socket (the ZAP reply): sending can swallow the descriptor's edge too,
    which is harmless because the loop reads again, until EAGAIN, after every handled message.
    """

    log = Logger()

    def __init__(self, reactor: IReactorFDSet | IReactorTime, socket: zmq.Socket,
                 handle: Callable[[list[bytes]], None], batch: int = BATCH) -> None:
        self.reactor, self.socket, self.handle, self.batch = reactor, socket, handle, batch
        self._fd = socket.getsockopt(zmq.FD)
        self._more = None

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "zeromq"

    def start(self) -> None:
        self.reactor.addReader(self)
        self.doRead()  # messages may already wait, and the edge that announced them may be gone

    def stop(self) -> None:
        self.reactor.removeReader(self)
        if self._more is not None and self._more.active():
            self._more.cancel()
        self._more = None

    def doRead(self) -> None:
        self._more = None
        recv = self.socket.recv_multipart
        for _ in range(self.batch):
            try:
                frames = recv(zmq.NOBLOCK)
            except zmq.Again:
                return  # drained: the descriptor will fire on the next change
            try:
                self.handle(frames)
            except Exception:  # noqa: BLE001 - one bad message must not stop the reading
                self.log.failure("zeromq: failed to handle a message")
        # Stopped before EAGAIN: more may wait, and the edge-triggered descriptor will not say so again.
        self._more = self.reactor.callLater(0, self.doRead)

    def connectionLost(self, reason) -> None:
        pass


class ZeroMQRepresentative(Representative):
    """Binds ``bind`` and delivers every frame of every message as one event, in arrival order."""

    name = "zeromq"
    gauges = ("peers",)

    def __init__(self, config: Config, reactor: Any = None) -> None:
        super().__init__(config, reactor)
        options: ZeroMQOptions = config.transport.options
        self.options = options
        self.bind: str = options.bind  # with port 0, the address the OS gave once bound
        self.rcvhwm: int = options.rcvhwm
        self.curve = curve_keys(config, "server")
        self.context: zmq.Context | None = None
        self.readers: list[SocketReader] = []
        self.peers: set[int] = set()  # descriptors of the proxies' open connections
        self.handshake_failures = 0
        self.refused = 0

    def _start(self) -> None:
        context = self.context = zmq.Context(io_threads=1)
        pull = context.socket(zmq.PULL)
        pull.setsockopt(zmq.RCVHWM, self.rcvhwm)
        pull.setsockopt(zmq.LINGER, 0)
        if self.curve is not None:
            zap = context.socket(zmq.REP)
            zap.setsockopt(zmq.LINGER, 0)
            zap.bind(ZAP_ENDPOINT)  # before the PULL socket binds, so no handshake skips it
            self._zap, self._client_key = zap, z85_decode(self.curve.client_public_key)
            self.readers.append(SocketReader(self.reactor, zap, self._authenticate))
            pull.setsockopt(zmq.CURVE_SERVER, 1)
            pull.setsockopt(zmq.CURVE_SECRETKEY, self.curve.server_secret_key.encode("ascii"))
            pull.setsockopt(zmq.ZAP_DOMAIN, b"telegraphy")
        self.readers.append(SocketReader(self.reactor, pull.get_monitor_socket(MONITORED), self._monitor))
        configured = self.options.bind
        try:
            pull.bind(re.sub(r":0$", ":*", configured))  # port 0 or *: the OS picks one
        except zmq.ZMQError as exc:
            self._close()
            hint = " (is another gateway bound to it? each needs its own)" if exc.errno == zmq.EADDRINUSE else ""
            raise ConfigError(f"cannot bind {configured}: {exc.strerror}{hint}: change transport.options.bind",
                              source=self.config.source, key="transport.options.bind") from None
        if os_picks_port(configured):
            self.bind = pull.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.readers.append(SocketReader(self.reactor, pull, self._receive))
        for reader in self.readers:
            reader.start()
        self.state = "running"
        if self.curve is None and not is_loopback(self.bind):
            self.log.warn("zeromq: {bind} is reachable from the network without CURVE: anyone who can connect "
                          "can publish events (set transport.options.curve)", bind=self.bind)
        self.log.info("zeromq: receiving events on {bind}{curve}", bind=self.bind,
                      curve=" (CURVE)" if self.curve else "")

    def web_app_options(self) -> dict[str, Any]:
        """With an OS-picked port, the address it got, for ``bind`` and as the one endpoint of this gateway."""
        if self.bind == self.options.bind:
            return {}
        return {"bind": self.bind, "endpoints": [self.bind]}

    def _receive(self, frames: list[bytes]) -> None:
        for frame in frames:  # publish_many sends one multipart message: one event per frame
            self.receive(frame)

    def _authenticate(self, frames: list[bytes]) -> None:
        """Answer a ZAP request: only the configured client key may connect (RFC 27)."""
        if len(frames) < 6:
            self._zap.send_multipart([b"1.0", frames[1] if len(frames) > 1 else b"", b"500", b"bad request",
                                      b"", b""])
            return
        _version, request_id, _domain, address, _identity, mechanism, *credentials = frames
        if mechanism == b"CURVE" and credentials and credentials[0] == self._client_key:
            self._zap.send_multipart([b"1.0", request_id, b"200", b"OK", b"", b""])
            return
        self._zap.send_multipart([b"1.0", request_id, b"400", b"client key not authorized", b"", b""])
        self.refused += 1
        if self.refused & (self.refused - 1) == 0:  # the 1st, 2nd, 4th, 8th... time: a retrying proxy cannot flood
            self.log.warn("zeromq: refused a proxy from {address}: its CURVE key is not curve.client_public_key "
                          "({refused} refused so far)", address=address.decode(errors="replace"), refused=self.refused)

    def _monitor(self, frames: list[bytes]) -> None:
        event = parse_monitor_message(frames)
        kind, fd = event["event"], event["value"]
        if kind == zmq.EVENT_ACCEPTED:  # the value is the connection's descriptor for these two
            self.peers.add(fd)
        elif kind == zmq.EVENT_DISCONNECTED:
            self.peers.discard(fd)
        elif kind in HANDSHAKE_FAILED:
            self.handshake_failures += 1
            if self.handshake_failures & (self.handshake_failures - 1) == 0:
                self.log.warn("zeromq: a proxy failed the handshake on {bind} (wrong CURVE keys, or CURVE on one "
                              "side only?) ({failures} so far)", bind=self.bind, failures=self.handshake_failures)

    def _stop(self) -> None:
        self.state = "stopped"
        self._close()

    def _close(self) -> None:
        for reader in self.readers:
            reader.stop()
        self.readers = []
        if self.context is not None:
            context, self.context = self.context, None
            context.destroy(linger=0)  # events still queued here would only reach a gateway going away

    def status(self) -> dict:
        return {**super().status(), "endpoint": self.bind, "curve": self.curve is not None,
                "peers": len(self.peers), "handshake_failures": self.handshake_failures, "refused": self.refused}
