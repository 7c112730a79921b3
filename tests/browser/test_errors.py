"""What telegraphy.js tells a page when it cannot get a session: a refused or failed WebSocket handshake
(which a browser cannot tell apart, nor show the HTTP status of), and an ABORT with its reason and message."""

from __future__ import annotations

import re

from support import free_port, wait_for

from telegraphy.tokens import mint

LISTEN = """([url, options]) => {
    window.errors = [];
    window.connects = [];
    Telegraphy.on('error', e => errors.push(e));
    Telegraphy.on('connect', e => connects.push(e));
    Telegraphy.configure(Object.assign({url: url, retryDelay: 50, maxRetryDelay: 200}, options));
    Telegraphy.register('shop.Order', () => {});
}"""


def connect_page(page, site, url, **options):
    page.goto(site.url("blank.html"))
    page.evaluate(LISTEN, [url, options])


def test_a_page_whose_origin_is_not_allowed_gets_an_error_naming_the_likely_causes(config_file, gateways, site,
                                                                                     page):
    gw = gateways(config_file(gateway={"allowed_origins": ["http://localhost:8000"]}))
    connect_page(page, site, gw.url)
    page.wait_for_function("errors.length >= 2")  # reported at each attempt, retried with backoff
    first, second = page.evaluate("errors.slice(0, 2)")
    assert first["reason"] == "telegraphy.error.connection_failed"
    assert first["url"] == gw.url and first["origin"] == site.origin and first["code"] == 1006
    assert (first["attempt"], second["attempt"]) == (1, 2)
    message = first["message"]
    assert message.startswith(f"cannot open a WebSocket to {gw.url}: the gateway refused the handshake or could "
                              "not be reached")
    assert f"this page's origin {site.origin} is not in the gateway's allowed_origins (HTTP 403)" in message
    assert "limits.max_connections or shutting down (HTTP 503)" in message
    assert re.search(r'telegraphy_refused_total\{reason="origin"\} [1-9]', gw.metrics())
    assert page.evaluate("connects.length") == 0


def test_a_gateway_at_max_connections_is_reported_and_the_page_connects_once_there_is_room(config_file, gateways,
                                                                                          site, page, wamp):
    gw = gateways(config_file(gateway={"allowed_origins": [site.origin]}, limits={"max_connections": 1}))
    other = wamp(gw.url)  # takes the only connection
    connect_page(page, site, gw.url)
    page.wait_for_function("errors.length >= 1")
    assert page.evaluate("errors[0].reason") == "telegraphy.error.connection_failed"
    assert re.search(r'telegraphy_refused_total\{reason="max_connections"\} [1-9]', gw.metrics())
    other.close()
    page.wait_for_function("connects.length == 1")
    assert page.evaluate("Telegraphy.connected")


def test_a_gateway_that_is_not_running_gets_the_same_report(site, page):
    url = f"ws://127.0.0.1:{free_port()}/ws"  # nothing listens: a browser cannot tell this from a refusal
    connect_page(page, site, url)
    page.wait_for_function("errors.length >= 1")
    error = page.evaluate("errors[0]")
    assert error["reason"] == "telegraphy.error.connection_failed" and error["url"] == url
    assert "the gateway is not running or the url is wrong" in error["message"]


def test_an_abort_is_reported_with_its_reason_uri_and_message(gateway, site, page):
    other_secret = mint(type(site.auth)(("another-secret-0123456789",), 30, 300), user="alice")
    expired = mint(site.auth, user="alice", now=0)
    connect_page(page, site, gateway.url, token=other_secret)
    page.wait_for_function("errors.length >= 1")
    assert page.evaluate("errors[0]") == {"reason": "wamp.error.not_authorized",
                                          "message": "invalid token: invalid token signature"}
    page.evaluate("Telegraphy.disconnect(); errors.length = 0")
    page.evaluate("t => Telegraphy.configure({token: t, realm: 'nope'}).connect()", expired)
    page.wait_for_function("errors.length >= 1")
    assert page.evaluate("errors[0]") == {"reason": "wamp.error.no_such_realm",
                                          "message": "no realm 'nope' here; use 'telegraphy'"}
    page.evaluate("Telegraphy.disconnect(); errors.length = 0")
    page.evaluate("Telegraphy.configure({realm: 'telegraphy'}).connect()")
    page.wait_for_function("errors.length >= 1")
    assert page.evaluate("errors[0]") == {"reason": "wamp.error.not_authorized",
                                          "message": "invalid token: token expired"}


def test_without_an_error_listener_the_reason_goes_to_the_console(config_file, gateways, site, page):
    gw = gateways(config_file(gateway={"allowed_origins": ["http://localhost:8000"]}))
    warnings: list[str] = []
    page.on("console", lambda msg: warnings.append(msg.text) if msg.type == "warning" else None)
    page.goto(site.url("blank.html"))
    page.evaluate("url => { Telegraphy.configure({url: url}); Telegraphy.register('shop.Order', () => {}); }",
                  gw.url)
    wait_for(lambda: page.evaluate("0") == 0 and warnings, message="a console warning")
    assert warnings[0].startswith(f"telegraphy: telegraphy.error.connection_failed: cannot open a WebSocket to "
                                  f"{gw.url}")
