"""Helpers of the browser tests: publishing from a web-app process, and a relay that can hold frames."""

from __future__ import annotations

import json
from collections.abc import Callable

from support import ROOT, SECRET, run_python, wait_for

CLIENT_JS = ROOT / "telegraphy/static/telegraphy/telegraphy.js"
AUTOBAHN_JS = ROOT / "tests/js/node_modules/autobahn-browser/autobahn.min.js"  # npm install --prefix tests/js
EVENTS = [{"match": "mail.*", "access": "private", "history": 100},
          {"match": "*", "access": "public", "history": 100}]
HELLO, SUBSCRIBE = 1, 32


def publish(config_path, *events: dict) -> None:
    """Publish from a separate web-app process: each event is telegraphy.publish's keyword arguments."""
    code = f"import json, telegraphy\nfor e in json.loads({json.dumps(list(events))!r}):\n    telegraphy.publish(**e)\n"
    result = run_python(code, env={"TELEGRAPHY_CONFIG": str(config_path), "TELEGRAPHY_SECRET": SECRET})
    assert result.returncode == 0, result.stderr


def event(name: str, text: str, user: str | None = None, event_type: str | None = None, **data) -> dict:
    return {"name": name, "data": {"text": text, **data}, "user": user, "event_type": event_type}


def settle(page, promise: str, arg=None, timeout: float = 20):
    """Evaluate a JS expression giving a Promise, failing after ``timeout`` seconds without an answer."""
    return page.evaluate(f"""arg => Promise.race([{promise}, new Promise((_, reject) => setTimeout(
        () => reject(new Error('no answer within {timeout} s')), {timeout * 1000}))])""", arg)


def subscribed(page, count: int = 3) -> list:
    """The page's subscriptions as the gateway sees them (a CALL queued behind the SUBSCRIBEs)."""
    subs = settle(page, "Telegraphy.call('telegraphy.subscriptions')")
    assert len(subs) == count, subs
    return subs


class Relay:
    """Playwright relays every WebSocket frame between the page and the real gateway (nothing is
    mocked); frames from the page that ``hold`` selects are kept back until ``release()``, which opens
    a window (say between WELCOME and SUBSCRIBE) deterministically; ``cut()`` drops the connection."""

    def __init__(self, page, url: str) -> None:
        self.page = page
        self.held: list[tuple[object, str]] = []
        self.hold: Callable[[list], bool] = lambda message: False
        self.connections: list[tuple[object, object]] = []
        page.route_web_socket(url, self._route)

    def _route(self, ws) -> None:
        server = ws.connect_to_server()
        self.connections.append((ws, server))

        def from_page(text: str) -> None:
            if self.hold(json.loads(text)):
                self.held.append((server, text))
            else:
                server.send(text)
        ws.on_message(from_page)

    def wait_held(self, count: int, what: str) -> None:
        # page.evaluate lets Playwright dispatch the frames to _route while we wait
        wait_for(lambda: self.page.evaluate("0") == 0 and len(self.held) >= count, timeout=30, message=what)

    def release(self) -> None:
        self.hold = lambda message: False
        held, self.held = self.held, []
        for server, text in held:
            server.send(text)

    def cut(self) -> None:
        ws, server = self.connections[-1]
        server.close()
        ws.close()
