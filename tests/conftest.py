"""Shared fixtures: config files, gateway processes and WAMP clients, all cleaned up after each test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import CHROMIUM, CHROMIUM_ARGS, SECRET, GatewayProcess, RabbitNode, WampClient, write_config

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def pytest_collection_modifyitems(config, items):
    for item in items:
        for kind in ("unit", "integration", "browser"):
            if f"{os.sep}{kind}{os.sep}" in str(item.fspath):
                item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture
def config_file(tmp_path):
    """``config_file(**kwargs)`` writes a config (see support.write_config) and returns its path. Its ports are
    0: the gateway started on it (``gateways``) gets them from the OS and the file is rewritten with them."""
    return lambda **kwargs: write_config(tmp_path, **{"ports": "os", **kwargs})


@pytest.fixture
def gateways():
    """``gateways(config_path)`` starts a gateway process; all are stopped after the test."""
    started: list[GatewayProcess] = []

    def start(config_path, **kwargs) -> GatewayProcess:
        gw = GatewayProcess(config_path, **kwargs).start()
        started.append(gw)
        return gw
    yield start
    for gw in started:
        gw.stop()


@pytest.fixture
def gateway(config_file, gateways):
    """A gateway on the XML-RPC default with public events and history 100."""
    path = config_file()
    gw = gateways(path)
    gw.config_path = path
    return gw


@pytest.fixture
def wamp():
    """``wamp(url, **kwargs)`` connects an autobahn-python client; all are closed after the test."""
    clients: list[WampClient] = []

    def connect(url, connect=True, **kwargs) -> WampClient:
        client = WampClient(url, **kwargs)
        clients.append(client)
        return client.connect() if connect else client
    yield connect
    for client in clients:
        client.close()


@pytest.fixture
def web_app_env(gateway):
    """Environment for a separate web-app process publishing to ``gateway``."""
    return {"TELEGRAPHY_CONFIG": str(gateway.config_path), "TELEGRAPHY_SECRET": SECRET}


@pytest.fixture(scope="session")
def rabbitmq_node(tmp_path_factory):
    """A private RabbitMQ node (support.RabbitNode) for tests that stop or restart the broker; started on first
    use, stopped at the end of the run. The shared broker on 127.0.0.1:5672 is never stopped."""
    if not Path(RabbitNode.SERVER).exists():
        pytest.fail(f"{RabbitNode.SERVER} is not installed (apt-get install rabbitmq-server)")
    node = RabbitNode(tmp_path_factory.mktemp("rabbitmq-node")).start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Playwright, one for the whole run (Playwright's sync API allows one
    instance per thread: every folder shares this one)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
