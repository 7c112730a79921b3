"""The benchmarks' web app: a separate process that publishes with ``telegraphy.publish``, as a real one does.

    python -m benchmarks.webapp CONFIG      then JSON lines on stdin: {"cmd": "ingest"|"pace"|"calls", ...}

It ends when stdin closes or after $BENCH_MAX_SECONDS, whatever happens.
"""

from __future__ import annotations

import os
import sys
import time

import telegraphy

from . import pacer

INGEST_TOPIC = "bench.ingest"


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
    """Publish ``rate`` events/s for ``seconds`` with one ``publish_many`` per 10 ms tick (pacer.py)."""
    def publish(name: str, datas: list[dict]) -> None:
        telegraphy.publish_many([(name, data) for data in datas])
    return pacer.pace(publish, topic, step, rate, seconds, pad, errors_are=(telegraphy.TelegraphyError,))


def calls(topic: str, rate: float, seconds: float, pad: int = 0, step: int = 0) -> dict:
    """One ``publish`` call per event at ``rate`` events/s for ``seconds``, as a web app's views would
    make them, timing every call (the web app's publish latency)."""
    call_ns: list[int] = []
    clock, filler, total = time.perf_counter_ns, "x" * pad, round(rate * seconds)
    start = time.monotonic()
    first = time.time()
    while len(call_ns) < total and time.monotonic() - start < seconds * 4:
        t0 = clock()
        telegraphy.publish(topic, {"bench_t": time.time() * 1000, "bench_s": step, "i": len(call_ns), "pad": filler})
        call_ns.append(clock() - t0)
        time.sleep(max(0.0, start + len(call_ns) / rate - time.monotonic()))
    ordered = sorted(call_ns)
    return {"sent": len(call_ns), "first": first, "last": time.time(), **_summary(call_ns),
            "max_us": ordered[-1] / 1000 if ordered else None}


def main() -> None:
    telegraphy.configure(sys.argv[1])
    telegraphy.publish("bench.warmup", {"warm": True})  # opens the connection before anything is timed
    pacer.serve({"ingest": ingest, "pace": pace, "calls": calls}, {"ready": True, "pid": os.getpid()})


if __name__ == "__main__":
    main()
