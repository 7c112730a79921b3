"""The RabbitMQ transport against the real broker on 127.0.0.1:5672 (guest/guest).

Web apps are separate processes, gateways are `telegraphy-gateway` processes, clients are real WAMP
clients. Every test uses its own exchange and queue names and deletes them afterwards, and the shared
broker is always left running: the test that restarts a broker restarts a private node of its own
(the ``rabbitmq_node`` fixture).
"""

from __future__ import annotations

import collections
import inspect
import json
import socket
import subprocess
import sys
import threading
import uuid

import pika
import pytest
from support import SECRET, GatewayProcess, run_python, wait_for
from telegraphy.transports.rabbitmq.proxy import pipelining_channel

SHARED_PORT = 5672
FAST_RECONNECT = {"reconnect_delay": 0.1, "reconnect_max_delay": 1.0, "timeout": 5}


def broker(port: int = SHARED_PORT) -> pika.ConnectionParameters:
    return pika.ConnectionParameters("127.0.0.1", port, credentials=pika.PlainCredentials("guest", "guest"),
                                     connection_attempts=1, socket_timeout=5, stack_timeout=5)


BROKER = broker()


def broker_ready(params: pika.ConnectionParameters = BROKER) -> bool:
    try:
        pika.BlockingConnection(params).close()
        return True
    except pika.exceptions.AMQPError:
        return False


class Rabbit:
    """Unique exchange and queue names for one test, its gateways, and a broker-side view (of the shared
    broker, or of the private node on ``port``)."""

    def __init__(self, gateways, port: int = SHARED_PORT) -> None:
        self._gateways, self.started = gateways, []
        self.port, self.params = port, broker(port)
        tag = uuid.uuid4().hex[:12]
        self.exchange = f"telegraphy-test-{tag}"
        self.queues: list[str] = []

    def queue(self, suffix: str = "") -> str:
        name = f"telegraphy-test-{uuid.uuid4().hex[:12]}{suffix}"
        self.queues.append(name)
        return name

    def options(self, **options) -> dict:
        return {"url": f"amqp://guest:guest@127.0.0.1:{self.port}/%2F", "exchange": self.exchange,
                **FAST_RECONNECT, **options}

    def gateway(self, config_path, wait: bool = True):
        """A gateway process; with ``wait``, once /health says it consumes its queue."""
        gw = self._gateways(config_path) if wait else GatewayProcess(config_path).start(wait=False)
        self.started.append(gw)
        return gw

    def channel(self):
        connection = pika.BlockingConnection(self.params)
        return connection, connection.channel()

    def depth(self, queue: str) -> int:
        connection, channel = self.channel()
        try:
            return channel.queue_declare(queue, passive=True).method.message_count
        finally:
            connection.close()

    def cleanup(self) -> None:
        for gw in self.started:  # first, or they would declare everything again
            gw.stop()
        wait_for(lambda: broker_ready(self.params), timeout=60, interval=0.2,
                 message=f"RabbitMQ on 127.0.0.1:{self.port}")
        connection, channel = self.channel()
        try:
            for queue in self.queues:
                channel.queue_delete(queue)
            channel.exchange_delete(self.exchange)
        finally:
            connection.close()


@pytest.fixture
def rabbit(gateways):
    if not broker_ready():
        pytest.fail("RabbitMQ is not running on 127.0.0.1:5672 (guest/guest): `.ci/run` starts it")
    r = Rabbit(gateways)
    yield r
    r.cleanup()


@pytest.fixture
def private_rabbit(gateways, rabbitmq_node):
    """Like ``rabbit``, on the private node this run started: the one a test may stop."""
    r = Rabbit(gateways, rabbitmq_node.port)
    r.node = rabbitmq_node
    yield r
    r.cleanup()


def env_for(config_path) -> dict:
    return {"TELEGRAPHY_CONFIG": str(config_path), "TELEGRAPHY_SECRET": SECRET}


