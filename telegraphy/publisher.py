"""The web app's side of Telegraphy: one :class:`Publisher` per config, and the process's default one.

A Publisher owns a validated :class:`~telegraphy.config.Config` and the proxy of its transport, so code
that publishes with one config never disturbs code that publishes with another (two Flask apps, a Django
project and a script in one process). The module-level ``telegraphy.publish`` and friends use the
*default* publisher, chosen on each call, first match wins:

1. the one ``telegraphy.configure(...)`` made: the program said which config to use;
2. the one a framework integration offers for where the call runs (:func:`add_default_provider`):
   Django offers the project's (its settings' config), Flask the current app's inside an app context;
3. one built on first use by ``config.load()`` without a path (``$TELEGRAPHY_CONFIG``).

Integrations therefore never reconfigure the process: they hold their own Publisher and offer it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .config import Config
from .errors import InvalidEvent
from .events import Event
from .proxy import Proxy

ConfigSource = str | os.PathLike | Mapping | Config | None


def load_config(source: ConfigSource = None) -> Config:
    """A Config from a path, a dict with the YAML file's schema, a Config, or None ($TELEGRAPHY_CONFIG)."""
    from . import config as config_module

    if isinstance(source, Config):
        return source
    if isinstance(source, Mapping):
        return config_module.from_mapping(source, "<dict>")
    return config_module.load(source)


def as_event(item: Event | tuple | Mapping) -> Event:
    """An Event from an Event, a ``(name, data[, event_type])`` tuple or a mapping of Event.create's arguments."""
    if isinstance(item, Event):
        return item
    if isinstance(item, Mapping):
        return Event.create(**item)
    if isinstance(item, Sequence) and not isinstance(item, str):
        return Event.create(*item)
    raise InvalidEvent(f"cannot publish {item!r}: expected an Event, a tuple or a mapping")


class Publisher:
    """Publishes events and mints browser tokens with one config; the one place of the web-app-side API.

    Thread- and fork-safe like the proxy it opens lazily on first publish (minting a token needs no
    connection). ``close()`` closes the connections; publishing again reopens them.
    """

    def __init__(self, config: Config, proxy: Proxy | None = None) -> None:
        self.config = config
        self._proxy = proxy
        self._lock = threading.Lock()

    @classmethod
    def from_source(cls, source: ConfigSource = None) -> Publisher:
        """A publisher for a config path, dict, Config, or $TELEGRAPHY_CONFIG (None)."""
        return cls(load_config(source))

    @property
    def proxy(self) -> Proxy:
        """The proxy of the configured transport, made on first use."""
        proxy = self._proxy
        if proxy is None:
            from .plugins import load_transport

            with self._lock:
                if self._proxy is None:
                    self._proxy = load_transport(self.config.transport.name).proxy(self.config)
                proxy = self._proxy
        return proxy

    def publish(self, name: str, data: Any = None, event_type: str | None = None, **meta: Any) -> Event:
        """Publish one event to every browser subscribed to ``name``; returns the event sent."""
        event = Event.create(name, data, event_type, **meta)
        self.proxy.publish(event)
        return event

    def publish_many(self, events: Iterable[Event | tuple | Mapping]) -> list[Event]:
        """Publish several events in one round trip, in order; each item as :func:`as_event` takes it."""
        built = [as_event(item) for item in events]
        if built:
            self.proxy.publish_many(built)
        return built

    def get_token(self, user: Any = None, events: Sequence[str] | None = None, ttl: int | None = None,
                  **claims: Any) -> str:
        """A short-lived, single-use token a browser uses to open a session as ``user`` (None: a guest).

        ``events`` lists patterns of private events the holder may receive besides its own.
        """
        from .tokens import mint

        return mint(self.config.auth, user=user, events=events, ttl=ttl, **claims)

    def close(self) -> None:
        """Close the transport's connections (publishing again reopens them)."""
        with self._lock:
            proxy = self._proxy
        if proxy is not None:
            proxy.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Publisher {self.config.source} transport={self.config.transport.name}>"


# -- the default publisher ---------------------------------------------------------------------------------
_lock = threading.Lock()
_configured: Publisher | None = None       # telegraphy.configure(...)
_fallback: Publisher | None = None    # config.load(None), made on first use
_providers: list[Callable[[], Publisher | None]] = []


def configure(source: ConfigSource = None) -> Publisher:
    """Make the publisher of ``source`` the default for the whole process (closing the one it replaces)."""
    global _configured
    new = Publisher.from_source(source)
    with _lock:
        old, _configured = _configured, new
    if old is not None:
        old.close()
    return new


def get_default() -> Publisher:
    """The publisher ``telegraphy.publish`` uses here and now (see the module's docstring for the order)."""
    global _fallback
    configured = _configured
    if configured is not None:
        return configured
    for provider in reversed(_providers):
        offered = provider()
        if offered is not None:
            return offered
    if _fallback is None:
        made = Publisher(load_config(None))
        with _lock:
            if _fallback is None:
                _fallback = made
    return _fallback


def add_default_provider(provider: Callable[[], Publisher | None]) -> None:
    """Let an integration offer its publisher as the default where it applies (None: it does not here).

    Providers added later are asked first; adding one twice adds it once. ``telegraphy.configure``
    still wins over every provider.
    """
    with _lock:
        if provider not in _providers:
            _providers.append(provider)


def remove_default_provider(provider: Callable[[], Publisher | None]) -> None:
    """Stop asking ``provider`` (no error if it was not added)."""
    with _lock:
        if provider in _providers:
            _providers.remove(provider)
