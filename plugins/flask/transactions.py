"""Collect model events per SQLAlchemy session transaction; send them once the outermost one commits.

One listener set on :class:`sqlalchemy.orm.Session` serves plain SQLAlchemy and Flask-SQLAlchemy
sessions alike. Events are built (and so checked for JSON) while the session flushes, from the
object state of that moment; a bad value fails the flush, before anything is committed. The events wait
in the session's telegraphy.integration Outbox: a savepoint rolled back drops the events of its writes;
the outermost rollback drops them all; the outermost commit sends what is left, one event per object
(autoflush makes the number of writes per commit arbitrary, so the outbox folds them), in one
``publish_many`` call.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from telegraphy.integration import Outbox, Pending

from .events import OP_CREATE, OP_DELETE, OP_UPDATE, BaseEventModel

log = logging.getLogger("telegraphy.contrib.flask_telegraphy")

OUTBOX = "telegraphy.outbox"       # session.info: the events collected in the current transaction
DELETING = "telegraphy.deleting"   # session.info: deletes built in before_flush, while the rows still exist

_sources: weakref.WeakSet = weakref.WeakSet()  # Telegraphy extensions with registered event models
_install_lock = threading.Lock()


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


def _collect(obj: Any, operation: str, out: list[Pending]) -> None:
    for source in list(_sources):
        models = _models(source, obj)
        if not models:
            continue
        state = source._state_for_events()
        if state is None:
            continue
        for model in models:
            event = model.make(model.get_data(obj), operation, model.get_user(obj))
            out.append(Pending(event, state.publisher, key=(sa.inspect(obj), model), operations=model.operations))


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    deleting: list[Pending] = []
    for obj in session.deleted:
        _collect(obj, OP_DELETE, deleting)
    session.info[DELETING] = deleting


def _after_flush(session: Session, flush_context: Any) -> None:
    # new, dirty and deleted still list what this flush wrote; new rows have their keys now
    built: list[Pending] = session.info.pop(DELETING, [])
    seen = {item.key[0] for item in built}
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
        outbox = session.info.get(OUTBOX)
        if outbox is None:
            outbox = session.info[OUTBOX] = Outbox(log)
        for item in built:
            outbox.add(dataclasses.replace(item, scope=transaction))


def _within(transaction: SessionTransaction, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    outbox = session.info.get(OUTBOX)
    if outbox:
        outbox.discard(lambda scope: _within(scope, previous_transaction))


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction is over: nothing may outlive it
        session.info.pop(OUTBOX, None)
        session.info.pop(DELETING, None)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was released: its events wait for the outer commit
        return
    root = session.get_transaction()
    outbox = session.info.pop(OUTBOX, None)
    if outbox:
        outbox.flush(lambda scope: _within(scope, root))