def publish(config_path, topic: str, numbers) -> None:
    """Publish ``{"n": i}`` for each number from a separate web-app process."""
    code = f"import telegraphy\nfor i in {list(numbers)!r}:\n    telegraphy.publish({topic!r}, {{'n': i}})\n"
    result = run_python(code, env=env_for(config_path))
    assert result.returncode == 0, result.stderr


def numbers(client) -> list[int]:
    return [e["envelope"]["data"]["n"] for e in client.events]


def health(gw) -> tuple[int, dict]:
    status, body = gw.get("/health")
    return status, json.loads(body)


def serving(gw) -> bool:
    """The gateway answers HTTP (healthy or not)."""
    try:
        gw.get("/health")
        return True
    except OSError:
        return False


def test_the_one_private_pika_api_the_proxy_uses_is_still_there():
    """pipelining_channel reads pika's BlockingChannel._impl (see its docstring for why): if a pika release
    renames it or changes the calls made on it, this fails here, naming what changed."""
    connection = pika.BlockingConnection(BROKER)
    try:
        channel = pipelining_channel(connection.channel())
        assert isinstance(channel, pika.channel.Channel)
        positional = {"basic_publish": ["exchange", "routing_key", "body", "properties", "mandatory"],
                      "add_on_return_callback": ["callback"]}
        keywords = {"confirm_delivery": ["ack_nack_callback", "callback"], "basic_qos": ["prefetch_count", "callback"]}
        for method, parameters in {**positional, **keywords}.items():
            signature = inspect.signature(getattr(channel, method))
            names = list(signature.parameters)
            fits = names[:len(parameters)] == parameters if method in positional else set(parameters) <= set(names)
            assert fits, f"pika.channel.Channel.{method}{signature} no longer takes {parameters}"
    finally:
        connection.close()


@pytest.mark.parametrize("exchange_type, confirm", [("fanout", True), ("topic", False)])
def test_an_event_published_in_another_process_reaches_a_wamp_client(rabbit, config_file, wamp, exchange_type,
                                                                      confirm):
    config = config_file(transport="rabbitmq", options=rabbit.options(exchange_type=exchange_type, confirm=confirm))
    gw = rabbit.gateway(config)
    client = wamp(gw.url)
    client.subscribe("shop.Order")
    # A queue of our own on the same exchange shows what the proxy really puts on the wire.
    side = rabbit.queue("-side")
    connection, channel = rabbit.channel()
    channel.queue_declare(side)
    channel.queue_bind(side, rabbit.exchange, routing_key="#" if exchange_type == "topic" else "")
    connection.close()

    publish(config, "shop.Order", [1, 2, 3])

    events = client.wait_events(3)
    assert numbers(client) == [1, 2, 3]
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert events[0]["envelope"]["name"] == "shop.Order"
    connection, channel = rabbit.channel()
    method, properties, body = channel.basic_get(side, auto_ack=True)
    connection.close()
    assert method.routing_key == "shop.Order"
    assert properties.delivery_mode == 2 and properties.content_type == "application/json"
    assert json.loads(body)["data"] == {"n": 1}
    status, body = health(gw)
    assert status == 200
    assert body["transport"]["state"] == "running" and body["transport"]["received"] == 3
    assert body["transport"]["queue"].startswith("amq.gen-")  # no queue configured: a server-named one


def test_two_gateways_on_one_exchange_each_deliver_every_event(rabbit, config_file, wamp):
    configs = [config_file(transport="rabbitmq", options=rabbit.options(), name=f"gateway{i}.yaml")
               for i in (1, 2)]
    clients = []
    for config in configs:
        gw = rabbit.gateway(config)
        clients.append(wamp(gw.url))
        clients[-1].subscribe("chat.Message")

    publish(configs[0], "chat.Message", range(20))

    for client in clients:
        client.wait_events(20)
        assert numbers(client) == list(range(20))


