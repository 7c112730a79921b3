"""A third WAMP v2 client library, wampy (npm "wampy", in Node), against a real gateway: ticket
authentication, exact, prefix and wildcard subscriptions, events published by a separate web-app process,
a call to telegraphy.subscriptions, and Telegraphy's options in the underscore form wampy sends."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from support import run_python, wait_for

from telegraphy import config as config_module
from telegraphy.tokens import mint

SCRIPT = Path(__file__).resolve().parents[1] / "js" / "wampy_subscriber.mjs"
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


class Wampy:
    """The wampy subscriber script as a subprocess; its JSON lines are collected by a reader thread."""

    def __init__(self, gateway, count: int, subscriptions: list[dict]) -> None:
        assert (SCRIPT.parent / "node_modules" / "wampy").is_dir(), "run `make install-test` (npm install in tests/js)"
        token = mint(config_module.load(gateway.config_path).auth, user="wampy-user")
        self.proc = subprocess.Popen(["node", str(SCRIPT), gateway.url, token, str(count), json.dumps(subscriptions)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[dict] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    def ready(self) -> dict:
        wait_for(lambda: self.lines or self.proc.poll() is not None, timeout=30, message="wampy to subscribe")
        assert self.lines and self.lines[0].get("ready"), self.proc.stderr.read()
        return self.lines[0]

    def events(self) -> list[dict]:
        """Every event, once the script received its count and left."""
        _, err = self.proc.communicate(timeout=30)
        self.reader.join(5)
        assert self.proc.returncode == 0, err
        return [line for line in self.lines if "envelope" in line]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def wampy():
    started: list[Wampy] = []

    def start(gateway, count: int, subscriptions: list[dict]) -> Wampy:
        client = Wampy(gateway, count, subscriptions)
        started.append(client)
        return client
    yield start
    for client in started:
        client.kill()


def publish(gateway, *events: dict) -> None:
    """Publish from a separate web-app process, in this order."""
    code = f"import json, telegraphy\ntelegraphy.publish_many(json.loads({json.dumps(list(events))!r}))\n"
    result = run_python(code, env={"TELEGRAPHY_CONFIG": str(gateway.config_path)})
    assert result.returncode == 0, result.stderr


def test_wampy_subscribes_exactly_by_prefix_and_wildcard_and_calls_a_procedure(gateway, wampy):
    # wampy refuses a topic ending with a dot ("shop."), so its prefix is "shop": a plain string prefix, as in
    # WAMP, which also matches shopping.Cart
    client = wampy(gateway, 9, [{"topic": "shop.Order", "match": "exact"}, {"topic": "shop", "match": "prefix"},
                                {"topic": "shop..Order", "match": "wildcard"}])
    ready = client.ready()
    assert ready["authid"] == "wampy-user"
    assert sorted((s["topic"], s["match"], s["filter"]) for s in ready["subscriptions"]) == [
        ("shop", "prefix", None), ("shop..Order", "wildcard", None), ("shop.Order", "exact", None)]
    publish(gateway, {"name": "shop.Order", "data": {"id": 1}, "event_type": "create"},
            {"name": "shop.eu.Order", "data": {"id": 2}}, {"name": "shopping.Cart", "data": {"id": 3}},
            {"name": "other.Thing", "data": {"id": 4}},
            # last, so that an event delivered wrongly above would push one of these out of the count
            {"name": "shop.Order", "data": {"id": "end"}}, {"name": "shop.end.Order", "data": {"id": "end"}})
    events = client.events()
    got = sorted(((e["sub"], e["topic"], e["envelope"]["data"]["id"]) for e in events), key=str)
    assert got == sorted([(0, "shop.Order", 1), (1, "shop.Order", 1), (1, "shop.eu.Order", 2),
                          (1, "shopping.Cart", 3), (2, "shop.eu.Order", 2),
                          (0, "shop.Order", "end"), (1, "shop.Order", "end"), (1, "shop.end.Order", "end"),
                          (2, "shop.end.Order", "end")], key=str)
    order = next(e for e in events if e["sub"] == 0)
    assert order["envelope"]["data"] == {"id": 1} and order["envelope"]["meta"]["event_type"] == "create"
    assert isinstance(order["seq"], int)


def test_wampy_sends_the_filter_as_an_underscore_option_and_the_gateway_applies_it(gateway, wampy):
    # wampy drops unknown SUBSCRIBE options but passes custom ones (WAMP's "_name" form): `_filter`
    client = wampy(gateway, 2, [{"topic": "chat.Message", "match": "exact",
                                 "options": {"_filter": 'data.room == "lobby"'}}])
    (subscription,) = client.ready()["subscriptions"]
    assert subscription["filter"] == 'data.room == "lobby"'
    publish(gateway, {"name": "chat.Message", "data": {"room": "kitchen", "text": "no"}},
            {"name": "chat.Message", "data": {"room": "lobby", "text": "yes"}},
            {"name": "chat.Message", "data": {"room": "lobby", "text": "again"}})
    assert [e["envelope"]["data"]["text"] for e in client.events()] == ["yes", "again"]
