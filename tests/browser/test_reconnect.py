"""The page keeps its events when the network drops or the gateway is killed and restarted: it
reconnects by itself, resumes its session or starts a new one, and misses nothing, in order, once."""

from __future__ import annotations

import time
import uuid

import pytest
from browser_support import EVENTS, HELLO, SUBSCRIBE, Relay, event, publish, subscribed
from playwright.sync_api import expect

MODEL = "telegraphy_demo.MyModel"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@pytest.fixture
def rabbitmq_config(config_file, gateways, site):
    """A config on the RabbitMQ transport with this test's own durable queue, which keeps the events
    while no gateway consumes it; the exchange and queue are deleted after the gateways stopped."""
    pika = pytest.importorskip("pika")
    params = pika.URLParameters(AMQP_URL)
    try:
        pika.BlockingConnection(params).close()
    except pika.exceptions.AMQPError:
        pytest.fail("RabbitMQ is not running on 127.0.0.1:5672 (guest/guest): `.ci/run` starts it")
    name = f"telegraphy-browser-{uuid.uuid4().hex[:12]}"
    path = config_file(transport="rabbitmq", events=EVENTS, gateway={"allowed_origins": [site.origin]},
                       options={"url": AMQP_URL, "exchange": name, "queue": name, "confirm": True,
                                "reconnect_delay": 0.1, "reconnect_max_delay": 1.0})
    site.use_config(path)
    started = []
    yield path, lambda: started.append(gateways(path)) or started[-1]
    for gw in started:  # first, or a running gateway would declare the queue again
        gw.stop()
    connection = pika.BlockingConnection(params)
    try:
        connection.channel().queue_delete(name)
        connection.channel().exchange_delete(name)
    finally:
        connection.close()


def shown(page, *texts: str) -> None:
    expect(page.locator("#event_catcher li")).to_have_text(list(texts))


def connection_log(page) -> list[str]:
    return page.locator("#log li").all_inner_texts()


def test_page_resumes_its_session_after_a_network_drop(gateway, site, page):
    relay = Relay(page, gateway.url)
    page.goto(site.url("demo.html", url=gateway.url, token_url="/token?user=alice", max_retry_delay="1000"))
    subscribed(page)
    publish(gateway.config_path, event(MODEL, "1"))
    shown(page, "1")

    relay.hold = lambda message: message[0] == HELLO  # the page comes back, but not yet
    relay.cut()
    expect(page.locator("#status")).to_have_text("disconnected")
    relay.wait_held(1, "the page to reconnect")
    publish(gateway.config_path, event(MODEL, "2"), event(MODEL, "3"))
    relay.release()
    shown(page, "1", "2", "3")
    publish(gateway.config_path, event(MODEL, "4"))
    shown(page, "1", "2", "3", "4")
    assert connection_log(page) == ["connect", "disconnect", "connect", "resume resumed=true recovered=true gaps="]
    assert site.tokens_minted == ["alice", "alice"]  # the first token was spent: a fresh one for the resume


def test_events_published_while_the_gateway_is_down_are_shown_after_it_restarts(rabbitmq_config, site, page,
                                                                                 artifacts):
    path, start_gateway = rabbitmq_config
    gateway = start_gateway()
    page.goto(site.url("demo.html", url=gateway.url, token_url="/token?user=alice", max_retry_delay="1000"))
    subscribed(page)
    publish(path, event(MODEL, "1"), event(MODEL, "2"))
    shown(page, "1", "2")

    gateway.kill()
    expect(page.locator("#status")).to_have_text("disconnected")
    publish(path, event(MODEL, "3"), event(MODEL, "4"), event(MODEL, "5"))  # they wait in the durable queue
    start_gateway()  # same port, a new epoch: it takes the queued events into its history
    shown(page, "1", "2", "3", "4", "5")
    publish(path, event(MODEL, "6"))
    shown(page, "1", "2", "3", "4", "5", "6")
    assert [e["data"]["text"] for e in page.evaluate("window.received")] == ["1", "2", "3", "4", "5", "6"]
    log = connection_log(page)
    assert log[:2] == ["connect", "disconnect"] and log[-2:] == ["connect", "resume resumed=false recovered=true gaps="]
    page.screenshot(path=artifacts / "browser-demo-gateway-restarted.png", full_page=True)


def test_events_published_between_reconnect_and_resubscribe_are_not_lost(gateway, gateways, site, page):
    relay = Relay(page, gateway.url)
    page.goto(site.url("demo.html", url=gateway.url, token_url="/token?user=alice", max_retry_delay="1000"))
    subscribed(page)
    publish(gateway.config_path, event(MODEL, "1"), event(MODEL, "2"))
    shown(page, "1", "2")

    relay.hold = lambda message: message[0] == SUBSCRIBE
    gateway.kill()
    expect(page.locator("#status")).to_have_text("disconnected")
    restarted = gateways(gateway.config_path)  # same port, a new epoch, no session to resume
    relay.wait_held(3, "the page to reconnect and resubscribe")
    publish(gateway.config_path, event(MODEL, "3"), event(MODEL, "4"),  # received, not yet subscribed
            event("chat.Message", "first in the lobby", room="lobby"))  # a topic the page had seen nothing of
    relay.release()
    shown(page, "1", "2", "3", "4")
    expect(page.locator("#lobby li")).to_have_text(["first in the lobby"])
    publish(gateway.config_path, event(MODEL, "5"))
    shown(page, "1", "2", "3", "4", "5")

    log = connection_log(page)
    assert log == ["connect", "disconnect", "error telegraphy.error.no_such_session", "connect",
                   "resume resumed=false recovered=true gaps="], log
    assert site.tokens_minted == ["alice"] * 3  # first session, refused resume, new session
    assert 'refused_total{reason="token"}' not in restarted.metrics()  # no token was ever sent twice


def test_an_expired_token_is_replaced_by_a_fresh_one_from_the_token_url(gateway, site, page):
    from telegraphy.tokens import mint

    stale = mint(site.auth, user="alice", now=time.time() - 120)  # expired: a page restored from the browser's cache
    page.goto(site.url("demo.html", url=gateway.url, token=stale, token_url="/token?user=alice"))
    subscribed(page)
    publish(gateway.config_path, event("mail.Inbox", "for alice", user="alice"))
    expect(page.locator("#inbox li")).to_have_text(["for alice"])
    assert connection_log(page) == ["error wamp.error.not_authorized", "connect"]
    assert site.tokens_minted == ["alice"]


def test_an_expired_session_comes_back_with_a_fresh_token_and_resumes(gateway, site, page):
    from telegraphy.tokens import mint

    short = mint(site.auth, user="alice", session_ttl=1)  # the gateway ends this session within a second
    page.goto(site.url("demo.html", url=gateway.url, token=short, token_url="/token?user=alice"))
    expect(page.locator("#log li")).to_have_text(["connect", "disconnect", "connect",
                                                  "resume resumed=true recovered=true gaps="])
    subscribed(page)
    publish(gateway.config_path, event("mail.Inbox", "still here", user="alice"))
    expect(page.locator("#inbox li")).to_have_text(["still here"])
    assert site.tokens_minted == ["alice"]
