"""Load and validate the shared YAML config read by both the web app and the gateway.

Every error names the file, the line and the key, and says what was expected.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import yaml

from .errors import ConfigError

ENV_VAR = "TELEGRAPHY_CONFIG"
ACCESS = ("public", "authenticated", "private")
MIN_SECRET_LENGTH = 16
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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

_MISSING = object()


class Section(Mapping):
    """A validated view of one config mapping; plugins use it to read their ``options``.

    Each accessor checks type and range and raises a ConfigError that points at the line.
    Call :meth:`done` last: it rejects keys nobody asked for (usually typos).
    """

    def __init__(self, data: Mapping | None, path: str, source: str, line: int | None = None) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a mapping, got {_kind(data)}", source=source, line=line, key=path)
        self._data, self.path, self.source = data, path, source
        self.line = getattr(data, "line", None) or line
        self._seen: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def line_of(self, name: str) -> int | None:
        return getattr(self._data, "lines", {}).get(name, self.line)

    def error(self, name: str, message: str) -> ConfigError:
        return ConfigError(message, source=self.source, line=self.line_of(name), key=self.key(name))

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        self._seen.add(name)
        if name not in self._data or self._data[name] is None:
            if default is _MISSING:
                raise self.error(name, "is required")
            return default
        return self._expand(name, self._data[name])

    def _expand(self, name: str, value: Any) -> Any:
        if isinstance(value, str):
            def sub(match: re.Match) -> str:
                var, fallback = match.group(1), match.group(2)
                if var in os.environ:
                    return os.environ[var]
                if fallback is not None:
                    return fallback
                raise self.error(name, f"environment variable {var} is not set (write ${{{var}:-default}} "
                                       "to give a default)")
            return _ENV_REF.sub(sub, value)
        if isinstance(value, list):
            return [self._expand(name, v) for v in value]
        return value

    def str(self, name: str, default: Any = _MISSING, choices: tuple[str, ...] | None = None) -> str:
        value = self.raw(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str):
            raise self.error(name, f"expected a string, got {_kind(value)}")
        if choices is not None and value not in choices:
            raise self.error(name, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def int(self, name: str, default: Any = _MISSING, minimum: int | None = None,
            maximum: int | None = None) -> int:
        value = self.raw(name, default)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)  # from ${ENV} expansion
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, f"expected a whole number, got {_kind(value)}")
        if minimum is not None and value < minimum:
            raise self.error(name, f"expected a number >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(name, f"expected a number <= {maximum}, got {value}")
        return value

    def float(self, name: str, default: Any = _MISSING, minimum: float | None = None) -> float:
        value = self.raw(name, default)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(name, f"expected a number, got {_kind(value)}")
        if minimum is not None and value < minimum:
            raise self.error(name, f"expected a number >= {minimum}, got {value}")
        return float(value)

    def bool(self, name: str, default: Any = _MISSING) -> bool:
        value = self.raw(name, default)
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            value = value.lower() in ("true", "yes", "1")
        if not isinstance(value, bool):
            raise self.error(name, f"expected true or false, got {_kind(value)}")
        return value

    def port(self, name: str, default: Any = _MISSING) -> int:
        return self.int(name, default, minimum=0, maximum=65535)

    def strings(self, name: str, default: Any = _MISSING) -> tuple[str, ...]:
        value = self.raw(name, default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise self.error(name, f"expected a list of strings, got {_kind(value)}")
        return tuple(value)

    def section(self, name: str, required: bool = False) -> Section:
        self._seen.add(name)
        if required and name not in self._data:
            raise self.error(name, "is required")
        return Section(self._data.get(name), self.key(name), self.source, self.line_of(name))

    def items_list(self, name: str) -> list[Section]:
        self._seen.add(name)
        value = self._data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(name, f"expected a list, got {_kind(value)}")
        lines = getattr(value, "lines", [self.line_of(name)] * len(value))
        return [Section(item, f"{self.key(name)}[{i}]", self.source, lines[i]) for i, item in enumerate(value)]

    def done(self) -> None:
        unknown = [k for k in self._data if k not in self._seen]
        if unknown:
            name = unknown[0]
            allowed = ", ".join(sorted(self._seen)) or "nothing"
            raise self.error(name, f"unknown key (allowed here: {allowed})")


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", _Located: "a mapping", list: "a list", _LocatedList: "a list",
            str: f"the string {value!r}", bool: f"the boolean {value}"}.get(type(value), repr(value))


@dataclass(frozen=True)
class TransportConfig:
    name: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class GatewayConfig:
    host: str
    port: int
    url: str
    realm: str
    allowed_origins: tuple[str, ...]

    @property
    def path(self) -> str:
        """The URL path the WebSocket endpoint is served on (from ``url``)."""
        return urlsplit(self.url).path or "/ws"


@dataclass(frozen=True)
class AuthConfig:
    secrets: tuple[str, ...]  # the first signs, all verify (rotation)
    token_ttl: int
    resume_ttl: int

    @property
    def secret(self) -> str:
        return self.secrets[0]


@dataclass(frozen=True)
class EventPolicy:
    match: str
    access: str = "public"
    history: int = 0
    publish: bool = False  # may browsers PUBLISH events of this name?
    persistent_limit: int = 1000

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.match)


def _limit(default: int, minimum: int, doc: str) -> Any:
    return field(default=default, metadata={"minimum": minimum, "doc": doc})


@dataclass(frozen=True)
class Limits:
    """Everything a client can make the gateway keep is bounded by one of these."""

    max_message_bytes: int = _limit(65536, 512, "largest WAMP message a client may send, in bytes")
    client_queue_bytes: int = _limit(1048576, 1024, "bytes queued for a client that does not read before it "
                                                    "is cut off (after 1 s, or at once past 4 times this)")
    max_connections: int = _limit(20000, 1, "open WebSocket connections")
    socket_send_buffer: int = _limit(0, 0, "SO_SNDBUF per client in bytes; 0: the OS's own (Linux grows it "
                                           "up to 4 MB)")
    max_subscriptions: int = _limit(1000, 1, "subscriptions one session may hold")
    max_away_sessions: int = _limit(20000, 0, "sessions away that may still resume (the oldest is forgotten)")
    history_topics: int = _limit(10000, 1, "event names with history state (the least recently published is "
                                           "forgotten)")
    history_bytes: int = _limit(64 * 2**20, 0, "bytes of event envelopes kept in history, all topics together")
    max_filter_length: int = _limit(1024, 16, "characters of a subscription filter")
    max_filter_depth: int = _limit(32, 1, "nesting of a subscription filter (parentheses, not, lists)")


DEFAULT_POLICY = EventPolicy(match="*")


@dataclass(frozen=True)
class Config:
    transport: TransportConfig
    gateway: GatewayConfig
    auth: AuthConfig = field(repr=False)
    events: tuple[EventPolicy, ...]
    limits: Limits
    source: str = "<config>"

    def policy(self, name: str) -> EventPolicy:
        """The first event policy whose pattern matches ``name`` (public, no history if none)."""
        return _policy(self.events, name)

    def to_dict(self, mask_secrets: bool = True) -> dict[str, Any]:
        """The effective config, with secrets masked unless asked otherwise."""
        options = dict(self.transport.options)
        secrets = list(self.auth.secrets)
        if mask_secrets:
            secrets = [_mask(s) for s in secrets]
            options = _masked(options)
            if isinstance(options.get("url"), str):
                options["url"] = re.sub(r"://([^:/@]+):([^@]+)@", r"://\1:****@", options["url"])
        return {
            "transport": {"name": self.transport.name, "options": options},
            "gateway": {"listen": {"host": self.gateway.host, "port": self.gateway.port},
                        "url": self.gateway.url, "realm": self.gateway.realm,
                        "allowed_origins": list(self.gateway.allowed_origins)},
            "auth": {"secret": secrets if len(secrets) > 1 else secrets[0],
                     "token_ttl": self.auth.token_ttl, "resume_ttl": self.auth.resume_ttl},
            "events": [dataclasses.asdict(p) for p in self.events],
            "limits": dataclasses.asdict(self.limits),
        }


@lru_cache(maxsize=4096)
def _policy(events: tuple[EventPolicy, ...], name: str) -> EventPolicy:
    for policy in events:
        if policy.matches(name):
            return policy
    return DEFAULT_POLICY


def _is_secret_key(key: str) -> bool:
    return any(word in key.lower() for word in ("secret", "password", "key"))


def _masked(options: Mapping) -> dict:
    """Plugin options with secret-looking values masked, nested sections (zeromq's curve) included."""
    return {k: (_mask(v) if _is_secret_key(k) and isinstance(v, str) else _masked(v) if isinstance(v, Mapping) else v)
            for k, v in options.items()}


def _mask(value: str) -> str:
    return "****" if value else value


def load(path: str | os.PathLike | None = None) -> Config:
    """Read and validate a config file (``path`` or the file named by $TELEGRAPHY_CONFIG)."""
    path = path or os.environ.get(ENV_VAR)
    if not path:
        raise ConfigError(f"no config given: pass a file or set ${ENV_VAR} to the path of telegraphy.yaml")
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror}", source=source) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", source=source,
                          line=mark.line + 1 if mark else None) from None
    return from_mapping(data, source)


