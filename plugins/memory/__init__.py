"""Memory transport: events stay in the process, for an app's own tests.

``publish`` records each event in :data:`telegraphy.testing.outbox` (as Django's locmem email backend
keeps mail), and hands it to every gateway of the same process whose representative listens on the
same ``channel``; nothing crosses a socket or a broker.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegraphy.plugins import Transport
from telegraphy.schema import setting

if TYPE_CHECKING:
    from .representative import MemoryRepresentative


@dataclass(frozen=True)
class MemoryOptions:
    """``transport.options`` of the memory transport."""

    channel: str = setting("default", "Web apps and gateways of one process that name the same channel are "
                                      "connected; give each gateway of a test its own to keep them apart.")


_lock = threading.Lock()
_listening: dict[str, list[MemoryRepresentative]] = {}


def listen(channel: str, representative: MemoryRepresentative) -> None:
    with _lock:
        _listening.setdefault(channel, []).append(representative)


def stop_listening(channel: str, representative: MemoryRepresentative) -> None:
    with _lock:
        listeners = _listening.get(channel, [])
        if representative in listeners:
            listeners.remove(representative)


def listeners(channel: str) -> list[MemoryRepresentative]:
    """The running representatives of ``channel`` in this process."""
    with _lock:
        return list(_listening.get(channel, ()))


transport = Transport(name="memory", extra=None, requires=(), options=MemoryOptions,
                      make_proxy=f"{__name__}.proxy:MemoryProxy",
                      make_representative=f"{__name__}.representative:MemoryRepresentative",
                      description="in this process only: events recorded in telegraphy.testing.outbox (tests)")
