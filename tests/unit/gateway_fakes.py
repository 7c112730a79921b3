"""An in-process gateway for unit tests: the real parts, a fake clock, and peers that record frames.

Nothing here is a mock of the gateway: ``Gateway`` is built as in production, on a
``twisted.internet.task.Clock`` instead of a reactor (it is never started, so nothing listens), and
each session talks to a :class:`FakePeer` in place of a WebSocket. The fake peer stands in for what
cannot be a real socket in a test that runs in microseconds; tests/integration covers real sockets.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import msgpack
from twisted.internet import task

from telegraphy.config import from_mapping
from telegraphy.gateway import wire
from telegraphy.gateway.service import Gateway
from telegraphy.gateway.session import Session
from telegraphy.tokens import mint

SECRET = "unit-secret-0123456789abcdef"
HELLO = [wire.HELLO, "telegraphy", {"roles": {"subscriber": {}, "publisher": {}, "caller": {}}}]


def unframe(frame: bytes) -> tuple[bytes, bool]:
    """The payload of one unmasked WebSocket frame, and whether it is binary."""
    binary, size, at = frame[0] == 0x82, frame[1] & 0x7F, 2
    if size == 126:
        size, at = struct.unpack("!H", frame[2:4])[0], 4
    elif size == 127:
        size, at = struct.unpack("!Q", frame[2:10])[0], 10
    assert len(frame) == at + size, "one frame, whole"
    return frame[at:], binary


class FakePeer:
    """Records what the session sends, decoded; ``closed`` holds (code, reason) once closed."""

    def __init__(self, serializer: wire.Serializer = wire.JSON, address: str = "192.0.2.1",
                 origin: str | None = None) -> None:
        self.serializer, self.address, self.origin = serializer, address, origin
        self.session = None
        self.written = 0
        self.messages: list[list] = []
        self.closed: tuple[int, str] | None = None

    def send(self, frame: bytes, seq: int = 0) -> None:
        assert self.closed is None, "nothing is sent after close"
        payload, binary = unframe(frame)
        assert binary == self.serializer.binary
        self.messages.append(msgpack.unpackb(payload) if binary else json.loads(payload))
        if seq:
            self.written = seq

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def lost(self, gateway) -> None:
        """The connection ended (as websocket.py's onClose reports it)."""
        self.session.closed()
        gateway.connections.discard(self)

    def of_type(self, kind: int) -> list[list]:
        return [m for m in self.messages if m[0] == kind]

    def events(self) -> list[dict]:
        """Envelopes of the EVENTs received, with their details."""
        return [{**m[4][0], "details": m[3], "sub": m[1]} for m in self.of_type(wire.EVENT)]


def config(**overrides: Any):
    data = {"transport": {"name": "xmlrpc", "options": {"host": "127.0.0.1", "port": 1}},
            "gateway": {"listen": {"host": "127.0.0.1", "port": 1}, "url": "ws://localhost:8080/ws"},
            "auth": {"secret": SECRET},
            "events": [{"match": "*", "access": "public", "history": 100}]}
    for key, value in overrides.items():
        data[key] = value
    return from_mapping(data, "<unit>")


class TurnClock(task.Clock):
    """A fake clock that can also run one reactor turn: the calls due now, scheduled before it began
    (``advance(0)`` would also run the calls they schedule for now, as one turn)."""

    def turn(self) -> int:
        due = [call for call in self.calls if call.getTime() <= self.seconds()]
        for call in due:
            self.calls.remove(call)
            call.called = 1
            call.func(*call.args, **call.kw)
        return len(due)


class Harness:
    """A gateway on a fake clock, with helpers to open sessions and publish."""

    def __init__(self, **overrides: Any) -> None:
        self.clock = TurnClock()
        self.clock.advance(1_800_000_000)  # wall-clock-like, so tokens minted now are valid
        self.gateway = Gateway(config(**overrides), self.clock)
        self.gateway.resumption.start()  # as startService does: prunes away sessions as time passes
        self.hub = self.gateway.hub

    def session(self, serializer: wire.Serializer = wire.JSON, user: Any = None, anonymous: bool = True,
                hello: list | None = None, origin: str | None = None, **token: Any) -> tuple[Session, FakePeer]:
        """An established session (anonymous, or with a token for ``user``), counted as a connection."""
        peer = FakePeer(serializer, origin=origin)
        session = peer.session = Session(peer, self.gateway.services)
        self.gateway.connections.add(peer)
        session.opened()
        if anonymous and user is None and not token:
            self.receive(session, hello or HELLO)
        else:
            details = {"roles": {"subscriber": {}}, "authmethods": ["ticket"]}
            self.receive(session, hello or [wire.HELLO, "telegraphy", details])
            self.receive(session, [wire.AUTHENTICATE, self.token(user, **token), {}])
        return session, peer

    def token(self, user: Any = None, **claims: Any) -> str:
        return mint(self.gateway.config.auth, user=user, now=self.clock.seconds(), **claims)

    def receive(self, session: Session, msg: list) -> None:
        serializer = session.serializer
        payload = msgpack.packb(msg) if serializer.binary else json.dumps(msg).encode()
        session.receive(payload)

    def subscribe(self, session: Session, topic: str, request: int = 1, **options: Any) -> int:
        before = len(session.peer.messages)
        self.receive(session, [wire.SUBSCRIBE, request, options, topic])
        answer = session.peer.messages[before]
        assert answer[:2] == [wire.SUBSCRIBED, request], answer
        return answer[2]

    def publish(self, name: str, data: Any = None, **meta: Any):
        from telegraphy.events import Event
        return self.hub.accept(Event.create(name, data, **meta))

    def deliver_all(self) -> int:
        """Run reactor turns until nothing is due; returns how many turns it took."""
        turns = 0
        while self.clock.turn():
            turns += 1
        return turns
