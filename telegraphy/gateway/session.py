"""One WAMP v2 session: the state machine from HELLO to GOODBYE, apart from the WebSocket carrying it.

A session talks to its client through a :class:`Peer` (websocket.py in the gateway, a list in the
unit tests) and to the rest of the gateway through :class:`Services`, handed to it at birth. Timers
use the reactor it is given, so tests drive them with ``twisted.internet.task.Clock``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from autobahn.util import id as new_id
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..config import Config
from ..errors import InvalidEvent, TokenError
from ..events import Event
from . import wire
from .access import Access
from .auth import Authenticator, Identity
from .filters import FilterError
from .history import Entry
from .hub import Hub, Subscription
from .procedures import CallError
from .resume import Detached, ResumeRefused, Resumption

HELLO_TIMEOUT = 10.0  # seconds from connection to an established session
MAX_CALLS_IN_FLIGHT = 16  # calls a session may have waiting for an answer

NEW, CHALLENGED, ESTABLISHED, CLOSED = "new", "challenged", "established", "closed"

ROLES = {
    "broker": {"features": {"pattern_based_subscription": True, "publisher_exclusion": True,
                            "event_history": True, "subscription_revocation": True}},
    "dealer": {"features": {}},
}


class Peer(Protocol):
    """What a session needs of the connection that carries it."""

    serializer: wire.Serializer
    address: str  # the client's IP address
    written: int  # position of the last EVENT actually written to the client

    def send(self, frame: bytes, seq: int = 0) -> None:
        """Write one frame, after every frame sent before it (``seq``: the EVENT's position)."""

    def close(self, code: int, reason: str) -> None:
        """Close the connection once the frames sent before are out."""


@dataclass(frozen=True)
class Services:
    """The parts of the gateway a session uses; built once by service.py and shared by every session."""

    config: Callable[[], Config]
    hub: Hub
    access: Access
    authenticator: Authenticator
    resumption: Resumption
    procedures: dict[str, Callable]
    metrics: Any
    reactor: Any  # IReactorTime
    auth_failed: Callable[[str], None] = lambda address: None  # admission counts failures per address


class Session:
    """A client's (a browser's, or any WAMP client's) session with the gateway."""

    log = Logger()

    def __init__(self, peer: Peer, services: Services) -> None:
        self.peer, self.s = peer, services
        self.serializer = peer.serializer
        self.phase = NEW
        self.id: int = new_id()
        self.identity: Identity | None = None
        self.subscriptions: dict[int, Subscription] = {}
        self.persistent: set[int] = set()
        self.resume_secret: str | None = None
        self.resuming: Detached | None = None  # the record taken over, while its subscriptions come back
        self.resumable = True  # False once the client said GOODBYE or the web app disconnected it
        self._hello: wire.Hello | None = None
        self._holding: dict[int, list[tuple[bytes, Entry]]] = {}  # sub id -> live frames held during a replay
        self._calls = 0
        self._timers: dict[str, Any] = {}
        self._released = False

    @property
    def written(self) -> int:
        return self.peer.written

    # -- lifecycle -------------------------------------------------------------------------------
    def opened(self) -> None:
        self._timer("hello", HELLO_TIMEOUT, self.abort, "wamp.error.protocol_violation", "no HELLO received in time")

    def closed(self) -> None:
        """The connection is gone (whichever way): release what this session holds, once."""
        if self._released:
            return
        self._released = True
        for timer in self._timers.values():
            if timer.active():
                timer.cancel()
        self._timers.clear()
        self.phase = CLOSED
        self._holding.clear()
        if self.identity is not None:  # it was established
            self.s.hub.drop(self, self.subscriptions)
            self.s.resumption.detach(self, self.resume_secret, self.resuming, resumable=self.resumable)
            self.resuming = None

    def _timer(self, name: str, delay: float, action: Callable, *args: Any) -> None:
        old = self._timers.pop(name, None)
        if old is not None and old.active():
            old.cancel()
        self._timers[name] = self.s.reactor.callLater(delay, action, *args)

    # -- sending ---------------------------------------------------------------------------------
    def send(self, msg: list) -> None:
        if self.phase != CLOSED:
            self.peer.send(self.serializer.encode(msg))

    def abort(self, reason: str, text: str) -> None:
        """Close this session (and only this one) with ABORT, as WAMP prescribes for violations."""
        if self.phase == CLOSED:
            return
        if reason == "wamp.error.protocol_violation":
            self.s.metrics.protocol_errors += 1
        self.log.info("session {sid}: {reason}: {text}", sid=self.id, reason=reason, text=text)
        self.send(wire.abort(reason, text))
        self._close(3000, text)

    def goodbye(self, reason: str = "wamp.close.system_shutdown", text: str = "", resumable: bool = True) -> None:
        """End an established session from the gateway's side (shutdown, expiry, the web app's request);
        with ``resumable`` False, it cannot be resumed either."""
        self.resumable = self.resumable and resumable
        if self.phase == ESTABLISHED:
            self.send(wire.goodbye(reason, text or None))
            self._close(1000, text or reason)
        else:
            self.abort(reason, text or "closing")

    def _close(self, code: int, text: str) -> None:
        self.phase = CLOSED  # nothing more is sent; closed() releases the rest when the connection ends
        self.peer.close(code, text[:120])

    def error(self, request_type: int, request: int, uri: str, text: str) -> None:
        self.send(wire.error(request_type, request, uri, text))

    # -- what the hub calls ----------------------------------------------------------------------
    def deliver(self, sub: Subscription, frame: bytes, entry: Entry) -> None:
        if self._holding and sub.id in self._holding:  # its replay is not out yet: after it
            self._holding[sub.id].append((frame, entry))
        elif self.phase == ESTABLISHED:
            self.peer.send(frame, entry.seq)

    def revoked(self, sub: Subscription, reason: str) -> None:
        """The gateway took this subscription away: tell the client (WAMP subscription revocation)."""
        self.subscriptions.pop(sub.id, None)
        self.persistent.discard(sub.id)
        self._holding.pop(sub.id, None)
        self.send([wire.UNSUBSCRIBED, 0, {"subscription": sub.id, "reason": reason}])

    def reauthorize(self, identity: Identity) -> None:
        self.identity = identity
        self._schedule_expiry()

    # -- receiving -------------------------------------------------------------------------------
    def receive(self, payload: bytes) -> None:
        """One WebSocket message from the client."""
        if self.phase == CLOSED:
            return
        try:
            self.dispatch(wire.messages(self.serializer, payload))
        except wire.ProtocolViolation as exc:
            self.abort("wamp.error.protocol_violation", str(exc))
        except wire.InvalidUri as exc:
            self.error(exc.request_type, exc.request, "wamp.error.invalid_uri", str(exc))
        except Exception:  # noqa: BLE001 - a bug here ends this session, never the gateway
            self.log.failure("session {sid}: internal error", sid=self.id)
            self.abort("wamp.error.internal_error", "internal error")

    def dispatch(self, msg: list) -> None:
        kind = msg[0]
        if self.phase == NEW:
            if kind != wire.HELLO:
                raise wire.ProtocolViolation(f"{wire.NAMES.get(kind, kind)} received before HELLO")
            self.on_hello(wire.parse_hello(msg))
        elif self.phase == CHALLENGED:
            if kind != wire.AUTHENTICATE:
                raise wire.ProtocolViolation(f"{wire.NAMES.get(kind, kind)} received while authenticating")
            self.on_authenticate(wire.parse_authenticate(msg))
        elif kind == wire.SUBSCRIBE:
            self.on_subscribe(wire.parse_subscribe(msg))
        elif kind == wire.UNSUBSCRIBE:
            self.on_unsubscribe(*wire.parse_unsubscribe(msg))
        elif kind == wire.PUBLISH:
            self.on_publish(wire.parse_publish(msg))
        elif kind == wire.CALL:
            self.on_call(wire.parse_call(msg))
        elif kind == wire.GOODBYE:
            self.resumable = False
            self.send(wire.goodbye("wamp.close.goodbye_and_out"))
            self._close(1000, "goodbye")
        elif kind == wire.REGISTER:
            self.error(kind, wire.request_id(msg), "wamp.error.not_authorized", "this gateway does not accept callees")
        elif kind == wire.CANCEL:
            wire.request_id(msg)  # calls are answered at once or soon: nothing to cancel
        else:
            raise wire.ProtocolViolation(f"unexpected {wire.NAMES.get(kind, kind)} in an established session")

    # -- handshake -------------------------------------------------------------------------------
    def on_hello(self, hello: wire.Hello) -> None:
        realm = self.s.config().gateway.realm
        if hello.realm != realm:
            self.s.metrics.refused["no_such_realm"] += 1
            self.abort("wamp.error.no_such_realm", f"no realm {hello.realm[:100]!r} here; use {realm!r}")
            return
        self._hello = hello
        methods = hello.authmethods or ("anonymous",)
        if "ticket" in methods:
            self.phase = CHALLENGED
            self.send([wire.CHALLENGE, "ticket", {}])
        elif "anonymous" in methods:
            self.establish(self.s.authenticator.anonymous(self.id))
        else:
            self.s.metrics.refused["auth"] += 1
            self.abort("wamp.error.no_auth_method", "use the 'ticket' (a token) or 'anonymous' method")

    def on_authenticate(self, token: str) -> None:
        try:
            identity = self.s.authenticator.identity_from_token(token)
        except TokenError as exc:
            self.s.metrics.refused["token"] += 1
            self.s.auth_failed(self.peer.address)
            self.log.info("session {sid}: refused a token: {why}", sid=self.id, why=exc)
            self.abort("wamp.error.not_authorized", f"invalid token: {exc}")
            return
        self.establish(identity)

    def establish(self, identity: Identity) -> None:
        hello, self._hello = self._hello, None
        previous = hello.authextra.get("previous_session") if hello else None
        try:
            secret, record, extra = self.s.resumption.begin(self, identity, previous)
        except ResumeRefused as exc:
            self.s.metrics.refused["resume"] += 1
            self.abort("telegraphy.error.no_such_session", str(exc))
            return
        hello_timer = self._timers.pop("hello", None)
        if hello_timer is not None and hello_timer.active():
            hello_timer.cancel()
        self.identity, self.resume_secret, self.resuming = identity, secret, record
        self.phase = ESTABLISHED
        self.s.metrics.sessions_total += 1
        self._schedule_expiry()
        config = self.s.config()
        authextra = {"epoch": self.s.hub.history.epoch, "resume_secret": secret, **extra}
        self.send([wire.WELCOME, self.id, {"realm": config.gateway.realm, "roles": ROLES, "authid": identity.authid,
                                           "authrole": identity.authrole, "authmethod": identity.authmethod,
                                           "authprovider": "telegraphy", "authextra": authextra}])

    def _schedule_expiry(self) -> None:
        expires = self.identity.expires
        if expires is not None:
            self._timer("expiry", max(0.0, expires - self.s.reactor.seconds()), self.goodbye,
                        "telegraphy.close.session_expired",
                        "session authorization expired: refresh it with a new token")

    # -- pub/sub ---------------------------------------------------------------------------------
    def on_subscribe(self, msg: wire.Subscribe) -> None:
        options = msg.options
        filter_text = wire.optional(options, ("filter", "_filter"), str)
        limit = self.s.config().limits.max_subscriptions
        if len(self.subscriptions) >= limit:
            self.s.metrics.refused["subscriptions"] += 1
            self.error(wire.SUBSCRIBE, msg.request, "telegraphy.error.limit_exceeded",
                       f"a session may hold at most {limit} subscriptions (limits.max_subscriptions)")
            return
        try:
            sub, new = self.s.hub.subscribe(self, msg.topic, msg.match, filter_text)
        except FilterError as exc:
            self.error(wire.SUBSCRIBE, msg.request, "telegraphy.error.invalid_filter", f"invalid filter: {exc}")
            return
        self.subscriptions[sub.id] = sub
        if wire.optional(options, ("persistent", "_persistent"), bool):
            self.persistent.add(sub.id)
        self.send([wire.SUBSCRIBED, msg.request, sub.id])
        if new:
            self._replay(sub, _since(wire.optional(options, ("since", "_since"), dict)))

    def _replay(self, sub: Subscription, since: tuple[str, int] | None) -> None:
        """Send what ``sub`` missed, before any live event of it (held meanwhile if the history is slow)."""
        if since is None and (self.resuming is None or sub.key not in self.resuming.subscriptions):
            return
        missed = self.s.resumption.missed(self.resuming, sub, since, sub.subscribers[self])
        if not isinstance(missed, defer.Deferred):
            self.s.hub.send(self, sub, missed)
            return
        self._holding[sub.id] = []

        def send(entries: list[Entry]) -> None:
            held = self._holding.pop(sub.id, None)
            if held is None or self.phase != ESTABLISHED:
                return
            self.s.hub.send(self, sub, entries)
            for frame, entry in held:
                self.peer.send(frame, entry.seq)

        def failed(failure: Failure) -> None:
            self.log.failure("session {sid}: replay for {topic} failed", failure, sid=self.id, topic=sub.topic)
            send([])
        missed.addCallbacks(send, failed)

    def on_unsubscribe(self, request: int, sub_id: int) -> None:
        if self.s.hub.unsubscribe(self, sub_id) is not None:
            self.subscriptions.pop(sub_id, None)
            self.persistent.discard(sub_id)
            self._holding.pop(sub_id, None)
            self.send([wire.UNSUBSCRIBED, request])
        else:
            self.error(wire.UNSUBSCRIBE, request, "wamp.error.no_such_subscription",
                       f"no subscription {sub_id} in this session")

    def on_publish(self, msg: wire.Publish) -> None:
        refusal = None
        try:
            event = Event.create(msg.topic, msg.data, user=self.identity.user)
        except InvalidEvent as exc:
            refusal = ("wamp.error.invalid_argument", str(exc))
        else:
            why = self.s.access.can_publish(self.identity, event.name)
            if why is not None:
                refusal = ("wamp.error.not_authorized", why)
        if refusal is not None:
            self.s.metrics.refused["publish"] += 1
            if msg.acknowledge:  # WAMP clients only expect an answer when they asked for one
                self.error(wire.PUBLISH, msg.request, *refusal)
            return
        entry = self.s.hub.accept(event, publisher=self if msg.exclude_me else None)
        if msg.acknowledge:
            self.send([wire.PUBLISHED, msg.request, entry.seq])

    def on_call(self, msg: wire.Call) -> None:
        procedure = self.s.procedures.get(msg.procedure)
        if procedure is None:
            self.error(wire.CALL, msg.request, "wamp.error.no_such_procedure", f"no procedure {msg.procedure[:100]!r}")
            return
        if self._calls >= MAX_CALLS_IN_FLIGHT:
            self.error(wire.CALL, msg.request, "telegraphy.error.limit_exceeded", "too many calls in flight")
            return
        self._calls += 1

        def answer(result: Any) -> None:
            self._calls -= 1
            self.send([wire.RESULT, msg.request, {}, [result]])

        def failed(failure: Failure) -> None:
            self._calls -= 1
            if failure.check(CallError):
                self.error(wire.CALL, msg.request, failure.value.uri, str(failure.value))
            elif failure.check(TypeError):  # wrong arguments for the procedure's signature
                self.error(wire.CALL, msg.request, "wamp.error.invalid_argument", str(failure.value))
            else:
                self.log.failure("session {sid}: {procedure} failed", failure, sid=self.id, procedure=msg.procedure)
                self.error(wire.CALL, msg.request, "wamp.error.runtime_error", "the procedure failed")
        defer.maybeDeferred(procedure, self, *msg.args, **msg.kwargs).addCallbacks(answer, failed)


def _since(value: dict | None) -> tuple[str, int] | None:
    """The client's ``since`` option: (epoch, seq) of the last event it saw; malformed means absent."""
    if value is None:
        return None
    epoch, seq = value.get("epoch"), value.get("seq", 0)
    if not isinstance(epoch, str) or isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        return ("", 0) if isinstance(epoch, str) or epoch is None else None
    return epoch, seq
