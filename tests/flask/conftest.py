"""Fixtures for the Flask integration: apps on SQLite files, one real gateway per module, a subscribed client."""

from __future__ import annotations

import pytest
from flask import Flask
from flaskshop.models import db
from support import GatewayProcess, wait_for, write_config
from telegraphy.contrib.flask_telegraphy import Telegraphy

# private events for the access tests; everything else public with history, as in the shared fixtures
SHOP_EVENTS = [{"match": "flaskshop.Secret*", "access": "private"},
               {"match": "*", "access": "public", "history": 100}]


@pytest.fixture
def make_app(tmp_path):
    """``make_app(**app_config)`` -> (app, tg): a Flask app with the flaskshop models on a SQLite file."""
    def make(**app_config) -> tuple[Flask, Telegraphy]:
        app = Flask(__name__)
        app.config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'shop.sqlite3'}", **app_config)
        db.init_app(app)
        tg = Telegraphy(app)
        with app.app_context():
            db.create_all()
        return app, tg
    return make


@pytest.fixture(scope="module")
def shop_gateway(tmp_path_factory):
    """One gateway process (XML-RPC) for a whole test module; every test subscribes afresh."""
    path = write_config(tmp_path_factory.mktemp("flask-gateway"), events=SHOP_EVENTS)
    gw = GatewayProcess(path).start()
    gw.config_path = path
    yield gw
    gw.stop()


class Shop:
    """An app on the module's gateway, and a WAMP client subscribed to every ``flaskshop.`` event."""

    def __init__(self, app: Flask, tg: Telegraphy, client) -> None:
        self.app, self.tg, self.client = app, tg, client
        self.seen = 0

    def settle(self) -> list[dict]:
        """The envelopes received since the last call, up to a marker published now: once the marker is
        back, everything sent before it through the same transport has been delivered too."""
        with self.app.app_context():
            marker = self.tg.publish("flaskshop.Marker", {}).meta["id"]

        def position() -> int:  # 1 + the marker's index, 0 while it has not arrived
            ids = [e["meta"]["id"] for e in self.client.envelopes()[self.seen:]]
            return ids.index(marker) + 1 if marker in ids else 0
        end = wait_for(position, timeout=20, message="the marker event to come back") - 1
        envelopes = self.client.envelopes()[self.seen:]
        self.seen += end + 1
        return envelopes[:end]


@pytest.fixture
def shop(make_app, shop_gateway, wamp):
    app, tg = make_app(TELEGRAPHY_CONFIG=str(shop_gateway.config_path))
    client = wamp(shop_gateway.url)
    client.subscribe("flaskshop.", match="prefix")
    return Shop(app, tg, client)
