"""Fan-out: events/s delivered to N WebSocket subscribers in other processes, and publish-to-receipt latency.

A separate web-app process publishes with ``telegraphy.publish_many`` at stepped rates; Node subscribers
(benchmarks/wamp_peer.js, 2 to 4 processes) count every EVENT and histogram its latency from the send time
carried in the event's data. Where delivered/s stops following the offered rate and p99 climbs, it saturates.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import common
from .common import GatewayProcess, LineProcess, NodePeers, Options

NAME = "fanout"
TITLE = "Fan-out: deliveries/s to N WebSocket subscribers, publish-to-receipt latency"
TOPIC = "bench.fanout"
PAD = 100  # bytes of filler per event, so a frame is about 350 bytes like a small model event
TARGET = 100_000  # deliveries/s with 1,000 subscribers (issue 2)
COLUMNS = [("router", "router"), ("subscribers", "subscribers"), ("offered_events_per_s", "offered events/s"),
           ("published_per_s", "published events/s"), ("offered_per_s", "offered deliveries/s"),
           ("delivered_per_s", "delivered/s"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"),
           ("missing", "not arrived"), ("router_cpu", "router CPU %"), ("clients_cpu", "clients CPU %")]


def plan(quick: bool) -> tuple[list[tuple[int, list[int]]], float]:
    """(subscribers, [events/s per step]) pairs and the seconds each step publishes for."""
    if quick:
        return [(20, [20, 200])], 1.0
    return [(100, [20, 100, 500, 1000]), (1000, [20, 100, 200, 400])], 4.0


def processes_for(subscribers: int) -> int:
    """Node client processes for ``subscribers`` connections (so that the clients are not the bottleneck)."""
    return 2 if subscribers <= 100 else 4


def run_steps(router: str, subscribe: Callable[[int, int], NodePeers], publisher: LineProcess,
              plan_: Sequence[tuple[int, list[int]]], seconds: float, router_pids: Callable[[], list[int]],
              until_saturated: bool = False) -> list[dict]:
    """Offer each step's rate to N subscribers (``subscribe(N, processes)``) and measure what arrives; shared
    with the peers scenarios. With ``until_saturated``, a router's steps end at the first one it does not
    keep up with (deliveries lost, or delivered/s under SATURATED of offered): the next would only queue."""
    rows, step = [], 0
    for subscribers, rates in plan_:
        peers = subscribe(subscribers, processes_for(subscribers))
        try:
            for rate in rates:
                step += 1
                rows.append(measure_step(router, publisher, peers, subscribers, step, rate, seconds, router_pids))
                print_row(rows[-1])
                if until_saturated and saturated(rows[-1]):
                    break
        finally:
            peers.close()
    return rows


SATURATED = 0.8


def saturated(row: dict) -> bool:
    """Whether a step shows the router at its limit: deliveries lost, or delivered/s well under offered."""
    return row["missing"] > 0 or row["delivered_per_s"] < SATURATED * row["offered_per_s"]


def measure_step(router: str, publisher: LineProcess, peers: NodePeers, subscribers: int, step: int, rate: float,
                 seconds: float, router_pids: Callable[[], list[int]], pad: int = PAD) -> dict:
    """Publish ``rate`` events/s for ``seconds`` and wait (bounded) for the subscribers to get them all."""
    pids = router_pids()
    cpu0 = sum(map(common.cpu_seconds, pids)), sum(map(common.cpu_seconds, peers.pids))
    t0 = time.time()
    sent = publisher.ask({"cmd": "pace", "topic": TOPIC, "step": step, "rate": rate, "seconds": seconds,
                          "pad": pad}, timeout=seconds * 5 + 30)
    if "error" in sent:
        raise RuntimeError(f"the publisher failed: {sent['error']}")
    expected = sent["sent"] * subscribers
    # wait for everything to arrive, or for arrivals to stop (bounded: a saturated router may never catch up);
    # arrivals of any step count, so a router still delivering an earlier step's backlog is not judged stopped
    deadline, last_total, last_change, st = time.monotonic() + max(20.0, seconds * 5), -1, time.monotonic(), {}
    while time.monotonic() < deadline:
        steps = peers.report()["steps"]
        st = steps.get(str(step), {"count": 0, "first": 0, "last": 0, "hist": {}})
        if st["count"] >= expected:
            break
        total = sum(s["count"] for s in steps.values())
        if total != last_total:
            last_total, last_change = total, time.monotonic()
        elif time.monotonic() - last_change > 3:
            break
        time.sleep(0.25)
    cpu1 = sum(map(common.cpu_seconds, pids)), sum(map(common.cpu_seconds, peers.pids))
    span = max(st["last"] - sent["first"], 1e-6) if st["count"] else None
    busy = span or (time.time() - t0)  # CPU % over the time the step was really working
    return {"router": router, "subscribers": subscribers, "offered_events_per_s": rate,
            "offered_per_s": rate * subscribers, "published": sent["sent"],
            "published_per_s": sent["sent"] / max(sent["last"] - sent["first"], 1e-6),
            "publish_errors": sent.get("error_count", 0), "delivered": st["count"], "expected": expected,
            "missing": expected - st["count"], "delivered_per_s": st["count"] / span if span else 0.0,
            "p50_ms": common.hist_percentile(st["hist"], 50), "p99_ms": common.hist_percentile(st["hist"], 99),
            "router_cpu": 100 * (cpu1[0] - cpu0[0]) / busy, "clients_cpu": 100 * (cpu1[1] - cpu0[1]) / busy}


def print_row(row: dict) -> None:
    print(f"  {row['router']:>10} N={row['subscribers']:<5} offered {row['offered_per_s']:>8,}/s  "
          f"delivered {row['delivered_per_s']:>9,.0f}/s  p50 {common.fmt(row['p50_ms']):>6} ms  "
          f"p99 {common.fmt(row['p99_ms']):>6} ms  missing {row['missing']:,}  router CPU {row['router_cpu']:.0f}%",
          flush=True)


def fanout_config(directory: Path, transport: str, transport_options: dict | None,
                  limits: dict | None = None) -> Path:
    """A gateway config for fan-out: public events, small history, a client queue big enough that a
    client briefly behind at saturation is measured, not dropped, room for 10,000 clients."""
    return common.write_config(directory, transport=transport, options=transport_options,
                               events=[{"match": "*", "access": "public", "history": 10}],
                               limits={"client_queue_bytes": 16 * 1024 * 1024, "max_connections": 12000,
                                       **(limits or {})})


def run(options: Options) -> dict:
    steps, seconds = plan(options.quick)
    transport_options = common.transport_options(options.transport)
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        gw = GatewayProcess(fanout_config(Path(tmp), options.transport, transport_options)).start()
        publisher = None
        try:
            publisher = common.WebApp(gw.config_path)
            subscribe = lambda n, processes: NodePeers("subscribe", gw.url, TOPIC, n, processes)  # noqa: E731
            rows = run_steps("telegraphy", subscribe, publisher, steps, seconds, lambda: [gw.proc.pid],
                             until_saturated=True)
            dropped = common.gateway_metrics(gw).get("telegraphy_slow_clients_dropped_total", 0)
        finally:
            if publisher is not None:
                publisher.close()
            gw.stop()
            common.forget_transport(options.transport, transport_options)
    best = max((r["delivered_per_s"] for r in rows if r["subscribers"] >= 1000 and r["missing"] == 0), default=None)
    notes = [f"publisher: a separate Python process calling telegraphy.publish_many every 10 ms over "
             f"{options.transport}; subscribers: Node `ws` clients, {PAD}-byte filler per event",
             f"slow clients dropped by the gateway during the run: {dropped:.0f}"]
    if best is not None:
        notes.append(f"best lossless rate with 1,000 subscribers: {best:,.0f} deliveries/s "
                     f"(target {TARGET:,}: {'met' if best >= TARGET else 'not met'})")
    result = {"rows": rows, "notes": notes}
    common.save(NAME, options, rows, notes=notes, plot=plot,
                config={"transport": options.transport, "steps": steps, "seconds_per_step": seconds, "pad": PAD})
    common.print_table(TITLE, rows, COLUMNS)
    return result


def plot(fig, result: dict, extra_rows: Sequence[dict] = ()) -> None:
    """Delivered/s and p99 against offered deliveries/s, one line per (router, N)."""
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    rows = list(result["rows"]) + list(extra_rows)
    for key in sorted({(r["router"], r["subscribers"]) for r in rows}):
        series = sorted((r for r in rows if (r["router"], r["subscribers"]) == key), key=lambda r: r["offered_per_s"])
        x = [r["offered_per_s"] for r in series]
        label = f"{key[0]}, N={key[1]}"
        left.plot(x, [r["delivered_per_s"] for r in series], marker="o", label=label)
        right.plot(x, [r["p99_ms"] or math.nan for r in series], marker="o", label=label)
    top = max((r["offered_per_s"] for r in rows), default=1)
    low = min((r["offered_per_s"] for r in rows), default=1)
    left.plot([low, top], [low, top], color="grey", linestyle=":", linewidth=1, label="delivered = offered")
    left.axhline(TARGET, color="red", linestyle="--", linewidth=1, label="target (N=1000)")
    for ax, title in ((left, "delivered deliveries/s"), (right, "p99 latency, ms")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("offered deliveries/s (events/s x subscribers)")
        ax.set_title(title, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7)
