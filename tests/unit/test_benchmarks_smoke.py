"""The benchmark harness works: its building blocks run tiny counts against a real gateway and write
results of the documented shape. Nothing here measures speed (that is `python -m benchmarks`)."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import pytest
from support import run_python

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as runner  # noqa: E402
from benchmarks import common, fanout, ingest, slowclient  # noqa: E402

needs_node = pytest.mark.skipif(shutil.which("node") is None or not (common.NODE_MODULES / "ws").is_dir(),
                                reason="Node and tests/js/node_modules/ws are needed: cd tests/js && npm install")


def test_ingest_measures_both_modes_over_xmlrpc(tmp_path):
    rows = ingest.measure("xmlrpc", "xmlrpc", None, {"single": 1, "batch": 1}, seconds=0.3, max_events=200,
                          directory=tmp_path)
    assert [row["mode"] for row in rows] == ["single", f"batch of {ingest.BATCH}"]
    for row in rows:
        assert 0 < row["events"] <= 200
        assert row["events_per_s"] > 0 and row["p50_us"] > 0 and row["p99_us"] >= row["p50_us"]
        assert row["verdict"] in ("met", "not met")


@needs_node
def test_fanout_step_delivers_every_event_to_every_subscriber(gateway):
    publisher = common.WebApp(gateway.config_path)
    try:
        subscribe = lambda n, processes: common.NodePeers("subscribe", gateway.url, fanout.TOPIC, n, processes)  # noqa: E731
        rows = fanout.run_steps("telegraphy", subscribe, publisher, [(3, [20])], 0.5, lambda: [gateway.proc.pid])
    finally:
        publisher.close()
    (row,) = rows
    assert row["published"] == 10 and row["delivered"] == row["expected"] == 30 and row["missing"] == 0
    assert 0 < row["p50_ms"] <= row["p99_ms"]


def test_stalled_client_subscribes_then_the_gateway_cuts_it_off(config_file, gateways):
    gw = gateways(config_file(limits={"client_queue_bytes": 4096}))
    sock = slowclient.stalled_client(gw.url, fanout.TOPIC)
    try:
        code = (f"import telegraphy; telegraphy.configure({str(gw.config_path)!r})\n"
                f"for i in range(400): telegraphy.publish({fanout.TOPIC!r}, {{'pad': 'x' * 20000}})")
        result = run_python(code)
        assert result.returncode == 0, result.stderr
        common.wait_for(lambda: common.gateway_metrics(gw).get(slowclient.DROPPED) == 1, timeout=30,
                        message="the stalled client to be cut off")
    finally:
        sock.close()


def test_results_json_png_and_readme_block(tmp_path):
    options = common.Options(quick=True, out=tmp_path, command="python -m benchmarks fanout --quick")
    row = {"router": "telegraphy", "subscribers": 3, "offered_events_per_s": 20, "published_per_s": 20.0,
           "offered_per_s": 60, "delivered_per_s": 59.0,
           "p50_ms": 1.5, "p99_ms": 3.0, "missing": 0, "router_cpu": 1.0, "clients_cpu": 1.0}
    path = common.save(fanout.NAME, options, [row], notes=["a note"], plot=fanout.plot)
    result = json.loads(path.read_text())
    assert set(result) == {"scenario", "date", "machine", "command", "quick", "config", "rows", "skipped", "notes"}
    assert result["rows"] == [row] and result["quick"] is True and result["machine"]["cores"] >= 1
    assert path.with_suffix(".png").stat().st_size > 0
    block = runner.readme_block(tmp_path)
    assert fanout.TITLE in block and "python -m benchmarks fanout" in block
    assert "| telegraphy | 3 | 20 | 20 | 60 | 59 |" in block


def test_histogram_percentiles_follow_the_node_buckets():
    hist = {}
    for ms, n in ((1.0, 98), (50.0, 2)):
        common.merge_hists(hist, {str(int(math.log(ms * 1000) * common.BUCKETS_PER_E)): n})
    assert 1.0 <= common.hist_percentile(hist, 50) < 1.05
    assert 50.0 <= common.hist_percentile(hist, 99) < 52.0
    assert common.hist_percentile({}, 99) is None
