"""The Django outbox on SQLite and PostgreSQL, in process: which events leave after a commit, and in how many
``publish_many`` calls, however savepoints, rollbacks and the project's own commit hooks interleave.

The project's publisher is given an in-memory proxy (a real :class:`telegraphy.proxy.Proxy` whose wire is a
list), so each test sees exactly what each ``publish_many`` handed to the transport; the gateway path is
covered by test_model_events.py.
"""

from __future__ import annotations

import gc
import json
import logging
import weakref

import pytest
from django.db import connections, transaction
from telegraphy.contrib.django_telegraphy import conf, outbox
from telegraphy.contrib.django_telegraphy.events import BaseEventModel
from telegraphy_testapp.models import Article

from telegraphy.proxy import Proxy
from telegraphy.publisher import Publisher

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgres"])


class ListProxy(Proxy):
    """A proxy whose connection is a list: each publish_many appends the envelopes it would have sent."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.calls: list[list[dict]] = []

    def _open(self):
        return self.calls

    def _send(self, conn, payloads) -> None:
        conn.append([json.loads(p) for p in payloads])


@pytest.fixture(params=["default", "postgres"], ids=["sqlite", "postgresql"])
def alias(request):
    return request.param


@pytest.fixture
def sent(monkeypatch):
    """The project's publisher on a ListProxy, with ArticleEvents registered; returns a function giving
    each publish_many call as [(event_type, title), ...]."""
    config = conf.load()
    proxy = ListProxy(config)
    monkeypatch.setattr(conf, "_publisher", Publisher(config, proxy=proxy))
    event = type("ArticleEvents", (BaseEventModel,), {"model": Article, "fields": ["title"]})().register()
    yield lambda: [[(e["meta"]["event_type"], e["data"]["title"]) for e in call] for call in proxy.calls]
    event.unregister()


def create(alias, title):
    return Article.objects.using(alias).create(title=title)


def test_outside_a_transaction_each_write_leaves_at_once(alias, sent):
    article = create(alias, "a")
    assert sent() == [[("create", "a")]]
    article.delete(using=alias)
    assert sent() == [[("create", "a")], [("delete", "a")]]


def test_the_last_writes_in_a_rolled_back_savepoint_do_not_hold_back_the_others(alias, sent):
    with transaction.atomic(using=alias):
        create(alias, "kept")
        with pytest.raises(RuntimeError), transaction.atomic(using=alias):
            create(alias, "dropped")
            raise RuntimeError("roll back the savepoint")
        assert sent() == []
    assert sent() == [[("create", "kept")]]


def test_writes_in_savepoints_released_one_by_one_leave_in_one_call(alias, sent):
    with transaction.atomic(using=alias):
        for title in ("one", "two", "three"):
            with transaction.atomic(using=alias):  # a savepoint per row, as imports often do
                create(alias, title)
        with pytest.raises(RuntimeError), transaction.atomic(using=alias):
            create(alias, "four")
            raise RuntimeError("this row fails")
        with transaction.atomic(using=alias):
            with pytest.raises(RuntimeError), transaction.atomic(using=alias):  # nested, rolled back
                create(alias, "five")
                raise RuntimeError("inner")
            create(alias, "six")
    assert sent() == [[("create", "one"), ("create", "two"), ("create", "three"), ("create", "six")]]


def test_a_rolled_back_transaction_sends_nothing_and_the_next_one_is_sent(alias, sent):
    with pytest.raises(RuntimeError), transaction.atomic(using=alias):
        create(alias, "never")
        raise RuntimeError("roll back")
    with transaction.atomic(using=alias):
        create(alias, "next")
    assert sent() == [[("create", "next")]]


@pytest.mark.parametrize("keep_traceback", [False, True], ids=["traceback-freed", "traceback-kept"])
def test_a_project_hook_that_raises_between_events_is_reported_and_the_next_transaction_is_sent(
        alias, sent, caplog, keep_traceback):
    def fail():
        raise RuntimeError("the project's hook failed")
    kept = []
    with caplog.at_level(logging.ERROR, "telegraphy.django"):
        try:
            with transaction.atomic(using=alias):
                create(alias, "before")        # its hook runs, then fail() raises...
                transaction.on_commit(fail, using=alias)
                create(alias, "after")         # ...so Django never runs this one's
        except RuntimeError as exc:
            if keep_traceback:  # the traceback keeps Django's list of unrun hooks alive
                kept.append(exc)
        with transaction.atomic(using=alias):
            create(alias, "next")
    assert sent() == [[("create", "next")]]
    kept.clear()
    gc.collect()
    assert "telegraphy: 1 event(s) not sent (telegraphy_testapp.Article): the transaction committed, but an " \
           "on_commit hook of the project raised, so Django skipped the hooks after it" in caplog.text


def test_without_refcounting_the_last_hook_collects_garbage_first(alias, sent, monkeypatch):
    monkeypatch.setattr(outbox, "_REFCOUNTED", False)  # as on PyPy: it must not wait for discarded hooks
    with transaction.atomic(using=alias):
        create(alias, "kept")
        with pytest.raises(RuntimeError), transaction.atomic(using=alias):
            create(alias, "dropped")
            raise RuntimeError("roll back the savepoint")
    assert sent() == [[("create", "kept")]]


def test_django_lets_go_of_the_hooks_it_discards(alias):
    """What the outbox relies on beyond Django's documented on_commit: a hook Django discards (savepoint
    or transaction rolled back) is no longer referenced. If this fails, Django keeps discarded hooks alive,
    and plugins/django/outbox.py must learn of discards another way."""
    class Hook:
        def __call__(self):
            raise AssertionError("a discarded hook ran")

    refs = []
    with transaction.atomic(using=alias):
        with pytest.raises(RuntimeError), transaction.atomic(using=alias):
            hook = Hook()
            refs.append(weakref.ref(hook))
            transaction.on_commit(hook, using=alias)
            del hook
            raise RuntimeError("roll back the savepoint")
        assert refs[0]() is None, "Django still holds a hook of a rolled-back savepoint"
    with pytest.raises(RuntimeError), transaction.atomic(using=alias):
        hook = Hook()
        refs.append(weakref.ref(hook))
        transaction.on_commit(hook, using=alias)
        del hook
        raise RuntimeError("roll back the transaction")
    assert refs[1]() is None, "Django still holds a hook of a rolled-back transaction"
    assert connections[alias].in_atomic_block is False
