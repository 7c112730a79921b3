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
from .signing import verify


class _Endpoint(xmlrpc.XMLRPC):
    """Serves ``publish_many`` to callers that sign the request with the shared secret."""

    def __init__(self, representative: XmlRpcRepresentative) -> None:
        super().__init__(allowNone=False, useDateTime=False)
        self.representative = representative
        self.refused = 0

    def render_POST(self, request):
        body = request.content.read()
        if not verify(self.representative.config.auth.secrets, body, request.getHeader(SIGNATURE_HEADER)):
            self.refused += 1
            self.representative.log.warn("xmlrpc: refused a call from {peer}: missing or wrong shared secret",
                                         peer=request.getClientAddress())
            request.setResponseCode(403)
            return b"forbidden: missing or wrong shared secret\n"
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
        self.endpoint = _Endpoint(self)

    def _start(self) -> None:
        options = self.options
        root = resource.Resource()
        root.putChild(PATH.strip("/").encode(), self.endpoint)
        site = server.Site(root)
        site.noisy = False
        site.log = lambda request: None  # no access log line per event batch
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
        return {**super().status(), "refused": self.endpoint.refused}
