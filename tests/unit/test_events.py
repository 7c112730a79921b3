"""The event envelope: validation and the JSON encoding of the types web apps send."""

import datetime
import decimal
import json
import uuid

import pytest

from telegraphy import Event, InvalidEvent


def test_envelope_shape_and_encoding_of_awkward_types():
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    event = Event.create("shop.Order", {
        "total": decimal.Decimal("10.10"), "when": datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC),
        "day": datetime.date(2026, 1, 2), "id": ident, "tags": {"a"}, "pair": (1, 2)},
        event_type="update", verbose_name="order", user=42)
    envelope = json.loads(event.encode())
    assert envelope["name"] == "shop.Order"
    assert envelope["data"] == {"total": "10.10", "when": "2026-01-02T03:04:05.000006Z", "day": "2026-01-02",
                                "id": str(ident), "tags": ["a"], "pair": [1, 2]}
    meta = envelope["meta"]
    assert meta["event_type"] == "update" and meta["verbose_name"] == "order" and meta["user"] == "42"
    assert meta["timestamp"].endswith("Z") and len(meta["id"]) == 32
    assert Event.decode(event.encode()).envelope() == envelope


@pytest.mark.parametrize("name", ["", "has space", "trailing.", ".leading", "a..b", "wamp.x", "telegraphy.x",
                                  "x" * 256, None, 3])
def test_bad_names_are_refused_before_sending(name):
    with pytest.raises(InvalidEvent):
        Event.create(name, {})


def test_unserializable_data_names_the_type():
    with pytest.raises(InvalidEvent, match="object is not JSON serializable|builtins.object"):
        Event.create("shop.Order", {"x": object()})
    with pytest.raises(InvalidEvent):
        Event.create("shop.Order", {"x": float("nan")})
    with pytest.raises(InvalidEvent, match="event_type"):
        Event.create("shop.Order", {}, event_type="upsert")


@pytest.mark.parametrize("raw", [b"not json", b"[1,2]", b'{"name": "a b", "data": 1, "meta": {}}',
                                 b'{"name": "x", "meta": []}', b'{"name": "x", "evil": 1}', b"\xff\xfe"])
def test_decode_rejects_malformed_envelopes(raw):
    with pytest.raises(InvalidEvent):
        Event.decode(raw)
