"""The zeromq transport's options, checked without pyzmq so a bad config fails before anything starts."""

from __future__ import annotations

import os
import re
from typing import Any

from telegraphy.config import Config, Section
from telegraphy.errors import ConfigError

DEFAULT_ENDPOINT = "tcp://127.0.0.1:4001"
DEFAULTS = {"sndhwm": 10000, "rcvhwm": 10000, "linger": 2.0, "send_timeout": 2.0}
IPC_PATH_MAX = 107  # bytes in sockaddr_un.sun_path, less the terminating NUL
ROLES = ("server", "client")

_TCP = re.compile(r"^tcp://(?P<host>\[[0-9A-Za-z:.%]+\]|[^:/\[\]\s]+):(?P<port>[0-9]{1,5})$")
_Z85 = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
_KEY_LINE = re.compile(r'^\s*(public|secret)-key\s*=\s*"([^"]*)"\s*$', re.MULTILINE)
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def validate(options: Section) -> dict[str, Any]:
    """Read ``transport.options``; every error names the file, the line and the key."""
    endpoints = options.strings("endpoints", (DEFAULT_ENDPOINT,))
    if not endpoints:
        raise options.error("endpoints", "expected at least one gateway address, e.g. tcp://127.0.0.1:4001")
    for endpoint in endpoints:
        _check_endpoint(options, "endpoints", endpoint, bind=False)
    if len(set(endpoints)) != len(endpoints):
        raise options.error("endpoints", "lists the same address twice: each gateway would get every event twice")
    bind = options.str("bind", endpoints[0])
    _check_endpoint(options, "bind", bind, bind=True)
    result = {
        "endpoints": list(endpoints),
        "bind": bind,
        "sndhwm": options.int("sndhwm", DEFAULTS["sndhwm"], minimum=1),
        "rcvhwm": options.int("rcvhwm", DEFAULTS["rcvhwm"], minimum=1),
        "linger": options.float("linger", DEFAULTS["linger"], minimum=0),
        "send_timeout": options.float("send_timeout", DEFAULTS["send_timeout"], minimum=0),
        "curve": _curve(options.section("curve")) if options.raw("curve", None) is not None else None,
    }
    options.done()
    return result


def _check_endpoint(options: Section, name: str, endpoint: str, bind: bool) -> None:
    if endpoint.startswith("tcp://"):
        match = _TCP.match(endpoint)
        if not match or not 0 < int(match["port"]) < 65536 or (match["host"] == "*" and not bind):
            host = "HOST or *" if bind else "HOST"
            raise options.error(name, f"expected tcp://{host}:PORT (a port from 1 to 65535), got {endpoint!r}")
    elif endpoint.startswith("ipc://"):
        path = endpoint[len("ipc://"):]
        if not path:
            raise options.error(name, f"expected ipc://PATH, got {endpoint!r}")
        if len(os.fsencode(path)) > IPC_PATH_MAX:
            raise options.error(name, f"the ipc path {path!r} is {len(os.fsencode(path))} bytes long; the OS "
                                      f"allows {IPC_PATH_MAX}: use a shorter path")
    else:
        raise options.error(name, f"expected a tcp://HOST:PORT or ipc://PATH address, got {endpoint!r}")


def is_loopback(endpoint: str) -> bool:
    """True for ipc:// and loopback tcp:// addresses, which nobody else on the network can reach."""
    match = _TCP.match(endpoint)
    return match is None or match["host"] in _LOOPBACK or match["host"].startswith("127.")


def _curve(section: Section) -> dict[str, str | None]:
    """CURVE keys (Z85 text, 40 characters) given inline or as ZeroMQ certificate files."""
    keys: dict[str, str | None] = {}
    for role in ROLES:
        from_file = {}
        file_key = f"{role}_key_file"
        path = section.str(file_key, "") or None
        if path is not None:
            from_file = _read_key_file(section, file_key, path)
        for kind in ("public", "secret"):
            name = f"{role}_{kind}_key"
            value = section.str(name, "") or None  # empty, as from ${VAR:-}: this side does not hold it
            if value is not None:
                if kind in from_file:
                    raise section.error(name, f"is also given by {file_key}: use one or the other")
                _check_key(section, name, value)
            keys[name] = value if value is not None else from_file.get(kind)
        if keys[f"{role}_public_key"] is None:
            raise section.error(f"{role}_public_key", f"is required (or {file_key}): both sides need the "
                                                      f"{role}'s public key")
    section.done()
    return keys


def _check_key(section: Section, name: str, value: str) -> None:
    if not _Z85.match(value):
        raise section.error(name, f"expected a Z85-encoded CURVE key (40 characters), got {len(value)} characters "
                                  "(make a pair with: python -c 'import zmq; print(zmq.curve_keypair())')")


def _read_key_file(section: Section, name: str, path: str) -> dict[str, str]:
    """The keys in a ZeroMQ certificate file (``public-key = "..."``, ``secret-key = "..."``), as written by
    ``zmq.auth.create_certificates``; a relative path is taken from the config file's folder."""
    if not os.path.isabs(path) and os.path.isfile(section.source):
        path = os.path.join(os.path.dirname(os.path.abspath(section.source)), path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise section.error(name, f"cannot read the key file {path}: {exc.strerror}") from None
    found = dict(_KEY_LINE.findall(text))
    if "public" not in found:
        raise section.error(name, f"{path} is not a ZeroMQ certificate: no public-key line")
    for kind, value in found.items():
        if not _Z85.match(value):
            raise section.error(name, f"{path}: the {kind}-key is not a Z85-encoded CURVE key (40 characters)")
    return found


def curve_keys(config: Config, role: str) -> dict[str, str | None] | None:
    """The CURVE keys for one side (``client`` for the web app, ``server`` for the gateway), checked
    against libzmq: that side's secret key must be present and match its public key. None without CURVE."""
    curve = config.transport.options.get("curve")
    if not curve:
        return None
    import zmq

    secret_name = f"{role}_secret_key"
    where = {"source": config.source, "key": f"transport.options.curve.{secret_name}"}
    if not zmq.has("curve"):
        raise ConfigError("this libzmq was built without CURVE support (install pyzmq from its wheels)", **where)
    secret = curve.get(secret_name)
    side = "the web app" if role == "client" else "the gateway"
    if not secret:
        raise ConfigError(f"{side} needs {secret_name} (or {role}_key_file with a secret key) for CURVE", **where)
    if zmq.curve_public(secret.encode("ascii")).decode("ascii") != curve[f"{role}_public_key"]:
        raise ConfigError(f"does not belong to {role}_public_key: the two must be one key pair", **where)
    return curve
