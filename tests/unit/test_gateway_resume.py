"""Resume and history in-process: what a session missed, bounds, and time on a fake clock."""

from __future__ import annotations

from gateway_fakes import FakePeer, Harness

from telegraphy.events import Event
from telegraphy.gateway import wire
from telegraphy.gateway.history import HistoryGap, MemoryHistory
from telegraphy.gateway.session import Session


def resume(h: Harness, secret: str, user=None) -> tuple[Session, FakePeer]:
    hello = [wire.HELLO, "telegraphy", {"authmethods": ["ticket"] if user else ["anonymous"],
                                        "authextra": {"previous_session": secret}}]
    return h.session(user=user, anonymous=user is None, hello=hello)


def welcome_extra(peer: FakePeer) -> dict:
    (welcome,) = peer.of_type(wire.WELCOME)
    return welcome[2]["authextra"]


def test_a_resumed_session_gets_what_it_missed_in_order_then_live_events():
    h = Harness()
    session, peer = h.session()
    h.subscribe(session, "shop.Order")
    h.publish("shop.Order", {"n": 1})
    h.deliver_all()
    secret = welcome_extra(peer)["resume_secret"]
    session.closed()  # the connection dropped
    for n in (2, 3):
        h.publish("shop.Order", {"n": n})
    h.deliver_all()
    again, again_peer = resume(h, secret)
    assert welcome_extra(again_peer)["recovered"] is True
    h.subscribe(again, "shop.Order")
    h.publish("shop.Order", {"n": 4})
    h.deliver_all()
    assert [e["data"]["n"] for e in again_peer.events()] == [2, 3, 4]


def test_persistent_subscriptions_collect_while_away_and_report_overflow():
    h = Harness(events=[{"match": "*", "history": 0, "persistent_limit": 2}])
    session, peer = h.session()
    h.subscribe(session, "chat.Message", persistent=True)
    secret = welcome_extra(peer)["resume_secret"]
    session.closed()
    for n in range(3):
        h.publish("chat.Message", {"n": n})
    h.deliver_all()
    again, again_peer = resume(h, secret)
    assert welcome_extra(again_peer)["recovered"] is False and welcome_extra(again_peer)["gaps"] == ["chat.Message"]
    h.subscribe(again, "chat.Message")
    assert [e["data"]["n"] for e in again_peer.events()] == [1, 2]
    assert h.hub.subscription_count == 1  # the collector's watch ended with the resume


def test_an_away_session_expires_after_resume_ttl_on_the_fake_clock():
    h = Harness(auth={"secret": "unit-secret-0123456789abcdef", "resume_ttl": 30})
    session, peer = h.session()
    h.subscribe(session, "chat.Message", persistent=True)
    secret = welcome_extra(peer)["resume_secret"]
    session.closed()
    assert h.gateway.resumption.away_count == 1 and h.hub.subscription_count == 1
    h.clock.advance(36)  # past the ttl, and a prune
    assert h.gateway.resumption.away_count == 0 and h.hub.subscription_count == 0
    _, late = resume(h, secret)
    assert late.messages[-1][2] == "telegraphy.error.no_such_session"


def test_away_sessions_are_bounded_and_the_oldest_goes_first():
    h = Harness(limits={"max_away_sessions": 2})
    secrets = []
    for _ in range(3):
        session, peer = h.session()
        h.subscribe(session, "chat.Message", persistent=True)
        secrets.append(welcome_extra(peer)["resume_secret"])
        session.closed()
    assert h.gateway.resumption.away_count == 2 and h.gateway.resumption.evicted == 1
    assert resume(h, secrets[0])[1].messages[-1][2] == "telegraphy.error.no_such_session"
    assert welcome_extra(resume(h, secrets[2])[1])["resumed"] is True


def test_resume_is_refused_to_another_user_while_connected_and_after_goodbye():
    h = Harness()
    session, peer = h.session(user="alice")
    secret = welcome_extra(peer)["resume_secret"]
    assert resume(h, secret, user="alice")[1].messages[-1][1]["message"] == "the previous session is still connected"
    session.closed()
    assert "another user" in resume(h, secret, user="mallory")[1].messages[-1][1]["message"]
    again, again_peer = resume(h, secret, user="alice")
    h.receive(again, [wire.GOODBYE, {}, "wamp.close.normal"])
    again.closed()
    assert resume(h, welcome_extra(again_peer)["resume_secret"], user="alice")[1].messages[-1][2] == \
        "telegraphy.error.no_such_session"


def test_history_is_bounded_in_topics_and_bytes_and_reports_what_it_forgot():
    history = MemoryHistory(max_topics=3, max_bytes=10_000)
    for n in range(10):
        history.append(Event.create(f"t.n{n}", {"n": n}), keep=5)
    assert history.stats()["topics"] == 3
    assert history.page("t.n9", 0, 10).entries[0].event.data == {"n": 9}
    try:
        history.page("t.n0", 0, 10)
    except HistoryGap:
        pass
    else:
        raise AssertionError("a forgotten topic must report a gap, not an empty history")
    big = {"x": "y" * 3000}
    for _ in range(5):
        history.append(Event.create("t.big", big), keep=100)
    assert history.stats()["bytes"] <= 10_000


def test_history_pages_and_gaps():
    history = MemoryHistory()
    for n in range(5):
        history.append(Event.create("a.b", {"n": n}), keep=3)
    page = history.page("a.b", 2, 2)
    assert [e.seq for e in page.entries] == [3, 4] and page.more
    try:
        history.page("a.b", 1, 10)
    except HistoryGap:
        pass
    else:
        raise AssertionError("seq 2 is gone: a gap")
    assert history.complete_after(2, "a.b".__eq__, "a.b") and not history.complete_after(1, "a.b".__eq__, "a.b")
