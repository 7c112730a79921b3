"""Web-app side of the XML-RPC transport: the stdlib client over a kept-alive connection."""

from __future__ import annotations

import http.client
import socket
import xmlrpc.client

from telegraphy.config import Config
from telegraphy.errors import GatewayUnavailable, PublishError
from telegraphy.proxy import Proxy

from . import PATH, SIGNATURE_HEADER, XmlRpcOptions
from .signing import sign


class _NoDelayConnection(http.client.HTTPConnection):
    """http.client sends headers and body in two writes: without TCP_NODELAY, Nagle's algorithm
    and delayed ACKs would hold the second one back on every call."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _SigningTransport(xmlrpc.client.Transport):
    """Adds the body's signature, a bounded timeout and TCP_NODELAY to the stdlib transport."""

    def __init__(self, secret: str, timeout: float) -> None:
        super().__init__()
        self._secret, self._timeout = secret, timeout

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        chost, self._extra_headers, _ = self.get_host_info(host)
        self._connection = host, _NoDelayConnection(chost, timeout=self._timeout)
        return self._connection[1]

    def send_content(self, connection, request_body):
        connection.putheader(SIGNATURE_HEADER, sign(self._secret, request_body))
        super().send_content(connection, request_body)


class XmlRpcProxy(Proxy):
    """Posts ``publish_many([json, ...])`` to the gateway; a Fault or an HTTP error is a PublishError."""

    connection_errors = (OSError, http.client.HTTPException)  # refused, reset, closed while idle: once more
    timeout_errors = (TimeoutError,)  # no answer within timeout: the gateway may have the events

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        options: XmlRpcOptions = config.transport.options
        self.url = options.url
        self._host = f"{options.host}:{options.port}"
        self._timeout = options.timeout

    def _open(self) -> _SigningTransport:
        return _SigningTransport(self.config.auth.secret, self._timeout)

    def _send(self, conn: _SigningTransport, payloads: list[bytes]) -> None:
        body = xmlrpc.client.dumps(([p.decode("utf-8") for p in payloads],), "publish_many",
                                   encoding="utf-8", allow_none=False).encode("utf-8")
        try:
            conn.request(self._host, PATH, body)
        except xmlrpc.client.Fault as fault:
            raise PublishError(f"the gateway at {self.url} refused the events: {fault.faultString}") from None
        except xmlrpc.client.ProtocolError as exc:
            raise PublishError(f"the gateway at {self.url} refused the events: HTTP {exc.errcode} "
                               f"{exc.errmsg}") from None

    def _unavailable(self, exc: BaseException) -> GatewayUnavailable:
        return GatewayUnavailable(f"the gateway at {self.url} is unavailable: {exc.__class__.__name__}: {exc}")

    def _close(self, conn: _SigningTransport) -> None:
        conn.close()
