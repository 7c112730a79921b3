"""One WAMP v2 session over one WebSocket connection: handshake, auth, pub/sub, calls, limits."""

from __future__ import annotations

import re
import socket
from collections import deque

from autobahn.twisted.websocket import WebSocketServerProtocol
from autobahn.util import id as new_id
from autobahn.wamp import message, role
from autobahn.wamp.exception import ProtocolError
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer
from autobahn.websocket.types import ConnectionDeny
from twisted.internet import reactor
from twisted.logger import Logger

from ..errors import InvalidEvent, TokenError
from ..events import Event
from .auth import Identity
from .filters import FilterError
from .history import HistoryGap

SUBPROTOCOLS = {"wamp.2.json": ("json", JsonSerializer), "wamp.2.msgpack": ("msgpack", MsgPackSerializer)}
HELLO_TIMEOUT = 10.0
SLOW_GRACE = 1.0  # seconds a client's queue may stay over the limit

NEW, CHALLENGED, ESTABLISHED, CLOSED = "new", "challenged", "established", "closed"
_URI = re.compile(r"^([0-9a-zA-Z_\-]*\.)*[0-9a-zA-Z_\-]*$")

ROLES = {
    "broker": role.RoleBrokerFeatures(pattern_based_subscription=True, publisher_exclusion=True,
                                      publisher_identification=False, event_history=True),
    "dealer": role.RoleDealerFeatures(),
}


class CallError(Exception):
    """Raised by a procedure: becomes a WAMP ERROR with ``uri`` and a message."""

    def __init__(self, uri: str, text: str) -> None:
        super().__init__(text)
        self.uri = uri


