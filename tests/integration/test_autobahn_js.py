"""AutobahnJS (npm "autobahn", in Node) receives the same events as the Python clients."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import telegraphy

SCRIPT = Path(__file__).resolve().parents[1] / "js" / "autobahn_subscriber.js"
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


@pytest.mark.parametrize("serializer", ["json", "msgpack"])
def test_autobahn_js_subscribes_exactly_by_prefix_and_wildcard(gateway, serializer):
    assert (SCRIPT.parent / "node_modules" / "autobahn").is_dir(), "run `make install-test` (npm install in tests/js)"
    node = subprocess.Popen(["node", str(SCRIPT), gateway.url, serializer, "5", "shop.Order:exact",
                             "shop.:prefix", "shop.:wildcard"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        ready = json.loads(node.stdout.readline())
        assert ready == {"ready": True, "subscriptions": 3}
        telegraphy.configure(gateway.config_path)
        telegraphy.publish("shop.Order", {"id": 1}, event_type="create")
        telegraphy.publish("shop.Invoice", {"id": 2})
        telegraphy.publish("other.Thing", {"id": 3})
        out, err = node.communicate(timeout=30)
    finally:
        node.kill()
    assert node.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert sorted((e["match"], e["topic"]) for e in lines) == [
        ("exact", "shop.Order"), ("prefix", "shop.Invoice"), ("prefix", "shop.Order"),
        ("wildcard", "shop.Invoice"), ("wildcard", "shop.Order")]
    order = next(e["envelope"] for e in lines if e["match"] == "exact")
    assert order["data"] == {"id": 1} and order["meta"]["event_type"] == "create"
