"""Sessions that survive a reconnect, history replay, and gateway-side filters."""

import pytest
from autobahn.wamp.exception import ApplicationError
from support import wait_for

import telegraphy


@pytest.fixture
def gw(config_file, gateways):
    path = config_file(events=[{"match": "short.*", "history": 10}, {"match": "none.*", "history": 0},
                               {"match": "inbox.*", "access": "private", "history": 100},
                               {"match": "*", "history": 100}])
    gateway = gateways(path)
    telegraphy.configure(path)
    return gateway


def detached(gw, n=1):
    wait_for(lambda: f"telegraphy_sessions_detached {n}" in gw.metrics(), message="the gateway to see the drop")


def numbers(client, topic=None):
    return [e["envelope"]["data"]["n"] for e in client.events if topic is None or e["topic"] == topic]


def test_resume_replays_missed_events_in_order_then_live_without_duplicates(gw, wamp):
    first = wamp(gw.url)
    first.subscribe("feed.Item")
    telegraphy.publish("feed.Item", {"n": 0})
    first.wait_events(1)
    secret = first.authextra["resume_secret"]
    first.drop()
    detached(gw)
    telegraphy.publish_many([("feed.Item", {"n": n}) for n in range(1, 51)])
    second = wamp(gw.url, previous_session=secret)
    assert second.authextra["resumed"] is True and second.authextra["recovered"] is True
    second.subscribe("feed.Item")
    second.wait_events(50)
    telegraphy.publish("feed.Item", {"n": 51})
    second.wait_events(51)
    assert numbers(second) == list(range(1, 52))
    assert [e["seq"] for e in second.events] == list(range(2, 53))


def test_resume_with_too_short_history_reports_that_recovery_failed(gw, wamp):
    first = wamp(gw.url)
    first.subscribe("short.Item")
    secret = first.authextra["resume_secret"]
    first.drop()
    detached(gw)
    telegraphy.publish_many([("short.Item", {"n": n}) for n in range(50)])
    second = wamp(gw.url, previous_session=secret)
    assert second.authextra["recovered"] is False and second.authextra["gaps"] == ["short.Item"]


def test_persistent_subscriptions_collect_while_away_even_without_history(gw, wamp):
    first = wamp(gw.url)
    first.subscribe("none.Item", persistent=True)
    first.subscribe("none.Other")  # not persistent, no history: lost, and said so
    secret = first.authextra["resume_secret"]
    first.drop()
    detached(gw)
    telegraphy.publish_many([("none.Item", {"n": n}) for n in range(20)] + [("none.Other", {"n": 99})])
    second = wamp(gw.url, previous_session=secret)
    assert second.authextra["gaps"] == ["none.Other"]
    second.subscribe("none.Item", persistent=True)
    second.wait_events(20)
    assert numbers(second) == list(range(20))


def test_resume_of_another_users_or_unknown_session_is_refused(gw, wamp):
    alice = wamp(gw.url, ticket=telegraphy.get_token(user="alice"))
    alice.subscribe("inbox.Message")
    secret = alice.authextra["resume_secret"]
    assert wamp(gw.url, previous_session=secret, connect=False).connect(expect_failure=True) \
        .close_details.message == "the previous session is still connected"
    alice.drop()
    detached(gw)
    mallory = wamp(gw.url, ticket=telegraphy.get_token(user="mallory"), previous_session=secret,
                   connect=False).connect(expect_failure=True)
    assert mallory.close_details.reason == "telegraphy.error.no_such_session"
    assert "another user" in mallory.close_details.message
    unknown = wamp(gw.url, previous_session="no-such-secret", connect=False).connect(expect_failure=True)
    assert "unknown or expired previous session" in unknown.close_details.message
    back = wamp(gw.url, ticket=telegraphy.get_token(user="alice"), previous_session=secret)
    assert back.authextra["resumed"] is True


