"""XML-RPC transport: the embedded default, no broker to run.

The gateway's representative serves XML-RPC on its own loopback port; the web app's proxy posts
events to it over a kept-alive HTTP connection. Every request carries an HMAC-SHA256 of its body
made with the shared secret, so only holders of the secret can publish.
"""

from __future__ import annotations

from telegraphy.config import Config, Section
from telegraphy.plugins import Transport

SIGNATURE_HEADER = "X-Telegraphy-Signature"
PATH = "/RPC2"


def validate(options: Section) -> dict:
    result = {"host": options.str("host", "127.0.0.1"), "port": options.port("port", 4000),
              "timeout": options.float("timeout", 2.0, minimum=0.01)}
    options.done()
    return result


def url(config: Config) -> str:
    options = config.transport.options
    return f"http://{options['host']}:{options['port']}{PATH}"


transport = Transport(name="xmlrpc", extra=None, requires=(), validate=validate,
                      make_proxy=f"{__name__}.proxy:XmlRpcProxy",
                      make_representative=f"{__name__}.representative:XmlRpcRepresentative",
                      description="XML-RPC over HTTP to the gateway (embedded default, no broker)")
