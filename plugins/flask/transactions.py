"""Collect model events per SQLAlchemy session transaction; send them once the outermost one commits.

One listener set on :class:`sqlalchemy.orm.Session` serves plain SQLAlchemy and Flask-SQLAlchemy
sessions alike. Events are built (and so checked for JSON) while the session flushes, from the
object state of that moment; a bad value fails the flush, before anything is committed. A savepoint
rolled back drops the events of its writes; the outermost rollback drops them all; the outermost
commit sends what is left, one event per object (see :data:`FOLD`), in one ``publish_many`` call.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from telegraphy.errors import TelegraphyError
from telegraphy.events import Event

from .events import OP_CREATE, OP_DELETE, OP_UPDATE, BaseEventModel

if TYPE_CHECKING:
    from telegraphy.proxy import Proxy

log = logging.getLogger("telegraphy.contrib.flask_telegraphy")

PENDING = "telegraphy.pending"     # session.info: the events collected in the current transaction
DELETING = "telegraphy.deleting"   # session.info: deletes built in before_flush, while the rows still exist

# Several writes of one object in one commit (autoflush makes their number arbitrary) become one
# event: (earlier, later) -> what the browser is told. None: nothing (created and deleted unseen).
FOLD = {(OP_CREATE, OP_UPDATE): OP_CREATE, (OP_CREATE, OP_DELETE): None, (OP_UPDATE, OP_UPDATE): OP_UPDATE,
        (OP_UPDATE, OP_DELETE): OP_DELETE, (OP_DELETE, OP_CREATE): OP_UPDATE}

_sources: weakref.WeakSet = weakref.WeakSet()  # Telegraphy extensions with registered event models
_install_lock = threading.Lock()


@dataclass(frozen=True)
class Collected:
    """One model event waiting for its transaction to commit."""

    transaction: SessionTransaction  # the innermost transaction (root or savepoint) of the write
    key: tuple                       # (object state, event model): the writes of one object fold together
    proxy: Proxy
    model: BaseEventModel
    operation: str
    event: Event


def track(source: Any) -> None:
    """Collect events for ``source`` (a Telegraphy extension); installs the listeners once per process."""
    _sources.add(source)
    with _install_lock:
        if not sa_event.contains(Session, "after_flush", _after_flush):
            sa_event.listen(Session, "before_flush", _before_flush)
            sa_event.listen(Session, "after_flush", _after_flush)
            sa_event.listen(Session, "after_commit", _after_commit)
            sa_event.listen(Session, "after_soft_rollback", _after_soft_rollback)
            sa_event.listen(Session, "after_transaction_end", _after_transaction_end)


def _models(source: Any, obj: Any) -> list[BaseEventModel]:
    return [model for model in source._models_for(type(obj)) if model.operations]


def _registered(obj: Any) -> bool:
    return any(_models(source, obj) for source in list(_sources))


def _collect(obj: Any, operation: str, out: list[tuple]) -> None:
    for source in list(_sources):
        models = _models(source, obj)
        if not models:
            continue
        state = source._state_for_events()
        if state is None:
            continue
        proxy = state.proxy
        for model in models:
            event = Event.create(model.name, model.get_data(obj), operation, verbose_name=model.verbose_name,
                                 user=model.get_user(obj))
            out.append(((sa.inspect(obj), model), proxy, model, operation, event))


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    deleting: list[tuple] = []
    for obj in session.deleted:
        _collect(obj, OP_DELETE, deleting)
    session.info[DELETING] = deleting


def _after_flush(session: Session, flush_context: Any) -> None:
    # new, dirty and deleted still list what this flush wrote; new rows have their keys now
    built: list[tuple] = session.info.pop(DELETING, [])
    seen = {key[0] for key, *_ in built}
    for obj in session.deleted:
        if sa.inspect(obj) not in seen:  # deleted by a before_flush hook that ran after ours
            _collect(obj, OP_DELETE, built)
    for obj in session.new:
        _collect(obj, OP_CREATE, built)
    for obj in session.dirty:
        if _registered(obj) and session.is_modified(obj, include_collections=False):
            _collect(obj, OP_UPDATE, built)
    if built:
        transaction = session.get_nested_transaction() or session.get_transaction()
        pending = session.info.setdefault(PENDING, [])
        pending.extend(Collected(transaction, *item) for item in built)


def _within(transaction: SessionTransaction, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(PENDING)
    if pending:
        session.info[PENDING] = [c for c in pending if not _within(c.transaction, previous_transaction)]


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction is over: nothing may outlive it
        session.info.pop(PENDING, None)
        session.info.pop(DELETING, None)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was released: its events wait for the outer commit
        return
    root = session.get_transaction()
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    send(fold([c for c in pending if _within(c.transaction, root)]))


def fold(collected: list[Collected]) -> list[tuple[Proxy, Event]]:
    """One event per object and event model, in the order the objects were first written."""
    latest: dict[tuple, tuple[str | None, Collected]] = {}
    for item in collected:
        before = latest.get(item.key)
        operation = item.operation if before is None else FOLD.get((before[0], item.operation), item.operation)
        latest[item.key] = (operation, item)
    result = []
    for operation, item in latest.values():
        if operation is None or operation not in item.model.operations:
            continue
        event = item.event
        if operation != item.operation:
            meta = {k: v for k, v in event.meta.items() if k != "event_type"}
            event = Event.create(event.name, event.data, operation, **meta)
        result.append((item.proxy, event))
    return result


def send(events: list[tuple[Proxy, Event]]) -> None:
    """Publish in one call per proxy. The commit is done: a failure is logged, never raised into it."""
    batches: dict[Proxy, list[Event]] = {}
    for proxy, event in events:
        batches.setdefault(proxy, []).append(event)
    for proxy, batch in batches.items():
        names = ", ".join(sorted({e.name for e in batch}))
        try:
            proxy.publish_many(batch)
        except TelegraphyError as exc:  # a clear reason (gateway down, broker refused...): no traceback
            log.error("telegraphy: %d model event(s) of a committed transaction were not sent (%s): %s",
                      len(batch), names, exc)
        except Exception:
            log.exception("telegraphy: %d model event(s) of a committed transaction were not sent (%s)",
                          len(batch), names)
