"""The memory transport for an app's own tests: published events land in telegraphy.testing.outbox,
as a browser would get them, and nothing needs a gateway."""

from __future__ import annotations

import decimal
import threading

import pytest

import telegraphy
from telegraphy import testing
from telegraphy.errors import InvalidEvent

SECRET = "0123456789abcdef-secret"


@pytest.fixture
def memory():
    testing.clear()
    yield telegraphy.configure({"auth": {"secret": SECRET}, "transport": {"name": "memory"}})
    telegraphy.configure({"auth": {"secret": SECRET}})  # leave the process-wide proxy as other tests expect
    testing.clear()


def test_published_events_are_recorded_as_they_travel(memory):
    telegraphy.publish("shop.Order", {"id": 1, "total": decimal.Decimal("9.99")}, event_type="create", user=7)
    telegraphy.publish_many([("shop.Invoice", {"id": 2}), ("chat.Message", {"text": "hi"})])
    assert [event.name for event in testing.outbox] == ["shop.Order", "shop.Invoice", "chat.Message"]
    order = testing.published("shop.Order")[0]
    assert order.data == {"id": 1, "total": "9.99"}  # JSON, as over every transport
    assert order.meta["event_type"] == "create" and order.meta["user"] == "7"
    testing.clear()
    assert testing.outbox == [] and testing.published() == []


def test_an_event_json_cannot_carry_is_refused_and_not_recorded(memory):
    with pytest.raises(InvalidEvent, match="JSON"):
        telegraphy.publish_many([("shop.Good", {}), ("shop.Bad", {"x": object()})])
    assert testing.outbox == []


def test_threads_publish_into_one_outbox(memory):
    def worker(n: int) -> None:
        for i in range(50):
            telegraphy.publish(f"feed.T{n}", {"i": i})
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for n in range(4):
        assert [event.data["i"] for event in testing.published(f"feed.T{n}")] == list(range(50))


def test_the_outbox_object_stays_the_same_list(memory):
    from telegraphy.testing import outbox

    telegraphy.publish("shop.Order", {})
    testing.clear()
    telegraphy.publish("shop.Invoice", {})
    assert [event.name for event in outbox] == ["shop.Invoice"]
