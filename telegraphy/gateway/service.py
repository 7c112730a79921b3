"""Wiring: the one place that builds the gateway's parts and hands each its collaborators.

The reactor is passed in (``telegraphy-gateway`` gets it from ``twisted.internet.task.react``), and
every part that keeps time reads it from that reactor, so tests run the whole gateway on a
``task.Clock`` or on a real reactor alike. Parts read the config through ``lambda: self.config``,
so a reloaded config applies to them at once.
"""

from __future__ import annotations

import dataclasses
from fnmatch import fnmatchcase

from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger
from twisted.web.server import Site

from ..config import Config
from ..events import Event
from ..plugins import load_transport
from . import http, procedures
from .access import Access
from .auth import Authenticator
from .history import History, MemoryHistory
from .hub import Hub
from .resume import Resumption
from .session import Services

SHUTDOWN_GRACE = 5.0  # seconds to deliver what was accepted and let clients close, when stopping
# The web app's requests about live sessions, as a transport's representative carries them (control()).
COMMANDS = ("disconnect", "unsubscribe", "subscribers", "history")


class Gateway(service.Service):
    """Routes events from the transport's representative to WAMP sessions."""

    log = Logger()

    def __init__(self, config: Config, reactor, history: History | None = None) -> None:
        self.config = config
        self.reactor = reactor
        self.metrics = http.Metrics()
        self.connections: set = set()  # of WampWebSocket
        self.generation = 1  # of the config in force (a reload adds one)
        self.closing = False
        current = lambda: self.config  # noqa: E731 - every part reads the config in force
        limits = config.limits
        self.representative = load_transport(config.transport.name).representative(config, reactor)
        self.history = history or self.representative.history() or MemoryHistory(limits.history_topics,
                                                                                  limits.history_bytes)
        self.access = Access(current)
        self.authenticator = Authenticator(current, reactor.seconds)
        self.hub = Hub(self.history, self.access, current, self.metrics, reactor)
        self.resumption = Resumption(self.hub, self.history, self.access, current, reactor)
        self.services = Services(
            config=current, hub=self.hub, access=self.access, authenticator=self.authenticator,
            resumption=self.resumption, metrics=self.metrics, reactor=reactor,
            procedures=procedures.table(self.hub, self.history, self.access, self.authenticator, current,
                                        self.metrics))
        self.port = None

    def admit(self, request) -> tuple[int, str] | None:
        """None if this WebSocket handshake may proceed, else (HTTP status, reason)."""
        if self.closing:
            return 503, "gateway is shutting down"
        if len(self.connections) >= self.config.limits.max_connections:
            self.metrics.refused["max_connections"] += 1
            return 503, "too many connections"
        origin = request.headers.get("origin")
        if origin and not self.access.origin_allowed(origin):
            self.metrics.refused["origin"] += 1
            self.log.info("refused a connection from origin {origin}", origin=origin)
            return 403, f"origin {origin} is not allowed"
        return None

    def accept(self, event: Event, seq: int | None = None) -> None:
        """What the representative calls per event: accepted when this returns, delivered soon after."""
        self.hub.accept(event, seq=seq)

    def control(self, command: str, **arguments):
        """What the representative calls for the web app's requests about live sessions (COMMANDS)."""
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}: the gateway knows {', '.join(COMMANDS)}")
        try:
            return getattr(self, f"_command_{command}")(**arguments)
        except TypeError as exc:
            raise ValueError(f"{command}: {exc}") from None

    def _command_disconnect(self, user: str, reason: str = "") -> int:
        return self.disconnect(_user(user), reason)

    def _command_unsubscribe(self, user: str, pattern: str) -> int:
        if not isinstance(pattern, str) or not pattern:
            raise ValueError("unsubscribe: pattern must be an event name pattern such as 'chat.*'")
        return self.unsubscribe(_user(user), pattern)

    def _command_subscribers(self, topic: str) -> int:
        if not isinstance(topic, str) or not topic:
            raise ValueError("subscribers: topic must be an event name")
        return self.hub.subscribers(topic)

    def _command_history(self, topic: str, since: int = 0, limit: int = 100):
        """The web app sees every event of the topic (it published them): a page, as the procedure's."""
        if not isinstance(topic, str) or not topic or isinstance(since, bool) or not isinstance(since, int) \
                or isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValueError("history: topic is an event name, since a position, limit from 1 to 1000")

        def answer(page):
            return {"epoch": self.history.epoch, "last": self.history.last(topic), "more": page.more,
                    "events": [{"seq": e.seq, "event": e.event.envelope()} for e in page.entries]}
        return defer.maybeDeferred(self.history.page, topic, since, limit).addCallback(answer)

    @defer.inlineCallbacks
    def startService(self):
        # autobahn.twisted is imported when the gateway starts, not when it is built: txaio serves one
        # framework per process, and unit tests build gateways beside asyncio WAMP clients.
        from autobahn.twisted.resource import WebSocketResource

        from .websocket import WampWebSocketFactory

        super().startService()
        yield self.representative.start(self.accept, self.control)
        factory = WampWebSocketFactory(self.config.gateway.url, self.services, self.reactor, admit=self.admit,
                                       on_open=self.connections.add, on_close=self.connections.discard)
        self.hub.behind = factory.behind
        site = Site(http.root(self, WebSocketResource(factory)), reactor=self.reactor)
        site.noisy = False
        site.log = lambda request: None
        gw = self.config.gateway
        self.port = self.reactor.listenTCP(gw.port, site, interface=gw.host, backlog=1024)
        self.resumption.start()
        self.log.info("telegraphy-gateway listening on ws://{host}:{port}{path} (realm {realm}), "
                      "transport {transport}", host=gw.host, port=self.port.getHost().port, path=gw.path,
                      realm=gw.realm, transport=self.config.transport.name)

    @defer.inlineCallbacks
    def stopService(self):
        """Stop accepting, deliver what was accepted, say GOODBYE to every session, let them flush."""
        self.closing = True
        super().stopService()
        if self.port is not None:
            yield self.port.stopListening()
        # no new events first: an event taken from the transport now would reach no client
        yield self.representative.stop()
        deadline = self.reactor.seconds() + SHUTDOWN_GRACE
        yield self._within(self.hub.idle(), deadline)
        for connection in list(self.connections):
            if connection.session is not None:
                connection.session.goodbye("wamp.close.system_shutdown", "gateway shutting down")
        while self.connections and self.reactor.seconds() < deadline:
            yield task.deferLater(self.reactor, 0.05, lambda: None)
        for connection in list(self.connections):
            connection.dropConnection(abort=True)
        self.resumption.stop()
        self.log.info("telegraphy-gateway stopped")

    def _within(self, d: defer.Deferred, deadline: float) -> defer.Deferred:
        return d.addTimeout(max(0.0, deadline - self.reactor.seconds()), self.reactor).addErrback(
            lambda failure: failure.trap(defer.TimeoutError))

    # -- what the web app asks of live sessions (telegraphy.disconnect, telegraphy.unsubscribe...) --
    def sessions(self, user: str | None = None) -> list:
        """The established sessions, or those of ``user``."""
        found = [c.session for c in self.connections if c.session is not None and c.session.identity is not None]
        return found if user is None else [s for s in found if s.identity.user == user]

    def disconnect(self, user: str, reason: str = "") -> int:
        """Close every session of ``user`` (logged out, banned) so that none can resume; returns how many."""
        text = reason or "disconnected by the web app"
        sessions = self.sessions(user)
        for session in sessions:
            session.goodbye("telegraphy.close.disconnected", text, resumable=False)
        self.resumption.revoke_user(user)
        self.log.info("disconnected {n} session(s) of user {user}: {text}", n=len(sessions), user=user, text=text)
        return len(sessions)

    def unsubscribe(self, user: str, pattern: str, reason: str = "telegraphy.error.unsubscribed") -> int:
        """Remove the subscriptions of ``user``'s sessions whose topic matches ``pattern`` (shell style),
        with a WAMP notice to each; returns how many."""
        removed = 0
        for session in self.sessions(user):
            for sub in list(session.subscriptions.values()):
                if fnmatchcase(sub.topic, pattern):
                    self.hub.revoke(sub, session, reason)
                    removed += 1
        return removed

    # -- a new config without dropping sessions ----------------------------------------------------
    def reconfigure(self, config: Config) -> list[str]:
        """Put ``config`` in force for every part and every live session; returns the keys that only
        a restart applies (the listen address, the transport...), unchanged meanwhile."""
        old = self.config
        keep_restart = {
            "gateway.listen": (old.gateway.host, old.gateway.port) != (config.gateway.host, config.gateway.port),
            "gateway.url": old.gateway.url != config.gateway.url,
            "transport": old.transport != config.transport,
            "limits.history_topics/history_bytes": (old.limits.history_topics, old.limits.history_bytes)
            != (config.limits.history_topics, config.limits.history_bytes),
        }
        needs_restart = [key for key, changed in keep_restart.items() if changed]
        self.config = dataclasses.replace(config, gateway=dataclasses.replace(
            config.gateway, host=old.gateway.host, port=old.gateway.port, url=old.gateway.url),
            transport=old.transport)
        self.generation += 1
        for connection in list(self.connections):
            session = connection.session
            if session is None or session.identity is None:
                continue
            if connection.origin and not self.access.origin_allowed(connection.origin):
                session.goodbye("telegraphy.close.origin_not_allowed",
                                f"origin {connection.origin} is no longer allowed", resumable=False)
                continue
            for sub in list(session.subscriptions.values()):
                if sub.match == "exact" and not self.access.may_subscribe(session.identity, sub.topic):
                    self.hub.revoke(sub, session, "telegraphy.error.not_authorized")
        return needs_restart


def _user(user: object) -> str:
    if isinstance(user, bool) or not isinstance(user, (str, int)) or user == "":
        raise ValueError("user must be the user id the web app puts in tokens (a string or a number)")
    return str(user)
