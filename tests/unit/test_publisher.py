"""telegraphy.Publisher: one config's publishing and tokens, and which publisher ``telegraphy.publish`` uses.

Publishers here get an in-memory proxy (a real Proxy whose wire is a list): what each call hands the
transport is what these tests look at; the XML-RPC wire is tested end to end elsewhere.
"""

from __future__ import annotations

import json
import threading

import pytest
from support import SECRET, write_config

import telegraphy
from telegraphy import publisher as publisher_module
from telegraphy.config import from_mapping
from telegraphy.errors import ConfigError, InvalidEvent
from telegraphy.events import Event
from telegraphy.proxy import Proxy
from telegraphy.publisher import Publisher, add_default_provider, remove_default_provider
from telegraphy.tokens import verify

CONFIG = from_mapping({"auth": {"secret": SECRET}, "gateway": {"realm": "shop"}}, "<test>")


class ListProxy(Proxy):
    """A proxy whose connection is a list: each publish_many appends the envelopes it would have sent."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.calls: list[list[dict]] = []
        self.closed = 0

    def _open(self):
        return self.calls

    def _send(self, conn, payloads) -> None:
        conn.append([json.loads(p) for p in payloads])

    def _close(self, conn) -> None:
        self.closed += 1


def listed(config=CONFIG) -> tuple[Publisher, ListProxy]:
    proxy = ListProxy(config)
    return Publisher(config, proxy=proxy), proxy


@pytest.fixture
def default_state(monkeypatch):
    """A clean slate for the default publisher: nothing configured, no providers, no environment one."""
    monkeypatch.setattr(publisher_module, "_configured", None)
    monkeypatch.setattr(publisher_module, "_fallback", None)
    monkeypatch.setattr(publisher_module, "_providers", [])
    monkeypatch.delenv("TELEGRAPHY_CONFIG", raising=False)


def test_publish_and_publish_many_hand_events_to_the_proxy_in_one_call_each():
    publisher, proxy = listed()
    event = publisher.publish("shop.Order", {"id": 1}, event_type="create", user=7)
    sent = publisher.publish_many([("shop.Order", {"id": 2}), {"name": "shop.Invoice", "data": {"id": 3}},
                                   Event.create("shop.Refund", None)])
    assert [[(e["name"], e["data"]) for e in call] for call in proxy.calls] == [
        [("shop.Order", {"id": 1})],
        [("shop.Order", {"id": 2}), ("shop.Invoice", {"id": 3}), ("shop.Refund", None)]]
    assert proxy.calls[0][0]["meta"] == dict(event.meta) and event.meta["user"] == "7"
    assert [e.name for e in sent] == ["shop.Order", "shop.Invoice", "shop.Refund"]
    assert publisher.publish_many([]) == [] and len(proxy.calls) == 2  # nothing to send: no round trip


def test_publish_many_refuses_what_is_not_an_event_before_sending_any():
    publisher, proxy = listed()
    with pytest.raises(InvalidEvent, match="cannot publish 42: expected an Event, a tuple or a mapping"):
        publisher.publish_many([("shop.Order", {}), 42])
    assert proxy.calls == []


def test_tokens_are_minted_with_the_publishers_own_secret():
    other = from_mapping({"auth": {"secret": "another-secret-0123456789"}}, "<other>")
    token = Publisher(other).get_token(user=42, events=["mail.*"], ttl=5)
    claims = verify(other.auth, token)
    assert claims["sub"] == "42" and claims["ev"] == ["mail.*"]
    with pytest.raises(Exception, match="invalid token signature"):
        verify(CONFIG.auth, token)


def test_the_proxy_is_made_once_on_first_publish_even_from_many_threads(tmp_path):
    publisher = Publisher.from_source(write_config(tmp_path))
    assert publisher._proxy is None  # minting tokens or reading the config opens nothing
    proxies = []
    threads = [threading.Thread(target=lambda: proxies.append(publisher.proxy)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(p) for p in proxies}) == 1 and type(proxies[0]).__name__ == "XmlRpcProxy"


def test_close_closes_the_connections_and_a_later_publish_reopens_them():
    with Publisher(CONFIG, proxy=ListProxy(CONFIG)) as publisher:
        publisher.publish("shop.Order")
    assert publisher.proxy.closed == 1
    publisher.publish("shop.Order")
    assert len(publisher.proxy.calls) == 2


def test_from_source_takes_a_path_a_dict_or_a_config(tmp_path):
    path = write_config(tmp_path)
    assert Publisher.from_source(path).config.source == str(path)
    assert Publisher.from_source({"auth": {"secret": SECRET}}).config.source == "<dict>"
    assert Publisher.from_source(CONFIG).config is CONFIG


def test_the_default_is_configured_then_offered_then_from_the_environment(default_state, tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")  # no telegraphy.yaml here either
    with pytest.raises(ConfigError, match=r"set \$TELEGRAPHY_CONFIG"):
        telegraphy.get_publisher()
    path = write_config(tmp_path)
    monkeypatch.setenv("TELEGRAPHY_CONFIG", str(path))
    from_environment = telegraphy.get_publisher()
    assert from_environment.config.source == str(path) and telegraphy.get_publisher() is from_environment

    offered, proxy = listed()
    here = {"offer": True}
    provider = lambda: offered if here["offer"] else None  # noqa: E731 - an integration's provider
    add_default_provider(provider)
    add_default_provider(provider)  # once is enough
    assert publisher_module._providers == [provider]
    telegraphy.publish("shop.Order", {"id": 1})
    assert telegraphy.get_config() is CONFIG and telegraphy.get_proxy() is proxy and len(proxy.calls) == 1
    here["offer"] = False  # not where this provider applies: on to the next
    assert telegraphy.get_publisher() is from_environment

    here["offer"] = True
    config = telegraphy.configure({"auth": {"secret": SECRET}, "gateway": {"realm": "configured"}})
    assert config.gateway.realm == "configured"
    assert telegraphy.get_publisher().config is config  # what the program configured wins over providers
    assert telegraphy.get_token(user=1) and verify(config.auth, telegraphy.get_token(user=1))["sub"] == "1"

    monkeypatch.setattr(publisher_module, "_configured", None)
    remove_default_provider(provider)
    remove_default_provider(provider)  # no error
    assert telegraphy.get_publisher() is from_environment


def test_later_providers_are_asked_first(default_state):
    first, second = listed()[0], listed()[0]
    add_default_provider(lambda: first)
    add_default_provider(lambda: second)
    assert telegraphy.get_publisher() is second


def test_configure_again_closes_the_publisher_it_replaces(default_state):
    first = publisher_module.configure(CONFIG)
    first._proxy = proxy = ListProxy(CONFIG)  # what first.proxy would have opened, in memory
    telegraphy.publish("shop.Order")
    second = publisher_module.configure(CONFIG)
    assert proxy.closed == 1 and telegraphy.get_publisher() is second
