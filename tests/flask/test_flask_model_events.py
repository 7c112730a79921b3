"""SQLAlchemy writes in a Flask app reach a real WAMP client of a real gateway, after commit, as described."""

from __future__ import annotations

import datetime
import decimal
import uuid

import pytest
from flaskshop.models import Customer, Order, Tag, db
from flaskshop.plain import Base, Note
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from telegraphy.contrib.flask_telegraphy import OP_CREATE, OP_DELETE, BaseEventModel

from telegraphy.tokens import mint

pytestmark = pytest.mark.integration

PLACED = datetime.datetime(2026, 11, 24, 1, 2, 3, 456789)
REFERENCE = uuid.UUID("12345678-1234-5678-1234-567812345678")


class OrderEvents(BaseEventModel):
    model = Order


def add_order(**values) -> Order:
    customer = Customer(name="Ada")
    order = Order(reference=REFERENCE, total=decimal.Decimal("9.99"), placed_at=PLACED, note="first",
                  customer=customer, **values)
    db.session.add_all([customer, order])
    db.session.commit()
    return order


def test_create_update_and_delete_reach_a_wamp_client_with_every_column(shop):
    shop.tg.register(OrderEvents)
    with shop.app.app_context():
        order = add_order()
        order.note, order.total = "second", decimal.Decimal("10.50")
        db.session.commit()
        db.session.delete(order)
        db.session.commit()
    created, updated, deleted = shop.settle()
    assert [e["name"] for e in (created, updated, deleted)] == ["flaskshop.Order"] * 3
    assert [e["meta"]["event_type"] for e in (created, updated, deleted)] == ["create", "update", "delete"]
    # Django's JSON encoder's choices: decimals and UUIDs as strings, datetimes ISO, foreign keys as ids
    assert created["data"] == {"id": 1, "reference": str(REFERENCE), "total": "9.99",
                               "placed_at": "2026-11-24T01:02:03.456789", "note": "first", "customer_id": 1}
    assert updated["data"] == {**created["data"], "note": "second", "total": "10.50"}
    assert deleted["data"] == updated["data"]
    assert created["meta"]["verbose_name"] is None and created["meta"]["user"] is None
    assert created["meta"]["id"] != updated["meta"]["id"]


def test_one_publish_many_per_commit(shop, monkeypatch):
    shop.tg.register(OrderEvents)
    calls = []
    with shop.app.app_context():
        proxy = shop.tg.proxy
        real = proxy.publish_many
        monkeypatch.setattr(proxy, "publish_many", lambda events: (calls.append(list(events)), real(events))[1])
        db.session.add_all([Order(total=decimal.Decimal(n)) for n in ("1", "2", "3")])
        db.session.flush()
        db.session.add(Order(total=decimal.Decimal("4")))
        db.session.commit()
    assert [[e.data["total"] for e in call] for call in calls] == [[decimal.Decimal(n) for n in "1234"]]
    received = shop.settle()
    assert [e["data"]["total"] for e in received] == ["1", "2", "3", "4"]  # as the objects held them


def test_a_rollback_sends_nothing(shop):
    shop.tg.register(OrderEvents)
    with shop.app.app_context():
        db.session.add(Order(total=decimal.Decimal("1"), note="rolled back"))
        db.session.flush()  # the INSERT ran and its event was collected...
        db.session.rollback()  # ...and is dropped here
        kept = Order(total=decimal.Decimal("2"), note="kept")
        db.session.add(kept)
        with db.session.begin_nested() as savepoint:  # a savepoint rolled back drops only its own writes
            db.session.add(Order(total=decimal.Decimal("3"), note="savepoint rolled back"))
            db.session.flush()
            savepoint.rollback()
        with db.session.begin_nested():  # a savepoint released keeps them for the outer commit
            db.session.add(Order(total=decimal.Decimal("4"), note="savepoint released"))
        db.session.commit()
        db.session.add(Order(total=decimal.Decimal("5"), note="closed without commit"))
        db.session.flush()
        db.session.close()
        assert [o.note for o in db.session.scalars(db.select(Order))] == ["kept", "savepoint released"]
    assert [(e["meta"]["event_type"], e["data"]["note"]) for e in shop.settle()] == [
        ("create", "kept"), ("create", "savepoint released")]


