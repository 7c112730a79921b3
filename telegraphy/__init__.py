"""Telegraphy: push server-side events from any Python web app to browsers, over WAMP v2.

    import telegraphy
    telegraphy.configure("telegraphy.yaml")        # or set $TELEGRAPHY_CONFIG
    telegraphy.publish("shop.Order", {"id": 7}, event_type="create")
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .config import Config
from .errors import (
    ConfigError,
    GatewayUnavailable,
    InvalidEvent,
    MissingDependency,
    PluginError,
    PublishError,
    TelegraphyError,
    TokenError,
    UnknownPlugin,
)
from .events import Event
from .proxy import Proxy

__version__ = "0.2.0"
__all__ = [
    "Config", "ConfigError", "Event", "GatewayUnavailable", "InvalidEvent", "MissingDependency", "PluginError",
    "Proxy", "PublishError", "TelegraphyError", "TokenError", "UnknownPlugin",
    "configure", "get_config", "get_proxy", "get_token", "publish", "publish_many",
]

_lock = threading.Lock()
_config: Config | None = None
_proxy: Proxy | None = None


def configure(source: str | os.PathLike | Mapping | Config | None = None) -> Config:
    """Load the shared config (a path, a dict, a Config, or $TELEGRAPHY_CONFIG) and use it from now on."""
    from . import config as config_module

    if isinstance(source, Config):
        new = source
    elif isinstance(source, Mapping):
        new = config_module.from_mapping(source, "<dict>")
    else:
        new = config_module.load(source)
    global _config, _proxy
    with _lock:
        old, _config, _proxy = _proxy, new, None
    if old is not None:
        old.close()
    return new


def get_config() -> Config:
    """The active config, loaded from $TELEGRAPHY_CONFIG on first use."""
    if _config is None:
        configure()
    return _config


def get_proxy() -> Proxy:
    """The process-wide proxy of the configured transport (thread- and fork-safe)."""
    global _proxy
    config = get_config()
    if _proxy is None:
        from .plugins import load_transport

        with _lock:
            if _proxy is None:
                _proxy = load_transport(config.transport.name).proxy(config)
    return _proxy


def publish(name: str, data: Any = None, event_type: str | None = None, **meta: Any) -> Event:
    """Publish one event to every browser subscribed to ``name``; returns the event sent."""
    event = Event.create(name, data, event_type, **meta)
    get_proxy().publish(event)
    return event


def publish_many(events: Iterable[Event | tuple | Mapping]) -> list[Event]:
    """Publish several events in one round trip, in order.

    Each item is an Event, a ``(name, data)`` or ``(name, data, event_type)`` tuple, or a mapping
    of Event.create's arguments.
    """
    built = []
    for item in events:
        if isinstance(item, Event):
            built.append(item)
        elif isinstance(item, Mapping):
            built.append(Event.create(**item))
        elif isinstance(item, Sequence) and not isinstance(item, str):
            built.append(Event.create(*item))
        else:
            raise InvalidEvent(f"cannot publish {item!r}: expected an Event, a tuple or a mapping")
    get_proxy().publish_many(built)
    return built


def get_token(user: Any = None, events: Sequence[str] | None = None, ttl: int | None = None, **claims: Any) -> str:
    """A short-lived, single-use token a browser uses to open an authenticated session."""
    from .tokens import mint

    return mint(get_config().auth, user=user, events=events, ttl=ttl, **claims)
