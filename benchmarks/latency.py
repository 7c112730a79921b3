"""Latency: publish-to-receipt p50/p99 at 20 events/s to 1,000 subscribers (issue 14: p50 <= 5 ms,
p99 <= 15 ms), far below saturation: what a browser waits for an event in ordinary use.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from . import common, fanout, routers
from .common import Options

NAME = "latency"
TITLE = "Latency: 1,000 subscribers at 20 events/s"
COLUMNS = [("router", "router"), ("subscribers", "subscribers"), ("offered_events_per_s", "events/s"),
           ("published", "events"), ("delivered", "deliveries"), ("missing", "not arrived"), ("p50_ms", "p50 ms"),
           ("p99_ms", "p99 ms"), ("router_cpu", "gateway CPU %"), ("verdict", "goal")]
RATE = 20
GOAL_P50_MS, GOAL_P99_MS = 5.0, 15.0


def plan(quick: bool) -> tuple[int, float]:
    """Subscribers and seconds of publishing."""
    return (20, 2.0) if quick else (1000, 15.0)


def run(options: Options) -> dict:
    subscribers, seconds = plan(options.quick)
    router = routers.Telegraphy(options.transport)
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        router.start(Path(tmp))
        web = peers = None
        try:
            web = router.publisher()
            peers = router.subscribers(subscribers, fanout.processes_for(subscribers))
            fanout.measure_step(router.name, web, peers, subscribers, 1, RATE, 1.0, router.pids)  # warm-up
            row = fanout.measure_step(router.name, web, peers, subscribers, 2, RATE, seconds, router.pids)
        finally:
            for child in (peers, web):
                if child is not None:
                    child.close()
            router.stop()
    met = row["p50_ms"] is not None and row["p50_ms"] <= GOAL_P50_MS and row["p99_ms"] <= GOAL_P99_MS \
        and row["missing"] == 0
    row["verdict"] = "met" if met else "not met"
    fanout.print_row(row)
    rows = [row]
    notes = [f"a web-app process publishes {RATE} events/s ({fanout.PAD}-byte filler, publish_many every 10 ms) over "
             f"{options.transport} for {seconds:g} s after 1 s of warm-up; {subscribers:,} Node WAMP subscribers in "
             f"{fanout.processes_for(subscribers)} processes time every receipt against the send time in the event",
             f"goal (issue 14): p50 <= {GOAL_P50_MS:g} ms and p99 <= {GOAL_P99_MS:g} ms"]
    common.save(NAME, options, rows, notes=notes, config={"rate": RATE, "seconds": seconds})
    common.print_table(TITLE, rows, COLUMNS)
    return {"rows": rows}
