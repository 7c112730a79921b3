"""Shared benchmark plumbing: child processes spoken to in JSON lines, gateway metrics, results files.

Gateways and configs come from telegraphy.testing, the helpers the test suite uses too.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import queue
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from telegraphy.testing import TEST_SECRET as SECRET
from telegraphy.testing import GatewayProcess, wait_for, write_config
from telegraphy.testing import unused_port as free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
NODE_MODULES = ROOT / "tests" / "js" / "node_modules"
PEER_JS = HERE / "wamp_peer.js"
WS_PEER_JS = HERE / "ws_peer.js"  # plain WebSocket and socket.io peers
CHILD_MAX_SECONDS = 900  # every child process ends by itself after this, whatever happens

__all__ = ["SECRET", "GatewayProcess", "LineProcess", "MetricsPoller", "NodePeers", "Options", "WebApp",
           "cpu_seconds", "free_port", "gateway_metrics", "machine", "merge_hists", "percentile",
           "hist_percentile", "print_table", "rss_bytes", "save", "transport_unusable", "wait_for",
           "write_config"]


class Options:
    """What the runner tells every scenario: quick or full, where results go, the command line."""

    def __init__(self, quick: bool = False, out: Path = RESULTS, command: str = "", skip_peers: bool = False,
                 transport: str = "xmlrpc") -> None:
        self.quick, self.out, self.command, self.skip_peers = quick, Path(out), command, skip_peers
        self.transport = transport  # the transport the fan-out scenarios publish through
        self.busy_before: float | None = None  # % of all cores busy (others' work) just before the scenario
        self.contention: Contention | None = None  # others' work while the scenario runs
        self.uptime_start: str | None = None  # `uptime` when the scenario began


# -- child processes ---------------------------------------------------------------------------------
class LineProcess:
    """A child process controlled with JSON lines on stdin and answering with JSON lines on stdout."""

    def __init__(self, args: Sequence[str], env: dict | None = None, name: str = "child") -> None:
        self.name = name
        self.proc = subprocess.Popen(list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1,
                                     env={**os.environ, **(env or {})})
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr.append, False), daemon=True).start()

    @staticmethod
    def _pump(stream, sink, end_marker: bool) -> None:
        for line in stream:
            sink(line)
        if end_marker:
            sink(None)

    def send(self, obj: dict) -> None:
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def read(self, timeout: float) -> dict:
        """The next JSON line; RuntimeError naming the child if it ends or stays silent too long."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"{self.name}: no answer within {timeout:.0f}s; stderr: "
                               f"{''.join(self.stderr)[-2000:]}") from None
        if line is None:
            self.proc.wait(5)
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {''.join(self.stderr)[-2000:]}")
        return json.loads(line)

    def ask(self, obj: dict, timeout: float) -> dict:
        self.send(obj)
        return self.read(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # the child exits when its stdin closes
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def node() -> str | None:
    return shutil.which("node")


NODE_PACKAGES = ("ws", "socket.io-client")  # tests/js/package.json


def ensure_node_modules() -> None:
    """Install tests/js/node_modules (the Node clients) when a package the peers use is missing."""
    if node() is None:
        raise RuntimeError("Node is needed for the benchmark clients")
    if all((NODE_MODULES / name).is_dir() for name in NODE_PACKAGES):
        return
    print("  installing the Node clients (npm install in tests/js) ...", flush=True)
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_MODULES.parent,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"npm install in tests/js failed: {done.stderr[-800:]}")


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it): 10,000 WebSockets
    need more than the usual 1,024. Returns the limit now in force."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def uptime() -> str:
    """The machine's load as `uptime` prints it (recorded at the start and end of every scenario)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


class NodePeers:
    """``processes`` Node peers sharing ``connections`` connections: WAMP sessions (benchmarks/wamp_peer.js),
    or with ``script=WS_PEER_JS`` plain WebSockets or socket.io clients (benchmarks/ws_peer.js)."""

    def __init__(self, mode: str, url: str, topic: str, connections: int = 1, processes: int = 1,
                 realm: str = "telegraphy", ready_timeout: float = 120, script: Path = PEER_JS) -> None:
        if node() is None or not (NODE_MODULES / "ws").is_dir():
            raise RuntimeError("Node and tests/js/node_modules/ws are needed: cd tests/js && npm install")
        env = {"NODE_PATH": str(NODE_MODULES), "BENCH_MAX_SECONDS": str(CHILD_MAX_SECONDS)}
        shares = [connections // processes + (i < connections % processes) for i in range(processes)]
        self.peers = [LineProcess([node(), str(script), mode, url, realm, topic, str(n)], env,
                                  name=f"node {mode} peer {i}") for i, n in enumerate(shares) if n]
        try:
            for peer in self.peers:
                peer.read(ready_timeout)
        except Exception:
            self.close()
            raise

    @property
    def pids(self) -> list[int]:
        return [p.proc.pid for p in self.peers]

    def report(self, timeout: float = 60) -> dict:
        """Per step: receive count, first and last receive time (ms), merged latency histogram."""
        merged: dict[str, dict] = {}
        closed = errors = 0
        for peer in self.peers:
            answer = peer.ask({"cmd": "report"}, timeout)
            closed, errors = closed + answer["closed"], errors + answer["errors"]
            for step, st in answer["steps"].items():
                m = merged.setdefault(step, {"count": 0, "first": math.inf, "last": 0.0, "hist": {}})
                m["count"] += st["count"]
                m["first"], m["last"] = min(m["first"], st["first"]), max(m["last"], st["last"])
                merge_hists(m["hist"], st["hist"])
        return {"steps": merged, "closed": closed, "errors": errors}

    def close(self) -> None:
        for peer in self.peers:
            peer.close()

    @property
    def publisher(self) -> LineProcess:
        """The one peer of a publisher or probe (a single connection)."""
        return self.peers[0]


class WebApp(LineProcess):
    """A separate web-app process publishing with ``telegraphy.publish`` (benchmarks/webapp.py)."""

    def __init__(self, config_path: Path) -> None:
        super().__init__([sys.executable, "-m", "benchmarks.webapp", str(config_path)],
                         env={"PYTHONPATH": str(ROOT), "BENCH_MAX_SECONDS": str(CHILD_MAX_SECONDS)},
                         name="web-app publisher")
        self.read(60)  # {"ready": ...} once configured and connected


# -- gateway metrics ---------------------------------------------------------------------------------
def gateway_metrics(gw: GatewayProcess) -> dict[str, float]:
    """The gateway's /metrics as {name: value} (labels dropped, samples of one name summed)."""
    values: dict[str, float] = {}
    for line in gw.metrics().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            name = name.split("{")[0]
            try:
                values[name] = values.get(name, 0.0) + float(value)
            except ValueError:
                continue
    return values


