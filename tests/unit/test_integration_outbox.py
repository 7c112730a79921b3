"""The shared outbox: folding several writes of one row, dropping rolled-back scopes, one publish_many per
publisher, and failures logged rather than raised into a commit that already happened."""

from __future__ import annotations

import logging

import pytest
from test_publisher import CONFIG, ListProxy, listed

from telegraphy.errors import GatewayUnavailable
from telegraphy.events import OP_CREATE, OP_DELETE, OP_UPDATE, OPERATIONS, Event
from telegraphy.integration import Outbox, Pending
from telegraphy.integration.outbox import fold
from telegraphy.publisher import Publisher

log = logging.getLogger("tests.outbox")


def write(publisher, operation, row="order-1", data=None, operations=OPERATIONS, scope=None, name="shop.Order"):
    event = Event.create(name, data if data is not None else {"row": row, "op": operation}, operation)
    return Pending(event, publisher, key=None if row is None else (row, "OrderEvents"), operations=operations,
                   scope=scope)


def sent(proxy) -> list[list[tuple]]:
    return [[(e["meta"]["event_type"], e["data"]) for e in call] for call in proxy.calls]


@pytest.mark.parametrize("writes, told", [
    ([OP_CREATE, OP_UPDATE], OP_CREATE),            # the browser never saw the row: it is new, with the final data
    ([OP_CREATE, OP_DELETE], None),                 # created and gone: nothing to tell
    ([OP_UPDATE, OP_UPDATE, OP_UPDATE], OP_UPDATE),
    ([OP_UPDATE, OP_DELETE], OP_DELETE),
    ([OP_DELETE, OP_CREATE], OP_UPDATE),            # the row is back (same key), changed
    ([OP_CREATE, OP_UPDATE, OP_DELETE], None),
    ([OP_CREATE, OP_DELETE, OP_CREATE], OP_CREATE),
])
def test_several_writes_of_one_row_fold_into_what_the_browser_should_be_told(writes, told):
    publisher, _ = listed()
    items = [write(publisher, op, data={"n": n}) for n, op in enumerate(writes)]
    folded = fold(items)
    if told is None:
        assert folded == []
    else:
        [(who, event)] = folded
        assert who is publisher and event.meta["event_type"] == told and event.data == {"n": len(writes) - 1}
        assert event.meta["id"] == items[-1].event.meta["id"]  # the last write's envelope, retyped


def test_a_folded_event_keeps_its_first_place_and_obeys_the_declarations_operations():
    publisher, _ = listed()
    items = [write(publisher, OP_CREATE, "a"), write(publisher, OP_UPDATE, "b"), write(publisher, OP_UPDATE, "a"),
             write(publisher, OP_CREATE, "c", operations=frozenset({OP_UPDATE})),
             write(publisher, OP_UPDATE, "c", operations=frozenset({OP_UPDATE}))]
    assert [(e.data["row"], e.meta["event_type"]) for _, e in fold(items)] == [("a", "create"), ("b", "update")]


def test_events_without_a_key_are_sent_as_they_are():
    publisher, _ = listed()
    items = [write(publisher, OP_CREATE, None), write(publisher, OP_UPDATE, None), write(publisher, None, None)]
    assert [e.meta["event_type"] for _, e in fold(items)] == ["create", "update", None]


def test_flush_sends_one_publish_many_per_publisher_in_order_and_forgets_everything():
    first, first_proxy = listed()
    second, second_proxy = listed()
    outbox = Outbox(log)
    for publisher, row in ((first, "a"), (second, "b"), (first, "c")):
        outbox.add(write(publisher, OP_CREATE, row))
    assert len(outbox) == 3
    events = outbox.flush()
    assert [e.data["row"] for e in events] == ["a", "c", "b"]
    assert sent(first_proxy) == [[("create", {"row": "a", "op": "create"}), ("create", {"row": "c", "op": "create"})]]
    assert sent(second_proxy) == [[("create", {"row": "b", "op": "create"})]]
    assert len(outbox) == 0 and outbox.flush() == [] and len(first_proxy.calls) == 1


def test_discard_drops_a_rolled_back_scope_and_flush_keeps_the_committed_ones():
    publisher, proxy = listed()
    outbox = Outbox(log)
    outbox.add(write(publisher, OP_CREATE, "kept", scope="root"))
    outbox.add(write(publisher, OP_CREATE, "savepoint", scope="savepoint-1"))
    outbox.add(write(publisher, OP_CREATE, "other", scope="another transaction"))
    outbox.discard(lambda scope: scope == "savepoint-1")
    assert len(outbox) == 2
    outbox.flush(committed=lambda scope: scope == "root")
    assert [[data["row"] for _, data in call] for call in sent(proxy)] == [["kept"]]
    outbox.add(write(publisher, OP_CREATE, "rolled back"))
    outbox.clear()
    assert outbox.flush() == [] and len(proxy.calls) == 1


class DownProxy(ListProxy):
    def __init__(self, config, error: BaseException) -> None:
        super().__init__(config)
        self.error = error

    def _send(self, conn, payloads) -> None:
        raise self.error


def test_a_publisher_that_fails_is_logged_and_the_others_still_send(caplog):
    down = Publisher(CONFIG, proxy=DownProxy(CONFIG, GatewayUnavailable("the gateway at http://x/RPC2 is down")))
    broken = Publisher(CONFIG, proxy=DownProxy(CONFIG, ZeroDivisionError("a bug")))
    up, proxy = listed()
    outbox = Outbox(log)
    for publisher, row, name in ((down, "a", "shop.Order"), (broken, "b", "shop.Invoice"), (up, "c", "shop.Order"),
                                 (down, "d", "shop.Refund")):
        outbox.add(write(publisher, OP_CREATE, row, name=name))
    with caplog.at_level(logging.ERROR, "tests.outbox"):
        events = outbox.flush()
    assert [e.data["row"] for e in events] == ["c"] and len(proxy.calls) == 1
    down_record, broken_record = caplog.records
    assert down_record.getMessage() == ("telegraphy: 2 event(s) not sent (shop.Order, shop.Refund): "
                                        "the gateway at http://x/RPC2 is down")
    assert down_record.exc_info is None  # a TelegraphyError is its reason: no traceback
    assert broken_record.getMessage() == "telegraphy: 1 event(s) not sent (shop.Invoice)"
    assert broken_record.exc_info[0] is ZeroDivisionError  # anything else is a bug: the traceback says where
