"""The zeromq transport end to end: web-app processes publish over real ZeroMQ sockets on loopback,
real gateway processes receive, real WAMP clients get the events."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys

import pytest
import yaml
import zmq
from support import run_python, wait_for

pytestmark = pytest.mark.timeout(60)

HISTORY = [{"match": "*", "access": "public", "history": 1000}]

# A long-lived web app: each stdin line "START STOP" publishes feed.Tick {"n": START..STOP-1} and answers
# one line: "ok" or "error N ExceptionClass SECONDS message" for the first publish that failed.
PUBLISHER = r"""
import sys, time, telegraphy
for line in sys.stdin:
    start, stop = map(int, line.split())
    try:
        for n in range(start, stop):
            began = time.monotonic()
            telegraphy.publish("feed.Tick", {"n": n})
        print("ok", flush=True)
    except telegraphy.PublishError as exc:
        print("error", n, type(exc).__name__, round(time.monotonic() - began, 3), exc, flush=True)
"""


class Publisher:
    """A web-app process kept running across gateway restarts, driven line by line."""

    def __init__(self, config_path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", PUBLISHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "TELEGRAPHY_CONFIG": str(config_path)})

    def publish(self, start: int, stop: int, timeout: float = 20) -> str:
        self.proc.stdin.write(f"{start} {stop}\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f"the publisher did not answer within {timeout}s"
        line = self.proc.stdout.readline().strip()
        assert line, f"the publisher died: {self.proc.stderr.read()}"
        return line

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def publishers():
    started: list[Publisher] = []

    def start(config_path) -> Publisher:
        started.append(Publisher(config_path))
        return started[-1]
    yield start
    for publisher in started:
        publisher.close()


# Where a gateway binds when nothing needs its address before it starts: the OS picks the port, and
# GatewayProcess writes the address it got into the config (bind and endpoints) for web apps and restarts.
ANY_PORT = {"bind": "tcp://127.0.0.1:0"}


def bound(path) -> str:
    """The address the gateway of config ``path`` binds (once GatewayProcess has started it)."""
    options = yaml.safe_load(path.read_text())["transport"]["options"]
    return options.get("bind") or options["endpoints"][0]


def numbers(client) -> list[int]:
    return [e["envelope"]["data"]["n"] for e in client.events]


def transport_status(gateway) -> dict:
    return json.loads(gateway.get("/health")[1])["transport"]


@pytest.mark.parametrize("kind", ["tcp", "ipc"])
def test_published_events_reach_a_wamp_client(kind, tmp_path, config_file, gateways, wamp):
    options = ANY_PORT if kind == "tcp" else {"endpoints": [f"ipc://{tmp_path}/gateway.ipc"]}
    path = config_file(transport="zeromq", options=options)
    gateway = gateways(path)
    endpoint = bound(path)
    assert endpoint.startswith("tcp://127.0.0.1:") != (kind == "ipc") and not endpoint.endswith(":0")
    client = wamp(gateway.url)
    client.subscribe("shop.", match="prefix")
    result = run_python("""
import decimal, telegraphy
telegraphy.publish("shop.Order", {"id": 1, "total": decimal.Decimal("9.99")}, event_type="create", user=42)
telegraphy.publish_many([("shop.Order", {"id": 2}), ("shop.Invoice", {"id": 3}, "update")])
""", env={"TELEGRAPHY_CONFIG": str(path)})
    assert result.returncode == 0, result.stderr
    events = client.wait_events(3)
    assert [(e["topic"], e["envelope"]["data"]["id"]) for e in events] == [
        ("shop.Order", 1), ("shop.Order", 2), ("shop.Invoice", 3)]
    first = events[0]["envelope"]
    assert first["data"]["total"] == "9.99"
    assert first["meta"]["event_type"] == "create" and first["meta"]["user"] == "42"
    assert events[2]["envelope"]["meta"]["event_type"] == "update"
    status = transport_status(gateway)
    assert status["name"] == "zeromq" and status["endpoint"] == endpoint and status["received"] == 3


def test_two_gateways_each_deliver_every_event(tmp_path, config_file, gateways, wamp):
    paths = [config_file(transport="zeromq", options=ANY_PORT, name=f"gw{i}.yaml") for i in (1, 2)]
    clients = []
    for path in paths:
        client = wamp(gateways(path).url)
        client.subscribe("feed.Tick")
        clients.append(client)
    web_app = config_file(transport="zeromq", options={"endpoints": [bound(path) for path in paths]},
                          name="web-app.yaml")
    result = run_python("""
import telegraphy
for n in range(10):
    telegraphy.publish("feed.Tick", {"n": n})
