"""``telegraphy tail``: a small WAMP subscriber that prints the events passing through a gateway.

It speaks raw WAMP v2 (JSON) over Autobahn's Twisted WebSocket client rather than through an
ApplicationSession, so it can send Telegraphy's own SUBSCRIBE options (``filter``) and read the
EVENT details (``seq``, ``epoch``) that a generic client drops. It authenticates with a token it
mints itself whose ``events`` claim is ``["*"]``: it sees public, authenticated and private events.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from .config import Config

HELLO, WELCOME, ABORT, CHALLENGE, AUTHENTICATE, GOODBYE, ERROR = 1, 2, 3, 4, 5, 6, 8
SUBSCRIBE, SUBSCRIBED, EVENT = 32, 33, 36
SUBSCRIBE_REQUEST = 1
TAIL_USER = "telegraphy-tail"  # the authid the gateway logs for this client
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
GOODBYE_WAIT = 2.0  # seconds to wait for the gateway's GOODBYE answer when stopping


@dataclass(frozen=True)
class Pattern:
    """A WAMP subscription: a topic and its match policy (exact, prefix or wildcard)."""

    topic: str
    match: str

    def describe(self) -> str:
        if self.match == "prefix" and not self.topic:
            return "every event"
        return {"exact": "{}", "prefix": "events starting with {!r} (prefix)",
                "wildcard": "{} (wildcard)"}[self.match].format(self.topic)


PATTERN_HELP = """\
PATTERN (default: every event):
  shop.Order      exactly that event name
  shop.  shop.*   every name under shop (a prefix: shop.Order, shop.cart.Item)
  shop*           every name starting with "shop" (also shopping.Cart)
  shop..Order     one name component is free (a WAMP wildcard: shop.eu.Order, shop.us.Order)
"""


def parse_pattern(text: str | None) -> Pattern:
    """Turn the command line's PATTERN into a WAMP subscription (see PATTERN_HELP); ValueError if malformed."""
    if not text or text == "*":
        return Pattern("", "prefix")
    if text.endswith("*"):
        text = text[:-1]
        if "*" in text:
            raise ValueError(f"'*' may only end a pattern, as in 'shop.*'; for one free component write "
                             f"an empty one, as in 'shop..Order' (got {text + '*'!r})")
        if "" in text.split(".")[:-1]:
            raise ValueError(f"a pattern is a prefix (ending in '.' or '*') or a wildcard (with '..'), "
                             f"not both (got {text + '*'!r})")
        return Pattern(text, "prefix")
    if "*" in text:
        raise ValueError(f"'*' may only end a pattern, as in 'shop.*'; for one free component write an empty "
                         f"one, as in 'shop..Order' (got {text!r})")
    if text.endswith("."):
        if "" in text.split(".")[:-1]:
            raise ValueError(f"a pattern is a prefix (ending in '.') or a wildcard (with '..'), not both "
                             f"(got {text!r})")
        return Pattern(text, "prefix")
    if "" in text.split("."):
        return Pattern(text, "wildcard")
    return Pattern(text, "exact")


def format_event(envelope: Any, details: dict, as_json: bool = False) -> str:
    """One line for one event: its time, seq, name, kind, user and data (or a JSON object)."""
    if as_json:
        return json.dumps({"topic": details.get("topic"), "seq": details.get("seq"), "epoch": details.get("epoch"),
                           "event": envelope}, ensure_ascii=False, separators=(",", ":"))
    if not isinstance(envelope, dict):  # not from a Telegraphy web app: show what came
        return f"-  #{details.get('seq', '-')}  {details.get('topic', '?')}  {json.dumps(envelope)}"
    meta = envelope.get("meta") or {}
    parts = [str(meta.get("timestamp") or "-"), f"#{details.get('seq', '-')}",
             str(envelope.get("name") or details.get("topic"))]
    if meta.get("event_type"):
        parts.append(str(meta["event_type"]))
    if meta.get("user") is not None:
        parts.append(f"user={meta['user']}")
    parts.append(json.dumps(envelope.get("data"), ensure_ascii=False))
    return "  ".join(parts)


