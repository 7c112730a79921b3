"""telegraphy.js in headless Chromium against real gateways: delivery, filters, private events, errors."""

from __future__ import annotations

import re

import pytest
from browser_support import AUTOBAHN_JS, event, publish, settle, subscribed
from playwright.sync_api import expect
from support import wait_for


@pytest.mark.parametrize("served_by", ["web app", "gateway"])
def test_page_shows_an_event_published_by_another_process(gateway, site, page, artifacts, served_by):
    src = "/telegraphy.js" if served_by == "web app" else gateway.http + "/telegraphy.js"
    page.goto(site.url("demo.html", src=src, url=gateway.url))
    expect(page.locator("#status")).to_have_text("connected")
    subs = subscribed(page)
    assert {(s["topic"], s["match"], s["filter"]) for s in subs} == {
        ("telegraphy_demo.MyModel", "exact", None), ("chat.Message", "exact", 'data.room == "lobby"'),
        ("mail.Inbox", "exact", None)}
    publish(gateway.config_path, event("telegraphy_demo.MyModel", "first", event_type="create"),
            event("telegraphy_demo.MyModel", "second", event_type="update"))
    expect(page.locator("#event_catcher li")).to_have_text(["first", "second"])
    received = page.evaluate("window.received")
    assert [e["meta"]["event_type"] for e in received] == ["create", "update"]
    assert received[0]["name"] == "telegraphy_demo.MyModel"
    assert set(received[0]["meta"]) >= {"event_type", "verbose_name", "timestamp", "id", "user"}
    page.screenshot(path=artifacts / f"browser-demo-served-by-{served_by.replace(' ', '-')}.png", full_page=True)


def test_filters_and_private_events(gateway, site, page, browser, artifacts):
    page.goto(site.url("demo.html", url=gateway.url, token_url="/token?user=alice"))
    bob = browser.new_page()
    bob.goto(site.url("demo.html", url=gateway.url, token_url="/token?user=bob"))
    anonymous = browser.new_page()
    anonymous.goto(site.url("demo.html", url=gateway.url))
    for tab in (page, bob, anonymous):
        subscribed(tab)
    publish(gateway.config_path,
            event("chat.Message", "hello lobby", room="lobby"),
            event("chat.Message", "kitchen talk", room="kitchen"),
            event("mail.Inbox", "for bob", user="bob"),
            event("mail.Inbox", "for alice", user="alice"),
            event("chat.Message", "last", room="lobby"))
    for tab in (page, bob, anonymous):
        expect(tab.locator("#lobby li")).to_have_text(["hello lobby", "last"])
    expect(page.locator("#inbox li")).to_have_text(["for alice"])
    expect(bob.locator("#inbox li")).to_have_text(["for bob"])
    expect(anonymous.locator("#inbox li")).to_have_count(0)
    inbox = [e for e in page.evaluate("window.received") if e["name"] == "mail.Inbox"]
    assert [e["meta"]["user"] for e in inbox] == ["alice"]
    assert sorted(site.tokens_minted) == ["alice", "bob"]
    page.screenshot(path=artifacts / "browser-demo-alice.png", full_page=True)
    bob.close()
    anonymous.close()


def test_filters_are_applied_on_the_gateway(gateway, site, page):
    """Data the filter rejects never reaches the browser: the page's meta.room is a data field here."""
    page.goto(site.url("demo.html", url=gateway.url))
    subscribed(page)
    publish(gateway.config_path, {"name": "chat.Message", "data": {"room": "kitchen", "text": "no"}},
            {"name": "chat.Message", "data": {"room": "lobby", "text": "yes"}})
    expect(page.locator("#lobby li")).to_have_text(["yes"])
    assert [e["data"]["text"] for e in page.evaluate("window.received")] == ["yes"]


def test_an_event_delivered_twice_is_shown_once(gateway, site, page):
    """At-least-once transports deliver again after a failure (a retried publish, a redelivery after a
    crash): the gateway numbers each copy, the page recognises the event by its id."""
    page.goto(site.url("demo.html", url=gateway.url))
    subscribed(page)
    again = {"name": "telegraphy_demo.MyModel", "data": {"text": "once"}, "id": "retried-1"}
    publish(gateway.config_path, again, again, event("telegraphy_demo.MyModel", "next"))
    expect(page.locator("#event_catcher li")).to_have_text(["once", "next"])


