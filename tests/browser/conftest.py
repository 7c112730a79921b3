"""Browser fixtures: Debian's headless Chromium driven by Playwright, and a small site serving the test pages.

The site stands in for the web app: it renders the pages in ``pages/`` (``{{name}}`` from the query
string, HTML-escaped), serves telegraphy.js and AutobahnJS, and mints tokens at ``/token?user=...``
with the shared secret of the config in use, as a Django or Flask view would.
"""

from __future__ import annotations

import html
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from browser_support import AUTOBAHN_JS, CLIENT_JS, EVENTS

playwright_api = pytest.importorskip("playwright.sync_api")
playwright_api.expect.set_options(timeout=20_000)  # generous: two cores shared with other test runs

PAGES = Path(__file__).resolve().parent / "pages"
FILES = {"/telegraphy.js": CLIENT_JS, "/autobahn.min.js": AUTOBAHN_JS}
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
DEFAULTS = {"src": "/telegraphy.js"}


class Site(ThreadingHTTPServer):
    """The test web app on a free loopback port."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.origin = f"http://127.0.0.1:{self.server_address[1]}"
        self.auth = None  # AuthConfig used to mint tokens (use_config)
        self.tokens_minted: list[str] = []  # user of each token handed out

    def use_config(self, config_path) -> None:
        from telegraphy import config

        self.auth = config.load(config_path).auth
        self.tokens_minted.clear()

    def url(self, page: str, **params) -> str:
        return f"{self.origin}/{page}?{urlencode({k: v for k, v in params.items() if v is not None})}"


class _Handler(BaseHTTPRequestHandler):
    server: Site

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/token":
            return self._token(query.get("user"))
        if url.path in FILES:
            return self._send(200, "application/javascript", FILES[url.path].read_bytes())
        page = PAGES / url.path.lstrip("/")
        if url.path.endswith(".html") and page.parent == PAGES and page.is_file():
            params = {**DEFAULTS, **query}
            body = _PLACEHOLDER.sub(lambda m: html.escape(params.get(m.group(1), "")), page.read_text())
            return self._send(200, "text/html; charset=utf-8", body.encode())
        self._send(404, "text/plain", b"not found")

    def _token(self, user: str | None) -> None:
        from telegraphy.tokens import mint

        if self.server.auth is None:
            return self._send(503, "text/plain", b"no config: call site.use_config(path)")
        self.server.tokens_minted.append(user)
        self._send(200, "application/json", json.dumps({"token": mint(self.server.auth, user=user)}).encode())

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="session")
def site():
    server = Site()
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="test-site")
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def gateway(config_file, gateways, site):
    """A gateway on XML-RPC that accepts the test site's origin, with private mail.* events and
    history everywhere; the site mints tokens for it."""
    path = config_file(events=EVENTS, gateway={"allowed_origins": [site.origin]})
    site.use_config(path)
    gw = gateways(path)
    gw.config_path = path
    return gw


@pytest.fixture
def page(browser, request):
    """A fresh page; its console output is printed when the test fails."""
    context = browser.new_context(viewport={"width": 1000, "height": 640})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    console: list[str] = []
    tab.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    tab.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print("browser console:\n" + "\n".join(console[-50:]))
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