class Tail:
    """What one run of ``telegraphy tail`` knows and says; the protocol reports to it."""

    def __init__(self, config: Config, pattern: Pattern, filter_text: str | None, url: str,
                 as_json: bool = False) -> None:
        self.config, self.pattern, self.filter_text, self.url, self.as_json = (
            config, pattern, filter_text, url, as_json)
        self.exit_code = EXIT_OK
        self.stopping = False
        self.protocol = None  # the connection's TailProtocol, once the WebSocket is open

    def say(self, text: str) -> None:
        print(f"telegraphy tail: {text}", file=sys.stderr, flush=True)

    def fail(self, text: str, hint: str | None = None, code: int = EXIT_FAILED) -> None:
        """Report one problem (once, with what to do about it) and stop."""
        if self.stopping:
            return
        self.say(text + (f"\n  hint: {hint}" if hint else ""))
        self.exit_code = code
        self.stop()

    def stop(self) -> None:
        from twisted.internet import reactor

        self.stopping = True
        if reactor.running:
            reactor.stop()

    def token(self) -> str:
        from .tokens import mint

        return mint(self.config.auth, user=TAIL_USER, events=["*"])

    def subscribe_options(self) -> dict:
        options: dict[str, Any] = {}
        if self.pattern.match != "exact":
            options["match"] = self.pattern.match
        if self.filter_text is not None:
            options["filter"] = self.filter_text
        return options

    def subscribed(self) -> None:
        where = f" where {self.filter_text}" if self.filter_text is not None else ""
        self.say(f"connected to {self.url}, showing {self.pattern.describe()}{where}; Ctrl-C to stop")

    def event(self, envelope: Any, details: dict) -> None:
        try:
            print(format_event(envelope, details, self.as_json), flush=True)
        except BrokenPipeError:  # `telegraphy tail | head`: the reader left, which is fine
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            self.stopping = True
            self.stop()


def _protocol_class():
    """Built on first use, so `telegraphy --help` does not import Twisted and Autobahn."""
    from autobahn.twisted.websocket import WebSocketClientProtocol
    from autobahn.wamp.serializer import JsonObjectSerializer

    class TailProtocol(WebSocketClientProtocol):
        """The WAMP session: HELLO (ticket), SUBSCRIBE once welcomed, print each EVENT."""

        serializer = JsonObjectSerializer()
        opened = established = False

        def onOpen(self) -> None:
            self.tail: Tail = self.factory.tail
            self.tail.protocol = self
            self.opened = True
            roles = {"subscriber": {"features": {"pattern_based_subscription": True}}}
            self.send([HELLO, self.tail.config.gateway.realm, {"roles": roles, "authmethods": ["ticket"],
                                                                "authid": TAIL_USER}])

        def send(self, msg: list) -> None:
            self.sendMessage(self.serializer.serialize(msg), False)

        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            for msg in self.serializer.unserialize(payload):
                self.dispatch(msg)

        def dispatch(self, msg: list) -> None:
            tail, kind = self.tail, msg[0]
            if kind == CHALLENGE:
                self.send([AUTHENTICATE, tail.token(), {}])
            elif kind == WELCOME:
                self.established = True
                self.send([SUBSCRIBE, SUBSCRIBE_REQUEST, tail.subscribe_options(), tail.pattern.topic])
            elif kind == SUBSCRIBED:
                tail.subscribed()
            elif kind == EVENT:
                details = msg[3] if len(msg) > 3 and isinstance(msg[3], dict) else {}
                args = msg[4] if len(msg) > 4 and msg[4] else [None]
                details.setdefault("topic", tail.pattern.topic)
                tail.event(args[0], details)
            elif kind == ERROR and msg[1] == SUBSCRIBE:
                text = (msg[5][0] if len(msg) > 5 and msg[5] else "") or msg[4]
                usage = msg[4] in ("telegraphy.error.invalid_filter", "wamp.error.invalid_uri")
                tail.fail(f"the gateway refused the subscription: {msg[4]}: {text}",
                          "see 'telegraphy tail --help' for patterns and filters" if usage else None,
                          EXIT_USAGE if usage else EXIT_FAILED)
            elif kind == ABORT:
                text = (msg[1] or {}).get("message") or msg[2]
                hint = {"wamp.error.not_authorized": "auth.secret must be one the gateway's config lists",
                        "wamp.error.no_such_realm": "gateway.realm must be the gateway's"}.get(msg[2])
                tail.fail(f"the gateway refused the session: {msg[2]}: {text}", hint)
            elif kind == GOODBYE:
                if self.established:  # the gateway's goodbye, not its answer to ours: answer it
                    self.send([GOODBYE, {}, "wamp.close.goodbye_and_out"])
                self.established = False
                if not tail.stopping:
                    tail.fail(f"the gateway closed the session: {msg[2]}")

        def leave(self) -> None:
            if self.established:
                self.established = False
                self.send([GOODBYE, {}, "wamp.close.close_realm"])
            self.sendClose(1000)

        def onClose(self, wasClean: bool, code: int, reason: str | None) -> None:
            tail = self.factory.tail
            if tail.stopping:
                return
            if not self.opened:  # closed before the WebSocket opened: the handshake was refused
                tail.fail(f"the gateway at {tail.url} refused the WebSocket handshake ({reason or code})",
                          "it refuses connections over limits.max_connections and while it shuts down; "
                          "its log says which")
            else:
                tail.fail(f"the connection to {tail.url} closed ({reason or code})")

    return TailProtocol