def from_mapping(data: Any, source: str = "<config>") -> Config:
    """Validate an already-parsed config (a YAML document or a dict such as Django's TELEGRAPHY)."""
    from . import plugins  # late: plugins import this module

    root = Section(data, "", source, getattr(data, "line", None))
    t = root.section("transport")
    name = t.str("name", "xmlrpc")
    try:
        transport = plugins.load_transport(name)
    except Exception as exc:  # unknown name or broken plugin: point at the line
        raise t.error("name", str(exc)) from None
    options = dict(transport.validate(t.section("options")))
    t.done()

    g = root.section("gateway")
    listen = g.section("listen")
    host, port = listen.str("host", "127.0.0.1"), listen.port("port", 8080)
    listen.done()
    url = g.str("url", f"ws://{'localhost' if host in ('127.0.0.1', '0.0.0.0', '::') else host}:{port}/ws")
    if urlsplit(url).scheme not in ("ws", "wss"):
        raise g.error("url", f"expected a ws:// or wss:// URL, got {url!r}")
    gateway = GatewayConfig(host, port, url, g.str("realm", "telegraphy"), g.strings("allowed_origins", ()))
    g.done()

    a = root.section("auth", required=True)
    secrets = a.strings("secret")
    for secret in secrets:
        if len(secret) < MIN_SECRET_LENGTH:
            raise a.error("secret", f"expected at least {MIN_SECRET_LENGTH} characters "
                                    "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe())')")
    auth = AuthConfig(secrets, a.int("token_ttl", 30, minimum=1), a.int("resume_ttl", 300, minimum=0))
    a.done()

    policies = []
    for p in root.items_list("events"):
        policies.append(EventPolicy(p.str("match"), p.str("access", "public", ACCESS), p.int("history", 0, minimum=0),
                                    p.bool("publish", False), p.int("persistent_limit", 1000, minimum=0)))
        p.done()

    lim = root.section("limits")
    limits = Limits(**{f.name: lim.int(f.name, f.default, minimum=f.metadata["minimum"])
                       for f in dataclasses.fields(Limits)})
    lim.done()
    root.done()
    return Config(TransportConfig(name, options), gateway, auth, tuple(policies), limits, source)


def dump(config: Config) -> str:
    """The effective config as YAML, secrets masked (``telegraphy check``)."""
    return yaml.safe_dump(config.to_dict(mask_secrets=True), sort_keys=False)
