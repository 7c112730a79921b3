"""Gateway side of the XML-RPC transport: ``twisted.web.xmlrpc`` on its own port."""

from __future__ import annotations

import io

from twisted.internet import reactor
from twisted.web import resource, server, xmlrpc

from telegraphy.representative import Representative

from . import PATH, SIGNATURE_HEADER
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

    def __init__(self, config, reactor=None) -> None:
        super().__init__(config, reactor)
        self.port = None
        self.endpoint = _Endpoint(self)

    def _start(self) -> None:
        options = self.config.transport.options
        root = resource.Resource()
        root.putChild(PATH.strip("/").encode(), self.endpoint)
        site = server.Site(root)
        site.noisy = False
        site.log = lambda request: None  # no access log line per event batch
        self.port = reactor.listenTCP(options["port"], site, interface=options["host"])
        self.state = "running"
        self.log.info("xmlrpc: receiving events on http://{host}:{port}{path}", host=options["host"],
                      port=self.port.getHost().port, path=PATH)

    def _stop(self):
        self.state = "stopped"
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()
        return None

    def status(self) -> dict:
        return {**super().status(), "refused": self.endpoint.refused}
