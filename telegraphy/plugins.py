"""Find and load plugins (transports, framework integrations) through stevedore entry points."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from stevedore import DriverManager

from .errors import MissingDependency, PluginError, UnknownPlugin

if TYPE_CHECKING:
    from .config import Config, Section
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

    def check_available(self) -> None:
        missing = self.missing()
        if missing:
            fix = f"pip install telegraphy[{self.extra}]" if self.extra else f"pip install {' '.join(missing)}"
            raise MissingDependency(f"the {self.name!r} plugin needs {', '.join(missing)}, which is not installed: "
                                    f"{fix}")


@dataclass(frozen=True)
class Transport(Plugin):
    """A transport plugin: a proxy for the web app and a representative for the gateway.

    ``validate`` reads the plugin's ``transport.options`` section and returns the effective options.
    ``make_proxy`` and ``make_representative`` are factories taking the Config, or "module:name"
    strings imported only when used, once the dependencies are known to be importable (so the
    plugin's entry point loads, and says what is missing, without them).
    """

    validate: Callable[[Section], Mapping[str, Any]] = lambda section: dict(section)
    make_proxy: Callable[[Config], Proxy] | str | None = field(default=None, repr=False)
    make_representative: Callable[[Config], Representative] | str | None = field(default=None, repr=False)

    def proxy(self, config: Config) -> Proxy:
        self.check_available()
        return _resolve(self.make_proxy)(config)

    def representative(self, config: Config, reactor=None) -> Representative:
        self.check_available()
        return _resolve(self.make_representative)(config, reactor)


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
    """The transport called ``name``; UnknownPlugin lists the installed ones."""
    transport = _load(TRANSPORTS, name, "transport")
    if not isinstance(transport, Transport):
        raise PluginError(f"the transport entry point {name!r} is not a telegraphy.plugins.Transport")
    return transport


def load_integration(name: str) -> Integration:
    return _load(INTEGRATIONS, name, "integration")


def describe() -> list[dict[str, Any]]:
    """Every installed plugin with whether it is usable here (``telegraphy plugins``)."""
    rows = []
    for namespace, kind in ((TRANSPORTS, "transport"), (INTEGRATIONS, "integration")):
        for name in installed(namespace):
            try:
                plugin = _load(namespace, name, kind)
                missing = plugin.missing()
                fix = f"pip install telegraphy[{plugin.extra}]"
                status = f"missing {', '.join(missing)}: {fix}" if missing else "ok"
                description = plugin.description
            except PluginError as exc:
                status, description = f"broken: {exc}", ""
            rows.append({"kind": kind, "name": name, "status": status, "description": description})
    return rows
