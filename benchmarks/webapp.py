"""The benchmarks' web app: a separate process that publishes with ``telegraphy.publish``, as a real one does.

    python -m benchmarks.webapp CONFIG      then JSON lines on stdin: {"cmd": "ingest"|"pace", ...}

It ends when stdin closes or after $BENCH_MAX_SECONDS, whatever happens.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import telegraphy

INGEST_TOPIC = "bench.ingest"
MAX_BATCH = 20  # events per publish_many call when pacing


def say(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _summary(call_ns: list[int]) -> dict:
    if not call_ns:
        return {}
    ordered = sorted(call_ns)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000  # noqa: E731
    return {"p50_us": pick(0.50), "p99_us": pick(0.99), "mean_us": sum(ordered) / len(ordered) / 1000}


def ingest(mode: str, seconds: float, max_events: int, batch: int = 100) -> dict:
    """Publish as fast as one thread can for ``seconds`` (or ``max_events``), timing every call."""
    call_ns: list[int] = []
    clock, sent = time.perf_counter_ns, 0
    stop_at = clock() + int(seconds * 1e9)
    first = time.time()
    while sent < max_events and clock() < stop_at:
        if mode == "single":
            t0 = clock()
            telegraphy.publish(INGEST_TOPIC, {"i": sent, "sku": "A-100", "qty": 2, "total": "12.50"}, "create")
            call_ns.append(clock() - t0)
            sent += 1
        else:
            n = min(batch, max_events - sent)
            events = [(INGEST_TOPIC, {"i": sent + k, "sku": "A-100", "qty": 2, "total": "12.50"}, "create")
                      for k in range(n)]
            t0 = clock()
            telegraphy.publish_many(events)
            call_ns.append(clock() - t0)
            sent += n
    last = time.time()
    return {"sent": sent, "calls": len(call_ns), "first": first, "last": last, **_summary(call_ns)}


def pace(topic: str, step: int, rate: float, seconds: float, pad: int = 0) -> dict:
    """Publish ``rate`` events/s for ``seconds`` in 10 ms ticks (one publish_many per tick), each event
    carrying its send time (``bench_t``, ms since the epoch) and step id (``bench_s``) for the receivers."""
    total, sent, errors, filler = round(rate * seconds), 0, [], "x" * pad
    start = time.monotonic()
    first = time.time()
    while sent < total and time.monotonic() - start < seconds * 4:  # a blocked publisher gives up too
        due = min(total, round((time.monotonic() - start) * rate))
        while due > sent:  # at most MAX_BATCH per call: a late tick does not turn into one huge burst
            events = [(topic, {"bench_t": time.time() * 1000, "bench_s": step, "i": k, "pad": filler})
                      for k in range(sent, min(due, sent + MAX_BATCH))]
            try:
                telegraphy.publish_many(events)
            except telegraphy.TelegraphyError as exc:
                errors.append(str(exc))
            sent += len(events)
        if len(errors) > 10:
            break
        time.sleep(max(0.0, 0.01 - (time.monotonic() - start) % 0.01))
    return {"sent": sent, "first": first, "last": time.time(), "errors": errors[:3], "error_count": len(errors)}


def main() -> None:
    signal.alarm(int(os.environ.get("BENCH_MAX_SECONDS", "900")))
    telegraphy.configure(sys.argv[1])
    telegraphy.publish("bench.warmup", {"warm": True})  # opens the connection before anything is timed
    say({"ready": True, "pid": os.getpid()})
    for line in sys.stdin:
        cmd = json.loads(line)
        kind = cmd.pop("cmd")
        try:
            if kind == "ingest":
                say(ingest(**cmd))
            elif kind == "pace":
                say(pace(**cmd))
            else:
                say({"error": f"unknown command {kind!r}"})
        except Exception as exc:  # noqa: BLE001 - reported to the runner, which shows it
            say({"error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