telegraphy.publish_many([("feed.Tick", {"n": n}) for n in range(10, 20)])
""", env={"TELEGRAPHY_CONFIG": str(web_app)})
    assert result.returncode == 0, result.stderr
    for client in clients:
        client.wait_events(20)
        assert numbers(client) == list(range(20))


def test_events_sent_while_the_gateway_restarts_arrive_in_order(config_file, gateways, wamp, publishers):
    path = config_file(transport="zeromq", options=ANY_PORT, events=HISTORY)
    gateway = gateways(path)  # the restart below binds the same address, written into the config
    before = wamp(gateway.url)
    before.subscribe("feed.Tick")
    publisher = publishers(path)
    assert publisher.publish(0, 50) == "ok"
    before.wait_events(50)
    assert numbers(before) == list(range(50))
    epoch = before.events[-1]["epoch"]

    assert gateway.stop() == 0
    assert publisher.publish(50, 100) == "ok"  # queued in the web app, under sndhwm
    gateway.start()
    after = wamp(gateway.url)
    # The queued events may reach the new gateway before this client subscribes: ask for the topic's
    # history since the old epoch (the gateway keeps 1000), then live events follow.
    after.subscribe("feed.Tick", since={"epoch": epoch, "seq": 50})
    assert publisher.publish(100, 120) == "ok"
    after.wait_events(70)
    assert numbers(after) == list(range(50, 120))


def test_past_the_high_water_mark_publish_raises_and_nothing_accepted_is_lost(tmp_path, config_file, gateways, wamp,
                                                                              publishers):
    endpoint = f"ipc://{tmp_path}/hwm.ipc"  # known before the gateway exists, taken by nobody else
    path = config_file(transport="zeromq", options={"endpoints": [endpoint], "sndhwm": 20, "send_timeout": 0.5},
                       events=HISTORY)
    publisher = publishers(path)  # no gateway yet: everything queues in the web app
    answer = publisher.publish(0, 100).split(" ", 5)
    assert answer[:3] == ["error", "20", "GatewayUnavailable"], answer
    assert 0.5 <= float(answer[3]) < 15, "publish waited send_timeout, then gave up (it never hangs)"
    assert endpoint in answer[5] and "sndhwm" in answer[5] and "send_timeout" in answer[5]

    gateway = gateways(path)
    client = wamp(gateway.url)
    client.subscribe("feed.Tick", since={"epoch": "before-start", "seq": 0})
    assert publisher.publish(100, 105) == "ok"
    client.wait_events(25)
    assert numbers(client) == list(range(20)) + list(range(100, 105))  # the refused 20..99 never appear


def test_forked_and_threaded_publishers_each_use_their_own_sockets(config_file, gateways, wamp):
    path = config_file(transport="zeromq", options=ANY_PORT)
    client = wamp(gateways(path).url)
    client.subscribe("feed.", match="prefix")
    result = run_python("""
import os, threading, telegraphy
telegraphy.publish("feed.Parent", {"n": 0})          # the parent's sockets exist before the fork
pid = os.fork()
if pid == 0:                                        # like a gunicorn worker: same proxy object, new sockets
    telegraphy.publish("feed.Child", {"n": 0})
    raise SystemExit(0)                             # atexit flushes the child's own queue
assert os.waitpid(pid, 0)[1] == 0
def worker(t):
    for n in range(25):
        telegraphy.publish("feed.Thread%d" % t, {"n": n})
threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
for t in threads: t.start()
for t in threads: t.join()
""", env={"TELEGRAPHY_CONFIG": str(path)})
    assert result.returncode == 0, result.stderr
    events = client.wait_events(102)
    by_topic: dict[str, list[int]] = {}
    for e in events:
        by_topic.setdefault(e["topic"], []).append(e["envelope"]["data"]["n"])
    assert by_topic == {"feed.Parent": [0], "feed.Child": [0],
                        **{f"feed.Thread{t}": list(range(25)) for t in range(4)}}


def test_with_curve_only_the_right_keys_deliver(tmp_path, config_file, gateways, wamp):
    server_public, server_secret = (k.decode() for k in zmq.curve_keypair())
    client_public, client_secret = (k.decode() for k in zmq.curve_keypair())
    other_public, other_secret = (k.decode() for k in zmq.curve_keypair())
    gateway_config = config_file(transport="zeromq", name="gateway.yaml",
                                 options={**ANY_PORT, "curve": {"server_public_key": server_public,
                                                                "client_public_key": client_public,
                                                                "server_secret_key": "${ZMQ_SERVER_SECRET}"}})
    gateway = gateways(gateway_config, env={"ZMQ_SERVER_SECRET": server_secret})
    endpoint = bound(gateway_config)

    def config(name, **curve):
        return config_file(transport="zeromq", name=name,
                           options={"endpoints": [endpoint], "linger": 1, "send_timeout": 0.2, "curve": curve})
    right = config("right.yaml", server_public_key=server_public, client_public_key=client_public,
                   client_secret_key=client_secret)
    wrong_client = config("wrong-client.yaml", server_public_key=server_public, client_public_key=other_public,
                          client_secret_key=other_secret)
    wrong_server = config("wrong-server.yaml", server_public_key=other_public, client_public_key=client_public,
                          client_secret_key=client_secret)
    assert transport_status(gateway)["curve"] is True
    client = wamp(gateway.url)
    client.subscribe("secure.", match="prefix")

    def publish(path, name):
        result = run_python(f"import telegraphy; telegraphy.publish({name!r}, {{}})",
                            env={"TELEGRAPHY_CONFIG": str(path)})
        assert result.returncode == 0, result.stderr  # queued: ZeroMQ keeps trying until linger runs out

    publish(wrong_client, "secure.WrongClientKey")
    wait_for(lambda: transport_status(gateway)["refused"] >= 1, message="the gateway to refuse the client key")
    publish(wrong_server, "secure.WrongServerKey")
    wait_for(lambda: transport_status(gateway)["handshake_failures"] >= 1,
             message="the handshake with the wrong server key to fail")
    publish(right, "secure.RightKeys")
    client.wait_events(1)
    assert [e["topic"] for e in client.events] == ["secure.RightKeys"]
    assert transport_status(gateway)["received"] == 1


def test_a_publisher_whose_sockets_went_away_reconnects_once_and_delivers(config_file, gateways, wamp):
    """The sockets' context destroyed under a web app (its exit handler, another thread): a lost connection,
    so the base proxy opens fresh sockets and sends once more instead of failing the publish."""
    path = config_file(transport="zeromq", options=ANY_PORT)
    client = wamp(gateways(path).url)
    client.subscribe("feed.Tick")
    result = run_python("""
import telegraphy
from telegraphy.transports.zeromq import proxy
telegraphy.publish("feed.Tick", {"n": 0})
proxy._process_context.close()  # every socket of this process is closed now
telegraphy.publish("feed.Tick", {"n": 1})
""", env={"TELEGRAPHY_CONFIG": str(path)})
    assert result.returncode == 0, result.stderr
    client.wait_events(2)
    assert numbers(client) == [0, 1]


# Stands in for an uninstalled pyzmq (it is installed here): every import finder is wrapped so that
# importlib.util.find_spec("zmq") returns None and "import zmq" fails, as on a machine without it.
HIDE_PYZMQ = """
import sys
class WithoutPyzmq:
    def __init__(self, finder):
        self.finder = finder
    def __getattr__(self, name):
        return getattr(self.finder, name)
    def find_spec(self, name, path=None, target=None):
        if name == "zmq" or name.startswith("zmq."):
            return None
        return self.finder.find_spec(name, path, target)
sys.meta_path[:] = [WithoutPyzmq(finder) for finder in sys.meta_path]
import importlib.util
assert importlib.util.find_spec("zmq") is None
"""


def test_without_pyzmq_selecting_zeromq_fails_validation_with_what_to_install(config_file):
    path = config_file(transport="zeromq", options={"endpoints": ["tcp://127.0.0.1:4001"]})
    result = run_python(HIDE_PYZMQ + f"""
import telegraphy
from telegraphy.plugins import describe, load_transport
try:
    telegraphy.configure({str(path)!r})  # the options are checked without pyzmq, and so is pyzmq itself
except telegraphy.ConfigError as exc:
    print("configure:", exc.key, exc)
try:
    load_transport("zeromq").proxy(None)
except telegraphy.MissingDependency as exc:
    print("proxy:", exc)
print("plugins:", next(row["status"] for row in describe() if row["name"] == "zeromq"))
from telegraphy.gateway.cli import main
code = main(["--config", {str(path)!r}])
assert "zmq" not in sys.modules
sys.exit(code)
""")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("configure: transport.name ") and "pip install telegraphy[zeromq]" in line
               for line in lines), lines
    assert any(line.startswith("proxy:") and "pip install telegraphy[zeromq]" in line for line in lines), lines
    assert any(line.startswith("plugins:") and "pip install telegraphy[zeromq]" in line for line in lines), lines
    assert "telegraphy-gateway:" in result.stderr and "pip install telegraphy[zeromq]" in result.stderr