def test_bad_settings_and_filters_are_reported_and_then_fixed(gateway, site, page):
    page.goto(site.url("blank.html"))
    page.evaluate("""url => {
        window.log = [];
        Telegraphy.on('error', e => log.push(e.reason + ': ' + e.message));
        Telegraphy.on('connect', () => log.push('connect'));
        Telegraphy.configure({url: url, realm: 'no-such-realm', retryDelay: 50, maxRetryDelay: 200});
        Telegraphy.register('chat.Message', () => {}, {filter: 'data.room =='});
    }""", gateway.url)
    page.wait_for_function("log.some(l => l.startsWith('wamp.error.no_such_realm'))")
    page.evaluate("Telegraphy.configure({realm: 'telegraphy'})")
    page.wait_for_function("log.some(l => l.startsWith('telegraphy.error.invalid_filter'))")
    log = page.evaluate("log")
    assert "connect" in log
    with pytest.raises(Exception, match="match must be one of"):
        page.evaluate("Telegraphy.register('x', () => {}, {match: 'regex'})")
    assert settle(page, "Telegraphy.call('telegraphy.subscriptions')") == []
    error = settle(page, "Telegraphy.call('telegraphy.get_token', ['wrong']).catch(e => e.uri + ': ' + e.message)")
    assert error.startswith("wamp.error.no_such_procedure: ")  # tokens come from the web app, never the gateway


def test_the_same_page_written_with_autobahnjs_receives_through_the_gateway(gateway, site, page):
    from telegraphy.tokens import mint

    if not AUTOBAHN_JS.exists():
        pytest.fail("AutobahnJS is not installed: run `npm install --prefix tests/js`")
    token = mint(site.auth, user="alice")  # AutobahnJS authenticates with ticket, as telegraphy.js does
    page.goto(site.url("autobahn.html", url=gateway.url, token=token))
    expect(page.locator("#status")).to_have_text("subscribed")
    publish(gateway.config_path, event("telegraphy_demo.MyModel", "from python"),
            event("shop.Order", "order 1"), event("shop.Invoice", "invoice 1"), event("other.Thing", "no"),
            event("chat.Message", "kitchen", room="kitchen"), event("chat.Message", "lobby", room="lobby"))
    expect(page.locator("#event_catcher li")).to_have_text(["from python"])
    expect(page.locator("#shop li")).to_have_text(["order 1", "invoice 1"])
    expect(page.locator("#lobby li")).to_have_text(["lobby"])  # Telegraphy's filter option passes through


def test_registrations_share_a_subscription_until_unregistered(gateway, site, page):
    page.goto(site.url("blank.html"))
    page.evaluate("""url => {
        window.got = [];
        Telegraphy.configure({url: url});
        window.a = Telegraphy.register('shop.Order', e => got.push('a ' + e.data.text));
        window.b = Telegraphy.register('shop.Order', e => got.push('b ' + e.data.text));
    }""", gateway.url)
    subscribed(page, count=1)  # one subscription for both callbacks
    publish(gateway.config_path, event("shop.Order", "1"))
    page.wait_for_function("got.length == 2")
    assert page.evaluate("a.unregister()") == 1
    publish(gateway.config_path, event("shop.Order", "2"))
    page.wait_for_function("got.includes('b 2')")
    assert page.evaluate("Telegraphy.unregister('shop.Order')") == 1
    subscribed(page, count=0)

    page.evaluate("Telegraphy.disconnect()")
    page.wait_for_function("!Telegraphy.connected")
    page.evaluate("Telegraphy.register('shop.', e => got.push('c ' + e.data.text), {match: 'prefix'})")
    page.evaluate("Telegraphy.connect()")
    subscribed(page, count=1)
    publish(gateway.config_path, event("shop.Order", "3"))
    page.wait_for_function("got.includes('c 3')")
    assert page.evaluate("got") == ["a 1", "b 1", "b 2", "c 3"]


def test_a_page_from_an_origin_not_allowed_cannot_open_a_session(config_file, gateways, site, page):
    gw = gateways(config_file(gateway={"allowed_origins": ["https://app.example.com"]}))
    page.goto(site.url("demo.html", url=gw.url))
    # the page keeps trying with backoff: wait for two refused handshakes
    wait_for(lambda: re.search(r'telegraphy_refused_total\{reason="origin"\} [2-9]', gw.metrics()),
             message="the gateway to refuse the page's origin twice")
    assert "telegraphy_sessions_total 0" in gw.metrics()
    expect(page.locator("#status")).to_have_text("connecting")
