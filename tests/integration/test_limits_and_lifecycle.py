"""Origin checks, connection and queue limits, health/metrics and a clean SIGTERM."""

import base64
import json
import os
import signal
import socket

import pytest
from support import wait_for, write_config
from websockets.sync.client import connect

import telegraphy


def test_origin_not_in_allowed_origins_cannot_open_a_session(tmp_path, gateways, wamp):
    gw = gateways(write_config(tmp_path, gateway={"allowed_origins": ["http://app.example:8000",
                                                                      "http://localhost:*"]}))
    for origin in ("http://app.example:8000", "http://localhost:1234"):
        wamp(gw.url, origin=origin)
    with pytest.raises(Exception, match="403"):
        connect(gw.url, subprotocols=["wamp.2.json"], origin="http://evil.example", open_timeout=10)
    assert 'telegraphy_refused_total{reason="origin"} 1' in gw.metrics()


def test_empty_allowed_origins_means_same_origin_only(tmp_path, gateways):
    gw = gateways(write_config(tmp_path))
    connect(gw.url, subprotocols=["wamp.2.json"], origin=gw.http, open_timeout=10).close()
    with pytest.raises(Exception, match="403"):
        connect(gw.url, subprotocols=["wamp.2.json"], origin="http://elsewhere:8000", open_timeout=10)


def test_max_connections(tmp_path, gateways, wamp):
    gw = gateways(write_config(tmp_path, limits={"max_connections": 2}))
    wamp(gw.url), wamp(gw.url)
    with pytest.raises(Exception, match="503"):
        connect(gw.url, subprotocols=["wamp.2.json"], open_timeout=10)


def raw_subscriber_that_never_reads(url: str, topic: str) -> socket.socket:
    """A WebSocket client that subscribes, then stops reading (a frozen tab, a dead phone)."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:  # RFC 6455: wait for the server's handshake before sending frames
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response

    def frame(text: str) -> bytes:
        data, mask = text.encode(), os.urandom(4)
        return bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    sock.sendall(frame(json.dumps([1, "telegraphy", {"roles": {"subscriber": {}}}])))
    sock.sendall(frame(json.dumps([32, 1, {}, topic])))
    return sock


def limited_gateway(tmp_path, gateways, **limits):
    """A gateway with these limits, and this process publishing to it."""
    path = write_config(tmp_path, limits=limits)
    telegraphy.configure(path)
    return gateways(path)


def test_a_client_that_stops_reading_is_cut_off_and_others_are_not(tmp_path, gateways, wamp):
    gw = limited_gateway(tmp_path, gateways, client_queue_bytes=262144)
    healthy = wamp(gw.url)
    healthy.subscribe("bulk.Data")
    frozen = raw_subscriber_that_never_reads(gw.url, "bulk.Data")
    wait_for(lambda: healthy.call("telegraphy.subscribers", "bulk.Data") == 2, message="both to subscribe")
    payload = "x" * 2000
    for batch in range(100):  # 4 MB in bursts of 40 kB: far beyond the frozen client's socket and queue
        telegraphy.publish_many([("bulk.Data", {"n": batch * 20 + i, "pad": payload}) for i in range(20)])
    healthy.wait_events(2000, timeout=60)
    assert [e["envelope"]["data"]["n"] for e in healthy.events] == list(range(2000))
    wait_for(lambda: "telegraphy_slow_clients_dropped_total 1" in gw.metrics())
    frozen.close()


def test_health_and_metrics(gateway):
    status, body = gateway.get("/health")
    assert status == 200 and json.loads(body)["transport"] == {"name": "xmlrpc", "state": "running",
                                                               "received": 0, "rejected": 0, "refused": 0}
    metrics = gateway.metrics()
    for name in ("events_received_total", "events_delivered_total", "connections", "transport_up"):
        assert f"# TYPE telegraphy_{name} " in metrics
    status, script = gateway.get("/telegraphy.js")
    assert status == 200 and "Telegraphy" in script


def test_sigterm_says_goodbye_and_exits_zero(gateway, wamp):
    client = wamp(gateway.url)
    client.subscribe("shop.Order")
    assert gateway.stop(signal.SIGTERM) == 0
    wait_for(client.closed.is_set)
    assert client.close_details.reason == "wamp.close.system_shutdown"


def test_a_gateway_stopping_delivers_everything_it_accepted_before_saying_goodbye(tmp_path, gateways, wamp):
    """publish_many returns once the gateway accepted the events, before their fan-out: a SIGTERM right
    after must still deliver all of them, in order, and only then say GOODBYE. (The Python clients read
    slowly: the queue bound is raised so that none is cut off as a slow client meanwhile.)"""
    gw = limited_gateway(tmp_path, gateways, client_queue_bytes=16 * 2**20)
    clients = [wamp(gw.url) for _ in range(4)]
    for client in clients:
        client.subscribe("shop.Order")
    telegraphy.publish_many([("shop.Order", {"n": n, "pad": "x" * 200}) for n in range(1500)])
    assert gw.stop(signal.SIGTERM) == 0
    for client in clients:
        wait_for(client.closed.is_set, timeout=30)
        assert [e["envelope"]["data"]["n"] for e in client.events] == list(range(1500))
        assert client.close_details.reason == "wamp.close.system_shutdown"


def test_a_burst_larger_than_the_queue_bound_does_not_cut_off_a_client_that_reads(tmp_path, gateways, wamp):
    gw = limited_gateway(tmp_path, gateways, client_queue_bytes=65536)
    reader = wamp(gw.url)
    reader.subscribe("bulk.Data")
    # 60 events of 3 kB in one call: delivered in one reactor turn, about 3x the bound at once
    telegraphy.publish_many([("bulk.Data", {"n": n, "pad": "x" * 3000}) for n in range(60)])
    reader.wait_events(60)
    assert "telegraphy_slow_clients_dropped_total 0" in gw.metrics()


def test_socket_send_buffer_bounds_what_a_stalled_client_holds_in_the_kernel(tmp_path, gateways, wamp):
    gw = limited_gateway(tmp_path, gateways, client_queue_bytes=65536, socket_send_buffer=16384)
    watcher = wamp(gw.url)
    frozen = raw_subscriber_that_never_reads(gw.url, "bulk.Data")
    wait_for(lambda: watcher.call("telegraphy.subscribers", "bulk.Data") == 1, message="the frozen client to subscribe")
    # 600 kB: far below the 4 MB Linux would otherwise buffer in the kernel, far above 16 kB + 64 kB queued
    for batch in range(15):
        telegraphy.publish_many([("bulk.Data", {"n": batch * 20 + i, "pad": "x" * 2000}) for i in range(20)])
    wait_for(lambda: "telegraphy_slow_clients_dropped_total 1" in gw.metrics(), message="the stalled client's cut-off")
    frozen.close()
