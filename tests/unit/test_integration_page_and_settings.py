"""The shared settings pair (TELEGRAPHY_CONFIG or TELEGRAPHY), the token endpoint's answer and the page's
script tags, without a framework."""

from __future__ import annotations

import html
import json
import re

import pytest
from support import ROOT, SECRET, write_config
from test_publisher import CONFIG

from telegraphy.errors import ConfigError
from telegraphy.integration import client_options, config_from_settings, script_tags, token_for, token_response
from telegraphy.integration.page import CLIENT_SCRIPT, TOKEN_HEADERS
from telegraphy.publisher import Publisher
from telegraphy.tokens import verify

NOT_CONFIGURED = "set FRAMEWORK_TELEGRAPHY to configure Telegraphy"


def settings(path=None, mapping=None, base=None):
    return config_from_settings(path, mapping, where="framework.cfg", mapping_source="framework.cfg['TELEGRAPHY']",
                                not_configured=NOT_CONFIGURED, base=base)


def test_a_path_is_read_relative_to_the_base_and_a_dict_is_validated_like_the_file(tmp_path, monkeypatch):
    path = write_config(tmp_path)
    assert settings(path).source == str(path)
    assert settings(path.name, base=tmp_path).source == str(path)
    monkeypatch.chdir(tmp_path)
    assert settings(path.name).source == path.name
    assert settings(mapping={"auth": {"secret": SECRET}, "gateway": {"realm": "shop"}}).gateway.realm == "shop"
    assert settings(mapping=CONFIG) is CONFIG
    with pytest.raises(ConfigError) as info:
        settings(mapping={"auth": {"secret": "short"}})
    assert info.value.source == "framework.cfg['TELEGRAPHY']" and info.value.key == "auth.secret"


def test_settings_mistakes_and_absence_are_clear_errors(tmp_path, monkeypatch):
    path = write_config(tmp_path)
    with pytest.raises(ConfigError, match=r"^framework\.cfg: set TELEGRAPHY_CONFIG \(a path\) or TELEGRAPHY "
                                          r"\(a dict\), not both$"):
        settings(path, {"auth": {"secret": SECRET}})
    with pytest.raises(ConfigError, match="TELEGRAPHY must be a dict with the schema of telegraphy.yaml, got list"):
        settings(mapping=["auth"])
    monkeypatch.delenv("TELEGRAPHY_CONFIG", raising=False)
    with pytest.raises(ConfigError, match=f"^framework\\.cfg: {NOT_CONFIGURED}$"):
        settings()
    monkeypatch.setenv("TELEGRAPHY_CONFIG", str(path))
    assert settings().source == str(path)


def test_the_token_endpoint_answers_a_fresh_token_for_a_user_and_null_for_nobody():
    publisher = Publisher(CONFIG)
    assert token_response(publisher, None) == {"token": None} and token_for(publisher, None) is None
    first, second = token_response(publisher, 42)["token"], token_for(publisher, 42, events=["mail.*"])
    assert verify(CONFIG.auth, first)["sub"] == "42" and verify(CONFIG.auth, second)["ev"] == ["mail.*"]
    assert first != second  # single-use: every answer is a new token
    assert TOKEN_HEADERS == {"Cache-Control": "no-store"}


def test_the_page_gets_the_gateway_a_token_and_where_to_refresh_it_or_none_of_the_two():
    publisher = Publisher(CONFIG)
    assert client_options(publisher, "t1.x.y", "/telegraphy/token") == {
        "url": CONFIG.gateway.url, "realm": "shop", "token": "t1.x.y", "tokenUrl": "/telegraphy/token"}
    assert client_options(publisher, None, "/telegraphy/token") == {
        "url": CONFIG.gateway.url, "realm": "shop", "token": None, "tokenUrl": None}


def test_script_tags_escape_every_value():
    hostile = "</script><script>alert('x')</script><!--\u2028"
    tags = script_tags('/static/t.js?a=1&b="2"', {"url": hostile, "realm": "shop", "token": None})
    assert tags.startswith('<script src="/static/t.js?a=1&amp;b=&quot;2&quot;"></script>\n<script>')
    assert tags.count("</script>") == 2 and "<!--" not in tags and "\u2028" not in tags
    configure = re.fullmatch(r".*<script>Telegraphy\.configure\((.*)\);</script>", tags, re.S).group(1)
    assert json.loads(configure) == {"url": hostile, "realm": "shop", "token": None}
    assert html.unescape(tags.split('"')[1]) == '/static/t.js?a=1&b="2"'


def test_every_integration_serves_the_one_copy_of_the_client():
    package_copy = ROOT / "telegraphy" / "static" / "telegraphy" / "telegraphy.js"
    assert CLIENT_SCRIPT.read_bytes() == package_copy.read_bytes()
    django_copy = ROOT / "plugins" / "django" / "static" / "telegraphy" / "telegraphy.js"
    assert django_copy.is_symlink() and django_copy.resolve() == package_copy.resolve()
