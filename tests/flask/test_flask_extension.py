"""The extension without a gateway: config keys, registration checks, the page's script tag, tokens, the CLI."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from importlib.resources import files

import click.testing
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flaskshop.models import Attachment, Customer, Order, db
from support import SECRET, write_config
from telegraphy.contrib.flask_telegraphy import OP_UPDATE, BaseEventModel, Telegraphy
from telegraphy.contrib.flask_telegraphy.cli import telegraphy_group
from telegraphy.contrib.flask_telegraphy.events import default_name

from telegraphy.config import dump
from telegraphy.errors import ConfigError, InvalidEvent
from telegraphy.tokens import verify

pytestmark = pytest.mark.unit


@pytest.fixture
def config_path(tmp_path):
    return write_config(tmp_path)  # nothing listens on its ports: these tests need no gateway


@pytest.fixture
def app(make_app, config_path):
    return make_app(TELEGRAPHY_CONFIG=str(config_path))[0]


def settings(config_path) -> dict:
    import yaml
    return yaml.safe_load(config_path.read_text())


# -- config ----------------------------------------------------------------------------------------
def test_init_app_and_the_constructor_register_the_extension(config_path):
    tg = Telegraphy()
    first, second = Flask("first"), Flask("second")
    for app in (first, second):
        app.config["TELEGRAPHY_CONFIG"] = str(config_path)
    tg.init_app(first)
    assert first.extensions["telegraphy"] is tg
    assert Telegraphy(second).config.gateway.url == tg._states[first].config.gateway.url
    with pytest.raises(RuntimeError, match="already set up"):
        tg.init_app(first)


def test_the_telegraphy_dict_is_validated_like_the_yaml_file(config_path):
    app = Flask(__name__)
    app.config["TELEGRAPHY"] = {**settings(config_path), "gateway": {"realm": "shop"}}
    assert Telegraphy(app).config.gateway.realm == "shop"
    broken = Flask(__name__)
    broken.config["TELEGRAPHY"] = {**settings(config_path), "auth": {"secret": "short"}}
    with pytest.raises(ConfigError) as info:
        Telegraphy(broken)
    assert info.value.key == "auth.secret" and "app.config['TELEGRAPHY']" in str(info.value)


def test_a_relative_config_path_is_read_from_the_app_root(tmp_path, config_path):
    app = Flask("shop", root_path=str(tmp_path))
    app.config["TELEGRAPHY_CONFIG"] = config_path.name
    assert Telegraphy(app).config.source == str(config_path)


def test_missing_or_doubled_config_is_a_clear_error(config_path, monkeypatch):
    monkeypatch.delenv("TELEGRAPHY_CONFIG", raising=False)
    with pytest.raises(ConfigError, match=r"TELEGRAPHY_CONFIG.*TELEGRAPHY.*\$TELEGRAPHY_CONFIG"):
        Telegraphy(Flask(__name__))
    both = Flask(__name__)
    both.config.update(TELEGRAPHY_CONFIG=str(config_path), TELEGRAPHY=settings(config_path))
    with pytest.raises(ConfigError, match="not both"):
        Telegraphy(both)
    monkeypatch.setenv("TELEGRAPHY_CONFIG", str(config_path))
    assert Telegraphy(Flask(__name__)).config.source == str(config_path)


def test_inside_an_app_context_telegraphy_publish_uses_the_apps_publisher(config_path, tmp_path, monkeypatch):
    import telegraphy
    from telegraphy import publisher as publisher_module

    monkeypatch.setattr(publisher_module, "_configured", None)
    monkeypatch.setattr(publisher_module, "_fallback", None)
    monkeypatch.setattr(publisher_module, "_providers", [])  # only Flask's (Django's too in a combined run)
    monkeypatch.delenv("TELEGRAPHY_CONFIG", raising=False)
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")  # no telegraphy.yaml here either
    shop, other = Flask("shop"), Flask("other")
    shop.config["TELEGRAPHY_CONFIG"] = str(config_path)
    other.config["TELEGRAPHY"] = {**settings(config_path), "gateway": {"realm": "other"}}
    tg = Telegraphy(shop)
    Telegraphy(other)
    for app in (shop, other):
        with app.app_context():
            assert telegraphy.get_publisher() is app.extensions["telegraphy"].publisher
    assert tg.publisher is tg._states[shop].publisher and tg.proxy is tg.publisher.proxy
    with other.app_context():
        assert telegraphy.get_config().gateway.realm == "other"
    with pytest.raises(ConfigError, match=r"set \$TELEGRAPHY_CONFIG"):  # no app here: the usual default
        telegraphy.get_publisher()
    assert publisher_module._configured is None  # the extension never configures the process


# -- model events ----------------------------------------------------------------------------------
def test_the_default_name_is_the_package_and_the_class(app):
    assert default_name(Order) == "flaskshop.Order"  # from flaskshop.models, as Django's app_label.Model
    assert BaseEventModel.OP_CREATE == "create"


@pytest.mark.parametrize("options, message", [
    ({"model": dict}, "must be a mapped SQLAlchemy model class"),
    ({"model": Order, "fields": ("id", "nope")}, r"Bad\.fields names the field 'nope', but Order has no such field "
                                                 r"\(its columns and relationships: "),
    ({"model": Order, "exclude": "note"}, "must be a list of attribute names"),
    ({"model": Order, "operations": ("create", "upsert")}, "unknown operation 'upsert'"),
    ({"model": Order, "name": "bad name!"}, "invalid event name"),
    ({"model": Order, "user_field": "owner"}, r"Bad\.user_field names the field 'owner', but Order has no such"),
])
def test_bad_event_models_are_refused_when_registered(options, message):
    with pytest.raises(InvalidEvent, match=message):
        Telegraphy().register(type("Bad", (BaseEventModel,), options))


def test_registering_twice_registers_once_and_works_as_a_decorator():
    tg = Telegraphy()

    @tg.register
    class OrderEvents(BaseEventModel):
        model = Order
        operations = (OP_UPDATE,)
    tg.register(OrderEvents)
    assert isinstance(OrderEvents, type)
    assert [(m.name, m.operations) for m in tg.event_models] == [("flaskshop.Order", frozenset({"update"}))]


def test_a_value_json_cannot_carry_fails_the_flush_and_commits_nothing(make_app, config_path):
    app, tg = make_app(TELEGRAPHY_CONFIG=str(config_path))
    tg.register(type("Attachments", (BaseEventModel,), {"model": Attachment}))
    with app.app_context():
        db.session.add(Attachment(content=b"\x00binary"))
        with pytest.raises(InvalidEvent, match="flaskshop.Attachment.*bytes is not JSON serializable"):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalars(db.select(Attachment)).all() == []


def test_a_gateway_that_is_down_is_logged_after_the_commit_which_stands(make_app, config_path, caplog):
    app, tg = make_app(TELEGRAPHY_CONFIG=str(config_path))
    tg.register(type("Customers", (BaseEventModel,), {"model": Customer}))
    with app.app_context(), caplog.at_level(logging.ERROR, "telegraphy.contrib.flask_telegraphy"):
        db.session.add(Customer(name="Ada"))
        db.session.commit()
        assert db.session.scalars(db.select(Customer.name)).all() == ["Ada"]
    assert re.search(r"telegraphy: 1 event\(s\) not sent \(flaskshop.Customer\): "
                     r"the gateway at http://127.0.0.1:\d+/RPC2 is unavailable", caplog.text)


def test_models_of_an_extension_the_current_app_does_not_use_send_nothing(make_app, config_path, caplog):
    elsewhere = Flask("elsewhere")
    elsewhere.config["TELEGRAPHY_CONFIG"] = str(config_path)
    Telegraphy(elsewhere).register(type("Customers", (BaseEventModel,), {"model": Customer}))
    app, _ = make_app(TELEGRAPHY_CONFIG=str(config_path))
    with app.app_context(), caplog.at_level(logging.ERROR, "telegraphy.contrib.flask_telegraphy"):
        db.session.add(Customer(name="Ada"))
        db.session.commit()
    assert "not sent" not in caplog.text  # no attempt at all (one would fail: no gateway listens)


# -- the page, tokens and the client script ---------------------------------------------------------
def page_options(html: str) -> dict:
    match = re.search(r"<script>Telegraphy.configure\((.*)\);</script>", html)
    return json.loads(match.group(1))


def test_telegraphy_scripts_renders_the_client_and_a_token_for_the_user(make_app, config_path):
    app, tg = make_app(TELEGRAPHY_CONFIG=str(config_path))
    tg.user_loader(lambda: 42)
    page = app.jinja_env.from_string("<head>{{ telegraphy_scripts() }}</head>")
    with app.test_request_context("/"):
        html = page.render()
    assert '<script src="/telegraphy/telegraphy.js"></script>' in html
    options = page_options(html)
    assert options.pop("tokenUrl") == "/telegraphy/token"
    claims = verify(tg._states[app].config.auth, options.pop("token"))
    assert claims["sub"] == "42"
    assert options == {"url": settings(config_path)["gateway"]["url"], "realm": "telegraphy"}


def test_anonymous_pages_connect_without_a_token(app):
    with app.test_request_context("/"):
        options = page_options(app.jinja_env.from_string("{{ telegraphy_scripts() }}").render())
    url = app.extensions["telegraphy"].config.gateway.url  # no token, so no URL to refresh one from
    assert options == {"url": url, "realm": "telegraphy", "token": None, "tokenUrl": None}


def test_the_options_are_escaped_for_a_script_tag(config_path):
    app = Flask(__name__)
    hostile = "ws://127.0.0.1:1/</script><script>alert(1)</script>"
    app.config["TELEGRAPHY"] = {**settings(config_path), "gateway": {"url": hostile}}
    Telegraphy(app)
    with app.test_request_context("/"):
        html = app.jinja_env.from_string("{{ telegraphy_scripts() }}").render()
    assert html.count("</script>") == 2 and page_options(html)["url"] == hostile


def test_the_token_endpoint_gives_a_fresh_token_per_request(make_app, config_path):
    app, tg = make_app(TELEGRAPHY_CONFIG=str(config_path))
    user = {"id": None}
    tg.user_loader(lambda: user["id"])
    client = app.test_client()
    anonymous = client.get("/telegraphy/token")
    assert anonymous.json == {"token": None} and anonymous.headers["Cache-Control"] == "no-store"
    user["id"] = "ada"
    first, second = client.get("/telegraphy/token").json["token"], client.post("/telegraphy/token").json["token"]
    auth = tg._states[app].config.auth
    assert verify(auth, first)["sub"] == verify(auth, second)["sub"] == "ada" and first != second


def test_the_client_script_is_served_from_the_one_copy_in_the_package(app):
    response = app.test_client().get("/telegraphy/telegraphy.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.data == files("telegraphy").joinpath("static/telegraphy/telegraphy.js").read_bytes()


def test_the_url_prefix_is_configurable(make_app, config_path):
    app, tg = make_app(TELEGRAPHY_CONFIG=str(config_path), TELEGRAPHY_URL_PREFIX="/rt")
    tg.user_loader(lambda: 1)
    assert app.test_client().get("/rt/telegraphy.js").status_code == 200
    with app.test_request_context("/"):
        html = app.jinja_env.from_string("{{ telegraphy_scripts() }}").render()
    assert 'src="/rt/telegraphy.js"' in html and page_options(html)["tokenUrl"] == "/rt/token"


def test_flask_login_current_user_is_used_without_a_user_loader(make_app, config_path):
    flask_login = pytest.importorskip("flask_login")
    app, tg = make_app(TELEGRAPHY_CONFIG=str(config_path), SECRET_KEY="test")
    manager = flask_login.LoginManager(app)

    class User(flask_login.UserMixin):
        def __init__(self, id):
            self.id = id
    manager.user_loader(User)
    with app.test_request_context("/"):
        assert tg.get_token() is None
        flask_login.login_user(User("7"))
        assert verify(tg.config.auth, tg.get_token())["sub"] == "7"


# -- the CLI ---------------------------------------------------------------------------------------
def check(app_or_factory) -> click.testing.Result:
    """``flask telegraphy check`` as the flask command runs it (plugin commands are not in app.cli)."""
    factory = app_or_factory if callable(app_or_factory) and not isinstance(app_or_factory, Flask) else None
    info = ScriptInfo(create_app=factory or (lambda: app_or_factory))
    return CliRunner().invoke(telegraphy_group, ["check"], obj=info)


def test_check_prints_the_effective_config_with_the_secret_masked(app, config_path):
    from telegraphy.config import load

    result = check(app)
    assert result.exit_code == 0, result.output
    assert result.output == dump(load(config_path)) and SECRET not in result.output


def test_check_lists_the_model_events(make_app, config_path):
    app, tg = make_app(TELEGRAPHY_CONFIG=str(config_path))
    tg.register(type("Orders", (BaseEventModel,), {"model": Order, "operations": ("update", "create")}))
    output = check(app).output
    assert output.endswith("# model events: flaskshop.Order from Order (create, update)\n")


def test_check_reports_declarations_the_config_contradicts(make_app, config_path):
    app, tg = make_app(TELEGRAPHY_CONFIG=str(config_path))
    tg.register(type("Orders", (BaseEventModel,), {"model": Order, "access": "private", "user_field": "customer"}))
    result = check(app)
    assert result.exit_code == 1
    assert (f"# error E002: Orders declares access 'private' but {config_path} gives 'flaskshop.Order' access "
            "'public' (events pattern '*') (fix: add `- match: \"flaskshop.Order\"` with `access: private` before "
            "that pattern)\n") in result.output
    assert "# warning W001: Orders.user_field addresses 'flaskshop.Order' to one user" in result.output
    assert result.output.endswith("# model events: flaskshop.Order from Order (create, delete, update)\n")


def test_check_reports_a_broken_config_without_a_traceback(config_path):
    def create_app():
        app = Flask(__name__)
        app.config["TELEGRAPHY"] = {**settings(config_path), "limits": {"max_connections": 0}}
        Telegraphy(app)
        return app
    result = check(create_app)
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: app.config['TELEGRAPHY'], key 'limits.max_connections': "
                                     "expected a number >= 1, got 0")


def test_check_says_when_the_app_does_not_use_telegraphy():
    result = check(Flask("bare"))
    assert result.exit_code == 1 and "does not use Telegraphy: add Telegraphy(app)" in result.output


def test_the_flask_command_loads_without_an_app_and_the_plugin_without_flask(tmp_path):
    flask_help = subprocess.run([sys.executable, "-m", "flask", "--help"], capture_output=True, text=True,
                                cwd=tmp_path, timeout=60)
    assert flask_help.returncode == 0 and re.search(r"telegraphy +Telegraphy: run the gateway", flask_help.stdout)
    no_flask = subprocess.run([sys.executable, "-c", (
        "import sys; sys.modules.update(flask=None, flask_sqlalchemy=None, sqlalchemy=None)\n"
        "from telegraphy.contrib.flask_telegraphy.plugin import integration\n"
        "from telegraphy.plugins import describe\n"
        "print(integration.name, [r['status'] for r in describe() if r['name'] == 'flask'])")],
        capture_output=True, text=True, timeout=60)
    assert no_flask.stdout.strip() == "flask ['missing flask, flask_sqlalchemy: pip install telegraphy[flask]']", \
        no_flask.stderr
