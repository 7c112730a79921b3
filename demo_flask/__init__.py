"""The Flask demo: the 2013 docs' "Catching model events!" page, on Flask, SQLAlchemy and SQLite.

    flask --app demo_flask telegraphy gateway      # terminal 1: the gateway, with demo_flask/telegraphy.yaml
    flask --app demo_flask run                     # terminal 2: http://127.0.0.1:5000/
    flask --app demo_flask demo create "a name"    # terminal 3: a write from another process; the page shows it
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, render_template

from .events import tg
from .models import MyModel, db

HERE = os.path.dirname(os.path.abspath(__file__))


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The demo app; FLASK_TELEGRAPHY_CONFIG and FLASK_SQLALCHEMY_DATABASE_URI override its defaults."""
    app = Flask(__name__)
    app.config.from_mapping(
        TELEGRAPHY_CONFIG="telegraphy.yaml",  # relative to this folder
        SQLALCHEMY_DATABASE_URI="sqlite:///" + os.path.join(HERE, "demo_flask.sqlite3"),
    )
    app.config.from_prefixed_env()
    app.config.update(test_config or {})
    db.init_app(app)
    tg.init_app(app)
    with app.app_context():
        db.create_all()

    @app.get("/")
    def index() -> str:
        return render_template("index.html", event_name=tg.event_models[0].name,
                               instances=db.session.scalars(db.select(MyModel).order_by(MyModel.id)).all())

    from .cli import demo
    app.cli.add_command(demo)
    return app
