"""The zeromq transport's options, checked without pyzmq so a bad config fails before anything starts."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass

from telegraphy.config import Config
from telegraphy.errors import ConfigError
from telegraphy.schema import Section, setting

DEFAULT_ENDPOINT = "tcp://127.0.0.1:4001"
IPC_PATH_MAX = 107  # bytes in sockaddr_un.sun_path, less the terminating NUL
ROLES = ("server", "client")

_TCP = re.compile(r"^tcp://(?P<host>\[[0-9A-Za-z:.%]+\]|[^:/\[\]\s]+):(?P<port>[0-9]{1,5}|\*)$")
_Z85 = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
_KEY_LINE = re.compile(r'^\s*(public|secret)-key\s*=\s*"([^"]*)"\s*$', re.MULTILINE)
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def endpoint_problem(endpoint: str, bind: bool) -> str | None:
    """Why ``endpoint`` is not a usable address (to connect to, or with ``bind`` to bind), or None."""
    if endpoint.startswith("tcp://"):
        match = _TCP.match(endpoint)
        port = match["port"] if match else ""
        picked = port in ("0", "*")  # the OS picks a port: only where the gateway binds
        if not match or (picked and not bind) or (not picked and not 0 < int(port) < 65536) \
                or (match["host"] == "*" and not bind):
            if bind:
                return (f"expected tcp://HOST:PORT or tcp://*:PORT (a port from 1 to 65535, or 0 for one the OS "
                        f"picks), got {endpoint!r}")
            return f"expected tcp://HOST:PORT (a port from 1 to 65535), got {endpoint!r}"
        return None
    if endpoint.startswith("ipc://"):
        path = endpoint[len("ipc://"):]
        if not path:
            return f"expected ipc://PATH, got {endpoint!r}"
        if len(os.fsencode(path)) > IPC_PATH_MAX:
            return (f"the ipc path {path!r} is {len(os.fsencode(path))} bytes long; the OS allows {IPC_PATH_MAX}: "
                    "use a shorter path")
        return None
    return f"expected a tcp://HOST:PORT or ipc://PATH address, got {endpoint!r}"


def _check_endpoints(section: Section, key: str, endpoints: tuple[str, ...]) -> tuple[str, ...]:
    if not endpoints:
        section.report(key, "expected at least one gateway address, e.g. tcp://127.0.0.1:4001")
    for endpoint in endpoints:
        problem = endpoint_problem(endpoint, bind=False)
        if problem:
            section.report(key, problem)
    if len(set(endpoints)) != len(endpoints):
        section.report(key, "lists the same address twice: each gateway would get every event twice")
    return endpoints


def _check_bind(section: Section, key: str, bind: str) -> str:
    problem = endpoint_problem(bind, bind=True) if bind else None
    if problem:
        section.report(key, problem)
    return bind


def is_loopback(endpoint: str) -> bool:
    """True for ipc:// and loopback tcp:// addresses, which nobody else on the network can reach."""
    match = _TCP.match(endpoint)
    return match is None or match["host"] in _LOOPBACK or match["host"].startswith("127.")


def os_picks_port(endpoint: str) -> bool:
    """True for a tcp:// address with port 0 or ``*``: the OS chooses the port when the gateway binds."""
    match = _TCP.match(endpoint)
    return match is not None and match["port"] in ("0", "*")


def _key(section: Section, key: str, value: str) -> str:
    if value and not _Z85.match(value):
        section.report(key, f"expected a Z85-encoded CURVE key (40 characters), got {len(value)} characters "
                            "(make a pair with: python -c 'import zmq; print(zmq.curve_keypair())')")
    return value


KEY = "A Z85-encoded CURVE key (40 characters); ``python -c 'import zmq; print(zmq.curve_keypair())'`` makes a pair."


@dataclass(frozen=True)
class CurveOptions:
    """``transport.options.curve``: CURVE keys, given inline or as ZeroMQ certificate files."""

    server_public_key: str | None = setting(None, "The gateway's public key; both sides need it. " + KEY,
                                            check=_key)
    server_secret_key: str | None = setting(None, "The gateway's secret key; only the gateway needs it (write "
                                                  "``${ZMQ_SERVER_SECRET:-}`` so web apps can share the file).",
                                            secret=True, check=_key)
    client_public_key: str | None = setting(None, "The web apps' public key: the only one the gateway lets in.",
                                            check=_key)
    client_secret_key: str | None = setting(None, "The web apps' secret key; only web apps need it.",
                                            secret=True, check=_key)
    server_key_file: str | None = setting(None, "Instead of the two server keys: a certificate file as written by "
                                                "``zmq.auth.create_certificates`` (relative to the config file).")
    client_key_file: str | None = setting(None, "The same for the client keys.")

    def checked(self, section: Section) -> CurveOptions:
        """Keys from files, each given once, and both public keys present; an empty key is no key."""
        keys = {f.name: getattr(self, f.name) or None for f in dataclasses.fields(self)}
        for role in ROLES:
            file_key = f"{role}_key_file"
            from_file = _read_key_file(section, file_key, keys[file_key]) if keys[file_key] else {}
            if from_file is None:
                continue  # said already: the file is the problem
            for kind in ("public", "secret"):
                name = f"{role}_{kind}_key"
                if keys[name] is not None and kind in from_file:
                    section.report(name, f"is also given by {file_key}: use one or the other")
                if keys[name] is None:
                    keys[name] = from_file.get(kind)
            if keys[f"{role}_public_key"] is None:
                section.report(f"{role}_public_key", f"is required (or {file_key}): both sides need the {role}'s "
                                                     "public key")
        return dataclasses.replace(self, **keys)