class MetricsPoller:
    """Samples one gateway counter every ``interval`` seconds in a thread, to time when a total is
    reached (interpolated between samples) without asking the gateway more often than that."""

    def __init__(self, gw: GatewayProcess, name: str = "telegraphy_events_received_total",
                 interval: float = 0.02) -> None:
        self.gw, self.name, self.interval = gw, name, interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                value = gateway_metrics(self.gw).get(self.name, 0.0)
            except OSError:
                value = None
            if value is not None:
                self.samples.append((time.time(), value))
            self._stop.wait(self.interval)

    def latest(self) -> float:
        return self.samples[-1][1] if self.samples else 0.0

    def time_reaching(self, target: float, timeout: float) -> float | None:
        """When the counter reached ``target`` (linear between the two samples around it), or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            samples = list(self.samples)
            for i, (t, v) in enumerate(samples):
                if v >= target:
                    if i == 0:
                        return t
                    t0, v0 = samples[i - 1]
                    return t0 + (t - t0) * (target - v0) / (v - v0)
            time.sleep(self.interval)
        return None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_busy(seconds: float = 1.0) -> float:
    """How busy the whole machine is (percent of all cores) over ``seconds``, from /proc/stat."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields) - idle, sum(fields)
    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return 100 * (busy1 - busy0) / max(total1 - total0, 1)


class Contention:
    """Samples, once a second in a thread, how much of the machine other people's work uses (all CPU time
    minus this process and its descendants), so a figure measured on a shared machine says so."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _ours() -> dict[int, float]:
        parents, cpu = {}, {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            pid = int(stat.parent.name)
            parents[pid], cpu[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
        me, ours = os.getpid(), {}
        for pid in cpu:
            p, hops = pid, 0
            while p and p != me and hops < 50:
                p, hops = parents.get(p, 0), hops + 1
            if p == me:
                ours[pid] = cpu[pid] / os.sysconf("SC_CLK_TCK")
        return ours

    @staticmethod
    def _machine() -> tuple[float, float]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        hz = os.sysconf("SC_CLK_TCK")
        return (sum(fields) - fields[3] - fields[4]) / hz, sum(fields) / hz

    def _run(self) -> None:
        ours0, (busy0, total0) = self._ours(), self._machine()
        while not self._stop.wait(1.0):
            ours1, (busy1, total1) = self._ours(), self._machine()
            mine = sum(v - ours0[pid] for pid, v in ours1.items() if pid in ours0)
            if total1 > total0:
                self.samples.append(max(0.0, 100 * (busy1 - busy0 - mine) / (total1 - total0)))
            ours0, busy0, total0 = ours1, busy1, total1

    def stop(self) -> float | None:
        """Mean percent of the machine used by others while this ran."""
        self._stop.set()
        self._thread.join(5)
        return sum(self.samples) / len(self.samples) if self.samples else None


def wait_until_quiet(limit: float = 25.0, timeout: float = 90.0) -> float:
    """Wait (at most ``timeout`` s) until other work uses under ``limit`` % of the machine; the last reading."""
    deadline = time.monotonic() + timeout
    busy = cpu_busy()
    if busy >= limit:
        print(f"  the machine is {busy:.0f}% busy with other work; waiting up to {timeout:.0f} s for it to calm "
              f"down ...", flush=True)
    while busy >= limit and time.monotonic() < deadline:
        time.sleep(2)
        busy = cpu_busy()
    if busy >= limit:
        print(f"  still {busy:.0f}% busy: measuring anyway (the figures will be low)", flush=True)
    return busy


AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def transport_options(name: str, **extra: Any) -> dict | None:
    """Options for a benchmark gateway of transport ``name`` (a fresh exchange or port each time);
    None means support.write_config's default (XML-RPC on a free port)."""
    if name == "rabbitmq":
        return {"url": AMQP_URL, "exchange": f"bench-{uuid.uuid4().hex[:8]}", **extra}
    if name == "zeromq":
        return {"endpoints": [f"tcp://127.0.0.1:{free_port()}"], **extra}
    return None


