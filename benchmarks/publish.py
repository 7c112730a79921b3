"""Publish latency: how long the web app's ``telegraphy.publish()`` call takes with 0, 1,000 and 10,000
subscribers on the topic (issue 14: the audience must not slow the web app down).

One gateway, one web-app process publishing one event per call at a view's pace (10 events/s) over
XML-RPC, timing every call; the subscribers (Node WAMP clients, added between the steps) receive each
event, and their receive latency is shown beside it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from . import common, fanout, routers
from .common import Options

NAME = "publish"
TITLE = "Publish latency: the web app's publish() call with 0, 1,000 and 10,000 subscribers on the topic"
COLUMNS = [("subscribers", "subscribers"), ("calls", "publish calls"), ("p50_us", "call p50 µs"),
           ("p99_us", "call p99 µs"), ("max_us", "call max µs"), ("p50_ratio", "p50 / p50 with none"),
           ("delivered", "deliveries"), ("missing", "not arrived"), ("receive_p50_ms", "receive p50 ms"),
           ("receive_p99_ms", "receive p99 ms"), ("gateway_cpu", "gateway CPU %")]
RATE = 10  # publish() calls per second, one event each
GOAL_RATIO = 1.5  # p50 with 1,000 subscribers / p50 with none


def plan(quick: bool) -> tuple[list[int], float]:
    """Subscriber counts (each step adds to the previous) and the seconds of calls per step."""
    return ([0, 20, 50], 2.0) if quick else ([0, 1000, 10000], 15.0)


def received(peers: list[common.NodePeers], step: int) -> dict:
    """Step ``step``'s deliveries over every group of subscribers: count and merged histogram."""
    out = {"count": 0, "hist": {}}
    for group in peers:
        st = group.report()["steps"].get(str(step), {"count": 0, "hist": {}})
        out["count"] += st["count"]
        common.merge_hists(out["hist"], st["hist"])
    return out


def measure(web, gw, peers: list[common.NodePeers], subscribers: int, seconds: float, step: int) -> dict:
    """Warm up (1 s of calls, step 0), then ``seconds`` of timed calls as step ``step``."""
    web.ask({"cmd": "calls", "topic": routers.TOPIC, "rate": RATE, "seconds": 1.0, "step": 0}, timeout=60)
    cpu0 = common.cpu_seconds(gw.proc.pid)
    out = web.ask({"cmd": "calls", "topic": routers.TOPIC, "rate": RATE, "seconds": seconds, "pad": fanout.PAD,
                   "step": step}, timeout=seconds * 4 + 60)
    if "error" in out:
        raise RuntimeError(f"publish failed in the web app: {out['error']}")
    cpu = common.cpu_seconds(gw.proc.pid) - cpu0
    expected = out["sent"] * subscribers
    if expected:
        try:
            common.wait_for(lambda: received(peers, step)["count"] >= expected, timeout=30, interval=0.25,
                            message=f"{expected} deliveries")
        except AssertionError:
            pass  # reported as "not arrived"
    got = received(peers, step)
    return {"subscribers": subscribers, "calls": out["sent"], "p50_us": out["p50_us"], "p99_us": out["p99_us"],
            "max_us": out["max_us"], "mean_us": out["mean_us"], "delivered": got["count"],
            "missing": expected - got["count"], "receive_p50_ms": common.hist_percentile(got["hist"], 50),
            "receive_p99_ms": common.hist_percentile(got["hist"], 99),
            "gateway_cpu": 100 * cpu / max(out["last"] - out["first"], 1e-6)}


def run(options: Options) -> dict:
    counts, seconds = plan(options.quick)
    router = routers.Telegraphy(options.transport)
    rows, peers = [], []
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        router.start(Path(tmp))
        web = None
        try:
            web = router.publisher()
            connected = 0
            for step, subscribers in enumerate(counts, start=1):
                if subscribers > connected:
                    more = subscribers - connected
                    peers.append(router.subscribers(more, fanout.processes_for(more)))
                    connected = subscribers
                rows.append(measure(web, router.gw, peers, subscribers, seconds, step))
                print(f"  {subscribers:>6,} subscribers: publish() p50 {rows[-1]['p50_us']:.0f} µs, p99 "
                      f"{rows[-1]['p99_us']:.0f} µs; deliveries {rows[-1]['delivered']:,} (missing "
                      f"{rows[-1]['missing']:,})", flush=True)
        finally:
            for group in peers:
                group.close()
            if web is not None:
                web.close()
            router.stop()
    base = rows[0]["p50_us"]
    for row in rows:
        row["p50_ratio"] = row["p50_us"] / base if base else None
    thousand = next((r for r in rows if r["subscribers"] == 1000), None)
    notes = [f"one web-app process calls telegraphy.publish (one event per call, {fanout.PAD}-byte filler) {RATE} "
             f"times a second for {seconds:g} s per step over {options.transport}, timing every call; subscribers: "
             f"Node WAMP clients on the topic, added between steps"]
    if thousand:
        ratio = thousand["p50_ratio"]
        notes.append(f"p50 with 1,000 subscribers / p50 with none: {ratio:.2f} (goal <= {GOAL_RATIO}: "
                     f"{'met' if ratio <= GOAL_RATIO else 'not met'})")
    common.save(NAME, options, rows, notes=notes, plot=plot, config={"rate": RATE, "seconds": seconds})
    common.print_table(TITLE, rows, COLUMNS)
    return {"rows": rows}


def plot(fig, result: dict) -> None:
    """publish() call p50/p99 per subscriber count."""
    ax = fig.add_subplot(1, 1, 1)
    rows = result["rows"]
    for offset, key in ((-0.2, "p50_us"), (0.2, "p99_us")):
        ax.bar([i + offset for i in range(len(rows))], [r[key] or 0 for r in rows], width=0.4,
               label=key.replace("_us", ""))
    ax.set_xticks(range(len(rows)), [f"{r['subscribers']:,} subscribers" for r in rows], fontsize=8)
    ax.set_ylabel("telegraphy.publish() call, µs")
    if rows and rows[0]["p50_us"]:
        ax.axhline(rows[0]["p50_us"] * GOAL_RATIO, color="red", linestyle="--", linewidth=1,
                   label=f"goal: p50 <= {GOAL_RATIO}x the p50 with none")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
