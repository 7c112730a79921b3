"""Idle sessions: the gateway's memory with 10,000 WAMP sessions open and doing nothing (issue 14: at most
16 KiB per session). Measured twice on a fresh gateway each: sessions that only joined, and sessions that
also subscribed (one topic each, as a page does). Memory per session = (RSS with them - RSS before) / N.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from . import common, fanout, routers
from .common import NodePeers, Options

NAME = "idle"
TITLE = "Idle sessions: gateway memory with 10,000 sessions open"
COLUMNS = [("sessions", "sessions"), ("kind", "each session"), ("connections", "gateway connections"),
           ("rss_before_mb", "RSS before MB"), ("rss_after_mb", "RSS with them MB"),
           ("per_session_kib", "KiB per session"), ("connect_s", "connect s"), ("verdict", "goal")]
GOAL_KIB = 16.0
SETTLE_SECONDS = 3.0


def plan(quick: bool) -> int:
    return 200 if quick else 10000


def measure(kind: str, mode: str, sessions: int, transport: str) -> dict:
    router = routers.Telegraphy(transport)
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp:
        router.start(Path(tmp))
        peers = warm = None
        try:
            pid = router.gw.proc.pid
            warm = NodePeers(mode, router.gw.url, routers.TOPIC, 20)  # the code paths a session uses, loaded
            warm.close()
            common.wait_for(lambda: common.gateway_metrics(router.gw).get("telegraphy_connections") == 0, timeout=30,
                            message="the warm-up sessions to close")
            time.sleep(SETTLE_SECONDS)
            before = common.rss_bytes(pid)
            started = time.monotonic()
            peers = NodePeers(mode, router.gw.url, routers.TOPIC, sessions, fanout.processes_for(sessions),
                              ready_timeout=300)
            connect_s = time.monotonic() - started
            time.sleep(SETTLE_SECONDS)
            after = common.rss_bytes(pid)
            connections = common.gateway_metrics(router.gw).get("telegraphy_connections")
        finally:
            if peers is not None:
                peers.close()
            router.stop()
    per_session = (after - before) / sessions / 1024
    return {"sessions": sessions, "kind": kind, "connections": connections, "rss_before_mb": before / 2**20,
            "rss_after_mb": after / 2**20, "per_session_kib": per_session, "connect_s": connect_s,
            "verdict": "met" if per_session <= GOAL_KIB else "not met"}


def run(options: Options) -> dict:
    sessions = plan(options.quick)
    rows = []
    for kind, mode in (("joined", "join"), ("joined + 1 subscription", "subscribe")):
        rows.append(measure(kind, mode, sessions, options.transport))
        print(f"  {sessions:,} sessions ({kind}): {rows[-1]['per_session_kib']:.1f} KiB each", flush=True)
    notes = [f"{sessions:,} Node WAMP sessions (anonymous) in {fanout.processes_for(sessions)} processes; the "
             f"gateway's RSS (/proc VmRSS) {SETTLE_SECONDS:g} s after 20 warm-up sessions closed, and "
             f"{SETTLE_SECONDS:g} s after the {sessions:,} are established; a fresh gateway for each row. The "
             f"kernel's socket buffers are not in the RSS",
             f"goal (issue 14): at most {GOAL_KIB:g} KiB per idle session at 10,000 sessions"]
    common.save(NAME, options, rows, notes=notes, config={"sessions": sessions})
    common.print_table(TITLE, rows, COLUMNS)
    return {"rows": rows}