class GatewaySession(WebSocketServerProtocol):
    """A browser's (or any WAMP client's) session with the gateway."""

    log = Logger()

    def __init__(self) -> None:
        super().__init__()
        self.phase = NEW
        self.session_id: int = new_id()
        self.identity: Identity | None = None
        self.serializer_id = "json"
        self.serializer = None
        self.subscriptions: dict[int, object] = {}
        self.persistent: set[int] = set()
        self.paused = False
        self.pending: deque = deque()
        self.pending_bytes = 0
        self._hello_timer = None
        self._expiry_timer = None
        self._slow_timer = None
        self._pending_hello = None
        self.resuming = None  # the Detached record this session took over, if it resumed one
        self.said_goodbye = False
        self.written_gidx = 0  # arrival index of the last event written to this client

    @property
    def gateway(self):
        return self.factory.gateway

    # -- WebSocket handshake ---------------------------------------------------------------------
    def onConnect(self, request):
        gw = self.gateway
        if gw.closing:
            raise ConnectionDeny(503, "gateway is shutting down")
        if len(gw.connections) >= gw.config.limits.max_connections:
            gw.metrics.refused["max_connections"] += 1
            raise ConnectionDeny(503, "too many connections")
        origin = request.headers.get("origin")
        if origin and not gw.origin_allowed(origin, request.headers.get("host", "")):
            gw.metrics.refused["origin"] += 1
            self.log.info("refused a connection from origin {origin}", origin=origin)
            raise ConnectionDeny(403, f"origin {origin} is not allowed")
        for protocol in request.protocols:
            if protocol in SUBPROTOCOLS:
                self.serializer_id, serializer = SUBPROTOCOLS[protocol]
                self.serializer = serializer()
                return protocol
        raise ConnectionDeny(406, "no supported WebSocket subprotocol: use wamp.2.json or wamp.2.msgpack")

    def onOpen(self) -> None:
        # We push events: the TCP transport tells us when the client falls behind.
        self.transport.unregisterProducer()
        self.transport.registerProducer(self, True)
        send_buffer = self.gateway.config.limits.socket_send_buffer
        if send_buffer and hasattr(self.transport, "getHandle"):  # bound what the kernel holds for a stalled client
            self.transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        self.gateway.connections.add(self)
        self.gateway.metrics.connections_total += 1
        self._hello_timer = reactor.callLater(HELLO_TIMEOUT, self.abort, "wamp.error.protocol_violation",
                                              "no HELLO received in time")

    def onClose(self, wasClean, code, reason) -> None:
        for timer in (self._hello_timer, self._expiry_timer, self._slow_timer):
            if timer is not None and timer.active():
                timer.cancel()
        gw = self.gateway
        if self in gw.connections:
            gw.connections.discard(self)
            if self.identity is not None:  # it was established (GOODBYE and ABORT set CLOSED first)
                gw.session_ended(self)
        self.phase = CLOSED
        self.pending.clear()

    # -- flow control (IPushProducer, registered on the TCP transport) ---------------------------
    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        while self.pending and not self.paused:
            frame, self.written_gidx = self.pending.popleft()
            self.pending_bytes -= len(frame.payloadHybi)
            self.transport.write(frame.payloadHybi)

    def stopProducing(self) -> None:
        self.pending.clear()

    def send_frame(self, frame, gidx: int) -> None:
        """Send a prepared EVENT frame, queueing it while the client is slow.

        A client whose queue stays over ``limits.client_queue_bytes`` for SLOW_GRACE seconds, or
        passes four times that, is cut off: the gateway's memory stays bounded. The grace lets a
        burst written in one reactor turn reach a client that is reading, before it is judged.
        """
        if self.phase != ESTABLISHED:
            return
        if self.paused or self.pending:
            self.pending.append((frame, gidx))
            self.pending_bytes += len(frame.payloadHybi)
            limit = self.gateway.config.limits.client_queue_bytes
            if self.pending_bytes > limit:
                if self.pending_bytes > 4 * limit:
                    self.drop_slow()
                elif self._slow_timer is None:
                    self._slow_timer = reactor.callLater(SLOW_GRACE, self._judge_slow)
        else:
            self.written_gidx = gidx
            self.transport.write(frame.payloadHybi)

    def _judge_slow(self) -> None:
        self._slow_timer = None
        if self.phase == ESTABLISHED and self.pending_bytes > self.gateway.config.limits.client_queue_bytes:
            self.drop_slow()

    def drop_slow(self) -> None:
        self.gateway.metrics.slow_clients_dropped += 1
        self.log.warn("dropping slow client {authid} (session {sid}): {n} bytes queued",
                      authid=self.identity.authid, sid=self.session_id, n=self.pending_bytes)
        self.phase = CLOSED
        self.pending.clear()
        self.transport.abortConnection()

    # -- WAMP messages ---------------------------------------------------------------------------
    def send(self, msg) -> None:
        if self.phase != CLOSED:
            payload, binary = self.serializer.serialize(msg)
            self.sendMessage(payload, binary)

    def _max_message_size_exceeded(self, msg_size, max_msg_size, reason) -> None:
        self.gateway.metrics.protocol_errors += 1
        self.abort("wamp.error.protocol_violation",
                   f"message of {msg_size} bytes exceeds the limit of {max_msg_size} bytes", code=3009)

    def abort(self, reason: str, text: str, code: int = 3000) -> None:
        """Close this session (and only this one) with ABORT, as WAMP prescribes for violations."""
        if self.phase == CLOSED:
            return
        if reason == "wamp.error.protocol_violation":
            self.gateway.metrics.protocol_errors += 1
        self.log.info("session {sid}: {reason}: {text}", sid=self.session_id, reason=reason, text=text)
        self.send(message.Abort(reason, text))
        self.phase = CLOSED
        self.sendClose(code, text[:120])

    def goodbye(self, reason: str = "wamp.close.system_shutdown", text: str = "") -> None:
        if self.phase == ESTABLISHED:
            self.send(message.Goodbye(reason, text or None))
            self.phase = CLOSED
            self.sendClose(1000, text[:120] or None)
        elif self.phase != CLOSED:
            self.abort(reason, text or "closing")

    def error(self, request_type: int, request: int, uri: str, text: str) -> None:
        self.send(message.Error(request_type, request, uri, args=[text]))

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if self.phase == CLOSED:
            return
        try:
            if isBinary != self.serializer._serializer.BINARY:
                raise ProtocolError(f"a {'binary' if isBinary else 'text'} frame on {self.serializer_id}")
            raws = self.serializer._serializer.unserialize(payload)
            for raw in raws:
                if not isinstance(raw, list) or not raw or not isinstance(raw[0], int):
                    raise ProtocolError("a WAMP message is a list starting with its type")
                self.dispatch(raw)
                if self.phase == CLOSED:
                    break
        except ProtocolError as exc:
            self.abort("wamp.error.protocol_violation", str(exc))
        except Exception as exc:  # malformed payloads surface as many kinds of errors
            malformed = isinstance(exc, (ValueError, TypeError)) or type(exc).__module__.startswith("msgpack")
            if malformed:
                self.abort("wamp.error.protocol_violation", f"malformed {self.serializer_id} message: {exc}")
            else:
                self.log.failure("session {sid}: internal error", sid=self.session_id)
                self.abort("wamp.error.internal_error", "internal error")

    def dispatch(self, raw: list) -> None:
        kind = raw[0]
        klass = self.serializer.MESSAGE_TYPE_MAP.get(kind)
        if klass is None:
            raise ProtocolError(f"unknown WAMP message type {kind}")
        if self.phase == ESTABLISHED and kind == message.Subscribe.MESSAGE_TYPE and len(raw) == 4 \
                and isinstance(raw[1], int) and isinstance(raw[3], str) and not _URI.match(raw[3]):
            # WAMP answers a SUBSCRIBE to an invalid URI with ERROR (autobahn's parser would raise)
            self.error(kind, raw[1], "wamp.error.invalid_uri", f"invalid topic URI {raw[3]!r}")
            return
        msg = klass.parse(raw)
        if self.phase == NEW:
            if kind != message.Hello.MESSAGE_TYPE:
                raise ProtocolError(f"{klass.__name__.upper()} received before HELLO")
            self.on_hello(msg)
        elif self.phase == CHALLENGED:
            if kind != message.Authenticate.MESSAGE_TYPE:
                raise ProtocolError(f"{klass.__name__.upper()} received while authenticating")
            self.on_authenticate(msg)
        elif kind == message.Subscribe.MESSAGE_TYPE:
            self.on_subscribe(msg, raw[2])
        elif kind == message.Unsubscribe.MESSAGE_TYPE:
            self.on_unsubscribe(msg)
        elif kind == message.Publish.MESSAGE_TYPE:
            self.on_publish(msg)
        elif kind == message.Call.MESSAGE_TYPE:
            self.on_call(msg)
        elif kind == message.Goodbye.MESSAGE_TYPE:
            self.said_goodbye = True
            self.send(message.Goodbye("wamp.close.goodbye_and_out"))
            self.phase = CLOSED
            self.sendClose(1000)
        elif kind == message.Register.MESSAGE_TYPE:
            self.error(kind, msg.request, "wamp.error.not_authorized", "this gateway does not accept callees")
        else:
            raise ProtocolError(f"unexpected {klass.__name__.upper()} in an established session")

    # -- handshake -------------------------------------------------------------------------------
    def on_hello(self, hello) -> None:
        gw = self.gateway
        if hello.realm != gw.config.gateway.realm:
            gw.metrics.refused["no_such_realm"] += 1
            self.abort("wamp.error.no_such_realm", f"no realm {hello.realm!r} here; use {gw.config.gateway.realm!r}")
            return
        self._pending_hello = hello
        methods = hello.authmethods or ["anonymous"]
        if "ticket" in methods:
            self.phase = CHALLENGED
            self.send(message.Challenge("ticket", {}))
        elif "anonymous" in methods:
            self.establish(gw.authenticator.anonymous(self.session_id))
        else:
            gw.metrics.refused["auth"] += 1
            self.abort("wamp.error.no_auth_method", "use the 'ticket' (a token) or 'anonymous' method")

    def on_authenticate(self, authenticate) -> None:
        gw = self.gateway
        try:
            identity = gw.authenticator.identity_from_token(authenticate.signature)
        except TokenError as exc:
            gw.metrics.refused["token"] += 1
            self.log.info("session {sid}: refused a token: {why}", sid=self.session_id, why=exc)
            self.abort("wamp.error.not_authorized", f"invalid token: {exc}")
            return
        self.establish(identity)

    def establish(self, identity: Identity) -> None:
        gw = self.gateway
        hello, self._pending_hello = self._pending_hello, None
        previous = (hello.authextra or {}).get("previous_session") if hello else None
        try:
            authextra = gw.resumption.begin(self, identity, previous)
        except PermissionError as exc:
            gw.metrics.refused["resume"] += 1
            self.abort("telegraphy.error.no_such_session", str(exc))
            return
        if self._hello_timer is not None and self._hello_timer.active():
            self._hello_timer.cancel()
        self.identity = identity
        self.phase = ESTABLISHED
        gw.metrics.sessions_total += 1
        self.schedule_expiry()
        self.send(message.Welcome(self.session_id, ROLES, realm=gw.config.gateway.realm, authid=identity.authid,
                                  authrole=identity.authrole, authmethod=identity.authmethod,
                                  authprovider="telegraphy", authextra=authextra))

    def schedule_expiry(self) -> None:
        if self._expiry_timer is not None and self._expiry_timer.active():
            self._expiry_timer.cancel()
        expires = self.identity.expires
        if expires is not None:
            delay = max(0.0, expires - self.gateway.authenticator.clock())
            self._expiry_timer = reactor.callLater(delay, self.goodbye, "telegraphy.close.session_expired",
                                                   "session authorization expired: refresh it with a new token")

    def may_receive(self, event: Event, policy) -> bool:
        return policy.access == "public" or self.identity.may_receive(event, policy)

    # -- pub/sub ---------------------------------------------------------------------------------
    def on_subscribe(self, msg, options: dict) -> None:
        gw = self.gateway
        filter_text = options.get("filter")
        try:
            sub = gw.broker.subscribe(self, msg.topic, msg.match, filter_text)
        except FilterError as exc:
            self.error(msg.MESSAGE_TYPE, msg.request, "telegraphy.error.invalid_filter", f"invalid filter: {exc}")
            return
        self.subscriptions[sub.id] = sub
        if options.get("persistent"):
            self.persistent.add(sub.id)
        self.send(message.Subscribed(msg.request, sub.id))
        gw.resumption.replay(self, sub, options)

    def on_unsubscribe(self, msg) -> None:
        if self.gateway.broker.unsubscribe(self, msg.subscription):
            self.subscriptions.pop(msg.subscription, None)
            self.persistent.discard(msg.subscription)
            self.send(message.Unsubscribed(msg.request))
        else:
            self.error(msg.MESSAGE_TYPE, msg.request, "wamp.error.no_such_subscription",
                       f"no subscription {msg.subscription} in this session")

    def on_publish(self, msg) -> None:
        gw = self.gateway
        policy = gw.config.policy(msg.topic)
        refusal = None
        if not policy.publish:
            refusal = ("wamp.error.not_authorized", f"browsers may not publish {msg.topic!r}")
        elif not self.identity.may_see(policy, self.identity.user, msg.topic):
            refusal = ("wamp.error.not_authorized", f"this session may not publish {msg.topic!r}")
        if refusal is None:
            data = msg.kwargs if msg.kwargs else (msg.args[0] if msg.args and len(msg.args) == 1 else msg.args)
            try:
                event = Event.create(msg.topic, data, user=self.identity.user)
            except InvalidEvent as exc:
                refusal = ("wamp.error.invalid_argument", str(exc))
        if refusal is not None:
            gw.metrics.refused["publish"] += 1
            if msg.acknowledge:  # WAMP clients only expect an answer when they asked for one
                self.error(msg.MESSAGE_TYPE, msg.request, *refusal)
            return
        gw.broker.publish(event, publisher=self if msg.exclude_me is not False else None)
        if msg.acknowledge:
            self.send(message.Published(msg.request, gw.broker.history.last_seq(event.name)))

    def on_call(self, msg) -> None:
        procedure = self.gateway.procedures.get(msg.procedure)
        if procedure is None:
            self.error(msg.MESSAGE_TYPE, msg.request, "wamp.error.no_such_procedure",
                       f"no procedure {msg.procedure!r}")
            return
        try:
            result = procedure(self, *(msg.args or ()), **(msg.kwargs or {}))
        except CallError as exc:
            self.error(msg.MESSAGE_TYPE, msg.request, exc.uri, str(exc))
        except HistoryGap as exc:
            self.error(msg.MESSAGE_TYPE, msg.request, "telegraphy.error.history_gap", str(exc))
        except TypeError as exc:
            self.error(msg.MESSAGE_TYPE, msg.request, "wamp.error.invalid_argument", str(exc))
        else:
            self.send(message.Result(msg.request, args=[result]))