PUBLISHER = """
import sys, threading, time
import telegraphy

stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
sent = failures = 0
deadline = time.monotonic() + 90
while not stop.is_set() and time.monotonic() < deadline:
    try:
        telegraphy.publish({topic!r}, {{"n": sent}})
    except telegraphy.PublishError as exc:  # GatewayUnavailable while the broker is away: the app retries
        failures += 1
        print("failed", sent, type(exc).__name__, exc, flush=True)
        time.sleep(0.05)  # the web app's retry pace
        continue
    print("sent", sent, flush=True)
    sent += 1
    time.sleep(0.005)  # a steady stream rather than a flood
print("done", sent, failures, flush=True)
"""


class Publisher:
    """A web-app process publishing numbered events until told to stop; its output is read as it comes."""

    def __init__(self, config_path, topic: str) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen([sys.executable, "-c", PUBLISHER.format(topic=topic)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**__import__("os").environ, **env_for(config_path)})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def count(self, word: str) -> int:
        return sum(1 for line in list(self.lines) if line.startswith(word + " "))

    def stop(self) -> tuple[int, int]:
        """Stop it; returns (events published, publish calls that failed)."""
        if self.proc.poll() is None:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.flush()
        self.proc.wait(30)
        done = wait_for(lambda: [line for line in self.lines if line.startswith("done ")], timeout=10,
                        message="the publisher's summary")
        _, sent, failures = done[0].split()
        return int(sent), int(failures)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_broker_restart_mid_stream_loses_nothing_with_a_named_queue_and_confirms(private_rabbit, config_file, wamp):
    """At-least-once: with confirms and a durable named queue every published event reaches the
    client; the only duplicates are those at-least-once allows (events in flight when the broker went
    away: unacknowledged deliveries, at most ``prefetch``, plus a resent publish). Neither the web app
    nor the gateway is restarted. The broker restarted is a private node (``rabbitmqctl -n``)."""
    rabbit = private_rabbit
    prefetch = 20
    config = config_file(transport="rabbitmq", options=rabbit.options(queue=rabbit.queue(), confirm=True,
                                                                      prefetch=prefetch))
    gw = rabbit.gateway(config)
    client = wamp(gw.url)
    client.subscribe("stream.Tick")
    publisher = Publisher(config, "stream.Tick")
    try:
        client.wait_events(30, timeout=20)
        try:
            rabbit.node.ctl("stop_app")
            wait_for(lambda: publisher.count("failed") > 0, timeout=20, message="the web app to see the broker go")
            wait_for(lambda: health(gw)[0] == 503, timeout=20, message="/health to report the lost broker")
            assert health(gw)[1]["transport"]["state"] == "reconnecting"
        finally:
            rabbit.node.ctl("start_app")
        wait_for(lambda: broker_ready(rabbit.params), timeout=60, interval=0.2, message="RabbitMQ to come back")
        after_restart = publisher.count("sent")
        wait_for(lambda: publisher.count("sent") >= after_restart + 30, timeout=30,
                 message="the web app to publish again without a restart")
        wait_for(gw.healthy, timeout=30, message="the gateway to consume again without a restart")
        sent, failures = publisher.stop()
    finally:
        publisher.kill()

    assert failures > 0 and publisher.proc.returncode == 0
    wait_for(lambda: set(numbers(client)) >= set(range(sent)), timeout=30,
             message=f"all {sent} events at the client (missing: {sorted(set(range(sent)) - set(numbers(client)))})")
    received = numbers(client)
    assert set(received) <= set(range(sent + 1))  # the last call may have been taken, then reported failed
    counts = collections.Counter(received)
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= prefetch + 2, f"{duplicates} duplicates: more than the events in flight at the restart"
    first_seen = list(dict.fromkeys(received))
    assert first_seen == sorted(first_seen)  # one publisher, one queue: in order, redeliveries aside
    status, body = health(gw)
    assert status == 200 and body["transport"]["reconnects"] == 1
    assert gw.proc.poll() is None
    metrics = gw.metrics()
    assert 'telegraphy_transport_up{transport="rabbitmq"} 1' in metrics
    assert 'telegraphy_transport_reconnects{transport="rabbitmq"} 1' in metrics


