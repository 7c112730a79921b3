"""Holds a transaction's events until it commits, then sends them all in one ``publish_many``.

Only Django's public API decides what is sent: each event is one ordinary ``transaction.on_commit`` hook,
so a rolled-back transaction or savepoint drops its events exactly as Django drops its hooks. The hook
that runs last publishes what the others kept. Django does not say which hook runs last, but hooks run in
the order they were added, and Django lets go of the hooks it discards; so each connection's batch
holds its hooks weakly, and waits only for those Django still holds. (Where discarded objects are not
freed at once, as on PyPy, the last hook collects garbage before it decides.)
"""

from __future__ import annotations

import gc
import logging
import sys
import weakref
from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from telegraphy.events import Event
from telegraphy.integration.outbox import deliver, not_sent

from . import conf

log = logging.getLogger("telegraphy.django")

_REFCOUNTED = sys.implementation.name == "cpython"  # an object nobody references is freed at once


def publish(events: Sequence[Event]) -> None:
    """Send now through the project's publisher; a failure (a broken config included) is logged, never
    raised into the request that already committed its writes."""
    if not events:
        return
    try:
        publisher = conf.publisher()
    except Exception as exc:  # noqa: BLE001 - the commit is done: report, do not raise
        not_sent(log, list(events), exc)
        return
    deliver([(publisher, event) for event in events], log)


class _Hook:
    """One event's ``on_commit`` hook: Django calls it after the commit, or discards it on rollback."""

    __slots__ = ("batch", "event", "ref", "__weakref__")

    def __init__(self, batch: _Batch, event: Event) -> None:
        self.batch, self.event = batch, event
        self.ref = weakref.ref(self, batch.discarded)

    def __call__(self) -> None:
        self.batch.arrived(self)

    def __repr__(self) -> str:  # Django names a robust hook that failed in its log
        return f"<telegraphy on_commit hook for {self.event.name}>"


class _Batch:
    """The hooks Django holds for one connection's transaction, and the events of those that ran.

    Once its first hook runs, the transaction has committed: later events belong to a new batch.
    """

    def __init__(self) -> None:
        self.waiting: set[weakref.ref] = set()
        self.kept: list[Event] = []
        self.running = False

    def add(self, event: Event, using: str | None) -> None:
        hook = _Hook(self, event)
        self.waiting.add(hook.ref)
        transaction.on_commit(hook, using=using, robust=True)

    def arrived(self, hook: _Hook) -> None:
        self.running = True
        self.waiting.discard(hook.ref)
        self.kept.append(hook.event)
        if self.waiting and not _REFCOUNTED:
            gc.collect()  # frees the hooks Django discarded, so they stop counting as waiting
        if not self.waiting:  # no hook of this transaction runs after this one
            events, self.kept = self.kept, []
            publish(events)

    def discarded(self, ref: weakref.ref) -> None:
        """A hook was freed: Django discarded it (rollback), or it ran (then it is no longer waiting)."""
        if ref not in self.waiting:
            return
        self.waiting.discard(ref)
        if not self.waiting and self.kept:  # a hook raised while the hooks ran: Django skipped the rest
            events, self.kept = self.kept, []
            not_sent(log, events, "the transaction committed, but an on_commit hook of the project raised, "
                                  "so Django skipped the hooks after it")


_batches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # connection -> _Batch


def send(event: Event, using: str | None = None) -> None:
    """Publish ``event`` when the transaction open on database ``using`` commits, or now outside one
    (``on_commit`` runs a hook at once then)."""
    connection = connections[using or DEFAULT_DB_ALIAS]
    batch = _batches.get(connection)
    if batch is None or batch.running:
        batch = _batches[connection] = _Batch()
    batch.add(event, using)
