"""Ingest: events/s from a separate web-app process into one gateway process, for each installed transport.

The web app calls ``telegraphy.publish`` (one event per call) or ``publish_many`` (100 per call) as fast
as one thread can, timing every call; the gateway's ``telegraphy_events_received_total`` tells when the
last event arrived. Throughput is events / (last received - first published), so an asynchronous
transport that only queues does not look faster than what the gateway really takes in.
"""

from __future__ import annotations

import socket
import tempfile
import uuid
from pathlib import Path

from . import common
from .common import GatewayProcess, MetricsPoller, Options, WebApp

NAME = "ingest"
TITLE = "Ingest: events/s from a web-app process into the gateway, and publish() call latency"
BATCH = 100
COLUMNS = [("transport", "transport"), ("mode", "mode"), ("events", "events"),
           ("events_per_s", "into gateway events/s"), ("calls_per_s", "publish calls/s"),
           ("p50_us", "call p50 µs"), ("p99_us", "call p99 µs"), ("gateway_cpu", "gateway CPU %"),
           ("web_app_cpu", "web app CPU %"), ("target_per_s", "target events/s"), ("verdict", "target")]

# (label, transport, extra options, {mode: target events/s})
TRANSPORTS = [
    ("xmlrpc", "xmlrpc", {}, {"single": 2_000, "batch": 20_000}),
    ("rabbitmq confirm=off", "rabbitmq", {"confirm": False}, {"single": 10_000, "batch": 10_000}),
    ("rabbitmq confirm=on", "rabbitmq", {"confirm": True}, {"single": 3_000, "batch": 3_000}),
    ("zeromq", "zeromq", {}, {"single": 50_000, "batch": 50_000}),
]
ZEROMQ_CALL_TARGET_US = 100  # median publish() call (issue 4)


def _unusable(label: str, transport: str) -> str | None:
    why = common.transport_unusable(transport)
    if why is None and transport == "rabbitmq":
        try:
            socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
        except OSError as exc:
            why = f"RabbitMQ is not reachable on 127.0.0.1:5672 ({exc})"
    return why


def measure(label: str, transport: str, options: dict | None, targets: dict, seconds: float,
            max_events: int, directory: Path) -> list[dict]:
    """Both modes against one gateway; RuntimeError (with the gateway's log) if the transport fails."""
    config = common.write_config(directory, transport=transport, options=options,
                                 events=[{"match": "*", "access": "public", "history": 10}],
                                 name=f"{transport}-{uuid.uuid4().hex[:6]}.yaml")
    gw = GatewayProcess(config)
    try:
        gw.start()
    except AssertionError as exc:
        raise RuntimeError(f"the gateway did not start: {str(exc)[-600:]}") from None
    poller, web, rows = MetricsPoller(gw), None, []
    try:
        web = WebApp(config)
        if poller.time_reaching(1, timeout=30) is None:  # the web app's warm-up event
            raise RuntimeError(f"the warm-up event never reached the gateway; log: {gw.log()[-600:]}")
        received = 1.0
        for mode in ("single", "batch"):
            cpu0, web0 = common.cpu_seconds(gw.proc.pid), common.cpu_seconds(web.proc.pid)
            out = web.ask({"cmd": "ingest", "mode": mode, "seconds": seconds, "max_events": max_events,
                           "batch": BATCH}, timeout=seconds + 120)
            if "error" in out:
                raise RuntimeError(f"publish failed in the web app: {out['error']}")
            target = received + out["sent"]
            arrived = poller.time_reaching(target, timeout=120)
            cpu, web_cpu = common.cpu_seconds(gw.proc.pid) - cpu0, common.cpu_seconds(web.proc.pid) - web0
            if arrived is None:
                raise RuntimeError(f"{target - poller.latest():.0f} of {out['sent']} events never reached the "
                                   f"gateway ({mode}); log: {gw.log()[-600:]}")
            received = target
            span = max(arrived - out["first"], 1e-6)
            goal = targets[mode]
            row = {"transport": label, "mode": "single" if mode == "single" else f"batch of {BATCH}",
                   "events": out["sent"], "events_per_s": out["sent"] / span,
                   "calls_per_s": out["calls"] / max(out["last"] - out["first"], 1e-6),
                   "p50_us": out.get("p50_us"), "p99_us": out.get("p99_us"), "gateway_cpu": 100 * cpu / span,
                   "web_app_cpu": 100 * web_cpu / span, "target_per_s": goal}
            ok = row["events_per_s"] >= goal
            if transport == "zeromq" and mode == "single":
                ok = ok and row["p50_us"] < ZEROMQ_CALL_TARGET_US
                row["target_call_p50_us"] = ZEROMQ_CALL_TARGET_US
            row["verdict"] = "met" if ok else "not met"
            rows.append(row)
            print(f"  {label:>22} {row['mode']:<12} {row['events_per_s']:>9,.0f} events/s into the gateway, "
                  f"publish() p50 {row['p50_us']:.0f} µs p99 {row['p99_us']:.0f} µs ({row['verdict']})", flush=True)
    finally:
        if web is not None:
            web.close()
        poller.stop()
        gw.stop()
    return rows


