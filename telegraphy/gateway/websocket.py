"""The WebSocket that carries a WAMP session: admission, subprotocol, flow control, slow clients.

Autobahn's server protocol does the WebSocket handshake and framing of what clients send. Every
frame the gateway sends is complete and prepared (wire.py); a connection gathers the frames sent to
it, and the factory writes out the connections that gathered some, a couple of milliseconds' worth
per reactor turn, each with one ``send`` (sockets.DirectWriter). So the fan-out never waits on a
system call per receiver, and while writing lags (many events, many receivers) the frames of several
events reach a client in one write. A client that does not read fills the transport's buffer, which
pauses us (we are its streaming producer); frames then wait in our queue, in order and bounded,
until it resumes us.
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Callable
from time import perf_counter

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
from twisted.logger import Logger

from . import wire
from .session import Services, Session
from .sockets import DirectWriter

SLOW_GRACE = 1.0  # seconds a client's queue may stay over the limit
WRITE_SECONDS = 0.002  # the writes of one reactor turn stop after this long (the rest go on next turn)
MAX_GATHERED_BYTES = 16 * 2**20  # the fan-out waits while this much waits to be written, all clients together


class WampWebSocket(WebSocketServerProtocol):
    """One client connection; implements the session's Peer."""

    log = Logger()
    factory: WampWebSocketFactory

    def __init__(self) -> None:
        super().__init__()
        self.serializer: wire.Serializer = wire.JSON
        self.address = ""
        self.origin: str | None = None
        self.session: Session | None = None
        self.written = 0
        self._paused = False
        self._queue: deque[tuple[bytes | None, int]] = deque()  # (frame, seq); None: close when reached
        self._queued_bytes = 0
        self._close_args: tuple[int, str] | None = None
        self._slow_timer = None
        self._incoming = 0  # bytes of the message being received
        self._writer: DirectWriter | None = None
        self._out: list[bytes] = []  # frames of this reactor turn, written together by flush()
        self._out_seq = 0

    # -- WebSocket handshake ---------------------------------------------------------------------
    def onConnect(self, request):
        refusal = self.factory.admit(request)
        if refusal is not None:
            raise ConnectionDeny(*refusal)
        self.origin = request.headers.get("origin")
        for protocol in request.protocols:
            if protocol in wire.SERIALIZERS:
                self.serializer = wire.SERIALIZERS[protocol]
                return protocol
        raise ConnectionDeny(406, "no supported WebSocket subprotocol: use wamp.2.json or wamp.2.msgpack")

    def onOpen(self) -> None:
        # We push events: the TCP transport tells us when the client falls behind.
        self.transport.unregisterProducer()
        self.transport.registerProducer(self, True)
        self._writer = DirectWriter(self.transport)
        if self._writer.socket is not None:
            # we gather frames ourselves: Nagle's algorithm would only hold a frame back behind an unacknowledged
            # one (for a delayed ACK, up to 40 ms on Linux)
            self._writer.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            send_buffer = self.factory.services.config().limits.socket_send_buffer
            if send_buffer:  # bound what the kernel holds for a client that stopped reading
                self._writer.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        self.address = self.transport.getPeer().host
        self.session = Session(self, self.factory.services)
        self.factory.opened(self)
        self.session.opened()

    def onClose(self, wasClean, code, reason) -> None:
        if self._slow_timer is not None and self._slow_timer.active():
            self._slow_timer.cancel()
        self._queue.clear()
        self.factory.gathered_bytes -= self.flush()  # not written any more: only the count is kept right
        if self.session is not None:
            self.session.closed()
            self.factory.closed(self)

    # -- what the client sends -------------------------------------------------------------------
    def onMessageBegin(self, isBinary: bool) -> None:
        self._incoming = 0
        super().onMessageBegin(isBinary)

    def onMessageFrameBegin(self, length: int) -> None:
        """Refuse a message over the limit as soon as its frame header says so, before reading it."""
        self._incoming += length
        limit = self.factory.services.config().limits.max_message_bytes
        if self._incoming > limit and self.session is not None and self.session.phase != "closed":
            self.session.abort("wamp.error.protocol_violation",
                               f"message of {self._incoming} bytes exceeds the limit of {limit} bytes")
            self.transport.loseConnection()  # read no more of it; what came with this read is dropped
            # and let autobahn buffer that much, rather than abort the connection before the ABORT is out
            self.maxMessagePayloadSize = self.maxFramePayloadSize = 0
        super().onMessageFrameBegin(length)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if self.session is None:
            return
        if isBinary != self.serializer.binary:
            self.session.abort("wamp.error.protocol_violation",
                               f"a {'binary' if isBinary else 'text'} frame on {self.serializer.id}")
            return
        self.session.receive(payload)

    # -- Peer: what the session sends ------------------------------------------------------------
    def send(self, frame: bytes, seq: int = 0) -> None:
        """Gather ``frame`` for this turn's write (flush), or queue it while the client falls behind."""
        if self._close_args is not None or self.state != WebSocketServerProtocol.STATE_OPEN:
            return
        if self._paused or self._queue:
            if self._out:  # gathered before the pause: they go first
                gathered = b"".join(self._out)
                self.factory.gathered_bytes -= len(gathered)
                self._queue.append((gathered, self._out_seq))
                self._out, self._out_seq = [], 0
            self._queue.append((frame, seq))
            self._queued_bytes += len(frame)
            limit = self.factory.services.config().limits.client_queue_bytes
            if self._queued_bytes > limit:
                if self._queued_bytes > 4 * limit:
                    self.drop_slow()
                elif self._slow_timer is None:
                    self._slow_timer = self.factory.reactor.callLater(SLOW_GRACE, self._judge_slow)
            return
        out = self._out
        out.append(frame)
        if seq:
            self._out_seq = seq
        factory = self.factory
        factory.gathered_bytes += len(frame)
        if len(out) == 1:
            factory.gathered(self)

    def flush(self) -> int:
        """Write the frames gathered so far with one send; returns how many bytes that was."""
        out = self._out
        if not out:
            return 0
        self._out = []
        data = out[0] if len(out) == 1 else b"".join(out)
        if self._writer is not None and self.state == WebSocketServerProtocol.STATE_OPEN:
            self._writer.write(data)
            if self._out_seq:
                self.written, self._out_seq = self._out_seq, 0
        return len(data)

    def close(self, code: int, reason: str) -> None:
        if self._close_args is not None:
            return
        self.flush()
        self._close_args = (code, reason)
        if self._queue:
            self._queue.append((None, 0))  # after what is already queued
        else:
            self.sendClose(code, reason)

    # -- flow control (IPushProducer, registered on the TCP transport) ---------------------------
    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        queue, write = self._queue, self._writer.write
        while queue and not self._paused:
            frame, seq = queue.popleft()
            if frame is None:
                self.sendClose(*self._close_args)
                break
            self._queued_bytes -= len(frame)
            write(frame)
            if seq:
                self.written = seq

    def stopProducing(self) -> None:
        self._queue.clear()

    def _judge_slow(self) -> None:
        """A client whose queue stays over ``limits.client_queue_bytes`` for SLOW_GRACE seconds, or
        passes four times that, is cut off: the gateway's memory stays bounded. The grace lets a
        burst written in one reactor turn reach a client that is reading, before it is judged."""
        self._slow_timer = None
        if self.state == WebSocketServerProtocol.STATE_OPEN and \
                self._queued_bytes > self.factory.services.config().limits.client_queue_bytes:
            self.drop_slow()

    def drop_slow(self) -> None:
        self.factory.services.metrics.slow_clients_dropped += 1
        session = self.session
        self.log.warn("dropping slow client {authid} (session {sid}): {n} bytes queued",
                      authid=session.identity.authid if session and session.identity else "-",
                      sid=session.id if session else "-", n=self._queued_bytes)
        self._queue.clear()
        self._close_args = (1008, "too slow")
        self.transport.abortConnection()


