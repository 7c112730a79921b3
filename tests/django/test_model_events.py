"""Model events on SQLite and PostgreSQL: saved in this process, received by a real WAMP client of a real
gateway process, sent only once the transaction commits."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from telegraphy.contrib.django_telegraphy import conf, events
from telegraphy.contrib.django_telegraphy.events import OP_CREATE, OP_DELETE, OP_UPDATE, BaseEvent, BaseEventModel
from telegraphy.contrib.django_telegraphy.tokens import token_for
from telegraphy_testapp.models import Article, Note, Secret, Tag

import telegraphy

pytestmark = [pytest.mark.integration,
              pytest.mark.django_db(transaction=True, databases=["default", "postgres"])]

ARTICLE = "telegraphy_testapp.Article"
PUBLISHED = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)


@pytest.fixture(params=["default", "postgres"], ids=["sqlite", "postgresql"])
def alias(request):
    return request.param


@pytest.fixture
def register():
    """``register(**attributes)`` registers a BaseEventModel subclass of Article; unregistered afterwards."""
    made = []

    def make(**attributes):
        attributes.setdefault("model", Article)
        event = type("ArticleEvents", (BaseEventModel,), attributes)().register()
        made.append(event)
        return event
    yield make
    for event in made:
        event.unregister()


def article(alias, **values):
    user = get_user_model().objects.db_manager(alias).create_user("ada", password="pw")
    values = {"title": "Hello", "body": "First", "price": Decimal("9.99"), "published": PUBLISHED,
              "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"), "author": user,
              "attachment": "files/report.pdf", **values}
    return Article.objects.using(alias).create(**values), user


def test_create_update_delete_each_reach_the_wamp_client_with_the_documented_fields(alias, register, listen):
    register()
    client = listen()
    obj, user = article(alias)
    obj.title = "Hello again"
    obj.save(using=alias)
    pk = obj.pk
    obj.delete(using=alias)
    received = client.wait_events(3)
    assert [e["topic"] for e in received] == [ARTICLE] * 3
    envelopes = [e["envelope"] for e in received]
    assert [e["meta"]["event_type"] for e in envelopes] == ["create", "update", "delete"]
    assert envelopes[0]["name"] == ARTICLE
    assert envelopes[0]["data"] == {
        "id": pk, "title": "Hello", "body": "First", "price": "9.99",
        "published": "2026-01-02T03:04:05.678Z",  # DjangoJSONEncoder: milliseconds, "Z"
        "uid": "12345678-1234-5678-1234-567812345678", "author": user.pk,
        "attachment": "/media/files/report.pdf"}
    assert envelopes[1]["data"]["title"] == "Hello again"
    assert envelopes[2]["data"]["id"] == pk
    assert envelopes[0]["meta"]["verbose_name"] is None
    assert envelopes[0]["meta"]["user"] is None


def test_fields_chooses_what_is_sent_and_overrides_exclude(alias, register, listen):
    register(fields=["title", "price", "tags"], exclude=["title"])
    client = listen()
    with transaction.atomic(using=alias):
        obj, _ = article(alias)
        tag = Tag.objects.using(alias).create(label="x")
        obj.tags.add(tag)
        obj.save(using=alias)
    data = [e["envelope"]["data"] for e in client.wait_events(2)]
    assert data == [{"title": "Hello", "price": "9.99", "tags": []},
                    {"title": "Hello", "price": "9.99", "tags": [tag.pk]}]


def test_exclude_leaves_fields_out(alias, register, listen):
    register(exclude=["body", "uid", "attachment", "published"])
    client = listen()
    obj, user = article(alias)
    assert client.wait_events(1)[0]["envelope"]["data"] == {"id": obj.pk, "title": "Hello", "price": "9.99",
                                                            "author": user.pk}


def test_to_dict_decides_the_data_and_fields_is_ignored(alias, listen):
    client = listen()
    note = Note.objects.using(alias).create(text="quiet")
    envelope = client.wait_events(1)[0]["envelope"]
    assert envelope["name"] == "telegraphy_testapp.Note"
    assert envelope["data"] == {"text": "quiet", "shout": "QUIET", "id": note.pk}


@pytest.mark.parametrize("operations, expected", [
    ((OP_CREATE,), ["create"]),
    ((OP_UPDATE, OP_DELETE), ["update", "delete"]),
    ((), []),
    (None, []),
])
def test_operations_choose_which_writes_send_events(alias, register, listen, until_sentinel, operations, expected):
    register(operations=operations)
    client = listen()
    obj, _ = article(alias)
    obj.save(using=alias)
    obj.delete(using=alias)
    assert [e["meta"]["event_type"] for e in until_sentinel(client)] == expected


def test_name_and_verbose_name(alias, register, listen):
    register(name="news.Story", verbose_name="news story")
    client = listen("news.")
    article(alias)
    envelope = client.wait_events(1)[0]["envelope"]
    assert envelope["name"] == "news.Story"
    assert envelope["meta"]["verbose_name"] == "news story"


def test_a_rolled_back_transaction_sends_nothing(alias, register, listen, until_sentinel):
    register()
    client = listen()
    with pytest.raises(RuntimeError), transaction.atomic(using=alias):
        article(alias, title="never")
        raise RuntimeError("roll back")
    with transaction.atomic(using=alias):
        kept, _ = article(alias, title="kept")
        try:
            with transaction.atomic(using=alias):  # a savepoint
                Article.objects.using(alias).create(title="dropped")
                Article.objects.using(alias).get(pk=kept.pk).delete()
                raise RuntimeError("roll back the savepoint")
        except RuntimeError:
            pass
        kept.title = "kept, updated"
        kept.save(using=alias)
    assert Article.objects.using(alias).count() == 1
    assert [(e["meta"]["event_type"], e["data"]["title"]) for e in until_sentinel(client)] == [
        ("create", "kept"), ("update", "kept, updated")]


def test_many_writes_in_one_transaction_leave_in_one_publish_many(alias, register, listen, monkeypatch):
    register()
    client = listen()
    calls = []
    publisher = conf.publisher()  # the project's: model events never reconfigure the process
    real = publisher.publish_many

    def recording(events_):  # the real publish_many, counted
        calls.append([e.name for e in events_])
        return real(events_)
    monkeypatch.setattr(publisher, "publish_many", recording)
    with transaction.atomic(using=alias):
        for i in range(20):
            Article.objects.using(alias).create(title=f"bulk {i}")
        assert calls == []  # nothing leaves before the commit
    assert calls == [[ARTICLE] * 20]
    assert [e["envelope"]["data"]["title"] for e in client.wait_events(20)] == [f"bulk {i}" for i in range(20)]


def test_autodiscover_again_registers_nothing_twice(alias, listen, until_sentinel):
    before = events.registered()
    events.autodiscover()
    events.autodiscover()
    assert events.registered() == before
    assert [type(e).__name__ for e in before].count("NoteEvents") == 1
    client = listen()
    Note.objects.using(alias).create(text="once")
    assert [e["data"]["text"] for e in until_sentinel(client)] == ["once"]


def test_private_events_reach_only_their_user(alias, listen, until_sentinel):
    users = get_user_model().objects.db_manager(alias)
    ada, bob = users.create_user("ada", password="pw"), users.create_user("bob", password="pw")
    ada_client = listen(ticket=token_for(ada))
    bob_client = listen(ticket=token_for(bob))
    anonymous = listen()
    Secret.objects.using(alias).create(owner=ada, text="for ada")
    got = until_sentinel(ada_client)
    assert [(e["data"]["text"], e["meta"]["user"]) for e in got] == [("for ada", str(ada.pk))]
    assert until_sentinel(bob_client) == []
    assert until_sentinel(anonymous) == []


def test_custom_events_leave_with_the_transaction(alias, listen, until_sentinel):
    class OrderShipped(BaseEvent):
        name = "telegraphy_testapp.OrderShipped"
        verbose_name = "order shipped"

    client = listen()
    with pytest.raises(RuntimeError), transaction.atomic(using=alias):
        OrderShipped().send({"order": 1}, using=alias)
        raise RuntimeError("roll back")
    with transaction.atomic(using=alias):
        OrderShipped().send({"order": 2, "total": Decimal("1.50")}, using=alias)
    telegraphy.publish("telegraphy_testapp.Plain", {"order": 3})
    got = until_sentinel(client)
    assert [(e["name"], e["data"]) for e in got] == [
        ("telegraphy_testapp.OrderShipped", {"order": 2, "total": "1.50"}),
        ("telegraphy_testapp.Plain", {"order": 3})]
    assert got[0]["meta"]["verbose_name"] == "order shipped"


def test_admin_edits_send_events(register, listen, client):
    register()
    wamp_client = listen()
    admin = get_user_model().objects.create_superuser("root", password="pw")
    client.force_login(admin)
    response = client.post("/admin/telegraphy_testapp/article/add/",
                           {"title": "From the admin", "body": "", "price": "3.10", "uid": str(uuid.uuid4())})
    assert response.status_code == 302, response.content.decode()[:2000]
    obj = Article.objects.get()
    response = client.post(f"/admin/telegraphy_testapp/article/{obj.pk}/change/",
                           {"title": "Edited", "body": "", "price": "3.10", "uid": str(obj.uid)})
    assert response.status_code == 302
    response = client.post(f"/admin/telegraphy_testapp/article/{obj.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    got = [e["envelope"] for e in wamp_client.wait_events(3)]
    assert [(e["meta"]["event_type"], e["data"]["title"], e["data"]["price"]) for e in got] == [
        ("create", "From the admin", "3.10"), ("update", "Edited", "3.10"), ("delete", "Edited", "3.10")]