def run(options: Options) -> dict:
    seconds, max_events = (0.5, 50_000) if options.quick else (4.0, 400_000)
    rows, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        for label, transport, extra, targets in TRANSPORTS:
            why = _unusable(label, transport)
            if why is None:
                transport_options = common.transport_options(transport, **extra)
                try:
                    rows += measure(label, transport, transport_options, targets, seconds, max_events, Path(tmp))
                    continue
                except RuntimeError as exc:
                    why = str(exc)
                finally:
                    common.forget_transport(transport, transport_options)
            skipped.append({"what": label, "why": why})
            print(f"  {label:>22} skipped: {why}", flush=True)
    notes = [f"each mode publishes for {seconds:g} s from one thread of one web-app process (at most "
             f"{max_events:,} events); events/s counts what the gateway received (its /metrics), from the first "
             f"publish to the last arrival",
             f"targets (issues 2-4): xmlrpc 2,000/s single and 20,000/s batched; rabbitmq 10,000/s without "
             f"confirms, 3,000/s with; zeromq 50,000/s and a publish() call under {ZEROMQ_CALL_TARGET_US} µs "
             f"at the median"]
    common.save(NAME, options, rows, skipped=skipped, notes=notes, plot=plot,
                config={"seconds": seconds, "max_events": max_events, "batch": BATCH})
    common.print_table(TITLE, rows, COLUMNS, skipped)
    return {"rows": rows, "skipped": skipped}


def plot(fig, result: dict) -> None:
    """Events/s per transport and mode (with targets), and single publish() call latency."""
    rows = result["rows"]
    labels = list(dict.fromkeys(r["transport"] for r in rows))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for offset, mode in ((-0.2, "single"), (0.2, f"batch of {BATCH}")):
        picked = [next((r for r in rows if r["transport"] == t and r["mode"] == mode), None) for t in labels]
        xs = [i + offset for i in range(len(labels))]
        left.bar(xs, [r["events_per_s"] if r else 0 for r in picked], width=0.4, label=mode)
        left.scatter(xs, [r["target_per_s"] if r else 0 for r in picked], marker="_", s=400, color="red",
                     zorder=3, label="target" if offset > 0 else None)
    singles = [next((r for r in rows if r["transport"] == t and r["mode"] == "single"), None) for t in labels]
    for offset, key in ((-0.2, "p50_us"), (0.2, "p99_us")):
        right.bar([i + offset for i in range(len(labels))], [r[key] if r else 0 for r in singles], width=0.4,
                  label=key.replace("_us", ""))
    left.set_ylim(bottom=100)
    right.set_ylim(bottom=1)
    right.axhline(ZEROMQ_CALL_TARGET_US, color="red", linestyle="--", linewidth=1, label="zeromq p50 target")
    for ax, title in ((left, "events/s into the gateway"), (right, "publish() call latency (single), µs")):
        ax.set_xticks(range(len(labels)), [label.replace(" ", "\n") for label in labels], fontsize=7)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.grid(True, axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=7)
    if result.get("skipped"):
        fig.text(0.01, 0.01, "skipped: " + ", ".join(s["what"] for s in result["skipped"]), fontsize=7)