def test_history_procedure_and_gaps(gw, wamp):
    telegraphy.publish_many([("short.Item", {"n": n}) for n in range(15)])
    client = wamp(gw.url)
    result = client.call("telegraphy.history", "short.Item", 10)
    assert result["last"] == 15 and [e["seq"] for e in result["events"]] == [11, 12, 13, 14, 15]
    with pytest.raises(ApplicationError) as err:
        client.call("telegraphy.history", "short.Item", 0)
    assert err.value.error == "telegraphy.error.history_gap"


def test_since_option_replays_history_after_a_gateway_restart(gw, wamp):
    client = wamp(gw.url)
    client.subscribe("feed.Item")
    telegraphy.publish("feed.Item", {"n": 1})
    (event,) = client.wait_events(1)
    replay = wamp(gw.url)
    telegraphy.publish_many([("feed.Item", {"n": 2}), ("feed.Item", {"n": 3})])
    replay.subscribe("feed.Item", since={"epoch": event["epoch"], "seq": event["seq"]})
    replay.wait_events(2)
    assert numbers(replay) == [2, 3]
    stale = wamp(gw.url)
    stale.subscribe("feed.Item", since={"epoch": "another-epoch", "seq": 2})
    stale.wait_events(3)
    assert numbers(stale) == [1, 2, 3]


def test_filtered_subscriptions_receive_exactly_the_matching_events(gw, wamp):
    lobby = wamp(gw.url)
    lobby.subscribe("chat.Message", filter='data.room == "lobby" and data.n >= 2')
    everyone = wamp(gw.url)
    everyone.subscribe("chat.Message")
    same_filter = wamp(gw.url)
    sub = same_filter.subscribe("chat.Message", filter='data.room == "lobby" and data.n >= 2')
    assert sub == lobby.call("telegraphy.subscriptions")[0]["id"]  # grouped: one subscription, one frame
    sent = [{"room": room, "n": n} for n in range(4) for room in ("lobby", "kitchen")]
    telegraphy.publish_many([("chat.Message", data) for data in sent])
    everyone.wait_events(len(sent))
    wait_for(lambda: len(lobby.events) >= 2)
    expected = [d for d in sent if d["room"] == "lobby" and d["n"] >= 2]
    assert [e["envelope"]["data"] for e in lobby.events] == expected
    assert [e["envelope"]["data"] for e in same_filter.events] == expected


def test_invalid_filter_is_a_clear_error(gw, wamp):
    client = wamp(gw.url)
    with pytest.raises(ApplicationError) as err:
        client.subscribe("chat.Message", filter="data.room = lobby")
    assert err.value.error == "telegraphy.error.invalid_filter"
    client.subscribe("chat.Message")  # the session is fine


def test_a_session_that_says_goodbye_cannot_be_resumed(gw, wamp):
    client = wamp(gw.url)
    client.subscribe("feed.Item")
    secret = client.authextra["resume_secret"]
    client.close()
    wait_for(lambda: "telegraphy_connections 0" in gw.metrics())
    assert "telegraphy_sessions_detached 0" in gw.metrics() and "telegraphy_subscriptions 0" in gw.metrics()
    again = wamp(gw.url, previous_session=secret, connect=False).connect(expect_failure=True)
    assert "unknown or expired previous session" in again.close_details.message


def test_resume_also_honours_the_clients_since(gw, wamp):
    """Events written to a socket that died were not received: the client's since covers them."""
    first = wamp(gw.url)
    first.subscribe("feed.Item")
    telegraphy.publish_many([("feed.Item", {"n": n}) for n in range(3)])
    first.wait_events(3)
    secret = first.authextra["resume_secret"]
    epoch = first.events[0]["epoch"]
    first.drop()
    detached(gw)
    telegraphy.publish("feed.Item", {"n": 3})
    second = wamp(gw.url, previous_session=secret)
    second.subscribe("feed.Item", since={"epoch": epoch, "seq": 1})  # say it lost seq 2 in the dying socket
    second.wait_events(3)
    assert numbers(second) == [1, 2, 3]  # what it lost, then what it missed, in order, once
