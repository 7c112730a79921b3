"""The gateway side of a transport: receives events and hands each to the gateway."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from .config import Config
from .errors import InvalidEvent
from .events import Event

Deliver = Callable[..., None]  # deliver(event, seq=None): seq is the transport's own position, if it has one
Control = Callable[..., Any]  # control(command, **arguments) -> result, or a Deferred of it


class Representative:
    """Base class for a transport's gateway side, driven by the reactor it is given (``self.reactor``).

    :meth:`start` is called with ``deliver`` and ``control``. The representative calls ``deliver(event)``
    once per event, in the reactor thread (``deliver(event, seq=n)`` if its transport numbers events in
    one order every gateway sees, as a RabbitMQ stream's offset). When ``deliver`` returns, the gateway
    has accepted the event (validated, numbered, stored in history; the fan-out to browsers follows), so
    that is when a broker message may be acknowledged.

    ``control(command, **arguments)`` carries the web app's requests about live sessions (``disconnect``,
    ``unsubscribe``, ``subscribers``, ``history``; ``COMMANDS`` in ``telegraphy.gateway.service``); it
    returns the answer or a Deferred of it, and raises ``ValueError`` for a bad request. A transport that
    cannot carry them never calls it.
    """

    log = Logger()
    name = "transport"  # subclasses: the transport's name, for logs
    gauges: tuple[str, ...] = ()  # keys of status() that go up and down (the others are counters)

    def __init__(self, config: Config, reactor: Any = None) -> None:
        if reactor is None:  # a script driving one directly; the gateway passes its own
            from twisted.internet import reactor
        self.config = config
        self.reactor = reactor  # every timer, listener and reader of a representative goes through this one
        self.deliver: Deliver | None = None
        self.control: Control | None = None
        self.state = "stopped"
        self.received = 0
        self.rejected = 0

    def start(self, deliver: Deliver, control: Control | None = None) -> defer.Deferred:
        self.deliver, self.control = deliver, control
        return defer.maybeDeferred(self._start)

    def stop(self) -> defer.Deferred:
        return defer.maybeDeferred(self._stop)

    def _start(self) -> defer.Deferred | None:
        raise NotImplementedError

    def _stop(self) -> defer.Deferred | None:
        raise NotImplementedError

    def receive(self, raw: bytes | str) -> bool:
        """Decode one envelope and deliver it; a malformed one is logged and counted, not raised."""
        try:
            event = Event.decode(raw)
        except InvalidEvent as exc:
            self.rejected += 1
            self.log.warn("{transport}: rejected an event: {error}", transport=self.name, error=exc)
            return False
        self.received += 1
        self.deliver(event)
        return True

    def history(self):
        """The history store the gateway should use (a :class:`telegraphy.gateway.history.History`), or None
        for the gateway's own memory history. A transport whose broker keeps the events (a RabbitMQ stream)
        returns a store backed by it, so that every gateway recovers the same events."""
        return None

    def web_app_options(self) -> dict[str, Any]:
        """The ``transport.options`` a web app needs to reach this representative, with what the OS chose
        filled in (a port given as 0); empty when the config says it all. ``--ready-file`` writes it."""
        return {}

    def status(self) -> dict:
        """Shown in /health and /metrics."""
        return {"state": self.state, "received": self.received, "rejected": self.rejected}

    @property
    def healthy(self) -> bool:
        return self.state == "running"