def test_events_published_while_the_gateway_is_down_reach_its_clients_after_it_is_back(rabbit, config_file, wamp):
    queue = rabbit.queue()
    config = config_file(transport="rabbitmq", options=rabbit.options(queue=queue))
    gw = rabbit.gateway(config)
    before = wamp(gw.url)
    before.subscribe("shop.Order")
    publish(config, "shop.Order", range(5))
    last = before.wait_events(5)[-1]
    before.close()
    assert gw.stop() == 0  # SIGTERM: a clean stop

    publish(config, "shop.Order", range(5, 10))
    assert rabbit.depth(queue) == 5  # kept by the broker for the gateway that is away

    gw = rabbit.gateway(config)
    after = wamp(gw.url)
    # What a browser does when it comes back: subscribe again from where it was.
    after.subscribe("shop.Order", since={"epoch": last["epoch"], "seq": last["seq"]})
    after.wait_events(5)
    assert numbers(after) == [5, 6, 7, 8, 9]
    assert rabbit.depth(queue) == 0


def test_a_web_app_that_exits_without_closing_loses_nothing_even_without_confirms(rabbit, config_file):
    """RabbitMQ drops publishes it has read but not yet routed when a connection just ends, as it does
    when a process exits; the proxy closes its connections politely at exit."""
    queue = rabbit.queue()
    connection, channel = rabbit.channel()
    channel.exchange_declare(rabbit.exchange, "fanout", durable=True)
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, rabbit.exchange)
    connection.close()
    config = config_file(transport="rabbitmq", options=rabbit.options(confirm=False))
    result = run_python("import telegraphy\n"
                        "events = [telegraphy.Event.create('shop.Order', {'n': i}) for i in range(20000)]\n"
                        "for k in range(0, 20000, 200):\n"
                        "    telegraphy.publish_many(events[k:k + 200])\n", env=env_for(config))
    assert result.returncode == 0, result.stderr
    wait_for(lambda: rabbit.depth(queue) == 20000, timeout=20,
             message="all 20000 events in the queue (some were lost if this times out)")


def test_a_malformed_message_is_acknowledged_and_counted_not_redelivered(rabbit, config_file, wamp):
    queue = rabbit.queue()
    config = config_file(transport="rabbitmq", options=rabbit.options(queue=queue))
    gw = rabbit.gateway(config)
    client = wamp(gw.url)
    client.subscribe("shop.Order")
    connection, channel = rabbit.channel()
    channel.basic_publish(rabbit.exchange, "", b"not json", pika.BasicProperties(delivery_mode=2))
    connection.close()
    publish(config, "shop.Order", [1])

    client.wait_events(1)
    wait_for(lambda: health(gw)[1]["transport"]["rejected"] == 1, message="the malformed message to be counted")
    assert rabbit.depth(queue) == 0
    assert health(gw)[1]["transport"]["redelivered"] == 0
    assert numbers(client) == [1]


def test_a_second_gateway_on_the_same_named_queue_is_refused_not_sharing_events(rabbit, config_file):
    queue = rabbit.queue()
    first = rabbit.gateway(config_file(transport="rabbitmq", options=rabbit.options(queue=queue), name="a.yaml"))
    second = rabbit.gateway(config_file(transport="rabbitmq", options=rabbit.options(queue=queue), name="b.yaml"),
                            wait=False)
    wait_for(lambda: serving(second) and "ACCESS_REFUSED" in second.log(), timeout=20,
             message="the exclusive consumer to refuse it")
    status, body = health(second)
    assert status == 503 and body["transport"]["state"] == "connecting"
    assert first.healthy()


