"""The embedded default end to end: a web-app process publishes over XML-RPC, WAMP clients receive."""

import socket

import pytest
import yaml
from support import GatewayProcess, run_python

PUBLISH = """
import decimal, datetime, telegraphy
telegraphy.publish("shop.Order", {"id": 1, "total": decimal.Decimal("9.99"),
                   "at": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)}, event_type="create")
telegraphy.publish("shop.Invoice", {"id": 2})
telegraphy.publish("other.Thing", {"id": 3})
"""


@pytest.mark.parametrize("serializer", ["json", "msgpack"])
def test_exact_prefix_and_wildcard_subscriptions_receive_published_events(gateway, wamp, web_app_env, serializer):
    client = wamp(gateway.url, serializer=serializer)
    exact = client.subscribe("shop.Order")
    prefix = client.subscribe("shop.", match="prefix")
    wildcard = client.subscribe("shop.", match="wildcard")
    result = run_python(PUBLISH, env=web_app_env)
    assert result.returncode == 0, result.stderr
    events = client.wait_events(5)
    by_sub = {}
    for e in events:
        by_sub.setdefault(e["sub"], []).append(e["topic"])
    assert by_sub[exact] == ["shop.Order"]
    assert by_sub[prefix] == ["shop.Order", "shop.Invoice"]
    assert by_sub[wildcard] == ["shop.Order", "shop.Invoice"]
    order = events[0]["envelope"]
    assert order["name"] == "shop.Order"
    assert order["data"] == {"id": 1, "total": "9.99", "at": "2026-01-02T03:04:05.000000Z"}
    assert order["meta"]["event_type"] == "create"
    assert set(order["meta"]) >= {"event_type", "verbose_name", "timestamp", "id", "user"}
    assert [e["seq"] for e in events if e["sub"] == exact] == [1]
    subs = client.call("telegraphy.subscriptions")
    assert sorted(s["match"] for s in subs) == ["exact", "prefix", "wildcard"]
    assert client.call("telegraphy.subscribers", "shop.Order") == 1


def test_ports_given_as_zero_come_from_the_os_and_are_kept_across_a_restart(config_file, gateways, wamp):
    path = config_file()
    written = yaml.safe_load(path.read_text())
    assert written["gateway"]["listen"]["port"] == 0 and written["transport"]["options"]["port"] == 0
    gw = gateways(path)
    pinned = yaml.safe_load(path.read_text())  # rewritten with what the OS gave, for web apps and restarts
    listen, transport = pinned["gateway"]["listen"]["port"], pinned["transport"]["options"]["port"]
    assert gw.port == listen == gw.ready["gateway"]["port"] and listen > 0
    assert transport == gw.ready["transport"]["options"]["port"] > 0 and transport != listen
    assert pinned["gateway"]["url"] == gw.url == f"ws://127.0.0.1:{listen}/ws"

    assert gw.stop() == 0
    gw.start()
    assert (gw.port, gw.ready["transport"]["options"]["port"]) == (listen, transport)
    client = wamp(gw.url)
    client.subscribe("shop.Order")
    result = run_python("import telegraphy; telegraphy.publish('shop.Order', {'id': 1})",
                        env={"TELEGRAPHY_CONFIG": str(path)})
    assert result.returncode == 0, result.stderr
    assert client.wait_events(1)[0]["envelope"]["data"] == {"id": 1}


@pytest.mark.parametrize("key", ["transport.options.port", "gateway.listen.port"])
def test_a_port_in_use_says_which_key_to_change(config_file, key):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        if key == "transport.options.port":
            path = config_file(options={"host": "127.0.0.1", "port": port})
        else:
            path = config_file(gateway={"listen": {"host": "127.0.0.1", "port": port}, "url": "ws://localhost/ws"})
        gw = GatewayProcess(path).start(wait=False)
        code = gw.proc.wait(30)
        gw.stop()
    assert code != 0
    assert f"key '{key}': cannot " in gw.log() and f"127.0.0.1:{port}" in gw.log()
    assert f"change {key}" in gw.log() and "Traceback" not in gw.log()


def _endpoint(config_path) -> tuple[str, int, str]:
    from telegraphy.config import load
    config = load(config_path)
    return config.transport.options.host, config.transport.options.port, config.auth.secret


def _post(host: str, port: int, body: bytes, headers: dict) -> tuple[int, bytes]:
    import http.client
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("POST", "/RPC2", body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_a_signed_request_cannot_be_replayed_or_signed_out_of_time(gateway, wamp):
    """Issue 11, finding 7: the signature covers a time and a nonce, not just the body."""
    import time
    import xmlrpc.client

    from telegraphy.transports.xmlrpc.signing import sign

    from telegraphy.events import Event

    client = wamp(gateway.url)
    client.subscribe("shop.Order")
    host, port, secret = _endpoint(gateway.config_path)
    body = xmlrpc.client.dumps(([Event.create("shop.Order", {"n": 1}).encode().decode()],), "publish_many").encode()
    headers = {"X-Telegraphy-Signature": sign(secret, body), "Content-Type": "text/xml"}
    assert _post(host, port, body, headers)[0] == 200
    for _ in range(2):  # the very same request again: refused, and nothing delivered
        status, text = _post(host, port, body, headers)
        assert status == 403 and b"replayed" in text
    stale = {"X-Telegraphy-Signature": sign(secret, body, now=time.time() - 300), "Content-Type": "text/xml"}
    status, text = _post(host, port, body, stale)
    assert status == 403 and b"clock" in text
    telegraphy_marker = Event.create("shop.Order", {"n": 2}).encode().decode()
    marker = xmlrpc.client.dumps(([telegraphy_marker],), "publish_many").encode()
    assert _post(host, port, marker, {"X-Telegraphy-Signature": sign(secret, marker)})[0] == 200
    assert [e["envelope"]["data"]["n"] for e in client.wait_events(2)] == [1, 2]


def test_a_body_over_the_limit_is_refused_unread_and_a_slow_body_is_cut_off(config_file, gateways):
    """Issue 11, finding 7: the XML-RPC port reads no body of any size, and holds no slow body open."""
    import time

    path = config_file(options={"host": "127.0.0.1", "port": 0, "max_body_bytes": 4096, "request_timeout": 1.0})
    gw = gateways(path)
    host, port, _ = _endpoint(gw.config_path)
    big = socket.create_connection((host, port), timeout=10)
    big.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
    assert big.recv(4096).startswith(b"HTTP/1.1 413")
    slow = socket.create_connection((host, port), timeout=10)
    slow.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
    slow.settimeout(0.2)
    started, closed = time.monotonic(), False
    while not closed and time.monotonic() - started < 15:  # a byte every 0.2 s: 20 s for the whole body
        try:
            slow.sendall(b"x")
            closed = slow.recv(4096) == b""
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            closed = True
    assert closed and time.monotonic() - started < 5  # cut off at request_timeout (1 s), not 20 s
    assert '"refused": 2' in gw.get("/health")[1]
