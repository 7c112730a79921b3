"""Web-app side of the zeromq transport: one PUSH socket per gateway, per thread and per process.

A PUSH socket load-balances between its peers, so each gateway gets its own socket: every gateway
receives every event. With ``ZMQ_IMMEDIATE`` off, a socket queues events while its gateway is down
(up to ``sndhwm``) and sends them, in order, once it is back; past that mark ``publish`` waits up to
``send_timeout`` and then raises GatewayUnavailable naming the gateway: never a silent drop, never a hang.
"""

from __future__ import annotations

import atexit
import math
import os
import threading
import time

import zmq

from telegraphy.config import Config
from telegraphy.errors import GatewayUnavailable
from telegraphy.proxy import Proxy

from .options import ZeroMQOptions, curve_keys

Sockets = list[tuple[str, zmq.Socket]]  # (endpoint, PUSH socket), one per gateway


class _ProcessContext:
    """One zmq.Context per process: made on first use, made anew after a fork (the parent's is never
    touched in the child), and closed at exit so queued events get ``linger`` seconds to leave."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._context: zmq.Context | None = None
        self._pid = 0

    def get(self) -> zmq.Context:
        pid = os.getpid()
        if self._pid != pid or self._context is None:
            with self._lock:
                if self._pid != pid or self._context is None:
                    self._context, self._pid = zmq.Context(io_threads=1), pid
        return self._context

    def close(self) -> None:
        """At exit: close every socket with its own LINGER (queued events are sent or, after it, dropped)."""
        if self._context is not None and self._pid == os.getpid():
            context, self._context = self._context, None
            context.destroy()

    def forget(self) -> None:
        """In a forked child: drop (never close) the parent's context, and a lock another thread may hold."""
        self._lock, self._context, self._pid = threading.Lock(), None, 0


_process_context = _ProcessContext()
atexit.register(_process_context.close)
os.register_at_fork(after_in_child=_process_context.forget)


class ZeroMQProxy(Proxy):
    """Hands events to every gateway's PULL socket; ``publish_many`` sends one multipart message."""

    # The context or a socket is gone (closed at exit, by another thread): fresh sockets, one resend. A full
    # queue is not a lost connection: _send says so with GatewayUnavailable and the sockets stay, since
    # closing them would drop the events already queued in them.
    connection_errors = (zmq.ZMQError,)

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        options: ZeroMQOptions = config.transport.options
        self.endpoints: tuple[str, ...] = options.endpoints
        self.send_timeout: float = options.send_timeout
        self.sndhwm: int = options.sndhwm
        self._socket_options = [(zmq.SNDHWM, self.sndhwm), (zmq.LINGER, round(options.linger * 1000)),
                                (zmq.IMMEDIATE, 0)]
        curve = curve_keys(config, "client")
        if curve is not None:
            self._socket_options += [(zmq.CURVE_SERVERKEY, curve.server_public_key.encode("ascii")),
                                     (zmq.CURVE_PUBLICKEY, curve.client_public_key.encode("ascii")),
                                     (zmq.CURVE_SECRETKEY, curve.client_secret_key.encode("ascii"))]

    def _open(self) -> Sockets:
        context, sockets = _process_context.get(), []
        try:
            for endpoint in self.endpoints:
                socket = context.socket(zmq.PUSH)
                sockets.append((endpoint, socket))
                for option, value in self._socket_options:
                    socket.setsockopt(option, value)
                socket.connect(endpoint)  # returns at once; the connection is made (and remade) in the background
        except zmq.ZMQError as exc:
            self._close(sockets)
            raise GatewayUnavailable(f"cannot open a ZeroMQ socket to {endpoint}: {exc}") from None
        return sockets

    def _unavailable(self, exc: BaseException) -> GatewayUnavailable:
        return GatewayUnavailable(f"cannot send to the ZeroMQ gateways {', '.join(self.endpoints)}: {exc}")

    def _send(self, sockets: Sockets, payloads: list[bytes]) -> None:
        """Queue the message on every gateway's socket without blocking; wait only for full ones."""
        full = []
        for endpoint, socket in sockets:
            try:
                _put(socket, payloads)
            except zmq.Again:
                full.append((endpoint, socket))
        if full:
            self._send_when_room(full, payloads, len(sockets))

    def _send_when_room(self, full: Sockets, payloads: list[bytes], total: int) -> None:
        """Wait up to ``send_timeout`` (in all, however many gateways are full) for room, then fail."""
        deadline = time.monotonic() + self.send_timeout
        poller = zmq.Poller()
        waiting = {socket: endpoint for endpoint, socket in full}
        for socket in waiting:
            poller.register(socket, zmq.POLLOUT)
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for socket, _ in poller.poll(math.ceil(left * 1000)):
                try:
                    _put(socket, payloads)
                except zmq.Again:
                    continue
                poller.unregister(socket)
                del waiting[socket]
        if waiting:
            one, many = len(payloads) == 1, len(waiting) > 1
            what = "the event" if one else f"the {len(payloads)} events"
            others = total - len(waiting)
            raise GatewayUnavailable(
                f"the ZeroMQ gateway{'s' if many else ''} at {', '.join(waiting.values())} did not take {what} "
                f"within send_timeout={self.send_timeout:g}s: this process already has sndhwm={self.sndhwm} "
                f"messages queued for {'each' if many else 'it'} (down, or too slow?); {what} "
                f"{'was' if one else 'were'} not queued for {'them' if many else 'it'}"
                + (f", the other {others} gateway(s) got {'it' if one else 'them'}" if others else ""))

    def _close(self, sockets: Sockets) -> None:
        for _, socket in sockets:
            socket.close()  # with the socket's LINGER: queued events keep going out in the background


def _put(socket: zmq.Socket, payloads: list[bytes]) -> None:
    """Queue one message without blocking; zmq.Again when the socket is at its high-water mark."""
    if len(payloads) == 1:
        socket.send(payloads[0], zmq.NOBLOCK)
    else:
        socket.send_multipart(payloads, zmq.NOBLOCK)  # every part or none: one message, one event per frame
