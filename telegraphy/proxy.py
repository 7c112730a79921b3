"""The web-app side of a transport: hands events to the gateway, thread- and fork-safe."""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from .config import Config
from .errors import GatewayUnavailable, PublishError
from .events import Event

_forks = 0  # how many forks this process is from the one that imported us


def _forked() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_forked)  # cheaper than os.getpid(), a system call, on every publish


class Proxy:
    """Base class for a transport's web-app side.

    Subclasses implement :meth:`_open`, :meth:`_send` and :meth:`_close` for *one* connection.
    The base keeps one connection per thread and per process id, opened lazily, so a proxy made
    before gunicorn or uWSGI forks never shares a socket with its parent, and threads never share one.

    A subclass declares what its library's errors mean, and the base acts on it (as kombu's transports
    declare their ``connection_errors``), so no transport reimplements the retry:

    - ``connection_errors``: the connection is gone (a broker restart, an idle connection the peer
      closed). The base drops it, opens a fresh one and sends once more; if that fails too, it raises
      :class:`~telegraphy.GatewayUnavailable` built by ``_unavailable``.
    - ``timeout_errors``: no answer in time. The connection is dropped and nothing is resent (the
      events may have arrived, and waiting again would double the bound); GatewayUnavailable.
    - a :class:`~telegraphy.PublishError` raised by ``_send`` is the transport's own verdict (refused events, a full
      queue): it reaches the caller as is and the connection is kept.
    - anything else drops the connection and propagates.
    """

    connection_errors: tuple[type[BaseException], ...] = ()
    timeout_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, config: Config) -> None:
        self.config = config
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: dict[threading.Thread, Any] = {}
        self._fork = _forks
        # a web app that exits (a recycled gunicorn worker...) without closing still sends what it queued
        atexit.register(_close_at_exit, weakref.ref(self))

    # -- the public API ------------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        """Send one event; returns once the transport has taken it, raises PublishError if it cannot."""
        self.publish_many([event])

    def publish_many(self, events: Sequence[Event]) -> None:
        """Send several events in as few round trips as the transport allows, in order."""
        payloads = [event.encode() for event in events]
        if payloads:
            self._with_connection(payloads)

    def close(self) -> None:
        """Close every connection this process opened."""
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
        self._local = threading.local()
        if self._fork == _forks:
            self._close_all(connections)

    # -- for subclasses ------------------------------------------------------------------------
    def _open(self) -> Any:
        raise NotImplementedError

    def _send(self, conn: Any, payloads: Any) -> None:
        raise NotImplementedError

    def _close(self, conn: Any) -> None:
        pass

    def _unavailable(self, exc: BaseException) -> GatewayUnavailable:
        """The error for a connection lost twice in a row or a timeout; subclasses say where they tried."""
        return GatewayUnavailable(f"the {self.config.transport.name} transport is unavailable: "
                                  f"{type(exc).__name__}: {exc}")

    # -- the connection of this thread ---------------------------------------------------------
    def _connection(self) -> Any:
        if self._fork != _forks:  # forked: forget (do not close) the parent's connections
            self._fork, self._local = _forks, threading.local()
            with self._lock:
                self._connections = {}
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
            with self._lock:
                ended = [t for t in self._connections if not t.is_alive()]
                leftovers = [self._connections.pop(t) for t in ended]
                self._connections[threading.current_thread()] = conn
            self._close_all(leftovers)  # threads that ended: close their connections politely
        return conn

    def _close_all(self, connections: list) -> None:
        for conn in connections:
            try:
                self._close(conn)
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def _with_connection(self, payloads: Any) -> None:
        """Send on this thread's connection: one fresh connection and one resend if it was lost."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                self._send(conn, payloads)
                return
            except self.timeout_errors as exc:
                self._discard()
                raise self._unavailable(exc) from None
            except self.connection_errors as exc:
                self._discard()
                if attempt == 2:
                    raise self._unavailable(exc) from None
            except PublishError:
                raise
            except BaseException:
                self._discard()
                raise

    def _discard(self) -> None:
        """Drop this thread's connection after a failure; the next call opens a fresh one."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        with self._lock:
            self._connections.pop(threading.current_thread(), None)
        if conn is not None:
            self._close_all([conn])


def _close_at_exit(proxy: weakref.ref) -> None:
    alive = proxy()
    if alive is not None:
        alive.close()