def test_several_writes_of_one_object_in_one_commit_send_one_event(shop):
    shop.tg.register(OrderEvents)
    with shop.app.app_context():
        order = Order(total=decimal.Decimal("1"), note="a")
        db.session.add(order)
        db.session.flush()
        order.note = "b"
        db.session.flush()
        gone = Order(total=decimal.Decimal("2"), note="never seen")
        db.session.add(gone)
        db.session.flush()
        db.session.delete(gone)
        db.session.commit()
        order.note = "c"
        db.session.flush()
        order.note = "d"
        db.session.commit()
    assert [(e["meta"]["event_type"], e["data"]["note"]) for e in shop.settle()] == [
        ("create", "b"), ("update", "d")]


@pytest.mark.parametrize("options, expected", [
    ({"fields": ("note", "id", "customer")}, {"note": "first", "id": 1, "customer": 1}),
    ({"exclude": ("reference", "placed_at", "customer_id")}, {"id": 1, "total": "9.99", "note": "first"}),
    ({"fields": ("id",), "exclude": ("id",)}, {"id": 1}),  # fields wins, as documented for Django
], ids=["fields", "exclude", "fields-over-exclude"])
def test_fields_and_exclude_choose_the_data(shop, options, expected):
    shop.tg.register(type("Chosen", (BaseEventModel,), {"model": Order, **options}))
    with shop.app.app_context():
        add_order()
    (created,) = shop.settle()
    assert created["data"] == expected


def test_operations_choose_which_writes_send_events(shop):
    shop.tg.register(type("DeletesOnly", (BaseEventModel,), {"model": Order, "operations": (OP_DELETE,)}))
    shop.tg.register(type("Silent", (BaseEventModel,), {"model": Customer, "operations": None}))
    with shop.app.app_context():
        order = add_order()
        order.note = "changed"
        db.session.commit()
        db.session.delete(order)
        db.session.commit()
    assert [(e["name"], e["meta"]["event_type"]) for e in shop.settle()] == [("flaskshop.Order", "delete")]


def test_name_and_verbose_name_go_in_the_envelope(shop):
    shop.tg.register(type("Named", (BaseEventModel,), {"model": Order, "name": "flaskshop.Purchase",
                                                       "verbose_name": "purchase", "operations": (OP_CREATE,)}))
    with shop.app.app_context():
        add_order()
    (created,) = shop.settle()
    assert created["name"] == "flaskshop.Purchase"
    assert created["meta"]["verbose_name"] == "purchase"


def test_to_dict_gives_the_data_and_overrides_fields(shop):
    shop.tg.register(type("Tags", (BaseEventModel,), {"model": Tag, "fields": ("id",)}))
    with shop.app.app_context():
        db.session.add(Tag(label="new"))
        db.session.commit()
    (created,) = shop.settle()
    assert (created["name"], created["data"]) == ("flaskshop.Tag", {"tag": "NEW"})


def test_plain_sqlalchemy_sessions_send_events_too_even_outside_an_app_context(shop, tmp_path):
    shop.tg.register(type("Notes", (BaseEventModel,), {"model": Note, "name": "flaskshop.Note"}))
    engine = create_engine(f"sqlite:///{tmp_path / 'plain.sqlite3'}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:  # no app context: the one app this extension is set up on is used
        session.add(Note(text="plain"))
        session.commit()
    (created,) = shop.settle()
    assert created["name"] == "flaskshop.Note" and created["data"] == {"id": 1, "text": "plain"}


def test_private_events_go_to_their_user_only(shop, shop_gateway, wamp):
    shop.tg.register(type("Secret", (BaseEventModel,), {"model": Order, "name": "flaskshop.SecretOrder",
                                                        "user_field": "customer"}))
    auth = shop.tg._states[shop.app].config.auth
    owner = wamp(shop_gateway.url, ticket=mint(auth, user="1"))
    other = wamp(shop_gateway.url, ticket=mint(auth, user="2"))
    for client in (owner, other):
        client.subscribe("flaskshop.SecretOrder")
        client.subscribe("flaskshop.Marker")
    with shop.app.app_context():
        add_order()
        shop.tg.publish("flaskshop.SecretOrder", {"custom": True}, user=2)
    shop.settle()  # the marker went out after both private events
    for client in (owner, other):
        client.wait_events(2, timeout=20)  # a private event for it, then the marker
    assert [(e["name"], e["meta"]["user"]) for e in owner.envelopes()] == [("flaskshop.SecretOrder", "1"),
                                                                          ("flaskshop.Marker", None)]
    assert [(e["name"], e["data"]) for e in other.envelopes()] == [("flaskshop.SecretOrder", {"custom": True}),
                                                                  ("flaskshop.Marker", {})]
