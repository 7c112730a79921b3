"""XML-RPC transport: the embedded default, no broker to run.

The gateway's representative serves XML-RPC on its own loopback port; the web app's proxy posts
events to it over a kept-alive HTTP connection. Every request carries an HMAC-SHA256, made with the
shared secret, of its time, a nonce and its body (signing.py): only holders of the secret can
publish, and a captured request cannot be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegraphy.plugins import Transport
from telegraphy.schema import setting

SIGNATURE_HEADER = "X-Telegraphy-Signature"
PATH = "/RPC2"


@dataclass(frozen=True)
class XmlRpcOptions:
    """``transport.options`` of the xmlrpc transport."""

    host: str = setting("127.0.0.1", "The address of the gateway's XML-RPC endpoint: the gateway listens on it, "
                                     "web apps post to it. Keep it on loopback or a private network (calls are "
                                     "signed with the shared secret, not encrypted).")
    port: int = setting(4000, "Its port. ``0`` lets the OS pick a free one (for tests: the gateway's "
                              "``--ready-file`` says which); a port in use stops the gateway, naming this key.",
                        minimum=0, maximum=65535)
    timeout: float = setting(2.0, "Seconds a publish may wait for the gateway before it raises "
                                  "GatewayUnavailable.", minimum=0.01)
    max_body_bytes: int = setting(8 * 2**20, "The largest request the gateway reads (a batch of events); a bigger "
                                             "one is refused with HTTP 413 before its body is read.", minimum=1024)
    request_timeout: float = setting(10.0, "Seconds a request may take to arrive whole; a slower one is cut off "
                                           "(a slow body holds nothing for long).", minimum=0.1)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"


transport = Transport(name="xmlrpc", extra=None, requires=(), options=XmlRpcOptions,
                      make_proxy=f"{__name__}.proxy:XmlRpcProxy",
                      make_representative=f"{__name__}.representative:XmlRpcRepresentative",
                      description="XML-RPC over HTTP to the gateway (embedded default, no broker)")

# The plugin's validation, for third-party transports that reuse these options.
validate = transport.validate
