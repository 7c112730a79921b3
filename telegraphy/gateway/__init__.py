"""The gateway: one Twisted process that routes events to browsers over WAMP v2 / WebSocket."""

from .cli import run

__all__ = ["run"]
