"""Gateway side of the XML-RPC transport: ``twisted.web.xmlrpc`` on its own port."""

from __future__ import annotations

import io
from typing import Any

from twisted.internet.error import CannotListenError
from twisted.web import resource, server, xmlrpc

from telegraphy.config import Config
from telegraphy.errors import ConfigError
from telegraphy.representative import Representative

from . import PATH, SIGNATURE_HEADER, XmlRpcOptions
from .signing import SignatureError, Verifier


class _BoundedRequest(server.Request):
    """A request whose body is refused before it is read when it is over ``max_body_bytes`` (413) or of
    unknown length (411), and whose whole arrival must take at most ``request_timeout`` seconds."""

    def __init__(self, channel, *args, **kwargs) -> None:
        super().__init__(channel, *args, **kwargs)
        site = channel.site
        self._deadline = site.reactor.callLater(site.request_timeout, self._too_slow)

    def gotLength(self, length):  # noqa: N802 - Twisted's name
        site = self.channel.site
        if length is None:
            self._refuse(b"411 Length Required", b"send the body with a Content-Length\n")
        elif length > site.max_body_bytes:
            self._refuse(b"413 Content Too Large", b"the body is over transport.options.max_body_bytes (%d)\n"
                         % site.max_body_bytes)
        else:
            super().gotLength(length)

    def requestReceived(self, command, path, version):  # noqa: N802 - Twisted's name
        if self._deadline.active():
            self._deadline.cancel()
        super().requestReceived(command, path, version)

    def connectionLost(self, reason):  # noqa: N802 - Twisted's name
        if self._deadline.active():
            self._deadline.cancel()
        super().connectionLost(reason)

    def _refuse(self, status: bytes, text: bytes) -> None:
        if self._deadline.active():
            self._deadline.cancel()
        self.channel.site.refused += 1
        transport = self.channel.transport
        transport.write(b"HTTP/1.1 %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
                        % (status, len(text), text))
        transport.loseConnection()  # and read nothing more of it

    def _too_slow(self) -> None:
        self.channel.site.refused += 1
        self.channel.transport.abortConnection()


class _Site(server.Site):
    requestFactory = _BoundedRequest

    def __init__(self, resource, reactor, options: XmlRpcOptions) -> None:
        super().__init__(resource, reactor=reactor, timeout=options.request_timeout)
        self.max_body_bytes, self.request_timeout = options.max_body_bytes, options.request_timeout
        self.refused = 0  # requests cut off for their size or slowness
        self.noisy = False

    def log(self, request) -> None:  # no access log line per event batch
        pass


class _Endpoint(xmlrpc.XMLRPC):
    """Serves ``publish_many`` to callers that sign the request (time, nonce and body) with the shared secret."""

    def __init__(self, representative: XmlRpcRepresentative) -> None:
        super().__init__(allowNone=False, useDateTime=False)
        self.representative = representative
        self.verifier = Verifier()
        self.refused = 0

    def render_POST(self, request):
        body = request.content.read()
        try:
            self.verifier.verify(self.representative.config.auth.secrets, body, request.getHeader(SIGNATURE_HEADER),
                                 now=self.representative.reactor.seconds())
        except SignatureError as exc:
            self.refused += 1
            self.representative.log.warn("xmlrpc: refused a call from {peer}: {why}", peer=request.getClientAddress(),
                                         why=exc)
            request.setResponseCode(403)
            return f"forbidden: {exc}\n".encode()
        request.content = io.BytesIO(body)
        return super().render_POST(request)

    def xmlrpc_publish_many(self, payloads):
        if not isinstance(payloads, list) or not all(isinstance(p, str) for p in payloads):
            raise xmlrpc.Fault(400, "publish_many expects a list of JSON strings")
        accepted = 0
        for payload in payloads:
            accepted += self.representative.receive(payload)
        if accepted < len(payloads):
            raise xmlrpc.Fault(422, f"{len(payloads) - accepted} of {len(payloads)} events were invalid "
                                    "(see the gateway log); the others were delivered")
        return accepted


class XmlRpcRepresentative(Representative):
    name = "xmlrpc"

    def __init__(self, config: Config, reactor: Any = None) -> None:
        super().__init__(config, reactor)
        self.options: XmlRpcOptions = config.transport.options
        self.port = None
        self.site: _Site | None = None
        self.endpoint = _Endpoint(self)

    def _start(self) -> None:
        options = self.options
        root = resource.Resource()
        root.putChild(PATH.strip("/").encode(), self.endpoint)
        site = self.site = _Site(root, self.reactor, options)
        try:
            self.port = self.reactor.listenTCP(options.port, site, interface=options.host)
        except CannotListenError as exc:
            reason = getattr(exc.socketError, "strerror", None) or exc.socketError
            raise ConfigError(f"cannot receive events on {options.host}:{options.port}: {reason} (another gateway "
                              "or program has it?): change transport.options.port", source=self.config.source,
                              key="transport.options.port") from None
        self.state = "running"
        self.log.info("xmlrpc: receiving events on http://{host}:{port}{path}", host=options.host,
                      port=self.port.getHost().port, path=PATH)

    def _stop(self):
        self.state = "stopped"
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()
        return None

    def web_app_options(self) -> dict[str, Any]:
        return {"port": self.port.getHost().port} if self.port is not None else {}

    def status(self) -> dict:
        return {**super().status(), "refused": self.endpoint.refused + (self.site.refused if self.site else 0)}