def forget_transport(name: str, options: dict | None) -> None:
    """Leave the shared local broker as it was: drop a RabbitMQ run's exchange (best effort)."""
    if name != "rabbitmq" or not options:
        return
    import pika

    try:
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        connection.channel().exchange_delete(options["exchange"])
        connection.close()
    except Exception as exc:  # noqa: BLE001 - cleanup only
        print(f"  could not delete the exchange {options['exchange']}: {exc}", flush=True)


def transport_unusable(name: str) -> str | None:
    """Why the transport plugin ``name`` cannot be used here, or None if it loads."""
    from telegraphy.errors import TelegraphyError
    from telegraphy.plugins import load_transport

    try:
        load_transport(name).check_available()
    except TelegraphyError as exc:
        return str(exc)
    return None


# -- statistics --------------------------------------------------------------------------------------
BUCKETS_PER_E = 50  # must match wamp_peer.js


def merge_hists(into: dict, other: dict) -> dict:
    for bucket, n in other.items():
        into[str(bucket)] = into.get(str(bucket), 0) + n
    return into


def hist_percentile(hist: dict, q: float) -> float | None:
    """The q-th percentile (0..100) in milliseconds of a wamp_peer.js latency histogram (upper edge)."""
    total = sum(hist.values())
    if not total:
        return None
    rank, seen = q / 100 * total, 0
    for bucket in sorted(hist, key=int):
        seen += hist[bucket]
        if seen >= rank:
            return math.exp((int(bucket) + 1) / BUCKETS_PER_E) / 1000
    return None


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


# -- results -----------------------------------------------------------------------------------------
def machine(busy_before: float | None = None, others_during: float | None = None) -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node_version = subprocess.run([node(), "--version"], capture_output=True, text=True).stdout.strip() \
        if node() else None
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version(), "node": node_version, "busy_before_pct": busy_before,
            "others_busy_pct_during": others_during, "load_avg_1m_after": os.getloadavg()[0]}


def save(scenario: str, options: Options, rows: list[dict], skipped: Iterable[dict] = (),
         notes: Iterable[str] = (), config: dict | None = None,
         plot: Callable[[Any, dict], None] | None = None, summary: list[dict] | None = None) -> Path:
    """Write results/<scenario>.json (and .png through ``plot(axes_figure, result)``); return the JSON path.
    ``summary``: a second, shorter table (the scenario module's SUMMARY_COLUMNS)."""
    host = machine(options.busy_before, options.contention.stop() if options.contention else None)
    host.update(uptime_start=options.uptime_start, uptime_end=uptime())
    result = {"scenario": scenario, "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
              "machine": host,
              "command": options.command, "quick": options.quick,
              "config": config or {}, "rows": rows, "skipped": list(skipped), "notes": list(notes)}
    if summary is not None:
        result["summary"] = summary
    options.out.mkdir(parents=True, exist_ok=True)
    path = options.out / f"{scenario}.json"
    path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(10, 4.5))
        plot(fig, result)
        fig.suptitle(f"telegraphy benchmark: {scenario} ({result['date'][:10]}, {result['machine']['cores']} cores)",
                     fontsize=10)
        fig.tight_layout()
        fig.savefig(path.with_suffix(".png"), dpi=90)
        plt.close(fig)
    return path


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: list[dict], columns: Sequence[tuple[str, str]]) -> str:
    """A Markdown table of ``rows`` with (key, heading) ``columns``."""
    lines = ["| " + " | ".join(h for _, h in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(k)) for k, _ in columns) + " |")
    return "\n".join(lines)


def print_table(title: str, rows: list[dict], columns: Sequence[tuple[str, str]],
                skipped: Iterable[dict] = ()) -> None:
    print(f"\n## {title}\n\n{table(rows, columns)}")
    for skip in skipped:
        print(f"skipped {skip['what']}: {skip['why']}")
    sys.stdout.flush()
