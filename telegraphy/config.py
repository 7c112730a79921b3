"""Load and validate the shared YAML config read by both the web app and the gateway.

Every key is declared once below (type, default, checks, prose) with :func:`telegraphy.schema.setting`;
the loader, ``telegraphy check`` and the configuration reference in the docs all read those declarations.
Every error names the file, the line and the key, and all of a file's errors are reported together.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import yaml

from .errors import ConfigError, PluginError
from .schema import DEFAULTS, REQUIRED, Section, as_dict, plain, read, setting

__all__ = ["ACCESS", "DEFAULT_FILE", "ENV_VAR", "AuthConfig", "Config", "EventPolicy", "GatewayConfig", "Limits",
           "Section", "TransportConfig", "dump", "from_mapping", "load", "locate"]

ENV_VAR = "TELEGRAPHY_CONFIG"
DEFAULT_FILE = "./telegraphy.yaml"
ACCESS = ("public", "authenticated", "private")
MIN_SECRET_LENGTH = 16
_ENV_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}")
_ENV_TOKEN = re.compile(r"__telegraphy_env_([0-9]+)__")


# -- the keys ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TransportConfig:
    """``transport``: which plugin carries events from the web app to the gateway."""

    name: str = setting("xmlrpc", "The transport plugin: ``xmlrpc`` (embedded, no broker), ``rabbitmq``, "
                                  "``zeromq``, ``memory`` (for tests, in one process), or any installed one "
                                  "(``telegraphy plugins`` lists them and says which are usable).")
    options: Any = setting(None, "The transport's own options, checked by its plugin; each transport's page "
                                 "lists them.", manual=True, doc_default="the transport's")
    plugin: Any = field(default=None, repr=False, compare=False)  # the loaded Transport (not a config key)

    def checked(self, section: Section) -> TransportConfig:
        """Load the plugin and let it validate ``options``; a plugin that cannot run here is a problem
        of ``transport.name``, with the pip command that fixes it."""
        from . import plugins

        try:
            plugin = plugins.load_transport(self.name)
        except PluginError as exc:
            section.report("name", str(exc))
            return self
        if plugin.missing():
            section.report("name", plugin.missing_message())
        options = plugin.validate(section.section("options"))
        return dataclasses.replace(self, options=options, plugin=plugin)

    def effective_options(self, mask: bool = True) -> Any:
        """The options as plain data; with ``mask``, as the transport itself redacts them."""
        if not mask:
            return plain(self.options)
        from .plugins import load_transport

        return (self.plugin or load_transport(self.name)).redact(self.options)


def _websocket_url(section: Section, key: str, url: str) -> str:
    if not url:
        return url
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        section.report(key, f"expected a ws:// or wss:// URL, got {url!r}")
    elif port is not None and not 0 < port < 65536:
        section.report(key, f"expected the port browsers connect to (1 to 65535; leave it out for the scheme's "
                            f"default), got {url!r}")
    return url


@dataclass(frozen=True)
class GatewayConfig:
    """``gateway``: where the gateway listens and what browsers are told."""

    host: str = setting("127.0.0.1", "The address the gateway listens on for browsers (WebSocket, and HTTP for "
                                     "``/health``, ``/metrics``, ``/telegraphy.js``); ``0.0.0.0`` for every "
                                     "interface.", key="listen.host")
    port: int = setting(8080, "The port of that listener; ``0`` lets the OS pick a free one (for tests: "
                              "``telegraphy-gateway --ready-file FILE`` writes the port it got).",
                        key="listen.port", minimum=0, maximum=65535)
    url: str = setting("", "The WebSocket URL browsers connect to, as they see it (behind a proxy or TLS "
                           "terminator it differs from ``listen``); its path is where the gateway serves "
                           "WebSocket.", check=_websocket_url, doc_default="``ws://localhost:PORT/ws``")
    realm: str = setting("telegraphy", "The WAMP realm; a client joining another one is refused.")
    allowed_origins: tuple[str, ...] = setting((), "Shell patterns matched against a browser's ``Origin`` header "
                                                   "(``https://*.example.com``). Empty allows only the gateway's "
                                                   "own origin. Clients that send no ``Origin`` (servers, "
                                                   "scripts) are not browsers and are allowed.")

    @property
    def path(self) -> str:
        """The URL path the WebSocket endpoint is served on (from ``url``)."""
        return urlsplit(self.url).path or "/ws"

    def checked(self, section: Section) -> GatewayConfig:
        if self.url:
            return self
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host
        port = f":{self.port}" if self.port else ""  # 0: the OS picks it; --ready-file says which
        return dataclasses.replace(self, url=f"ws://{host}{port}/ws")


def _long_enough(section: Section, key: str, secrets: tuple[str, ...]) -> tuple[str, ...]:
    if not secrets:
        section.report(key, "expected at least one secret")
    for secret in secrets:
        if len(secret) < MIN_SECRET_LENGTH:
            section.report(key, f"expected at least {MIN_SECRET_LENGTH} characters (generate one with: "
                                "python -c 'import secrets; print(secrets.token_urlsafe())')")
            break
    return secrets


@dataclass(frozen=True)
class AuthConfig:
    """``auth``: the shared secret and how long what it signs stays valid."""

    secrets: tuple[str, ...] = setting(REQUIRED, "The secret the web app and the gateway share: it signs browser "
                                                 "tokens and XML-RPC calls. At least 16 characters; write "
                                                 "``${TELEGRAPHY_SECRET}`` to keep it out of the file. A list "
                                                 "rotates it: the first signs, all verify.",
                                       key="secret", secret=True, check=_long_enough)
    token_ttl: int = setting(30, "Seconds a browser token stays valid after it is minted (each is also "
                                 "single-use).", minimum=1)
    resume_ttl: int = setting(300, "Seconds a disconnected session may be resumed with its resume secret, "
                                   "getting back its subscriptions and the events it missed.", minimum=0)

    @property
    def secret(self) -> str:
        return self.secrets[0]


@dataclass(frozen=True)
class EventPolicy:
    """One entry of ``events``: who may see the events whose names match, and what the gateway keeps."""

    match: str = setting(REQUIRED, "A shell pattern on event names (``chat.*``, ``shop.Order``, ``*``). The "
                                   "first entry that matches an event decides for it; an event no entry matches "
                                   "is public, with no history.")
    access: str = setting("public", "Who receives these events: ``public`` every session, ``authenticated`` "
                                    "sessions opened with a token, ``private`` only the user named in the "
                                    "event's ``meta.user`` and tokens whose ``events`` patterns name it.",
                          choices=ACCESS)
    history: int = setting(0, "How many of the latest events of each matching topic the gateway keeps, for "
                              "clients that come back (``since``, resume) and for ``telegraphy.history``.",
                           minimum=0)
    publish: bool = setting(False, "Whether browsers may PUBLISH these events themselves (they never may "
                                   "otherwise).")
    persistent_limit: int = setting(1000, "How many events a persistent subscription collects while its session "
                                          "is away, for delivery on resume.", minimum=0)

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.match)


@dataclass(frozen=True)
class Limits:
    """``limits``: bounds on what any one client can make the gateway hold."""

    max_message_bytes: int = setting(65536, "The largest WebSocket message a client may send; a bigger one "
                                            "ends that session (``wamp.error.protocol_violation``).",
                                     minimum=512)
    client_queue_bytes: int = setting(1048576, "How much may wait for one slow client beyond its socket "
                                               "buffers; a client over it for a second, or at four times it, is "
                                               "disconnected (and may resume), so one frozen tab never costs the "
                                               "gateway its memory.", minimum=1024)
    max_connections: int = setting(20000, "Open WebSocket connections the gateway accepts; more are refused.",
                                   minimum=1)
    socket_send_buffer: int = setting(0, "The kernel send buffer (``SO_SNDBUF``) of each client connection, in "
                                         "bytes; ``0`` leaves it to the OS, which on Linux lets a stalled "
                                         "client's buffer grow to 4 MB before the queue above even starts. Set "
                                         "it (e.g. 65536) to bound the memory per client tightly, at some cost "
                                         "in burst throughput.", minimum=0)
    max_subscriptions: int = setting(1000, "Subscriptions one session may hold; one more is refused.", minimum=1)
    max_away_sessions: int = setting(20000, "Disconnected sessions kept so they may resume (``auth.resume_ttl``); "
                                            "past it the oldest is forgotten.", minimum=0)
    history_topics: int = setting(10000, "Event names the gateway keeps history state for; past it the one "
                                         "published least recently is forgotten.", minimum=1)
    history_bytes: int = setting(64 * 2**20, "Bytes of event envelopes kept in history, all topics together; "
                                             "past it the topic published least recently is forgotten (a "
                                             "recovery reaching back into it reports a gap).", minimum=0)
    max_filter_length: int = setting(1024, "Characters of a subscription's ``filter``.", minimum=16)
    max_filter_depth: int = setting(32, "Nesting of a subscription's ``filter`` (parentheses, ``not``, lists).",
                                    minimum=1)


DEFAULT_POLICY = EventPolicy(match="*")


@dataclass(frozen=True, kw_only=True)
class Config:
    """The whole shared config, as loaded from one file (or one mapping)."""

    transport: TransportConfig = setting(DEFAULTS, "How events travel from the web app to the gateway.")
    gateway: GatewayConfig = setting(DEFAULTS, "The gateway's listener and what browsers are told.")
    auth: AuthConfig = setting(REQUIRED, "The shared secret and token lifetimes.", repr=False)
    events: tuple[EventPolicy, ...] = setting((), "Event policies, in order: the first whose ``match`` fits an "
                                                  "event's name decides for that event.")
    limits: Limits = setting(DEFAULTS, "Bounds on what a client can make the gateway hold.")
    source: str = "<config>"  # the file it came from
    found_by: str = "given"  # why that file: "given", "$TELEGRAPHY_CONFIG", "the current directory"

    @property
    def using(self) -> str:
        """What a command line tool says about the file it read: ``using /srv/app/telegraphy.yaml (found in the
        current directory)``."""
        return f"using {self.source} ({self.found_by})"

    def policy(self, name: str) -> EventPolicy:
        """The first event policy whose pattern matches ``name`` (public, no history if none)."""
        return _policy(self.events, name)

    def to_dict(self, mask_secrets: bool = True) -> dict[str, Any]:
        """The effective config, with secrets masked unless asked otherwise (the transport masks its own)."""
        result = as_dict(self, mask_secrets)
        result["transport"]["options"] = self.transport.effective_options(mask_secrets)
        secrets = result["auth"]["secret"]
        if len(secrets) == 1:
            result["auth"]["secret"] = secrets[0]
        return result


@lru_cache(maxsize=4096)
def _policy(events: tuple[EventPolicy, ...], name: str) -> EventPolicy:
    for policy in events:
        if policy.matches(name):
            return policy
    return DEFAULT_POLICY


# -- reading the file ----------------------------------------------------------------------------
class _Located(dict):
    """A YAML mapping that remembers the line of each key."""

    line: int | None = None
    lines: dict[str, int]


class _LocatedList(list):
    line: int | None = None
    lines: list[int | None]


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):  # noqa: D102 - PyYAML hook
        mapping = _Located(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        mapping.lines = {k.value: k.start_mark.line + 1 for k, _ in node.value}
        return mapping

    def construct_sequence(self, node, deep=False):  # noqa: D102 - PyYAML hook
        seq = _LocatedList(super().construct_sequence(node, deep=True))
        seq.line = node.start_mark.line + 1
        seq.lines = [item.start_mark.line + 1 for item in node.value]
        return seq


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)


def _parse(text: str) -> Any:
    """YAML with ``${VAR}`` references kept as written, wherever they are.

    Inside a flow mapping (``{port: ${PORT:-8080}}``) the braces of a reference would end the mapping,
    so each reference is swapped for a plain token before parsing and put back after; the references
    are expanded later, key by key, so an unset variable is reported with its line and key.
    """
    references: list[str] = []

    def hide(match: re.Match) -> str:
        references.append(match.group(0))
        return f"__telegraphy_env_{len(references) - 1}__"
    data = yaml.load(_ENV_REF.sub(hide, text), Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    if references:
        _restore(data, lambda s: _ENV_TOKEN.sub(lambda m: references[int(m.group(1))], s))
    return data


def _restore(node: Any, put_back) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            node[key] = put_back(value) if isinstance(value, str) else value
            _restore(value, put_back)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            node[i] = put_back(value) if isinstance(value, str) else value
            _restore(value, put_back)


def locate(path: str | os.PathLike | None = None) -> tuple[str, str]:
    """The config file to read and why: ``path`` if given, else $TELEGRAPHY_CONFIG, else ./telegraphy.yaml."""
    if path:
        return os.fspath(path), "given"
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR], f"from ${ENV_VAR}"
    if os.path.isfile(DEFAULT_FILE):  # absolute: messages stay clear, relative paths in it stay right after a chdir
        return os.path.abspath(DEFAULT_FILE), "found in the current directory"
    raise ConfigError(f"no config given: pass --config FILE, set ${ENV_VAR} to the path of telegraphy.yaml, or "
                      f"create {DEFAULT_FILE}")


def load(path: str | os.PathLike | None = None) -> Config:
    """Read and validate a config file: ``path``, or $TELEGRAPHY_CONFIG, or ./telegraphy.yaml.

    ``Config.source`` and ``Config.found_by`` say which file was read and why.
    """
    source, found_by = locate(path)
    try:
        with open(source, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read the config file ({found_by}): {exc.strerror}", source=source) from None
    try:
        data = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", source=source,
                          line=mark.line + 1 if mark else None) from None
    return dataclasses.replace(from_mapping(data, source), found_by=found_by)


def from_mapping(data: Any, source: str = "<config>") -> Config:
    """Validate an already-parsed config (a YAML document or a dict such as Django's TELEGRAPHY).

    Raises one ConfigError listing every problem (``.problems``), each with its line and key.
    """
    problems: list[ConfigError] = []
    config = read(Config, Section(data, "", source, getattr(data, "line", None), problems))
    if problems:
        problems.sort(key=lambda p: p.line if p.line is not None else 0)
        raise ConfigError.several(problems)
    return dataclasses.replace(config, source=source)


def dump(config: Config) -> str:
    """The effective config as YAML, secrets masked (``telegraphy check``)."""
    return yaml.safe_dump(config.to_dict(mask_secrets=True), sort_keys=False)
