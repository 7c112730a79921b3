"""Telegraphy: push server-side events from any Python web app to browsers, over WAMP v2.

    import telegraphy
    telegraphy.configure("telegraphy.yaml")        # or set $TELEGRAPHY_CONFIG
    telegraphy.publish("shop.Order", {"id": 7}, event_type="create")

The functions here use the default :class:`Publisher` (see telegraphy.publisher for which one that is);
code that needs a config of its own holds its own ``Publisher(config)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import publisher as _publisher
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
from .publisher import Publisher

__version__ = "0.2.0"
__all__ = [
    "Config", "ConfigError", "Event", "GatewayUnavailable", "InvalidEvent", "MissingDependency", "PluginError",
    "Proxy", "PublishError", "Publisher", "TelegraphyError", "TokenError", "UnknownPlugin",
    "configure", "get_config", "get_proxy", "get_publisher", "get_token", "publish", "publish_many",
]


def configure(source: str | os.PathLike | Mapping | Config | None = None) -> Config:
    """Load the shared config (a path, a dict, a Config, or $TELEGRAPHY_CONFIG) and use it from now on,
    in the whole process, instead of any framework integration's."""
    return _publisher.configure(source).config


def get_publisher() -> Publisher:
    """The default publisher: the one the functions below use here and now."""
    return _publisher.get_default()


def get_config() -> Config:
    """The default publisher's config."""
    return _publisher.get_default().config


def get_proxy() -> Proxy:
    """The default publisher's proxy of the configured transport (thread- and fork-safe)."""
    return _publisher.get_default().proxy


def publish(name: str, data: Any = None, event_type: str | None = None, **meta: Any) -> Event:
    """Publish one event to every browser subscribed to ``name``; returns the event sent."""
    return _publisher.get_default().publish(name, data, event_type, **meta)


def publish_many(events: Iterable[Event | tuple | Mapping]) -> list[Event]:
    """Publish several events in one round trip, in order.

    Each item is an Event, a ``(name, data)`` or ``(name, data, event_type)`` tuple, or a mapping
    of Event.create's arguments.
    """
    return _publisher.get_default().publish_many(events)


def get_token(user: Any = None, events: Sequence[str] | None = None, ttl: int | None = None, **claims: Any) -> str:
    """A short-lived, single-use token a browser uses to open an authenticated session."""
    return _publisher.get_default().get_token(user, events, ttl, **claims)
