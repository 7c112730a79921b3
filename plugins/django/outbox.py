"""Holds a transaction's events until it commits, then sends them all in one ``telegraphy.publish_many``.

Each event is kept by an ordinary ``on_commit`` hook, so a rolled-back transaction or savepoint drops
its events exactly as Django drops its hooks. One more hook, the transaction's batch, is kept last and
outside every savepoint; it runs after the others and publishes what they kept.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from django.db import transaction

import telegraphy
from telegraphy.errors import TelegraphyError
from telegraphy.events import Event

from . import conf

log = logging.getLogger("telegraphy.django")


def publish(events: Sequence[Event]) -> None:
    """Send now; a failure is logged, never raised into the request that already committed its writes."""
    if not events:
        return
    try:
        conf.get_config()
        telegraphy.publish_many(events)
    except TelegraphyError as exc:
        names = sorted({event.name for event in events})
        log.error("telegraphy: %d event(s) not sent (%s): %s", len(events), ", ".join(names), exc)


class _Batch:
    """The events of one transaction that survived its savepoints, in order."""

    def __init__(self) -> None:
        self.kept: list[Event] = []

    def keep(self, event: Event) -> None:
        self.kept.append(event)

    def __call__(self) -> None:
        events, self.kept = self.kept, []
        publish(events)


def _take_batch(hooks: list) -> _Batch | None:
    """Remove this transaction's batch hook from ``hooks`` (usually the last one) and return it."""
    if hooks and isinstance(hooks[-1][1], _Batch):
        return hooks.pop()[1]
    for index, hook in enumerate(hooks):
        if isinstance(hook[1], _Batch):
            return hooks.pop(index)[1]
    return None


def send(event: Event, using: str | None = None) -> None:
    """Publish ``event`` now, or when the transaction open on ``using`` commits."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        publish([event])
        return
    batch = _take_batch(connection.run_on_commit) or _Batch()
    connection.on_commit(partial(batch.keep, event))
    # (savepoint ids, callable, robust) is Django's hook record (4.2+); an empty set of savepoint ids
    # means no savepoint rollback removes it, and appending keeps it after every event's hook.
    connection.run_on_commit.append((set(), batch, True))
