"""Peers: saturated deliveries/s at 1,000 subscribers on one topic, Telegraphy against every peer, in one run.

Each router (routers.py: Telegraphy, the bare Autobahn broadcaster, Crossbar, python-socketio with Redis,
Django Channels with channels_redis behind daphne) gets 1,000 Node subscribers of its own protocol in 4
processes and the same stepped rates, from 20 events/s up, until a step shows it saturated (deliveries
lost, or delivered/s under 80% of offered). Its saturated deliveries/s is the best step's delivered/s; the
ratios are Telegraphy's over each peer's, measured minutes apart on the same machine.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from . import common, fanout, routers
from .common import Options

NAME = "peers"
TITLE = "Peers: saturated deliveries/s at 1,000 subscribers, Telegraphy against every peer in one run"
COLUMNS = fanout.COLUMNS
SUMMARY_COLUMNS = [("router", "router"), ("saturated_per_s", "saturated deliveries/s"),
                   ("at_offered_per_s", "at offered/s"), ("p50_20_ms", "p50 ms at 20 ev/s"),
                   ("p99_20_ms", "p99 ms at 20 ev/s"), ("telegraphy_ratio", "telegraphy / router"),
                   ("goal_ratio", "goal ratio"), ("verdict", "goal")]
GOAL_RATIOS = {"autobahn (bare)": 1.5, "crossbar": 5.0, "python-socketio": 10.0, "channels": 30.0}


def plan(quick: bool) -> tuple[list[tuple[int, list[int]]], float]:
    if quick:
        return [(20, [20, 200])], 1.0
    return [(1000, [20, 100, 200, 400, 800])], 4.0


def measure(router: routers.Router, steps, seconds: float, directory: Path) -> list[dict]:
    """Start ``router``, run the steps until it saturates, stop it; RuntimeError if it cannot run."""
    router.start(directory)
    publisher = None
    try:
        publisher = router.publisher()
        return fanout.run_steps(router.name, router.subscribers, publisher, steps, seconds, router.pids,
                                until_saturated=True)
    finally:
        if publisher is not None:
            publisher.close()
        router.stop()


def summarize(rows: list[dict]) -> list[dict]:
    """Per router: the best delivered/s of its steps, its latency at the lowest rate, and the ratios."""
    out = []
    for name in dict.fromkeys(r["router"] for r in rows):
        mine = [r for r in rows if r["router"] == name]
        best = max(mine, key=lambda r: r["delivered_per_s"])
        low = min(mine, key=lambda r: r["offered_events_per_s"])
        out.append({"router": name, "saturated_per_s": best["delivered_per_s"],
                    "at_offered_per_s": best["offered_per_s"],
                    "p50_20_ms": low["p50_ms"], "p99_20_ms": low["p99_ms"],
                    "saturated": any(fanout.saturated(r) for r in mine)})
    ours = next((s["saturated_per_s"] for s in out if s["router"] == "telegraphy"), None)
    for s in out:
        if s["router"] != "telegraphy" and ours and s["saturated_per_s"]:
            s["telegraphy_ratio"] = ours / s["saturated_per_s"]
            s["goal_ratio"] = GOAL_RATIOS.get(s["router"])
            if s["goal_ratio"]:
                s["verdict"] = "met" if s["telegraphy_ratio"] >= s["goal_ratio"] else "not met"
    return out


def run(options: Options) -> dict:
    steps, seconds = plan(options.quick)
    common.ensure_node_modules()
    rows, skipped, notes = [], [], []
    for router in [routers.Telegraphy(options.transport), *routers.peers()]:
        print(f"  -- {router.name}", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
            try:
                rows += measure(router, steps, seconds, Path(tmp))
                notes.append(router.about)
            except RuntimeError as exc:
                skipped.append({"what": router.name, "why": str(exc)[-800:]})
                print(f"  {router.name} skipped: {exc}", flush=True)
    summary = summarize(rows)
    notes += [f"every router: {steps[0][0]:,} Node subscribers in {fanout.processes_for(steps[0][0])} processes, "
              f"events of {fanout.PAD}-byte filler at {', '.join(map(str, steps[0][1]))} events/s for {seconds:g} s "
              f"each, stopping at the first step a router does not keep up with",
              "saturated deliveries/s: the best step's delivered/s (deliveries received / (last receipt - first "
              "publish)); goals (issue 14): Telegraphy at least 1.5x the bare Autobahn broadcaster, 5x Crossbar, "
              "10x python-socketio, 30x Channels"]
    common.save(NAME, options, rows, skipped=skipped, notes=notes, summary=summary, plot=fanout.plot,
                config={"steps": steps, "seconds_per_step": seconds})
    common.print_table(TITLE, rows, COLUMNS, skipped)
    common.print_table("Saturated deliveries/s and ratios", summary, SUMMARY_COLUMNS)
    return {"rows": rows, "summary": summary, "skipped": skipped}
