"""Slow client: one subscriber stops reading; the gateway must cut it off and nobody else may wait for it.

Issue 5: with a small ``limits.client_queue_bytes``, a client that subscribes and then never reads
(a raw socket with a small receive buffer: the kernel buffers and then the gateway's queue fill)
is disconnected, the gateway's memory stays bounded, and the other clients' p99 latency stays within
2x of a run without the slow client.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import tempfile
import time
from pathlib import Path

from . import common, fanout
from .common import GatewayProcess, MetricsPoller, NodePeers, Options

NAME = "slowclient"
TITLE = "Slow client: another client's latency with a subscriber that stops reading"
QUEUE_BYTES = 64 * 1024
RATE, PAD, NORMAL_CLIENTS = 1000, 1000, 10  # about 1.3 MB/s towards the stalled client
MAX_RATIO = 2.0
DROPPED = "telegraphy_slow_clients_dropped_total"
COLUMNS = [("run", "run"), ("subscribers", "normal clients"), ("delivered_per_s", "delivered/s"),
           ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"), ("missing", "not arrived"), ("slow_dropped", "slow cut off"),
           ("cut_off_after_s", "cut off after s"), ("gateway_rss_mb", "gateway RSS MB"), ("p99_ratio", "p99 ratio"),
           ("verdict", "within 2x")]


def stalled_client(url: str, topic: str, timeout: float = 10) -> socket.socket:
    """A raw-socket WAMP subscriber with a 4 KiB receive buffer that, once subscribed, never reads again."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: fixes the TCP window
    sock.settimeout(timeout)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET /{url.split('/', 3)[3]} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                 f"Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n".encode())
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(4096)
    head, buffer = buffer.split(b"\r\n\r\n", 1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise RuntimeError(f"WebSocket handshake refused: {head[:200]!r}")

    def send(msg: list) -> None:  # one masked text frame (client frames must be masked)
        payload, mask = json.dumps(msg).encode(), os.urandom(4)
        length = bytes([0x80 | len(payload)]) if len(payload) < 126 else b"\xfe" + struct.pack("!H", len(payload))
        sock.sendall(b"\x81" + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def until(kind: int) -> None:  # read frames until a WAMP message of type ``kind``
        nonlocal buffer
        while True:
            while len(buffer) < 2 or len(buffer) < _frame_length(buffer):
                buffer += sock.recv(65536)
            size = _frame_length(buffer)
            frame, buffer = buffer[:size], buffer[size:]
            body = frame[2 + {126: 2, 127: 8}.get(frame[1] & 0x7F, 0):]
            if body.startswith(b"[%d," % kind):
                return

    send([1, "telegraphy", {"roles": {"subscriber": {}}, "authmethods": ["anonymous"]}])
    until(2)
    send([32, 1, {}, topic])
    until(33)
    return sock


def _frame_length(buffer: bytes) -> int:
    """Bytes of the first (unmasked, server-sent) WebSocket frame in ``buffer``, header included."""
    short = buffer[1] & 0x7F
    if short == 126:
        return 4 + struct.unpack("!H", buffer[2:4])[0] if len(buffer) >= 4 else 1 << 30
    if short == 127:
        return 10 + struct.unpack("!Q", buffer[2:10])[0] if len(buffer) >= 10 else 1 << 30
    return 2 + short


def run(options: Options) -> dict:
    seconds = 3.0 if options.quick else 8.0
    with tempfile.TemporaryDirectory(prefix="bench-slow-") as tmp:
        config = common.write_config(Path(tmp), events=[{"match": "*", "access": "public", "history": 10}],
                                     limits={"client_queue_bytes": QUEUE_BYTES})
        gw = GatewayProcess(config).start()
        drops = MetricsPoller(gw, name=DROPPED, interval=0.05)
        publisher = normal = slow = None
        try:
            publisher = common.WebApp(config)
            normal = NodePeers("subscribe", gw.url, fanout.TOPIC, connections=NORMAL_CLIENTS, processes=1)
            pid = lambda: [gw.proc.pid]  # noqa: E731
            fanout.measure_step("telegraphy", publisher, normal, NORMAL_CLIENTS, 0, RATE, 1.0, pid, pad=PAD)  # warm-up
            baseline = fanout.measure_step("telegraphy", publisher, normal, NORMAL_CLIENTS, 1, RATE, seconds, pid,
                                           pad=PAD)
            baseline.update(run="without slow client", gateway_rss_mb=common.rss_bytes(gw.proc.pid) / 2**20)
            dropped0 = common.gateway_metrics(gw).get(DROPPED, 0)
            slow = stalled_client(gw.url, fanout.TOPIC)
            started = time.time()
            loaded = fanout.measure_step("telegraphy", publisher, normal, NORMAL_CLIENTS, 2, RATE, seconds, pid,
                                         pad=PAD)
            dropped = common.gateway_metrics(gw).get(DROPPED, 0) - dropped0
            cut_at = drops.time_reaching(dropped0 + 1, timeout=0.1) if dropped else None
            loaded.update(run="with a client that stops reading", slow_dropped="yes" if dropped else "no",
                          cut_off_after_s=(cut_at - started) if cut_at else None,
                          gateway_rss_mb=common.rss_bytes(gw.proc.pid) / 2**20)
        finally:
            for child in (normal, publisher):
                if child is not None:
                    child.close()
            if slow is not None:
                slow.close()
            drops.stop()
            gw.stop()
    ratio = loaded["p99_ms"] / baseline["p99_ms"] if baseline["p99_ms"] and loaded["p99_ms"] else None
    loaded["p99_ratio"] = ratio
    loaded["verdict"] = "met" if ratio is not None and ratio <= MAX_RATIO and dropped else "not met"
    rows = [baseline, loaded]
    for row in rows:
        fanout.print_row(row)
    notes = [f"limits.client_queue_bytes = {QUEUE_BYTES:,}; {RATE} events/s of about {PAD + 250} bytes for "
             f"{seconds:g} s to {NORMAL_CLIENTS} normal Node subscribers, published by a web-app process over xmlrpc",
             f"the slow client (a raw socket with a 4 KiB receive buffer) subscribes, then never reads again; "
             f"{'it was cut off' if dropped else 'it was NOT cut off'} (gateway metric {DROPPED} +{dropped:.0f})",
             f"p99 ratio with/without the slow client: {common.fmt(ratio)} (target <= {MAX_RATIO:g})"]
    common.save(NAME, options, rows, notes=notes, plot=plot,
                config={"client_queue_bytes": QUEUE_BYTES, "rate": RATE, "pad": PAD, "seconds": seconds,
                        "normal_clients": NORMAL_CLIENTS})
    common.print_table(TITLE, rows, COLUMNS)
    return {"rows": rows}


def plot(fig, result: dict) -> None:
    """p50/p99 of the normal clients without and with the slow client."""
    ax = fig.add_subplot(1, 1, 1)
    rows = result["rows"]
    for offset, key in ((-0.2, "p50_ms"), (0.2, "p99_ms")):
        ax.bar([i + offset for i in range(len(rows))], [r[key] or 0 for r in rows], width=0.4,
               label=key.replace("_ms", ""))
    ax.set_xticks(range(len(rows)), [r["run"] for r in rows], fontsize=8)
    ax.set_ylabel("latency of the normal clients, ms")
    loaded = rows[-1]
    after, ratio = common.fmt(loaded.get("cut_off_after_s")), common.fmt(loaded.get("p99_ratio"))
    ax.set_title(f"slow client cut off: {loaded.get('slow_dropped')} (after {after} s); p99 ratio {ratio} "
                 f"(target <= {MAX_RATIO:g})", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
