"""A large audience: 10,000 subscribers on one topic, deliveries/s and latency at stepped rates until the
gateway saturates (each event is 10,000 deliveries, walked in slices of the hub's SLICE_SIZE).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from . import common, fanout, routers
from .common import Options

NAME = "large"
TITLE = "Large audience: 10,000 subscribers on one topic"
COLUMNS = fanout.COLUMNS


def plan(quick: bool) -> tuple[list[tuple[int, list[int]]], float]:
    if quick:
        return [(50, [20, 100])], 1.0
    return [(10000, [2, 10, 20, 40, 80])], 4.0


def run(options: Options) -> dict:
    steps, seconds = plan(options.quick)
    router = routers.Telegraphy(options.transport)
    with tempfile.TemporaryDirectory(prefix="bench-large-") as tmp:
        router.start(Path(tmp))
        web = None
        try:
            web = router.publisher()
            rows = fanout.run_steps(router.name, router.subscribers, web, steps, seconds, router.pids,
                                    until_saturated=True)
            dropped = common.gateway_metrics(router.gw).get("telegraphy_slow_clients_dropped_total", 0)
        finally:
            if web is not None:
                web.close()
            router.stop()
    best = max(rows, key=lambda r: r["delivered_per_s"])
    notes = [f"{steps[0][0]:,} Node WAMP subscribers in {fanout.processes_for(steps[0][0])} processes; a web-app "
             f"process publishes over {options.transport} at {', '.join(map(str, steps[0][1]))} events/s for "
             f"{seconds:g} s each, stopping at the first step the gateway does not keep up with",
             f"best: {best['delivered_per_s']:,.0f} deliveries/s (offered {best['offered_per_s']:,}/s); slow clients "
             f"dropped: {dropped:.0f}"]
    common.save(NAME, options, rows, notes=notes, plot=fanout.plot,
                config={"steps": steps, "seconds_per_step": seconds})
    common.print_table(TITLE, rows, COLUMNS)
    return {"rows": rows}
