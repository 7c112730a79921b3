"""RabbitMQ transport: web apps publish to an exchange, every gateway consumes it through its own queue.

This module only declares and checks the options and names the factories, so the plugin loads (and
``telegraphy plugins`` lists it) without pika; pika is imported by ``proxy`` and ``representative`` alone.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import unquote, urlsplit

from telegraphy.plugins import Transport
from telegraphy.schema import Section, setting

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
PORTS = {"amqp": 5672, "amqps": 5671}
EXCHANGE_TYPES = ("fanout", "topic")
# RabbitMQ's own rule for exchange and queue names; "amq." is reserved for the broker.
_NAME = re.compile(r"^[A-Za-z0-9_.:\-]{1,255}$")
_BINDING = re.compile(r"^[A-Za-z0-9_\-*#]+(\.[A-Za-z0-9_\-*#]+)*$")


@dataclass(frozen=True)
class Broker:
    """Where the broker is and how to log in, from the ``url`` (https://www.rabbitmq.com/uri-spec.html)."""

    scheme: str
    host: str
    port: int
    vhost: str
    username: str
    password: str = dataclasses.field(repr=False)

    @property
    def address(self) -> str:
        """For messages and logs: never the credentials."""
        return f"{self.scheme}://{self.host}:{self.port}/{self.vhost.replace('/', '%2F')}"


def parse_url(url: str) -> Broker:
    """The broker of an AMQP URI; ValueError with the reason (never the password) when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in PORTS:
        raise ValueError("the scheme must be amqp or amqps")
    if not parts.hostname:
        raise ValueError("the host is missing")
    try:
        port = parts.port or PORTS[parts.scheme]
    except ValueError:
        raise ValueError("the port is not a number between 1 and 65535") from None
    if parts.query or parts.fragment:
        raise ValueError("put options under transport.options, not in the url")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if "/" in path:
        raise ValueError("write a '/' inside the vhost as %2F")
    return Broker(parts.scheme, parts.hostname, port, unquote(path) or "/",
                  unquote(parts.username) if parts.username is not None else "guest",
                  unquote(parts.password) if parts.password is not None else "guest")


def without_password(url: str) -> str:
    return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:****@", url)


def _check_url(section: Section, key: str, url: str) -> str:
    try:
        parse_url(url)
    except ValueError as exc:
        section.report(key, f"{exc} (expected amqp://user:password@host:port/vhost, got "
                            f"{without_password(url)!r})")
    return url


def _check_name(section: Section, key: str, name: str) -> str:
    if name == "" and key == "queue":
        return name  # no name: a server-named queue
    if not _NAME.match(name):
        section.report(key, "expected 1 to 255 letters, digits, '-', '_', '.' or ':', got " + repr(name))
    elif name.startswith("amq."):
        section.report(key, f"names starting with 'amq.' are reserved by RabbitMQ, got {name!r}")
    return name


def _check_bindings(section: Section, key: str, bindings: tuple[str, ...]) -> tuple[str, ...]:
    for binding in bindings:
        if not _BINDING.match(binding):
            section.report(key, f"expected topic patterns such as 'shop.#' or 'chat.*', got {binding!r}")
    return bindings


def _readable(section: Section, key: str, path: str) -> str:
    if not os.access(path, os.R_OK):
        section.report(key, f"cannot read the file {path!r}")
    return path


@dataclass(frozen=True)
class TlsOptions:
    """``transport.options.tls``: how an ``amqps://`` connection is checked and authenticated."""

    ca_file: str | None = setting(None, "PEM file of the certificate authorities to trust; none: the system's.",
                                  check=_readable)
    cert_file: str | None = setting(None, "PEM client certificate, for brokers that authenticate clients by "
                                          "certificate.", check=_readable)
    key_file: str | None = setting(None, "Its private key, when it is not in ``cert_file``.", check=_readable)
    verify: bool = setting(True, "Check the broker's certificate and host name (turn off only to test).")

    def checked(self, section: Section) -> TlsOptions:
        if self.key_file and not self.cert_file:
            section.report("key_file", "a key_file needs a cert_file")
        return self


@dataclass(frozen=True)
class RabbitMQOptions:
    """``transport.options`` of the rabbitmq transport."""

    url: str = setting(DEFAULT_URL, "``amqp://`` or ``amqps://``, with user, password, host, port and virtual "
                                    "host. Percent-encode special characters of the password and write a ``/`` "
                                    "in the virtual host as ``%2F`` (``/%2F`` is the default ``/`` vhost); "
                                    "``${ENV}`` keeps the password out of the file. The password is never "
                                    "logged, shown by ``telegraphy check`` or put in an error message: those "
                                    "name ``amqp://host:port/vhost`` only.",
                       check=_check_url, redact=without_password)
    exchange: str = setting("telegraphy", "The durable exchange the web app publishes to and every gateway reads "
                                          "from.", check=_check_name)
    exchange_type: str = setting("fanout", "``fanout`` gives every gateway every event; ``topic`` routes by event "
                                           "name, so a gateway can take a part of the events with ``bindings``.",
                                 choices=EXCHANGE_TYPES)
    queue: str = setting("", "Empty: the broker names an exclusive queue that goes away with the gateway's "
                             "connection; events published while that gateway is away are not kept for it. A "
                             "name: a durable queue that outlives the gateway, so events published while it "
                             "restarts wait for it. Each gateway needs its own: a second one consuming a name "
                             "already consumed is refused (``ACCESS_REFUSED``) and keeps retrying, with "
                             "``/health`` at 503.", check=_check_name)
    bindings: tuple[str, ...] = setting(("#",), "With ``exchange_type: topic``, the patterns this gateway's queue "
                                                "is bound with (``shop.#``, ``chat.*``): ``*`` is one word of the "
                                                "event name, ``#`` any number.", check=_check_bindings)
    confirm: bool = setting(True, "Publisher confirms: ``publish`` returns once the broker has the event, and "
                                  "raises PublishError if it refused it or it reached no queue. ``false`` is "
                                  "faster and gives up both.")
    prefetch: int = setting(256, "How many unacknowledged messages the broker sends a gateway ahead.",
                            minimum=1, maximum=65535)
    heartbeat: int = setting(30, "Seconds between AMQP heartbeats, so a dead connection is noticed; 0: none.",
                             minimum=0, maximum=65535)
    timeout: float = setting(5.0, "Seconds, the bound on every wait: connecting (TCP, TLS and the AMQP "
                                  "handshake), a confirm, a blocked connection (a broker out of memory or disk "
                                  "blocks publishers), closing. Then GatewayUnavailable.", minimum=0.1)
    reconnect_delay: float = setting(0.5, "Seconds before a gateway's first reconnection attempt; the wait "
                                          "doubles after each failure up to ``reconnect_max_delay``, half of it "
                                          "random so gateways do not all come back at the same instant.",
                                     minimum=0.01)
    reconnect_max_delay: float = setting(30.0, "The longest wait between reconnection attempts.", minimum=0.01)
    tls: TlsOptions | None = setting(None, "TLS settings, for an ``amqps://`` url only (which uses the "
                                           "system's certificate authorities without them). The files must be "
                                           "readable when the config is loaded.")

    @cached_property
    def broker(self) -> Broker:
        return parse_url(self.url)

    def checked(self, section: Section) -> RabbitMQOptions:
        result = self
        if section.has("bindings") and self.exchange_type != "topic":
            section.report("bindings", "bindings need exchange_type: topic (a fanout exchange ignores them)")
        if self.reconnect_max_delay < self.reconnect_delay:
            section.report("reconnect_max_delay", f"expected a number >= reconnect_delay ({self.reconnect_delay}), "
                                                  f"got {self.reconnect_max_delay}")
        scheme = self.broker.scheme
        if self.tls is not None and scheme != "amqps":
            section.report("tls", "TLS options need an amqps:// url")
        if self.tls is None and scheme == "amqps":
            result = dataclasses.replace(self, tls=TlsOptions())
        return result


transport = Transport(name="rabbitmq", extra="rabbitmq", requires=("pika",), options=RabbitMQOptions,
                      make_proxy=f"{__name__}.proxy:RabbitMQProxy",
                      make_representative=f"{__name__}.representative:RabbitMQRepresentative",
                      description="RabbitMQ (AMQP 0-9-1) via pika: durable queues, publisher confirms, "
                                  "several gateways on one exchange")
