"""Find and load plugins (transports, framework integrations) through stevedore entry points."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from stevedore import DriverManager

from .errors import MissingDependency, PluginError, UnknownPlugin
from .schema import Section

if TYPE_CHECKING:
    from .config import Config
    from .proxy import Proxy
    from .representative import Representative

TRANSPORTS = "telegraphy.transports"
INTEGRATIONS = "telegraphy.integrations"


@dataclass(frozen=True)
class Plugin:
    """What every plugin declares: its name, the pip extra and the modules it needs."""

    name: str
    extra: str | None = None
    requires: tuple[str, ...] = ()
    description: str = ""

    def missing(self) -> list[str]:
        """Modules this plugin needs that cannot be imported here."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def missing_message(self) -> str:
        """What is missing and the pip command that brings it."""
        missing = self.missing()
        fix = f"pip install telegraphy[{self.extra}]" if self.extra else f"pip install {' '.join(missing)}"
        return f"the {self.name!r} plugin needs {', '.join(missing)}, which is not installed: {fix}"

    def check_available(self) -> None:
        if self.missing():
            raise MissingDependency(self.missing_message())


@dataclass(frozen=True)
class Transport(Plugin):
    """A transport plugin: a proxy for the web app and a representative for the gateway.

    ``options`` is the frozen settings dataclass of its ``transport.options`` section (fields declared
    with :func:`~telegraphy.schema.setting`, so the docs list them). ``validate(section)`` returns an
    instance of it, every problem reported with file, line and key (default: read the dataclass, then
    its ``checked`` hook). ``redact(options)`` is the options as plain data for ``telegraphy check``,
    secrets masked (default: the fields declared ``secret`` or ``redact``).

    ``make_proxy(config)`` and ``make_representative(config, reactor)`` build the two sides; either may
    be a "module:name" string imported only when used, once the dependencies are known to be importable
    (so the entry point loads, and says what is missing, without them).
    """

    options: type | None = None
    validate: Callable[[Section], Any] | None = field(default=None, repr=False, compare=False)
    redact: Callable[[Any], dict[str, Any]] | None = field(default=None, repr=False, compare=False)
    make_proxy: Callable[[Config], Proxy] | str | None = field(default=None, repr=False)
    make_representative: Callable[..., Representative] | str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.validate is None:
            object.__setattr__(self, "validate", self._read_options)
        if self.redact is None:
            object.__setattr__(self, "redact", _masked)

    def _read_options(self, section: Section) -> Any:
        if self.options is None:
            return dict(section)
        from .schema import read

        return read(self.options, section)

    def proxy(self, config: Config) -> Proxy:
        """The web-app side, for ``config`` (whose ``transport.options`` this plugin validated)."""
        self.check_available()
        return _resolve(self.make_proxy)(config)

    def representative(self, config: Config, reactor: Any = None) -> Representative:
        """The gateway side, driven by ``reactor`` (the gateway's; None: Twisted's global reactor)."""
        self.check_available()
        return _resolve(self.make_representative)(config, reactor)


def _masked(options: Any) -> dict[str, Any]:
    """Options for ``telegraphy check``: a settings dataclass masks the fields it declares secret; a plain
    mapping (a plugin without an options class) masks the values of secret-looking keys."""
    from .schema import as_dict

    if options is None:
        return {}
    if dataclasses.is_dataclass(options):
        return as_dict(options, mask=True)
    return {k: ("****" if isinstance(v, str) and v and any(w in k.lower() for w in ("secret", "password", "key"))
                else _masked(v) if isinstance(v, Mapping) else v) for k, v in options.items()}


def _resolve(target: Callable | str) -> Callable:
    if isinstance(target, str):
        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module), name)
    return target


@dataclass(frozen=True)
class Integration(Plugin):
    """A web-framework integration (listed by ``telegraphy plugins``); what it shares with the others
    lives in :mod:`telegraphy.integration`."""


def installed(namespace: str) -> list[str]:
    return sorted({ep.name for ep in entry_points(group=namespace)})


def _load(namespace: str, name: str, kind: str) -> Any:
    names = installed(namespace)
    if name not in names:
        raise UnknownPlugin(f"unknown {kind} {name!r}; installed: {', '.join(names) or 'none'}")
    failures: list[BaseException] = []
    try:
        manager = DriverManager(namespace, name, invoke_on_load=False,
                                on_load_failure_callback=lambda _mgr, _ep, exc: failures.append(exc))
    except Exception as exc:
        cause = failures[0] if failures else exc
        if isinstance(cause, ImportError) and cause.name and cause.name.split(".")[0] == "telegraphy":
            raise PluginError(f"the {kind} {name!r} is declared but {cause.name} cannot be imported: "
                              "reinstall telegraphy") from cause
        if isinstance(cause, ImportError) and cause.name:
            raise MissingDependency(f"the {kind} {name!r} cannot be loaded because {cause.name} is missing: "
                                    f"pip install telegraphy[{name}] (or the package that provides it)") from cause
        raise PluginError(f"the {kind} {name!r} failed to load: {cause}") from cause
    return manager.driver


def load_transport(name: str) -> Transport:
    """The transport called ``name``; UnknownPlugin lists the installed ones and which can run here."""
    try:
        transport = _load(TRANSPORTS, name, "transport")
    except UnknownPlugin as exc:
        raise UnknownPlugin(f"{exc} ({_usable_here()})") from None
    if not isinstance(transport, Transport):
        raise PluginError(f"the transport entry point {name!r} is not a telegraphy.plugins.Transport")
    return transport


def load_integration(name: str) -> Integration:
    return _load(INTEGRATIONS, name, "integration")


def _status(namespace: str, name: str, kind: str) -> tuple[Plugin | None, str]:
    """The plugin (None if broken) and "ok", "missing ...: pip install ..." or "broken: ..."."""
    try:
        plugin = _load(namespace, name, kind)
    except PluginError as exc:
        return None, f"broken: {exc}"
    missing = plugin.missing()
    return plugin, (f"missing {', '.join(missing)}: pip install telegraphy[{plugin.extra}]" if missing else "ok")


def _usable_here() -> str:
    usable, not_usable = [], []
    for name in installed(TRANSPORTS):
        _plugin, status = _status(TRANSPORTS, name, "transport")
        if status == "ok":
            usable.append(name)
        else:
            not_usable.append(f"{name}: {status}")
    return "; ".join([f"usable here: {', '.join(usable) or 'none'}", *not_usable])


def describe() -> list[dict[str, Any]]:
    """Every installed plugin with whether it is usable here (``telegraphy plugins``)."""
    rows = []
    for namespace, kind in ((TRANSPORTS, "transport"), (INTEGRATIONS, "integration")):
        for name in installed(namespace):
            plugin, status = _status(namespace, name, kind)
            rows.append({"kind": kind, "name": name, "status": status,
                         "description": plugin.description if plugin is not None else ""})
    return rows