def _read_key_file(section: Section, name: str, path: str) -> dict[str, str] | None:
    """The keys in a ZeroMQ certificate file (``public-key = "..."``, ``secret-key = "..."``), or None when it
    cannot be used (reported); a relative path is taken from the config file's folder."""
    if not os.path.isabs(path) and os.path.isfile(section.source):
        path = os.path.join(os.path.dirname(os.path.abspath(section.source)), path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        section.report(name, f"cannot read the key file {path}: {exc.strerror}")
        return None
    found = dict(_KEY_LINE.findall(text))
    if "public" not in found:
        section.report(name, f"{path} is not a ZeroMQ certificate: no public-key line")
        return None
    for kind, value in found.items():
        if not _Z85.match(value):
            section.report(name, f"{path}: the {kind}-key is not a Z85-encoded CURVE key (40 characters)")
            return None
    return found


@dataclass(frozen=True)
class ZeroMQOptions:
    """``transport.options`` of the zeromq transport."""

    endpoints: tuple[str, ...] = setting((DEFAULT_ENDPOINT,), "The gateways' addresses as the web app reaches "
                                                              "them: ``tcp://HOST:PORT`` (a name, an IPv4 address "
                                                              "or ``[IPv6]``) or ``ipc://PATH`` (a Unix socket, at "
                                                              "most 107 bytes; ``ipc://@name`` for Linux's "
                                                              "abstract namespace). The web app sends every event "
                                                              "to each; an address listed twice is refused.",
                                         check=_check_endpoints)
    bind: str = setting("", "What this gateway binds: the same forms, plus ``tcp://*:PORT`` for every interface, "
                            "and port ``0`` for one the OS picks (``--ready-file`` reports it). With several "
                            "gateways each needs its own: one config file each, or ``${VAR}`` set per gateway.",
                        check=_check_bind, doc_default="the first of ``endpoints``")
    sndhwm: int = setting(10000, "ZeroMQ's send high-water mark: how many *messages* may wait for one gateway in "
                                 "one web-app thread while it is down or slow (a ``publish_many`` is one message); "
                                 "past it ``publish`` waits up to ``send_timeout``.", minimum=1)
    rcvhwm: int = setting(10000, "The gateway's receive high-water mark, per web-app connection: when the gateway "
                                 "falls behind, ZeroMQ stops reading, TCP pushes back and events wait in the web "
                                 "app (``sndhwm``).", minimum=1)
    linger: float = setting(2.0, "Seconds an exiting web-app process waits for its queued events to leave; what is "
                                 "still queued then is dropped. ``0`` never waits.", minimum=0)
    send_timeout: float = setting(2.0, "Seconds ``publish`` waits in all for room in full queues before it raises "
                                       "GatewayUnavailable naming the gateway; ``0`` fails at once.", minimum=0)
    curve: CurveOptions | None = setting(None, "CURVE keys: authenticate web apps and encrypt the links; without "
                                               "them anyone who can connect can publish (see CURVE below).")

    def checked(self, section: Section) -> ZeroMQOptions:
        return self if self.bind else dataclasses.replace(self, bind=self.endpoints[0])


def curve_keys(config: Config, role: str) -> CurveOptions | None:
    """The CURVE keys for one side (``client`` for the web app, ``server`` for the gateway), checked
    against libzmq: that side's secret key must be present and match its public key. None without CURVE."""
    curve: CurveOptions | None = config.transport.options.curve
    if curve is None:
        return None
    import zmq

    secret_name = f"{role}_secret_key"
    where = {"source": config.source, "key": f"transport.options.curve.{secret_name}"}
    if not zmq.has("curve"):
        raise ConfigError("this libzmq was built without CURVE support (install pyzmq from its wheels)", **where)
    secret = getattr(curve, secret_name)
    side = "the web app" if role == "client" else "the gateway"
    if not secret:
        raise ConfigError(f"{side} needs {secret_name} (or {role}_key_file with a secret key) for CURVE", **where)
    if zmq.curve_public(secret.encode("ascii")).decode("ascii") != getattr(curve, f"{role}_public_key"):
        raise ConfigError(f"does not belong to {role}_public_key: the two must be one key pair", **where)
    return curve
