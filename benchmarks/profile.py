"""Profile: where the gateway's time goes during a fan-out, sampled with py-spy (installed by the runner
into benchmarks/.peers/py-spy) while 1,000 subscribers receive 20 events/s (latency regime) and then
400 events/s (throughput regime). For each, the functions' shares of the gateway's busy samples (self
and inclusive) and what that is in microseconds per delivery (gateway CPU time / deliveries x share):
the cost of one receiver write, split by function.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from . import common, fanout, peerenv, routers
from .common import Options

NAME = "profile"
TITLE = "Profile: the gateway's time per delivery during a fan-out to 1,000 subscribers (py-spy)"
COLUMNS = [("regime", "regime"), ("function", "function"), ("what", "what it is"), ("self_pct", "self %"),
           ("inclusive_pct", "inclusive %"),
           ("self_us", "self µs per delivery"), ("inclusive_us", "inclusive µs per delivery")]
SUMMARY_COLUMNS = [("regime", "regime"), ("deliveries", "deliveries"), ("delivered_per_s", "delivered/s"),
                   ("gateway_cpu", "gateway CPU %"), ("us_per_delivery", "gateway CPU µs per delivery"),
                   ("samples", "busy samples"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms")]
TOP = 14
RATE_HZ = 250


def plan(quick: bool) -> tuple[int, list[tuple[str, int, float]]]:
    if quick:
        return 20, [("20 events/s", 20, 1.5)]
    return 1000, [("20 events/s", 20, 8.0), ("400 events/s", 400, 5.0)]


def ensure_py_spy() -> Path:
    return peerenv.ensure_venv("py-spy", ["py-spy==0.4.*"]) / "bin" / "py-spy"


def parse(raw: str) -> tuple[Counter, Counter, int]:
    """py-spy's raw (collapsed) stacks -> (self samples, inclusive samples, total) per function, a function
    being ``name (module path)`` without the line, so a function's lines add up."""
    own, inclusive, total = Counter(), Counter(), 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [short(frame) for frame in stack.split(";")]
        frames = [f for f in frames if f]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    return own, inclusive, total


def short(frame: str) -> str | None:
    """``send (telegraphy/gateway/websocket.py:142)`` -> ``send (gateway/websocket.py)``; process and thread
    frames -> None."""
    if frame.startswith(("process ", "thread ")) or "(" not in frame:
        return None
    name, _, where = frame.rpartition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    for anchor in ("site-packages", "telegraphy", "lib"):
        if anchor in parts:
            parts = parts[parts.index(anchor) + 1:] if anchor != "telegraphy" else parts[parts.index(anchor):]
            break
    return f"{name} ({'/'.join(parts[-3:])})"