class WampWebSocketFactory(WebSocketServerFactory):
    """Builds a WampWebSocket per connection; the gateway decides who may connect (``admit``)."""

    protocol = WampWebSocket

    def __init__(self, url: str, services: Services, reactor, admit: Callable,
                 on_open: Callable[[WampWebSocket], None], on_close: Callable[[WampWebSocket], None]) -> None:
        super().__init__(url, protocols=list(wire.SERIALIZERS), reactor=reactor)
        self.services, self.reactor = services, reactor
        self.admit, self.opened, self.closed = admit, on_open, on_close
        self._gathered: deque[WampWebSocket] = deque()  # connections with frames to write, in order
        self.gathered_bytes = 0
        self._flush_call = None
        limit = services.config().limits.max_message_bytes
        # autobahn's own limits sit above ours (onMessageFrameBegin answers first, with an ABORT)
        self.setProtocolOptions(maxMessagePayloadSize=limit + 1, maxFramePayloadSize=limit + 1,
                                autoPingInterval=25, autoPingTimeout=10, openHandshakeTimeout=10,
                                closeHandshakeTimeout=2, perMessageCompressionAccept=lambda offers: None)

    def gathered(self, connection: WampWebSocket) -> None:
        """``connection`` gathered its first frame since it last wrote (``gathered_bytes`` counts them all)."""
        self._gathered.append(connection)
        if self._flush_call is None:
            self._flush_call = self.reactor.callLater(0, self.flush)

    def flush(self) -> None:
        """Write out the gathered frames, oldest connection first, for WRITE_SECONDS at most."""
        self._flush_call = None
        gathered = self._gathered
        deadline = perf_counter() + WRITE_SECONDS
        while gathered:
            for _ in range(min(16, len(gathered))):
                self.gathered_bytes -= gathered.popleft().flush()
            if perf_counter() >= deadline:
                break
        if gathered:
            self._flush_call = self.reactor.callLater(0, self.flush)

    def behind(self) -> bool:
        """Whether so much waits to be written that the fan-out should wait (memory stays bounded)."""
        return self.gathered_bytes > MAX_GATHERED_BYTES
