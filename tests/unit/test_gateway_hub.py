"""The hub in-process, on a fake clock: accept then deliver in slices, order, containment of failures."""

from __future__ import annotations

import pytest
from gateway_fakes import Harness

from telegraphy.gateway import wire


def test_accept_returns_before_any_delivery_and_the_fanout_comes_in_slices():
    h = Harness()
    h.hub.slice_size = 10
    peers = []
    for _ in range(25):
        session, peer = h.session()
        h.subscribe(session, "shop.Order")
        peers.append(peer)
    entry = h.publish("shop.Order", {"n": 1})
    assert entry.seq == 1 and h.hub.backlog == 1
    assert not any(p.of_type(wire.EVENT) for p in peers)  # accepted: nothing written yet
    assert h.deliver_all() == 3  # 25 receivers, 10 per reactor turn
    assert all(len(p.events()) == 1 for p in peers) and h.hub.backlog == 0


def test_events_reach_each_subscriber_in_acceptance_order_across_slices():
    h = Harness()
    h.hub.slice_size = 3
    session, peer = h.session()
    for n, (topic, match) in enumerate([("a.x", "exact"), ("a.", "prefix"), (".x", "wildcard")]):
        h.subscribe(session, topic, request=n + 1, match=match)
    for n in range(20):
        h.publish("a.x" if n % 2 else "a.y", {"n": n})
    h.deliver_all()
    seqs = [e["details"]["seq"] for e in peer.events()]
    assert seqs == sorted(seqs)
    assert len(seqs) == 10 * 3 + 10  # a.x matches all three subscriptions, a.y only the prefix


def test_a_subscriber_that_joins_while_an_event_is_being_delivered_gets_it_once():
    h = Harness()
    h.hub.slice_size = 2
    early = [h.session() for _ in range(4)]
    for session, _ in early:
        h.subscribe(session, "shop.Order")
    h.publish("shop.Order", {"n": 1})
    h.clock.advance(0)  # half of the audience served
    late, late_peer = h.session()
    h.subscribe(late, "shop.Order", since={"epoch": h.gateway.history.epoch, "seq": 0})
    h.deliver_all()
    assert [e["data"] for e in late_peer.events()] == [{"n": 1}]  # by replay, not twice
    assert all(len(p.events()) == 1 for _, p in early)


def test_a_filter_that_raises_is_removed_alone_and_the_others_keep_receiving():
    h = Harness()
    good, good_peer = h.session()
    bad, bad_peer = h.session()
    h.subscribe(good, "shop.Order")
    bad_sub = h.subscribe(bad, "shop.Order", filter="data.n > 0")
    sub = h.hub._by_id[bad_sub]

    def broken(envelope):
        raise RecursionError("as deep filters once did")
    sub.filter = broken
    h.publish("shop.Order", {"n": 1})
    h.publish("shop.Order", {"n": 2})
    h.deliver_all()
    assert [e["data"]["n"] for e in good_peer.events()] == [1, 2]
    revoked = bad_peer.of_type(wire.UNSUBSCRIBED)
    assert revoked == [[wire.UNSUBSCRIBED, 0, {"subscription": bad_sub, "reason": "telegraphy.error.filter_failed"}]]
    assert h.gateway.metrics.fanout_errors == 1 and bad_sub not in bad.subscriptions


def test_a_subscriber_that_fails_is_revoked_and_the_rest_of_the_audience_is_served():
    h = Harness()
    sessions = [h.session() for _ in range(3)]
    for session, _ in sessions:
        h.subscribe(session, "shop.Order")
    broken_session, broken_peer = sessions[1]

    def fail(frame, seq=0):
        raise OSError("socket gone")
    broken_peer.send = fail
    h.publish("shop.Order", {"n": 1})
    h.deliver_all()
    assert len(sessions[0][1].events()) == 1 and len(sessions[2][1].events()) == 1
    assert not broken_session.subscriptions


@pytest.mark.parametrize("serializer", [wire.JSON, wire.MSGPACK])
def test_every_frame_the_hub_builds_decodes(serializer):
    h = Harness()
    session, peer = h.session(serializer)
    h.subscribe(session, "shop.", match="prefix")
    h.publish("shop.Order", {"text": "quote \" backslash \\ newline \n emoji \U0001f600", "n": 2**63})
    h.deliver_all()
    (event,) = peer.events()
    assert event["details"]["topic"] == "shop.Order" and event["data"]["n"] == 2**63


def test_publisher_exclusion_and_access_in_the_fanout():
    h = Harness(events=[{"match": "chat.*", "access": "authenticated", "publish": True},
                        {"match": "inbox.*", "access": "private"}, {"match": "*", "access": "public"}])
    talker, talker_peer = h.session(user="alice")
    alice2, alice2_peer = h.session(user="alice")
    bob, bob_peer = h.session(user="bob")
    anonymous, anonymous_peer = h.session()
    for session, _ in (talker, talker_peer), (alice2, alice2_peer), (bob, bob_peer), (anonymous, anonymous_peer):
        h.subscribe(session, "chat.Message")
        h.subscribe(session, "inbox.Message", request=2)
    h.receive(talker, [wire.PUBLISH, 7, {"acknowledge": True}, "chat.Message", [{"text": "hi"}]])
    h.publish("inbox.Message", {"to": "bob"}, user="bob")
    h.deliver_all()
    assert talker_peer.events() == []  # excluded from its own publication (WAMP's default)
    assert [e["name"] for e in alice2_peer.events()] == ["chat.Message"]
    assert [e["name"] for e in bob_peer.events()] == ["chat.Message", "inbox.Message"]
    assert anonymous_peer.events() == []
