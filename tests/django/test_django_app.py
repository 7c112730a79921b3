"""The app around the events: template tag, token URL, system checks, settings, and the plugin entry."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.template import Context, Template
from django.test import RequestFactory, override_settings
from support import SECRET, run_python
from telegraphy.contrib.django_telegraphy import conf
from telegraphy.contrib.django_telegraphy.events import BaseEvent, BaseEventModel

from telegraphy import tokens
from telegraphy.config import from_mapping
from telegraphy.errors import ConfigError, InvalidEvent

PAGE = Template("{% load telegraphy_tags %}{% telegraphy_scripts %}")


def configure_call(html: str) -> dict:
    match = re.search(r"<script>Telegraphy\.configure\((.*)\);</script>", html)
    assert match, html
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_scripts_tag_renders_the_client_the_gateway_url_and_a_token_for_request_user(client):
    user = get_user_model().objects.create_user("ada", password="pw")
    client.force_login(user)
    html = client.get("/page/").content.decode()
    assert '<script src="/static/telegraphy/telegraphy.js"></script>' in html
    options = configure_call(html)
    config = conf.get_config()
    assert options["url"] == config.gateway.url and options["realm"] == "telegraphy"
    assert options["tokenUrl"] == "/telegraphy/token/"
    assert tokens.verify(config.auth, options["token"])["sub"] == str(user.pk)


@pytest.mark.django_db
def test_anonymous_visitors_get_no_token_and_the_token_url_answers_for_the_session_user(client):
    anonymous = configure_call(client.get("/page/").content.decode())
    assert anonymous["token"] is None and anonymous["tokenUrl"] is None  # connects anonymously: public events
    assert client.get("/telegraphy/token/").json() == {"token": None}
    user = get_user_model().objects.create_user("bob", password="pw")
    client.force_login(user)
    response = client.get("/telegraphy/token/")
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    assert tokens.verify(conf.get_config().auth, response.json()["token"])["sub"] == str(user.pk)


def test_the_script_block_cannot_be_closed_by_config_values():
    mapping = from_mapping({"auth": {"secret": SECRET}, "gateway": {"realm": "a</script><b>"}}).to_dict(False)
    with override_settings(TELEGRAPHY_CONFIG=None, TELEGRAPHY=mapping):
        html = PAGE.render(Context({"request": RequestFactory().get("/")}))
    assert "</script><b>" not in html
    assert configure_call(html)["realm"] == "a</script><b>"


def test_scripts_tag_says_what_is_missing():
    with pytest.raises(ConfigError, match=r"needs the request in the template context.*"
                                          r"django\.template\.context_processors\.request"):
        PAGE.render(Context({}))
    with override_settings(TELEGRAPHY_CONFIG=None), pytest.raises(ConfigError, match="Telegraphy is not configured"):
        PAGE.render(Context({"request": RequestFactory().get("/")}))


def test_the_telegraphy_dict_setting_is_validated_like_the_yaml_file(tmp_path, monkeypatch):
    monkeypatch.delenv("TELEGRAPHY_CONFIG", raising=False)
    with override_settings(TELEGRAPHY_CONFIG=None, TELEGRAPHY={"auth": {"secret": SECRET}, "gatway": {}}):
        with pytest.raises(ConfigError, match=r"settings\.TELEGRAPHY.*key 'gatway': unknown key"):
            conf.load()
    with override_settings(TELEGRAPHY_CONFIG=None, TELEGRAPHY={"auth": {"secret": SECRET}}):
        assert conf.get_config().gateway.realm == "telegraphy"
    assert conf.get_config().source.endswith("telegraphy.yaml")  # back to the file once the override ends
    with override_settings(TELEGRAPHY_CONFIG=None), pytest.raises(ConfigError, match="TELEGRAPHY_CONFIG = BASE_DIR"):
        conf.load()


def check_messages(**settings) -> str:
    with override_settings(**settings):
        try:
            call_command("check", tags=["telegraphy"])
        except SystemCheckError as exc:
            return str(exc)
    return ""


def test_system_check_reports_a_broken_config(tmp_path):
    broken = tmp_path / "telegraphy.yaml"
    broken.write_text("auth:\n  secret: short\n")
    assert check_messages() == ""
    message = check_messages(TELEGRAPHY_CONFIG=str(broken))
    assert "telegraphy.E001" in message and "line 2, key 'auth.secret'" in message
    assert "telegraphy.E001" in check_messages(TELEGRAPHY_CONFIG=str(tmp_path / "missing.yaml"))


def test_system_check_reports_an_event_whose_access_the_config_contradicts():
    class Leaky(BaseEvent):
        name = "telegraphy_testapp.Payroll"
        access = "private"
    event = Leaky().register()
    try:
        message = check_messages()
    finally:
        event.unregister()
    assert "telegraphy.E002" in message and "gives 'telegraphy_testapp.Payroll' access 'public'" in message


def test_system_check_warns_about_the_missing_request_context_processor(settings):
    templates = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
                  "OPTIONS": {"context_processors": ["django.contrib.auth.context_processors.auth",
                                                     "django.contrib.messages.context_processors.messages"]}}]
    with override_settings(TEMPLATES=templates):
        from telegraphy.contrib.django_telegraphy.checks import check_templates
        assert [m.id for m in check_templates()] == ["telegraphy.W002"]


def test_declaration_errors_name_the_class_and_the_field():
    from telegraphy_testapp.models import Article

    class Typo(BaseEventModel):
        model = Article
        fields = ["titel"]
    with pytest.raises(InvalidEvent, match=r"Typo\.fields names the field 'titel', but telegraphy_testapp\.Article"):
        Typo().register()

    class BadOperation(BaseEventModel):
        model = Article
        operations = ("create", "upsert")
    with pytest.raises(InvalidEvent, match=r"BadOperation\.operations: unknown operation 'upsert'"):
        BadOperation().register()


def test_the_plugin_entry_imports_without_django():
    result = run_python(textwrap.dedent("""
        import sys
        sys.modules["django"] = None  # as if Django were not installed
        from telegraphy.plugins import load_integration
        integration = load_integration("django")
        print(integration.name, integration.extra, *integration.requires)
    """))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django", "django", "django"]


def test_only_models_with_events_get_receivers_so_other_models_keep_fast_deletes():
    from django.db.models.signals import post_delete, post_save
    from telegraphy_testapp.models import Article, Note, Tag

    assert post_delete.has_listeners(Note) and post_save.has_listeners(Note)
    assert not post_delete.has_listeners(Tag) and not post_save.has_listeners(Tag)

    class ArticleEvents(BaseEventModel):
        model = Article
    event = ArticleEvents().register()
    assert post_delete.has_listeners(Article)
    event.unregister()
    assert not post_delete.has_listeners(Article)


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_gateway_is_logged_and_the_write_stays_committed(caplog):
    from django.db import transaction
    from support import free_port
    from telegraphy_testapp.models import Note

    down = {"auth": {"secret": SECRET}, "transport": {"name": "xmlrpc", "options": {"port": free_port()}}}
    with override_settings(TELEGRAPHY_CONFIG=None, TELEGRAPHY=down), caplog.at_level("ERROR", "telegraphy.django"):
        with transaction.atomic():
            Note.objects.create(text="kept")
    assert Note.objects.filter(text="kept").exists()
    assert "telegraphy: 1 event(s) not sent (telegraphy_testapp.Note)" in caplog.text


@pytest.mark.django_db
def test_the_app_never_configures_the_process_and_offers_its_publisher_as_the_default(client, monkeypatch):
    import telegraphy
    from telegraphy import publisher as publisher_module

    monkeypatch.setattr(publisher_module, "_configured", None)  # as in a project that never calls configure()
    user = get_user_model().objects.create_user("ada", password="pw")
    client.force_login(user)
    assert client.get("/page/").status_code == 200 and client.get("/telegraphy/token/").json()["token"]
    assert publisher_module._configured is None
    assert telegraphy.get_publisher() is conf.publisher() and telegraphy.get_config() is conf.get_config()

    elsewhere = telegraphy.configure({"auth": {"secret": SECRET}, "gateway": {"realm": "elsewhere"}})
    assert telegraphy.get_config() is elsewhere  # the program's own choice wins for telegraphy.publish...
    assert conf.get_config().source.endswith("telegraphy.yaml")  # ...and the settings still decide for the app
    options = configure_call(client.get("/page/").content.decode())
    assert options["realm"] == "telegraphy" and tokens.verify(conf.get_config().auth, options["token"])
