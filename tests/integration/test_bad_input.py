"""Bad input closes that one session (or gets an ERROR), never the gateway or anyone else's session."""

import json
import time

import msgpack
import pytest
from support import SECRET, run_python, write_config
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import telegraphy

HELLO = [1, "telegraphy", {"roles": {"subscriber": {}, "publisher": {}, "caller": {}}}]
ABORT, WELCOME, ERROR = 3, 2, 8


def open_raw(url, protocol="wamp.2.json"):
    return connect(url, subprotocols=[protocol], open_timeout=10, max_size=None)


def recv_json(ws):
    return json.loads(ws.recv(timeout=10))


def assert_aborted(ws, reason="wamp.error.protocol_violation"):
    msg = recv_json(ws)
    assert msg[0] == ABORT and msg[2] == reason, msg
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=10)
    return msg


@pytest.fixture
def bystander(gateway, wamp, web_app_env):
    """A well-behaved client whose events must keep flowing whatever the others do."""
    client = wamp(gateway.url)
    client.subscribe("shop.Order")

    def still_receives():
        before = len(client.events)
        result = run_python("import telegraphy; telegraphy.publish('shop.Order', {'ok': True})", env=web_app_env)
        assert result.returncode == 0, result.stderr
        client.wait_events(before + 1)
    return still_receives


def established(url, protocol="wamp.2.json"):
    ws = open_raw(url, protocol)
    if protocol == "wamp.2.json":
        ws.send(json.dumps(HELLO))
        assert recv_json(ws)[0] == WELCOME
    else:
        ws.send(msgpack.packb(HELLO))
        assert msgpack.unpackb(ws.recv(timeout=10))[0] == WELCOME
    return ws


@pytest.mark.parametrize("frame", ["{not json", "[]", '["x"]', "[999, 1]", "[32, 1]", '{"a": 1}'])
def test_malformed_or_unknown_json_messages_abort_only_that_session(gateway, bystander, frame):
    ws = established(gateway.url)
    ws.send(frame)
    assert_aborted(ws)
    bystander()
    assert 'telegraphy_protocol_errors_total 1' in gateway.metrics()


def test_malformed_msgpack_frame_aborts_only_that_session(gateway, bystander):
    ws = established(gateway.url, "wamp.2.msgpack")
    ws.send(b"\xc1\xff\x00garbage")
    msg = msgpack.unpackb(ws.recv(timeout=10))
    assert msg[0] == ABORT and msg[2] == "wamp.error.protocol_violation"
    bystander()


def test_message_before_hello_is_a_protocol_violation(gateway, bystander):
    ws = open_raw(gateway.url)
    ws.send(json.dumps([32, 1, {}, "shop.Order"]))
    msg = assert_aborted(ws)
    assert "before HELLO" in msg[1]["message"]
    bystander()


def test_frame_over_the_size_limit_is_refused(tmp_path, gateways, wamp):
    gw = gateways(write_config(tmp_path, limits={"max_message_bytes": 1024}))
    other = wamp(gw.url)
    other.subscribe("shop.Order")
    ws = established(gw.url)
    ws.send(json.dumps([16, 1, {}, "shop.Order", ["x" * 4096]]))
    msg = assert_aborted(ws)
    assert "exceeds the limit of 1024 bytes" in msg[1]["message"]
    config = tmp_path / "telegraphy.yaml"
    result = run_python("import telegraphy; telegraphy.publish('shop.Order', {'ok': 1})",
                        env={"TELEGRAPHY_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    other.wait_events(1)


def test_invalid_topic_uri_gets_an_error_and_the_session_lives_on(gateway, bystander):
    ws = established(gateway.url)
    ws.send(json.dumps([32, 7, {}, "not a valid uri!"]))
    msg = recv_json(ws)
    assert msg[:5] == [ERROR, 32, 7, {}, "wamp.error.invalid_uri"], msg
    ws.send(json.dumps([32, 8, {}, "shop.Order"]))
    assert recv_json(ws)[:2] == [33, 8]  # SUBSCRIBED: still a working session
    bystander()


def test_wrong_realm_and_unknown_subprotocol_are_refused(gateway, bystander):
    ws = open_raw(gateway.url)
    ws.send(json.dumps([1, "elsewhere", {"roles": {"subscriber": {}}}]))
    assert_aborted(ws, "wamp.error.no_such_realm")
    with pytest.raises(Exception, match="406|subprotocol"):
        connect(gateway.url, subprotocols=["wamp.2.cbor"], open_timeout=10)
    bystander()


def test_browser_publish_is_refused_unless_a_policy_allows_it(gateway, bystander):
    ws = established(gateway.url)
    ws.send(json.dumps([16, 5, {"acknowledge": True}, "shop.Order", [{"forged": True}]]))
    msg = recv_json(ws)
    assert msg[0] == ERROR and msg[4] == "wamp.error.not_authorized", msg
    bystander()
    assert 'telegraphy_refused_total{reason="publish"} 1' in gateway.metrics()


def test_invalid_events_fail_in_the_web_app_before_anything_is_sent(gateway, wamp):
    client = wamp(gateway.url)
    client.subscribe("shop.", match="prefix")
    telegraphy.configure(gateway.config_path)
    with pytest.raises(telegraphy.InvalidEvent):
        telegraphy.publish("shop order", {})
    with pytest.raises(telegraphy.InvalidEvent):
        telegraphy.publish("shop.Order", {"when": object()})
    with pytest.raises(telegraphy.InvalidEvent):
        telegraphy.publish_many([("shop.Good", {}), ("shop.Bad", {"x": {1, object()}})])
    telegraphy.publish("shop.Marker", {})
    events = client.wait_events(1)
    assert [e["topic"] for e in events] == ["shop.Marker"]


def test_gateway_down_gives_a_clear_error_within_the_timeout(tmp_path):
    telegraphy.configure(write_config(tmp_path))
    started = time.monotonic()
    with pytest.raises(telegraphy.GatewayUnavailable, match=r"http://127\.0\.0\.1:\d+/RPC2"):
        telegraphy.publish("shop.Order", {})
    assert time.monotonic() - started < 10  # bounded: refused, never a hang


def test_wrong_secret_is_refused_and_logged(gateway, tmp_path):
    text = gateway.config_path.read_text().replace(SECRET, "someone-elses-secret-123")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(text)
    telegraphy.configure(wrong)
    with pytest.raises(telegraphy.PublishError, match="403"):
        telegraphy.publish("shop.Order", {})
    assert "refused a call" in gateway.log() or "wrong shared secret" in gateway.log()
    assert '"refused": 1' in gateway.get("/health")[1]