def run(tail: Tail) -> int:
    """Connect, print events until SIGINT/SIGTERM or a failure; returns the exit code."""
    from autobahn.twisted.websocket import WebSocketClientFactory, connectWS
    from twisted.internet import defer, reactor

    class Factory(WebSocketClientFactory):
        def clientConnectionFailed(self, connector, reason) -> None:
            tail.fail(f"cannot connect to {tail.url}: {reason.getErrorMessage()}",
                      f"is the gateway running? start it with: telegraphy-gateway --config {tail.config.source}")

    factory = Factory(tail.url, protocols=["wamp.2.json"])
    factory.tail = tail
    factory.protocol = _protocol_class()
    factory.setProtocolOptions(autoPingInterval=0)

    def start() -> None:
        try:
            tls = None
            if factory.isSecure:  # verify the gateway's certificate: the token sees every event
                from twisted.internet.ssl import optionsForClientTLS

                tls = optionsForClientTLS(factory.host)
            connectWS(factory, contextFactory=tls, timeout=10)
        except Exception as exc:  # noqa: BLE001 - e.g. wss:// without TLS support installed
            tail.fail(f"cannot connect to {tail.url}: {type(exc).__name__}: {exc}",
                      "wss:// needs Twisted's TLS support: pip install 'Twisted[tls]'"
                      if isinstance(exc, ImportError) else None)

    def leave():
        """On SIGINT/SIGTERM: say GOODBYE and let the close handshake finish (briefly)."""
        tail.stopping = True
        protocol = tail.protocol
        if protocol is None or protocol.transport is None:
            return None
        closed = defer.Deferred()
        original = protocol.onClose

        def on_close(*args) -> None:
            original(*args)
            if not closed.called:
                closed.callback(None)
        protocol.onClose = on_close
        protocol.leave()
        timer = reactor.callLater(GOODBYE_WAIT, lambda: closed.called or closed.callback(None))
        closed.addBoth(lambda _: timer.active() and timer.cancel())
        return closed

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", leave)
    reactor.run()  # Twisted turns SIGINT and SIGTERM into a clean reactor stop
    return tail.exit_code
