"""The base Proxy acts on what a transport declares its errors mean: one fresh connection and one resend
for ``connection_errors``, no resend for ``timeout_errors``, the connection kept for a PublishError.

The transport here is a minimal one written for the test (a list stands in for the wire); the real
transports are exercised end to end in tests/integration.
"""

from __future__ import annotations

import pytest

from telegraphy import config
from telegraphy.errors import GatewayUnavailable, PublishError
from telegraphy.events import Event
from telegraphy.proxy import Proxy

CONFIG = config.from_mapping({"auth": {"secret": "0123456789abcdef-secret"}})


class Lost(Exception):
    pass


class Slow(Exception):
    pass


class Wire(Proxy):
    """Sends onto ``self.sent``; ``self.failures`` says how the next sends fail."""

    connection_errors = (Lost,)
    timeout_errors = (Slow,)

    def __init__(self, *failures: BaseException) -> None:
        super().__init__(CONFIG)
        self.failures, self.sent, self.opened, self.closed = list(failures), [], 0, 0

    def _open(self) -> int:
        self.opened += 1
        return self.opened

    def _send(self, conn: int, payloads: list[bytes]) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((conn, len(payloads)))

    def _close(self, conn: int) -> None:
        self.closed += 1


EVENT = Event.create("shop.Order", {"id": 1})


def test_a_lost_connection_is_replaced_and_the_events_sent_once_more():
    wire = Wire(Lost("reset by peer"))
    wire.publish_many([EVENT, EVENT])
    assert wire.sent == [(2, 2)] and wire.opened == 2 and wire.closed == 1


def test_lost_twice_is_gateway_unavailable_from_the_transport():
    wire = Wire(Lost("reset"), Lost("refused"))
    with pytest.raises(GatewayUnavailable, match="Lost: refused"):
        wire.publish(EVENT)
    assert wire.sent == [] and wire.opened == 2 and wire.closed == 2
    wire.publish(EVENT)  # the next call starts afresh
    assert wire.sent == [(3, 1)]


def test_a_timeout_is_not_resent():
    wire = Wire(Slow("no answer in 2s"))
    with pytest.raises(GatewayUnavailable, match="no answer in 2s"):
        wire.publish(EVENT)
    assert wire.sent == [] and wire.opened == 1 and wire.closed == 1


def test_the_transports_own_verdict_keeps_the_connection():
    wire = Wire(PublishError("refused: queue full"))
    with pytest.raises(PublishError, match="queue full"):
        wire.publish(EVENT)
    wire.publish(EVENT)
    assert wire.sent == [(1, 1)] and wire.opened == 1 and wire.closed == 0


def test_anything_else_drops_the_connection_and_propagates():
    wire = Wire(KeyError("bug"))
    with pytest.raises(KeyError):
        wire.publish(EVENT)
    wire.publish(EVENT)
    assert wire.sent == [(2, 1)] and wire.closed == 1


def test_proxies_no_longer_mint_tokens():
    assert not hasattr(Proxy, "get_token")  # telegraphy.get_token does, with no proxy involved