def run(options: Options) -> dict:
    subscribers, regimes = plan(options.quick)
    rows, summary, skipped = [], [], []
    try:
        py_spy = ensure_py_spy()
    except RuntimeError as exc:
        skipped.append({"what": "py-spy", "why": str(exc)})
        py_spy = None
    router = routers.Telegraphy(options.transport)
    if py_spy is not None:
        with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
            router.start(Path(tmp))
            web = peers = None
            try:
                web = router.publisher()
                peers = router.subscribers(subscribers, fanout.processes_for(subscribers))
                fanout.measure_step(router.name, web, peers, subscribers, 1, 20, 1.0, router.pids)  # warm-up
                for step, (regime, rate, seconds) in enumerate(regimes, start=2):
                    raw_path = options.out / f"profile-{rate}.txt"
                    options.out.mkdir(parents=True, exist_ok=True)
                    # py-spy samples beside the step, for about its publishing part
                    proc = subprocess.Popen([str(py_spy), "record", "--pid", str(router.gw.proc.pid), "--duration",
                                             str(max(1, round(seconds))), "--rate", str(RATE_HZ), "--nonblocking",
                                             "--format",
                                             "raw", "--output", str(raw_path)], stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE, text=True)
                    step_row = fanout.measure_step(router.name, web, peers, subscribers, step, rate, seconds,
                                                   router.pids)
                    _, err = proc.communicate(timeout=seconds + 60)
                    if proc.returncode != 0 or not raw_path.exists():
                        raise RuntimeError(f"py-spy record failed ({proc.returncode}): {err[-600:]}")
                    own, inclusive, total = parse(raw_path.read_text())
                    span = step_row["delivered"] / step_row["delivered_per_s"] if step_row["delivered_per_s"] else 0
                    cpu_s = step_row["router_cpu"] / 100 * span
                    per_delivery = 1e6 * cpu_s / step_row["delivered"] if step_row["delivered"] else None
                    summary.append({"regime": regime, "deliveries": step_row["delivered"],
                                    "delivered_per_s": step_row["delivered_per_s"],
                                    "gateway_cpu": step_row["router_cpu"],
                                    "us_per_delivery": per_delivery, "samples": total, "p50_ms": step_row["p50_ms"],
                                    "p99_ms": step_row["p99_ms"], "raw": raw_path.name})
                    for function, _ in own.most_common(TOP):
                        rows.append(entry(regime, function, own, inclusive, total, per_delivery))
                    for function in key_functions(inclusive):
                        if not any(r["regime"] == regime and r["function"] == function for r in rows):
                            rows.append(entry(regime, function, own, inclusive, total, per_delivery))
                    print(f"  {regime}: {per_delivery or 0:.2f} µs of gateway CPU per delivery, {total} busy samples",
                          flush=True)
            finally:
                for child in (peers, web):
                    if child is not None:
                        child.close()
                router.stop()
    notes = [f"{subscribers:,} Node WAMP subscribers; a web-app process publishes over {options.transport}; py-spy "
             f"{RATE_HZ} Hz, --nonblocking, idle samples left out, so shares are of the gateway's busy time; µs per "
             f"delivery = gateway CPU seconds in the step / deliveries x share; the raw stacks are in "
             f"results/profile-*.txt",
             f"rows: the top {TOP} functions by self time, then the rest of the delivery path (hub to kernel)"]
    common.save(NAME, options, rows, skipped=skipped, notes=notes, summary=summary,
                config={"subscribers": subscribers, "regimes": regimes, "rate_hz": RATE_HZ})
    common.print_table(TITLE, rows, COLUMNS, skipped)
    common.print_table("Gateway CPU per delivery", summary, SUMMARY_COLUMNS)
    return {"rows": rows, "summary": summary}


# the delivery path, hub to kernel, and what a frame's self time is when it is a system call
KEY = {"Hub._pump (telegraphy/gateway/hub.py)": "the fan-out: one slice per reactor turn",
       "Hub._serve (telegraphy/gateway/hub.py)": "the walk over a slice of receivers",
       "_Job.frame (telegraphy/gateway/hub.py)": "the EVENT frame, built once per event",
       "Session.deliver (telegraphy/gateway/session.py)": "per receiver: the session's checks",
       "WampWebSocket.send (telegraphy/gateway/websocket.py)": "per receiver: queue or transport.write",
       "ConnectionMixin.write (twisted/internet/_newtls.py)": "Twisted's TLS-capable write wrapper (no TLS here)",
       "FileDescriptor.write (twisted/internet/abstract.py)": "transport.write: append to the buffer",
       "FileDescriptor.startWriting (twisted/internet/abstract.py)": "watch the socket for writability",
       "EPollReactor._add (twisted/internet/epollreactor.py)": "epoll_ctl system call (start watching)",
       "FileDescriptor.doWrite (twisted/internet/abstract.py)": "the next reactor turn: flush a socket's buffer",
       "Connection.writeSomeData (twisted/internet/tcp.py)": "one send() per socket per turn",
       "untilConcludes (twisted/python/util.py)": "self time = the send() system call (loopback TCP: the "
                                                  "receiver's side of the stack runs in it too)",
       "FileDescriptor.stopWriting (twisted/internet/abstract.py)": "buffer empty: stop watching",
       "EPollReactor._remove (twisted/internet/epollreactor.py)": "epoll_ctl system call (stop watching)",
       "EPollReactor.doPoll (twisted/internet/epollreactor.py)": "self time = epoll_wait",
       "Connection.doRead (twisted/internet/tcp.py)": "reading: the publisher's XML-RPC requests, clients",
       "Hub.accept (telegraphy/gateway/hub.py)": "accepting an event (number, history, queue)"}


def key_functions(inclusive: Counter) -> list[str]:
    return [f for f in KEY if f in inclusive]


def entry(regime: str, function: str, own: Counter, inclusive: Counter, total: int, per_delivery: float | None) -> dict:
    self_pct, incl_pct = 100 * own[function] / total, 100 * inclusive[function] / total
    return {"regime": regime, "function": function, "what": KEY.get(function, ""), "self_pct": self_pct,
            "inclusive_pct": incl_pct,
            "self_us": per_delivery * self_pct / 100 if per_delivery else None,
            "inclusive_us": per_delivery * incl_pct / 100 if per_delivery else None}
