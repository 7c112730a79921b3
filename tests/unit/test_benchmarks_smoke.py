"""The benchmark harness works: its building blocks run tiny counts against a real gateway and write
results of the documented shape. Nothing here measures speed (that is `python -m benchmarks`)."""

from __future__ import annotations

import json
import math
import shutil
import sys

import pytest
from support import run_python

from benchmarks import __main__ as runner
from benchmarks import (
    common,
    fanout,
    goals,
    idle,
    ingest,
    pacer,
    peerenv,
    peers,
    profile,
    publish,
    responsiveness,
    routers,
    slowclient,
)

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


def test_pacer_spreads_events_over_ticks_with_send_times():
    batches = []
    out = pacer.pace(lambda topic, datas: batches.append((topic, datas)), "t", step=7, rate=200, seconds=0.2, pad=3)
    events = [d for _, datas in batches for d in datas]
    assert out["sent"] == len(events) == 40 and out["error_count"] == 0
    assert len(batches) > 1 and all(len(datas) <= pacer.MAX_BATCH for _, datas in batches)
    assert [d["i"] for d in events] == list(range(40)) and {d["bench_s"] for d in events} == {7}
    assert events[0]["pad"] == "xxx" and events[0]["bench_t"] <= events[-1]["bench_t"]


@needs_node
def test_bare_broadcaster_relays_every_event_to_every_ws_subscriber(tmp_path):
    router = routers.BareAutobahn(python=sys.executable)  # the project's Twisted and Autobahn: the same versions
    router.start(tmp_path)
    publisher = None
    try:
        publisher = router.publisher()
        rows = fanout.run_steps(router.name, router.subscribers, publisher, [(3, [20])], 0.5, router.pids,
                                until_saturated=True)
    finally:
        if publisher is not None:
            publisher.close()
        router.stop()
    (row,) = rows
    assert row["published"] == 10 and row["delivered"] == row["expected"] == 30 and row["missing"] == 0


@needs_node
@pytest.mark.parametrize("make, venv", [(routers.SocketIO, "socketio"), (routers.Channels, "channels"),
                                        (routers.Crossbar, "crossbar")])
def test_each_installed_peer_delivers_to_its_node_clients(make, venv, tmp_path):
    if not peerenv.installed(venv):
        pytest.skip(f"benchmarks/.peers/{venv} is made by `python -m benchmarks peers`")
    rows = peers.measure(make(), [(3, [20])], 0.5, tmp_path)
    assert rows[0]["delivered"] == rows[0]["expected"] == 30


def test_saturated_steps_and_the_peers_summary():
    def row(router, offered, delivered, missing=0):
        return {"router": router, "offered_events_per_s": offered, "offered_per_s": offered * 1000,
                "delivered_per_s": delivered, "missing": missing, "p50_ms": 1.0, "p99_ms": 2.0}
    rows = [row("telegraphy", 20, 20_000), row("telegraphy", 400, 300_000), row("crossbar", 20, 19_900),
            row("crossbar", 100, 50_000, missing=5)]
    assert fanout.saturated(rows[1]) and not fanout.saturated(rows[0]) and fanout.saturated(rows[3])
    summary = {s["router"]: s for s in peers.summarize(rows)}
    assert summary["telegraphy"]["saturated_per_s"] == 300_000
    assert summary["crossbar"]["telegraphy_ratio"] == 6.0 and summary["crossbar"]["verdict"] == "met"


@needs_node
def test_publish_calls_are_timed_and_every_subscriber_receives_them(gateway):
    web = common.WebApp(gateway.config_path)
    subscribers = common.NodePeers("subscribe", gateway.url, routers.TOPIC, 3)
    try:
        row = publish.measure(web, gateway, [subscribers], 3, seconds=0.5, step=1)
    finally:
        subscribers.close()
        web.close()
    assert row["calls"] == 5 and 0 < row["p50_us"] <= row["p99_us"] <= row["max_us"]
    assert row["delivered"] == 15 and row["missing"] == 0


@needs_node
def test_probe_times_calls_and_health_requests(gateway):
    probe = common.NodePeers("probe", gateway.url, "bench.probe")
    try:
        answer = probe.publisher.ask({"cmd": "probe", "seconds": 0.5, "interval_ms": 50,
                                      "procedure": responsiveness.PROCEDURE, "health_url": gateway.http + "/health"},
                                     timeout=30)
    finally:
        probe.close()
    row = responsiveness.probe_row("idle", 0, answer)
    assert row["calls"] >= 5 and row["health_requests"] >= 5 and row["errors"] == 0
    assert 0 < row["call_p50_ms"] <= row["call_p99_ms"] <= row["call_max_ms"]


@needs_node
def test_idle_sessions_memory_per_session():
    row = idle.measure("joined", "join", 20, "xmlrpc")
    assert row["connections"] == 20 and row["rss_after_mb"] > 0 and row["verdict"] in ("met", "not met")


def test_profile_parses_py_spy_raw_stacks():
    raw = ("process 1:\"telegraphy-gateway\";thread (0x1);run (twisted/internet/base.py:10);"
           "_pump (/x/telegraphy/gateway/hub.py:262);send (/x/telegraphy/gateway/websocket.py:140) 3\n"
           "process 1:\"telegraphy-gateway\";thread (0x1);run (twisted/internet/base.py:10);"
           "_pump (/x/telegraphy/gateway/hub.py:270) 1\n")
    own, inclusive, total = profile.parse(raw)
    assert total == 4
    assert own["send (telegraphy/gateway/websocket.py)"] == 3 and own["_pump (telegraphy/gateway/hub.py)"] == 1
    assert inclusive["_pump (telegraphy/gateway/hub.py)"] == 4


def test_goals_read_each_scenario_json(tmp_path):
    options = common.Options(quick=False, out=tmp_path)
    base = {"subscribers": 0, "p50_us": 1000.0}
    common.save(publish.NAME, options, [base, {"subscribers": 1000, "p50_us": 1400.0}])
    common.save(idle.NAME, options, [{"sessions": 10000, "kind": "joined", "per_session_kib": 20.0,
                                      "verdict": "not met"}])
    rows = {r["goal"]: r for r in goals.evaluate(tmp_path)}
    assert rows["publish() p50 with 1,000 subscribers / with none"]["verdict"] == "met"
    assert rows["memory per idle session at 10,000 sessions (joined)"]["verdict"] == "not met"
    assert rows["latency at 20 events/s to 1,000 subscribers"]["measured"] == "not measured"
