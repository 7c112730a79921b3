"""The embedded default end to end: a web-app process publishes over XML-RPC, WAMP clients receive."""

import pytest
from support import run_python

PUBLISH = """
import decimal, datetime, telegraphy
telegraphy.publish("shop.Order", {"id": 1, "total": decimal.Decimal("9.99"),
                   "at": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)}, event_type="create")
telegraphy.publish("shop.Invoice", {"id": 2})
telegraphy.publish("other.Thing", {"id": 3})
"""


@pytest.mark.parametrize("serializer", ["json", "msgpack"])
def test_exact_prefix_and_wildcard_subscriptions_receive_published_events(gateway, wamp, web_app_env, serializer):
    client = wamp(gateway.url, serializer=serializer)
    exact = client.subscribe("shop.Order")
    prefix = client.subscribe("shop.", match="prefix")
    wildcard = client.subscribe("shop.", match="wildcard")
    result = run_python(PUBLISH, env=web_app_env)
    assert result.returncode == 0, result.stderr
    events = client.wait_events(5)
    by_sub = {}
    for e in events:
        by_sub.setdefault(e["sub"], []).append(e["topic"])
    assert by_sub[exact] == ["shop.Order"]
    assert by_sub[prefix] == ["shop.Order", "shop.Invoice"]
    assert by_sub[wildcard] == ["shop.Order", "shop.Invoice"]
    order = events[0]["envelope"]
    assert order["name"] == "shop.Order"
    assert order["data"] == {"id": 1, "total": "9.99", "at": "2026-01-02T03:04:05.000000Z"}
    assert order["meta"]["event_type"] == "create"
    assert set(order["meta"]) >= {"event_type", "verbose_name", "timestamp", "id", "user"}
    assert [e["seq"] for e in events if e["sub"] == exact] == [1]
    subs = client.call("telegraphy.subscriptions")
    assert sorted(s["match"] for s in subs) == ["exact", "prefix", "wildcard"]
    assert client.call("telegraphy.subscribers", "shop.Order") == 1
