"""The WAMP session state machine in-process: handshake, timers on a fake clock, options, limits."""

from __future__ import annotations

import json

import msgpack
import pytest
from gateway_fakes import HELLO, FakePeer, Harness

from telegraphy.gateway import wire
from telegraphy.gateway.session import HELLO_TIMEOUT, Session


def test_no_hello_in_time_aborts_the_session_without_sleeping():
    h = Harness()
    peer = FakePeer()
    Session(peer, h.gateway.services).opened()
    h.clock.advance(HELLO_TIMEOUT - 0.1)
    assert peer.closed is None
    h.clock.advance(0.2)
    assert peer.messages == [wire.abort("wamp.error.protocol_violation", "no HELLO received in time")]
    assert peer.closed[0] == 3000


def test_session_expiry_and_refresh_on_the_fake_clock():
    h = Harness()
    session, peer = h.session(user="bob", session_ttl=60)
    h.clock.advance(50)
    h.receive(session, [wire.CALL, 1, {}, "telegraphy.refresh", [h.token("bob", session_ttl=60)]])
    assert peer.messages[-1][0] == wire.RESULT
    h.clock.advance(50)  # past the first expiry: refreshed, still open
    assert peer.closed is None
    h.clock.advance(11)
    assert peer.messages[-1] == wire.goodbye("telegraphy.close.session_expired",
                                             "session authorization expired: refresh it with a new token")


def test_a_refresh_for_another_user_is_refused():
    h = Harness()
    session, peer = h.session(user="bob", session_ttl=60)
    h.receive(session, [wire.CALL, 1, {}, "telegraphy.refresh", [h.token("mallory")]])
    assert peer.messages[-1][:5] == [wire.ERROR, wire.CALL, 1, {}, "wamp.error.not_authorized"]


@pytest.mark.parametrize("prefix", ["", "_"])
def test_telegraphy_options_are_accepted_with_or_without_a_leading_underscore(prefix):
    h = Harness()
    session, peer = h.session()
    h.publish("chat.Message", {"room": "lobby", "n": 1})
    h.publish("chat.Message", {"room": "attic", "n": 2})
    h.deliver_all()
    h.subscribe(session, "chat.Message", **{f"{prefix}filter": 'data.room == "lobby"', f"{prefix}persistent": True,
                                            f"{prefix}since": {"epoch": h.gateway.history.epoch, "seq": 0}})
    h.publish("chat.Message", {"room": "lobby", "n": 3})
    h.deliver_all()
    assert [e["data"]["n"] for e in peer.events()] == [1, 3]
    assert session.persistent == set(session.subscriptions)


def test_an_option_of_an_unexpected_type_counts_as_absent():
    h = Harness()
    session, peer = h.session(wire.MSGPACK)
    raw = msgpack.packb([wire.SUBSCRIBE, 1, {"filter": msgpack.ExtType(5, b"x"), "persistent": "yes",
                                             "since": msgpack.ExtType(1, b""), "match": 7}, "shop.Order"])
    session.receive(raw)
    assert peer.messages[-1][:2] == [wire.SUBSCRIBED, 1]
    assert session.persistent == set() and next(iter(session.subscriptions.values())).filter_text is None


def test_subscriptions_per_session_are_bounded():
    h = Harness(limits={"max_subscriptions": 3})
    session, peer = h.session()
    for n in range(3):
        h.subscribe(session, f"t.{n}", request=n + 1)
    h.receive(session, [wire.SUBSCRIBE, 9, {}, "t.9"])
    assert peer.messages[-1][:5] == [wire.ERROR, wire.SUBSCRIBE, 9, {}, "telegraphy.error.limit_exceeded"]
    assert h.gateway.metrics.refused["subscriptions"] == 1 and len(session.subscriptions) == 3


def test_subscribing_twice_gives_the_same_subscription_and_no_second_copy_of_events():
    h = Harness()
    session, peer = h.session()
    first = h.subscribe(session, "shop.Order", request=1)
    assert h.subscribe(session, "shop.Order", request=2) == first
    h.publish("shop.Order", {})
    h.deliver_all()
    assert len(peer.events()) == 1


@pytest.mark.parametrize("frame", [b"{not json", b"[]", b'["x"]', b"[999, 1]", b"[32, 1]", b'{"a": 1}',
                                   b"[" * 100 + b"]" * 100, b'[32, 1, {}, "a", "extra"]', b"[NaN]",
                                   b'[16, 1.5, {}, "shop.Order"]', b'[48, 1, {}, "telegraphy.history", [], {"1x": 2}]'])
def test_malformed_messages_are_protocol_violations_of_that_session_only(frame):
    h = Harness()
    bystander, bystander_peer = h.session()
    h.subscribe(bystander, "shop.Order")
    session, peer = h.session()
    session.receive(frame)
    assert peer.messages[-1][0] == wire.ABORT and peer.messages[-1][2] == "wamp.error.protocol_violation"
    assert peer.closed is not None
    h.publish("shop.Order", {})
    h.deliver_all()
    assert len(bystander_peer.events()) == 1


def test_invalid_uris_get_an_error_and_the_session_lives_on():
    h = Harness()
    session, peer = h.session()
    for n, (topic, match) in enumerate([("has space", "exact"), ("a..b", "exact"), ("a#b", "prefix"),
                                        ("x", "regex")]):
        h.receive(session, [wire.SUBSCRIBE, n + 1, {"match": match}, topic])
        assert peer.messages[-1][:5] == [wire.ERROR, wire.SUBSCRIBE, n + 1, {}, "wamp.error.invalid_uri"]
    assert h.subscribe(session, "a..b", request=9, match="wildcard")
    assert peer.closed is None


def test_json_frames_sent_are_valid_whatever_the_event_holds():
    h = Harness()
    session, peer = h.session()
    h.subscribe(session, "", match="prefix")
    h.publish("a.b", {"k": "\u2028\u2029</script>\x00\"\\"})
    h.deliver_all()
    assert peer.events()[0]["data"] == {"k": "\u2028\u2029</script>\x00\"\\"}
    assert json.loads(json.dumps(peer.messages))  # round trip of everything received


def test_hello_for_another_realm_and_unknown_auth_methods_are_refused():
    h = Harness()
    peer = FakePeer()
    session = Session(peer, h.gateway.services)
    session.opened()
    h.receive(session, [wire.HELLO, "elsewhere", {}])
    assert peer.messages[-1][2] == "wamp.error.no_such_realm"
    peer = FakePeer()
    session = Session(peer, h.gateway.services)
    h.receive(session, [wire.HELLO, "telegraphy", {"authmethods": ["wampcra"]}])
    assert peer.messages[-1][2] == "wamp.error.no_auth_method"
    assert HELLO[1] == "telegraphy"
