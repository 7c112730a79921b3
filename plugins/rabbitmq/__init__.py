"""RabbitMQ transport: web apps publish to an exchange, every gateway consumes it through its own queue.

This module only validates options and names the factories, so the plugin loads (and ``telegraphy
plugins`` lists it) without pika; pika is imported by ``proxy`` and ``representative`` alone.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from telegraphy.config import Section
from telegraphy.plugins import Transport

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
PORTS = {"amqp": 5672, "amqps": 5671}
EXCHANGE_TYPES = ("fanout", "topic")
# RabbitMQ's own rule for exchange and queue names; "amq." is reserved for the broker.
_NAME = re.compile(r"^[A-Za-z0-9_.:\-]{1,255}$")
_BINDING = re.compile(r"^[A-Za-z0-9_\-*#]+(\.[A-Za-z0-9_\-*#]+)*$")


def validate(options: Section) -> dict[str, Any]:
    """Read ``transport.options``; every bad value is a ConfigError naming file, line and key."""
    url = options.str("url", DEFAULT_URL)
    result: dict[str, Any] = {"url": url, **_parse_url(options, url)}
    result["exchange"] = _name(options, "exchange", "telegraphy")
    result["exchange_type"] = options.str("exchange_type", "fanout", EXCHANGE_TYPES)
    result["queue"] = _name(options, "queue", "")
    bindings = options.strings("bindings", ("#",))
    for binding in bindings:
        if not _BINDING.match(binding):
            raise options.error("bindings", f"expected topic patterns such as 'shop.#' or 'chat.*', got {binding!r}")
    if "bindings" in options and result["exchange_type"] != "topic":
        raise options.error("bindings", "bindings need exchange_type: topic (a fanout exchange ignores them)")
    result["bindings"] = bindings
    result["confirm"] = options.bool("confirm", True)
    result["prefetch"] = options.int("prefetch", 256, minimum=1, maximum=65535)
    result["heartbeat"] = options.int("heartbeat", 30, minimum=0, maximum=65535)
    result["timeout"] = options.float("timeout", 5.0, minimum=0.1)
    result["reconnect_delay"] = options.float("reconnect_delay", 0.5, minimum=0.01)
    result["reconnect_max_delay"] = options.float("reconnect_max_delay", 30.0, minimum=0.01)
    if result["reconnect_max_delay"] < result["reconnect_delay"]:
        raise options.error("reconnect_max_delay", f"expected a number >= reconnect_delay ({result['reconnect_delay']})"
                                                   f", got {result['reconnect_max_delay']}")
    result["tls"] = _tls(options, result["scheme"])
    options.done()
    return result


def _parse_url(options: Section, url: str) -> dict[str, Any]:
    """Split an AMQP URI (https://www.rabbitmq.com/uri-spec.html) into what both sides connect with."""
    def bad(reason: str) -> Exception:
        return options.error("url", f"{reason} (expected amqp://user:password@host:port/vhost, got "
                                    f"{_without_password(url)!r})")
    parts = urlsplit(url)
    if parts.scheme not in PORTS:
        raise bad("the scheme must be amqp or amqps")
    if not parts.hostname:
        raise bad("the host is missing")
    try:
        port = parts.port or PORTS[parts.scheme]
    except ValueError:
        raise bad("the port is not a number between 1 and 65535") from None
    if parts.query or parts.fragment:
        raise bad("put options under transport.options, not in the url")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if "/" in path:
        raise bad("write a '/' inside the vhost as %2F")
    return {"scheme": parts.scheme, "host": parts.hostname, "port": port, "vhost": unquote(path) or "/",
            "username": unquote(parts.username) if parts.username is not None else "guest",
            "password": unquote(parts.password) if parts.password is not None else "guest"}


def _without_password(url: str) -> str:
    return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:****@", url)


def _name(options: Section, key: str, default: str) -> str:
    value = options.str(key, default)
    if value == default == "":
        return value
    if not _NAME.match(value):
        raise options.error(key, "expected 1 to 255 letters, digits, '-', '_', '.' or ':', got " + repr(value))
    if value.startswith("amq."):
        raise options.error(key, f"names starting with 'amq.' are reserved by RabbitMQ, got {value!r}")
    return value


def _tls(options: Section, scheme: str) -> dict[str, Any] | None:
    if "tls" not in options:
        return {"ca_file": None, "cert_file": None, "key_file": None, "verify": True} if scheme == "amqps" else None
    if scheme != "amqps":
        raise options.error("tls", "TLS options need an amqps:// url")
    tls = options.section("tls")
    result = {name: _readable(tls, name) for name in ("ca_file", "cert_file", "key_file")}
    result["verify"] = tls.bool("verify", True)
    if result["key_file"] and not result["cert_file"]:
        raise tls.error("key_file", "a key_file needs a cert_file")
    tls.done()
    return result


def _readable(section: Section, key: str) -> str | None:
    path = section.str(key, None)
    if path is not None and not os.access(path, os.R_OK):
        raise section.error(key, f"cannot read the file {path!r}")
    return path


def address(options: dict[str, Any]) -> str:
    """Where the broker is, for messages and logs: never the credentials."""
    return f"{options['scheme']}://{options['host']}:{options['port']}/{options['vhost'].replace('/', '%2F')}"


transport = Transport(name="rabbitmq", extra="rabbitmq", requires=("pika",), validate=validate,
                      make_proxy=f"{__name__}.proxy:RabbitMQProxy",
                      make_representative=f"{__name__}.representative:RabbitMQRepresentative",
                      description="RabbitMQ (AMQP 0-9-1) via pika: durable queues, publisher confirms, "
                                  "several gateways on one exchange")
