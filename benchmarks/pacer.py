"""Paced publishing and the JSON-lines command loop shared by every Python publisher of the benchmarks:
the web app (telegraphy.publish_many), and the emitters of python-socketio and Django Channels, which run
in their own virtual environments. Standard library only, so that each of them can import it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable

MAX_BATCH = 20  # events per publish call when pacing: a late tick does not turn into one huge burst


def say(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def pace(publish: Callable[[str, list[dict]], None], topic: str, step: int, rate: float, seconds: float,
         pad: int = 0, errors_are: tuple[type[BaseException], ...] = ()) -> dict:
    """Publish ``rate`` events/s for ``seconds`` in 10 ms ticks through ``publish(topic, datas)`` (at most
    MAX_BATCH per call), each event's data carrying its send time (``bench_t``, ms since the epoch) and
    step id (``bench_s``) for the receivers. Exceptions of ``errors_are`` are counted, not raised."""
    total, sent, errors, filler = round(rate * seconds), 0, [], "x" * pad
    start = time.monotonic()
    first = time.time()
    while sent < total and time.monotonic() - start < seconds * 4:  # a blocked publisher gives up too
        due = min(total, round((time.monotonic() - start) * rate))
        while due > sent:
            datas = [{"bench_t": time.time() * 1000, "bench_s": step, "i": k, "pad": filler}
                     for k in range(sent, min(due, sent + MAX_BATCH))]
            try:
                publish(topic, datas)
            except errors_are as exc:
                errors.append(str(exc))
            sent += len(datas)
        if len(errors) > 10:
            break
        time.sleep(max(0.0, 0.01 - (time.monotonic() - start) % 0.01))
    return {"sent": sent, "first": first, "last": time.time(), "errors": errors[:3], "error_count": len(errors)}


def envelope(topic: str, data: dict) -> dict:
    """The event envelope a Telegraphy browser receives, for the peers that carry it as it is."""
    return {"name": topic, "data": data, "meta": {"event_type": None, "verbose_name": None,
                                                  "timestamp": None, "id": str(data["i"]), "user": None}}


def serve(commands: dict[str, Callable[..., dict]], ready: dict) -> None:
    """Answer JSON-lines commands on stdin ({"cmd": NAME, ...} -> commands[NAME](...)) until stdin closes;
    the process ends by itself after $BENCH_MAX_SECONDS whatever happens."""
    signal.alarm(int(os.environ.get("BENCH_MAX_SECONDS", "900")))
    say(ready)
    for line in sys.stdin:
        cmd = json.loads(line)
        kind = cmd.pop("cmd")
        try:
            say(commands[kind](**cmd) if kind in commands else {"error": f"unknown command {kind!r}"})
        except Exception as exc:  # noqa: BLE001 - reported to the runner, which shows it
            say({"error": f"{type(exc).__name__}: {exc}"})
