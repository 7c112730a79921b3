"""Representatives are driven by the reactor they are given: timers, listeners and readers run on a
fake reactor (``MemoryReactorClock``) in milliseconds, and no plugin touches Twisted's global reactor."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from twisted.internet.testing import MemoryReactorClock

from telegraphy import config
from telegraphy.plugins import load_transport

SECRET = "0123456789abcdef-secret"
PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def build(transport: str, options: dict, reactor):
    cfg = config.from_mapping({"auth": {"secret": SECRET}, "transport": {"name": transport, "options": options}})
    return load_transport(transport).representative(cfg, reactor)


@pytest.mark.parametrize("path", sorted(PLUGINS.glob("*/**/*.py")), ids=lambda p: str(p.relative_to(PLUGINS)))
def test_no_plugin_module_uses_the_global_reactor(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "twisted.internet":
            assert "reactor" not in [alias.name for alias in node.names], f"{path} imports the global reactor"
        if isinstance(node, ast.Import):
            assert "twisted.internet.reactor" not in [alias.name for alias in node.names], path


def test_rabbitmq_reconnects_on_the_given_clock_with_backoff():
    reactor = MemoryReactorClock()
    representative = build("rabbitmq", {"timeout": 1, "reconnect_delay": 0.5, "reconnect_max_delay": 1}, reactor)
    representative.start(lambda event: None)
    assert representative.reactor is reactor
    assert [(host, port) for host, port, *_ in reactor.tcpClients] == [("127.0.0.1", 5672)]
    reactor.advance(1.0)  # no AMQP handshake within timeout: that attempt ends, the next is scheduled
    assert representative.state == "connecting" and len(reactor.tcpClients) == 1
    [retry] = [call for call in reactor.getDelayedCalls() if "_connect" in repr(call)]
    assert 0.25 <= retry.getTime() - reactor.seconds() <= 0.5  # backoff(0, 0.5, 1): half fixed, half jitter
    reactor.advance(0.5)
    assert len(reactor.tcpClients) == 2
    representative.stop()
    assert representative.state == "stopped" and not any("_connect" in repr(c) for c in reactor.getDelayedCalls())


def test_xmlrpc_listens_on_the_given_reactor():
    reactor = MemoryReactorClock()
    representative = build("xmlrpc", {"host": "127.0.0.1", "port": 4567}, reactor)
    representative.start(lambda event: None)
    [(port, _site, _backlog, interface)] = reactor.tcpServers
    assert (port, interface) == (4567, "127.0.0.1") and representative.state == "running"
    assert representative.web_app_options() == {"port": 4567}


def test_zeromq_reads_its_sockets_through_the_given_reactor(tmp_path):
    reactor = MemoryReactorClock()
    representative = build("zeromq", {"endpoints": [f"ipc://{tmp_path}/gw.ipc"]}, reactor)
    representative.start(lambda event: None)
    try:
        assert set(reactor.getReaders()) == set(representative.readers) and len(representative.readers) == 2
    finally:
        representative.stop()
    assert reactor.getReaders() == []