@pytest.fixture(params=["refused", "silent"])
def dead_port(request):
    """A port where no broker answers: nothing listens ("refused"), or something accepts TCP
    connections (the kernel does it for a listening socket) and never says a word ("silent")."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if request.param == "refused":
        sock.close()
    else:
        sock.listen(16)
    yield port
    sock.close()


def test_an_unreachable_broker_is_a_clear_bounded_error_never_a_hang(rabbit, config_file, dead_port):
    options = rabbit.options(url=f"amqp://guest:s3cret-pw@127.0.0.1:{dead_port}/%2F", timeout=1)
    config = config_file(transport="rabbitmq", options=options)
    result = run_python("import time, telegraphy\n"
                        "start = time.monotonic()\n"
                        "try:\n"
                        "    telegraphy.publish('shop.Order', {'id': 1})\n"
                        "except telegraphy.GatewayUnavailable as exc:\n"
                        "    print(round(time.monotonic() - start, 1), exc)\n", env=env_for(config), timeout=60)
    assert result.returncode == 0, result.stderr
    elapsed, message = result.stdout.split(" ", 1)
    assert f"127.0.0.1:{dead_port}" in message and "s3cret-pw" not in message
    assert float(elapsed) < 15  # bounded by the 1 s timeout; generous for a loaded machine

    gw = rabbit.gateway(config, wait=False)
    wait_for(lambda: serving(gw), timeout=20, message="the gateway to serve /health")
    status, body = health(gw)
    assert status == 503 and body["transport"]["state"] == "connecting"
    assert 'telegraphy_transport_up{transport="rabbitmq"} 0' in gw.metrics()
    wait_for(lambda: "attempt 3" in gw.log(), timeout=20, message="the gateway to retry")
    assert gw.stop() == 0  # stopping while it retries is clean
    assert "s3cret-pw" not in gw.log()


def test_confirmed_events_that_reach_no_queue_are_an_error(rabbit, config_file):
    config = config_file(transport="rabbitmq", options=rabbit.options(confirm=True))  # no gateway runs
    result = run_python("import telegraphy\n"
                        "try:\n"
                        "    telegraphy.publish('shop.Order', {'id': 1})\n"
                        "except telegraphy.PublishError as exc:\n"
                        "    print(type(exc).__name__, exc)\n", env=env_for(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("PublishError") and "reached no queue" in result.stdout


# Stands in for an uninstalled package: pika really is installed here, so this finder takes the place of
# every other one on sys.meta_path, answers None for pika (find_spec returns None, imports fail) and asks
# the others for everything else.
HIDE_PIKA = """
import importlib.util, sys

class WithoutPika:
    def __init__(self, finders):
        self.finders = finders

    def find_spec(self, name, path=None, target=None):
        if name == "pika" or name.startswith("pika."):
            return None
        for finder in self.finders:
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                return spec
        return None

    def find_distributions(self, *args, **kwargs):  # importlib.metadata asks finders for these
        for finder in self.finders:
            yield from getattr(finder, "find_distributions", lambda *a, **k: ())(*args, **kwargs)

    def invalidate_caches(self):
        for finder in self.finders:
            getattr(finder, "invalidate_caches", lambda: None)()

sys.meta_path[:] = [WithoutPika(list(sys.meta_path))]
assert importlib.util.find_spec("pika") is None
try:
    import pika
    raise SystemExit("pika should not import")
except ImportError:
    pass
"""


def test_without_pika_selecting_rabbitmq_fails_validation_with_how_to_install_it(rabbit, config_file):
    """Validation itself says pika is missing (``telegraphy check`` used to print valid and the gateway then
    refused to start), and still checks the options, which need no pika."""
    config = config_file(transport="rabbitmq", options=rabbit.options(exchange="amq.mine"))
    code = HIDE_PIKA + f"""
import telegraphy
from telegraphy import plugins
try:
    telegraphy.configure({str(config)!r})
except telegraphy.ConfigError as exc:
    for problem in exc.problems:
        print("config:", problem.key, problem.reason)
try:
    plugins.load_transport("rabbitmq").proxy(None)
except telegraphy.MissingDependency as exc:
    print("proxy:", exc)
