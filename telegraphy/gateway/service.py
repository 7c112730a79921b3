"""Wiring: the gateway as a Twisted service (start and stop as Deferreds)."""

from __future__ import annotations

import fnmatch
from urllib.parse import urlsplit

from autobahn.twisted.resource import WebSocketResource
from autobahn.twisted.websocket import WebSocketServerFactory
from twisted.application import service
from twisted.internet import defer, reactor, task
from twisted.logger import Logger
from twisted.web.server import Site

from ..config import Config
from ..plugins import load_transport
from . import http, procedures
from .auth import Authenticator
from .resume import Resumption
from .router import Broker
from .session import SUBPROTOCOLS, GatewaySession

SHUTDOWN_GRACE = 5.0


class Gateway(service.Service):
    """Routes events from the transport's representative to WAMP sessions."""

    log = Logger()

    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = http.Metrics()
        self.connections: set[GatewaySession] = set()
        self.closing = False
        self.authenticator = Authenticator(config)
        self.factory = WebSocketServerFactory(config.gateway.url, protocols=list(SUBPROTOCOLS))
        self.factory.protocol = GatewaySession
        self.factory.gateway = self
        limits = config.limits
        self.factory.setProtocolOptions(
            maxMessagePayloadSize=limits.max_message_bytes, maxFramePayloadSize=limits.max_message_bytes,
            autoPingInterval=25, autoPingTimeout=10, openHandshakeTimeout=10, closeHandshakeTimeout=2,
            perMessageCompressionAccept=lambda offers: None)
        self.broker = Broker(config, self.metrics, self.factory.prepareMessage)
        self.resumption = Resumption(self)
        self.procedures = procedures.table(self)
        self.representative = load_transport(config.transport.name).representative(config)
        self.port = None

    def origin_allowed(self, origin: str, host: str) -> bool:
        """An Origin is allowed if it matches ``gateway.allowed_origins`` (shell patterns), or, when
        that list is empty, if it is the gateway's own origin (same host and port)."""
        allowed = self.config.gateway.allowed_origins
        if not allowed:
            return urlsplit(origin).netloc == host
        return any(fnmatch.fnmatchcase(origin, pattern) for pattern in allowed)

    def session_ended(self, session: GatewaySession) -> None:
        self.resumption.detach(session)
        self.broker.drop_session(session)

    @defer.inlineCallbacks
    def startService(self):
        super().startService()
        yield self.representative.start(self.broker.publish)
        site = Site(http.root(self, WebSocketResource(self.factory)))
        site.noisy = False
        site.log = lambda request: None
        gw = self.config.gateway
        self.port = reactor.listenTCP(gw.port, site, interface=gw.host, backlog=1024)
        self.resumption.start()
        self.log.info("telegraphy-gateway listening on ws://{host}:{port}{path} (realm {realm}), "
                      "transport {transport}", host=gw.host, port=self.port.getHost().port, path=gw.path,
                      realm=gw.realm, transport=self.config.transport.name)

    @defer.inlineCallbacks
    def stopService(self):
        """Stop accepting, say GOODBYE to every session, let them flush, then stop the transport."""
        self.closing = True
        super().stopService()
        if self.port is not None:
            yield self.port.stopListening()
        # no new events first: an event taken from the transport now would reach no client
        yield self.representative.stop()
        for session in list(self.connections):
            session.goodbye("wamp.close.system_shutdown", "gateway shutting down")
        deadline = reactor.seconds() + SHUTDOWN_GRACE
        while self.connections and reactor.seconds() < deadline:
            yield task.deferLater(reactor, 0.05, lambda: None)
        for session in list(self.connections):
            session.dropConnection(abort=True)
        self.resumption.stop()
        self.log.info("telegraphy-gateway stopped")
