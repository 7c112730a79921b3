"""Tokens, access policies and the web-app-only procedures, against a real gateway process."""

import time

import pytest
from autobahn.wamp.exception import ApplicationError
from support import SECRET, wait_for

import telegraphy

EVENTS = [
    {"match": "secret.*", "access": "authenticated", "history": 10},
    {"match": "inbox.*", "access": "private", "history": 10},
    {"match": "chat.*", "access": "public", "publish": True},
    {"match": "*", "access": "public", "history": 10},
]


@pytest.fixture
def gw(config_file, gateways):
    path = config_file(events=EVENTS)
    gateway = gateways(path)
    telegraphy.configure(path)
    return gateway


def refused(wamp, gw, token):
    client = wamp(gw.url, ticket=token, connect=False).connect(expect_failure=True)
    assert not client.joined.is_set()
    return client.close_details


def test_valid_token_opens_an_authenticated_session(gw, wamp):
    client = wamp(gw.url, ticket=telegraphy.get_token(user="alice"))
    assert client.join_details.authid == "alice" and client.join_details.authrole == "user"
    assert client.join_details.authmethod == "ticket"


def test_forged_expired_replayed_and_wrongly_signed_tokens_are_refused(gw, wamp):
    good = telegraphy.get_token(user="alice")
    version, body, signature = good.split(".")
    forged = f"{version}.{telegraphy.get_token(user='admin').split('.')[1]}{''}.{signature}"
    from telegraphy.config import AuthConfig
    from telegraphy.tokens import mint
    wrong = mint(AuthConfig(("not-the-shared-secret-123",), 30, 300), user="alice")
    expired = mint(telegraphy.get_config().auth, user="alice", now=time.time() - 3600)
    for token, why in [(forged, "signature"), (wrong, "signature"), (expired, "expired"), ("garbage", "malformed")]:
        details = refused(wamp, gw, token)
        assert details.reason == "wamp.error.not_authorized" and why in details.message, (token, details)
    wamp(gw.url, ticket=good)  # first use works...
    details = refused(wamp, gw, good)  # ...the replay does not
    assert "already used" in details.message
    assert 'telegraphy_refused_total{reason="token"} 5' in gw.metrics()


def test_private_events_reach_only_their_user_and_authenticated_not_anonymous(gw, wamp):
    alice = wamp(gw.url, ticket=telegraphy.get_token(user="alice"))
    bob = wamp(gw.url, ticket=telegraphy.get_token(user="bob"))
    auditor = wamp(gw.url, ticket=telegraphy.get_token(user="carol", events=["inbox.*"]))
    anonymous = wamp(gw.url)
    for client in (alice, bob, auditor, anonymous):
        client.subscribe("inbox.Message")
        client.subscribe("secret.Plan")
        client.subscribe("public.News")
    telegraphy.publish("inbox.Message", {"to": "alice"}, user="alice")
    telegraphy.publish("inbox.Message", {"to": "bob"}, user="bob")
    telegraphy.publish("secret.Plan", {"x": 1})
    telegraphy.publish("public.News", {"x": 2})  # last: once everyone has it, the rest has arrived too
    for client in (alice, bob, auditor, anonymous):
        wait_for(lambda c=client: any(e["topic"] == "public.News" for e in c.events))
    seen = {name: [(e["topic"], (e["envelope"]["data"] or {}).get("to")) for e in c.events]
            for name, c in [("alice", alice), ("bob", bob), ("carol", auditor), ("anonymous", anonymous)]}
    assert seen["alice"] == [("inbox.Message", "alice"), ("secret.Plan", None), ("public.News", None)]
    assert seen["bob"] == [("inbox.Message", "bob"), ("secret.Plan", None), ("public.News", None)]
    assert seen["carol"] == [("inbox.Message", "alice"), ("inbox.Message", "bob"), ("secret.Plan", None),
                             ("public.News", None)]
    assert seen["anonymous"] == [("public.News", None)]


def test_history_and_subscribers_respect_access(gw, wamp):
    telegraphy.publish("inbox.Message", {"to": "alice"}, user="alice")
    telegraphy.publish("inbox.Message", {"to": "bob"}, user="bob")
    alice = wamp(gw.url, ticket=telegraphy.get_token(user="alice"))
    anonymous = wamp(gw.url)
    wait_for(lambda: "telegraphy_events_received_total 2" in gw.metrics())
    history = alice.call("telegraphy.history", "inbox.Message", 0)
    assert [e["event"]["data"]["to"] for e in history["events"]] == ["alice"]
    # a private topic carries other users' events: alice learns nothing of bob's, not even its position
    assert history["last"] == history["events"][0]["seq"]
    with pytest.raises(ApplicationError) as err:
        anonymous.call("telegraphy.history", "inbox.Message", 0)
    assert err.value.error == "wamp.error.not_authorized"
    alice.subscribe("secret.Plan")
    assert alice.call("telegraphy.subscribers", "secret.Plan") == 1
    with pytest.raises(ApplicationError) as err:
        anonymous.call("telegraphy.subscribers", "secret.Plan")
    assert err.value.error == "wamp.error.not_authorized"


def test_no_procedure_takes_the_shared_secret_over_the_browser_socket(gw, wamp):
    """Tokens are minted by the web app; the gateway offers no way to mint one, even with the secret."""
    for client in (wamp(gw.url), wamp(gw.url, ticket=telegraphy.get_token(user="alice"))):
        for kwargs in ({"user": "admin"}, {"secret": SECRET, "user": "admin"}):
            with pytest.raises(ApplicationError) as err:
                client.call("telegraphy.get_token", **kwargs)
            assert err.value.error == "wamp.error.no_such_procedure"
    assert wamp(gw.url, ticket=telegraphy.get_token(user="dave")).join_details.authid == "dave"


def test_publish_from_browsers_follows_the_policy(gw, wamp):
    listener = wamp(gw.url)
    listener.subscribe("chat.", match="prefix")
    talker = wamp(gw.url, ticket=telegraphy.get_token(user="alice"))
    talker.publish("chat.Message", {"text": "hi"})
    with pytest.raises(ApplicationError) as err:
        talker.publish("public.News", {"forged": True})
    assert err.value.error == "wamp.error.not_authorized"
    (event,) = listener.wait_events(1)
    assert event["envelope"]["data"] == {"text": "hi"} and event["envelope"]["meta"]["user"] == "alice"


def test_session_expires_unless_refreshed(gw, wamp):
    from telegraphy.tokens import mint
    auth = telegraphy.get_config().auth
    kept = wamp(gw.url, ticket=mint(auth, user="bob", session_ttl=5))
    first_end = time.time() + 5
    result = kept.call("telegraphy.refresh", mint(auth, user="bob", session_ttl=60))
    assert result["expires"] > time.time() + 30
    with pytest.raises(ApplicationError):
        kept.call("telegraphy.refresh", mint(auth, user="mallory", session_ttl=60))
    short = wamp(gw.url, ticket=mint(auth, user="alice", session_ttl=1))
    wait_for(short.closed.is_set, message="the unrefreshed session to be closed")
    assert short.close_details.reason == "telegraphy.close.session_expired"
    wait_for(lambda: time.time() > first_end + 0.5, timeout=15, message="the refreshed session's first expiry")
    assert not kept.closed.is_set()
    kept.subscribe("public.News")
    telegraphy.publish("public.News", {})
    kept.wait_events(1)
