"""What the web app can do to live sessions, and a new config without dropping them, in-process."""

from __future__ import annotations

import dataclasses

from gateway_fakes import Harness, config
from test_gateway_resume import resume, welcome_extra

from telegraphy.gateway import wire


def test_disconnecting_a_user_closes_all_their_sessions_and_none_can_resume():
    h = Harness()
    (_, p1), (_, p2), (_, bob_peer) = h.session(user="alice"), h.session(user="alice"), h.session(user="bob")
    _, away_peer = h.session(user="alice")
    away_secret = welcome_extra(away_peer)["resume_secret"]
    away_peer.lost(h.gateway)
    assert h.gateway.disconnect("alice", "logged out") == 2
    for peer in (p1, p2):
        assert peer.messages[-1] == wire.goodbye("telegraphy.close.disconnected", "logged out")
        assert peer.closed is not None
        peer.lost(h.gateway)
    assert bob_peer.closed is None
    for secret in (welcome_extra(p1)["resume_secret"], away_secret):
        assert resume(h, secret, user="alice")[1].messages[-1][2] == "telegraphy.error.no_such_session"


def test_unsubscribing_a_user_by_pattern_sends_a_notice_and_stops_delivery():
    h = Harness()
    alice, peer = h.session(user="alice")
    chat = h.subscribe(alice, "chat.Message", request=1)
    news = h.subscribe(alice, "news.Item", request=2)
    assert h.gateway.unsubscribe("alice", "chat.*") == 1
    notice = {"subscription": chat, "reason": "telegraphy.error.unsubscribed"}
    assert peer.messages[-1] == [wire.UNSUBSCRIBED, 0, notice]
    h.publish("chat.Message", {})
    h.publish("news.Item", {})
    h.deliver_all()
    assert [e["sub"] for e in peer.events()] == [news]


def test_a_reload_applies_policies_and_origins_to_live_sessions_without_dropping_them():
    h = Harness(gateway={"listen": {"host": "127.0.0.1", "port": 1}, "url": "ws://localhost:8080/ws",
                         "allowed_origins": ["http://app.example", "http://old.example"]})
    anonymous, anonymous_peer = h.session(origin="http://app.example")
    member, member_peer = h.session(user="alice", origin="http://app.example")
    legacy, legacy_peer = h.session(origin="http://old.example")
    for session in (anonymous, member, legacy):
        h.subscribe(session, "chat.Message")
    new = config(gateway={"listen": {"host": "127.0.0.1", "port": 2}, "url": "ws://localhost:8080/ws",
                          "allowed_origins": ["http://app.example"]},
                 events=[{"match": "chat.*", "access": "authenticated", "history": 10}, {"match": "*"}])
    assert h.gateway.reconfigure(new) == ["gateway.listen"]
    assert h.gateway.config.gateway.port == 1  # what needs a restart stays as it was
    assert anonymous_peer.messages[-1][0] == wire.UNSUBSCRIBED and anonymous_peer.closed is None
    assert legacy_peer.messages[-1] == wire.goodbye("telegraphy.close.origin_not_allowed",
                                                    "origin http://old.example is no longer allowed")
    h.publish("chat.Message", {"n": 1})
    h.deliver_all()
    assert len(member_peer.events()) == 1 and anonymous_peer.events() == [] and member_peer.closed is None
    assert h.gateway.generation == 2 and "telegraphy_config_generation 2" in h.gateway.metrics.render(h.gateway)
    assert dataclasses.asdict(h.gateway.config.limits) == dataclasses.asdict(new.limits)