print("listing:", [row["status"] for row in plugins.describe() if row["name"] == "rabbitmq"][0])
from telegraphy.cli import main as telegraphy_main
print("check exit:", telegraphy_main(["check", "--config", {str(config)!r}]))
from telegraphy.gateway.cli import main
print("gateway exit:", main(["--config", {str(config)!r}]))
assert "pika" not in sys.modules
"""
    result = run_python(code, env=env_for(config))
    assert result.returncode == 0, result.stdout + result.stderr
    problems = [line.split(" ", 2)[1:] for line in result.stdout.splitlines() if line.startswith("config: ")]
    assert [key for key, _ in problems] == ["transport.name", "transport.options.exchange"], result.stdout
    assert "pip install telegraphy[rabbitmq]" in problems[0][1] and "reserved" in problems[1][1]
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert "pip install telegraphy[rabbitmq]" in lines["proxy"]
    assert "pip install telegraphy[rabbitmq]" in lines["listing"]
    assert lines["check exit"] == "2" and lines["gateway exit"] == "2"
    assert ": valid" not in result.stderr  # what check prints for a good file
    assert result.stderr.count("pip install telegraphy[rabbitmq]") == 2  # check, then the gateway


class TlsListener:
    """Stands in for a TLS listener of RabbitMQ (the shared broker here has none, and its config is not
    ours to change): terminates TLS on a loopback port and relays the bytes to the broker's plain port."""

    def __init__(self, cert: str, key: str) -> None:
        import ssl

        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client) -> None:
        try:
            tls = self.context.wrap_socket(client, server_side=True)
        except OSError:
            client.close()
            return
        self.handshakes += 1
        broker = socket.create_connection(("127.0.0.1", 5672))
        threading.Thread(target=self._pump, args=(broker, tls), daemon=True).start()
        self._pump(tls, broker)

    @staticmethod
    def _pump(source, target) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def tls_listener(tmp_path):
    cert, key = str(tmp_path / "broker.pem"), str(tmp_path / "broker.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    listener = TlsListener(cert, key)
    listener.cert = cert
    yield listener
    listener.close()


def test_amqps_with_a_private_ca(rabbit, config_file, wamp, tls_listener):
    options = rabbit.options(url=f"amqps://guest:guest@localhost:{tls_listener.port}/%2F",
                             tls={"ca_file": tls_listener.cert})
    config = config_file(transport="rabbitmq", options=options)
    try:
        import OpenSSL  # noqa: F401 - Twisted's TLS needs it, and the rabbitmq extra does not bring it
    except ImportError:
        gw = rabbit.gateway(config, wait=False)
        assert gw.proc.wait(30) == 2
        assert "pip install 'twisted[tls]'" in gw.log()
        connection, channel = rabbit.channel()  # a queue of our own stands in for the gateway's
        side = rabbit.queue()
        channel.exchange_declare(rabbit.exchange, "fanout", durable=True)
        channel.queue_declare(side)
        channel.queue_bind(side, rabbit.exchange)
        connection.close()
        publish(config, "shop.Order", [1, 2])
        assert rabbit.depth(side) == 2
    else:
        gw = rabbit.gateway(config)
        client = wamp(gw.url)
        client.subscribe("shop.Order")
        publish(config, "shop.Order", [1, 2])
        client.wait_events(2)
        assert numbers(client) == [1, 2]
    assert tls_listener.handshakes >= 1

    # The same broker with verification on and no CA for its certificate: refused, and said so.
    config = config_file(transport="rabbitmq", options={**options, "tls": {"verify": True}}, name="untrusted.yaml")
    result = run_python("import telegraphy\n"
                        "try:\n"
                        "    telegraphy.publish('shop.Order', {'n': 3})\n"
                        "except telegraphy.GatewayUnavailable as exc:\n"
                        "    print(exc)\n", env=env_for(config))
    assert f"localhost:{tls_listener.port}" in result.stdout and "CERTIFICATE_VERIFY_FAILED" in result.stdout
