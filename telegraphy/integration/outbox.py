"""A transaction's events, held until it commits and then published together.

The framework glue decides *when* (Django's ``on_commit`` hooks, SQLAlchemy's session events); the outbox
keeps what was collected, drops what a rolled-back savepoint wrote, folds several writes of one row into
one event and publishes the rest in one ``publish_many`` per publisher. The commit has happened by then,
so a failure is logged, never raised into it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import TelegraphyError
from ..events import OP_CREATE, OP_DELETE, OP_UPDATE, Event

if TYPE_CHECKING:
    from ..publisher import Publisher

# Several writes of one row in one transaction become one event: (earlier, later) -> what the browser
# is told. None: nothing (created and deleted before anyone saw it). Pairs not listed: the later write.
FOLD = {(OP_CREATE, OP_UPDATE): OP_CREATE, (OP_CREATE, OP_DELETE): None, (OP_UPDATE, OP_UPDATE): OP_UPDATE,
        (OP_UPDATE, OP_DELETE): OP_DELETE, (OP_DELETE, OP_CREATE): OP_UPDATE}


@dataclass(frozen=True)
class Pending:
    """One event waiting for its transaction to commit.

    ``key`` names the row and declaration the event is about: pending events with the same key fold into
    one (see :data:`FOLD`); without a key an event is sent as it is. ``operations`` are the declaration's,
    which a folded event must still be one of. ``scope`` is the (sub)transaction the write belongs to,
    for :meth:`Outbox.discard`.
    """

    event: Event
    publisher: Publisher
    key: Hashable | None = None
    operations: Collection[str] | None = None
    scope: Any = field(default=None, compare=False)


class Outbox:
    """The pending events of one transaction, in the order they were written."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self._items: list[Pending] = []

    def add(self, item: Pending) -> None:
        self._items.append(item)

    def discard(self, rolled_back: Callable[[Any], bool]) -> None:
        """Drop the events whose scope ``rolled_back`` says was rolled back (a savepoint, say)."""
        self._items = [item for item in self._items if not rolled_back(item.scope)]

    def clear(self) -> None:
        self._items = []

    def __len__(self) -> int:
        return len(self._items)

    def flush(self, committed: Callable[[Any], bool] | None = None) -> list[Event]:
        """Publish the folded events (those whose scope ``committed`` accepts, if given) and forget all;
        returns the events handed to the publishers."""
        items, self._items = self._items, []
        if committed is not None:
            items = [item for item in items if committed(item.scope)]
        return deliver(fold(items), self.log)


def fold(items: list[Pending]) -> list[tuple[Publisher, Event]]:
    """One event per key, at the place of the key's first write, with the operation :data:`FOLD` gives."""
    latest: dict[Hashable, tuple[str | None, Pending]] = {}
    for index, item in enumerate(items):
        key = ("unkeyed", index) if item.key is None else ("key", item.key)
        operation = item.event.meta.get("event_type")
        before = latest.get(key)
        if before is not None:
            operation = FOLD.get((before[0], operation), operation)
        latest[key] = (operation, item)
    result = []
    for operation, item in latest.values():
        if item.key is not None and (operation is None
                                     or (item.operations is not None and operation not in item.operations)):
            continue
        event = item.event
        if operation != event.meta.get("event_type"):
            meta = {k: v for k, v in event.meta.items() if k != "event_type"}
            event = Event.create(event.name, event.data, operation, **meta)
        result.append((item.publisher, event))
    return result


def deliver(events: list[tuple[Publisher, Event]], log: logging.Logger) -> list[Event]:
    """Publish in one ``publish_many`` per publisher, in order; a failure is logged on ``log``, not raised."""
    batches: dict[Publisher, list[Event]] = {}
    for publisher, event in events:
        batches.setdefault(publisher, []).append(event)
    sent = []
    for publisher, batch in batches.items():
        try:
            publisher.publish_many(batch)
        except Exception as exc:  # noqa: BLE001 - the commit is done: report, do not raise
            not_sent(log, batch, exc)
        else:
            sent.extend(batch)
    return sent


def not_sent(log: logging.Logger, events: list[Event], reason: BaseException | str) -> None:
    """Log that ``events`` were not sent and why: the reason alone for a TelegraphyError (gateway down,
    broker refused, broken config...) or a sentence, with the traceback for any other exception."""
    names = ", ".join(sorted({e.name for e in events}))
    if isinstance(reason, (TelegraphyError, str)):
        log.error("telegraphy: %d event(s) not sent (%s): %s", len(events), names, reason)
    else:
        log.error("telegraphy: %d event(s) not sent (%s)", len(events), names, exc_info=reason)
