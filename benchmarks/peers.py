"""Peers: the fan-out scenario against Crossbar, the WAMP router people would pick instead, side by side.

Crossbar is installed on first use into a throwaway venv (benchmarks/.peers/crossbar, gitignored), runs a
minimal router on loopback (anonymous may subscribe and publish), and gets the same Node subscribers and
steps. It has no XML-RPC ingest, so a Node WAMP session publishes at the same paced rates instead.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import common, fanout
from .common import LineProcess, Options

NAME = "peers"
TITLE = "Peers: the same fan-out against Crossbar"
COLUMNS = fanout.COLUMNS
CROSSBAR = "crossbar==26.10.*"
VENV = common.HERE / ".peers" / "crossbar"
REALM = "telegraphy"


def ensure_crossbar() -> tuple[Path, str]:
    """The crossbar executable and its version, installing it into VENV the first time; RuntimeError if not."""
    exe, marker = VENV / "bin" / "crossbar", VENV / "installed-version"
    if exe.exists() and marker.exists():
        return exe, marker.read_text().strip()
    log = VENV.parent / "crossbar-install.log"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    print(f"  installing {CROSSBAR} into {VENV} (log: {log}) ...", flush=True)
    with open(log, "w") as out:
        for step in ([sys.executable, "-m", "venv", "--clear", str(VENV)],
                     [str(VENV / "bin" / "pip"), "install", "-q", CROSSBAR],
                     [str(exe), "version"]):
            try:
                code = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, timeout=900).returncode
            except subprocess.TimeoutExpired:
                code = "timeout after 900 s"
            if code != 0:
                tail = [line for line in log.read_text().splitlines() if not line.startswith("WARNING")][-5:]
                raise RuntimeError(f"cannot install {CROSSBAR} ({' '.join(step[:3])}... exited {code}): "
                                   + " / ".join(tail))
    shown = subprocess.run([str(VENV / "bin" / "pip"), "show", "crossbar"], capture_output=True, text=True).stdout
    marker.write_text(shown.split("Version: ")[-1].split()[0] if "Version: " in shown else "unknown")
    return exe, marker.read_text().strip()


def router_config(port: int) -> dict:
    """A minimal Crossbar router: one realm, anonymous may subscribe and publish, WebSocket on loopback."""
    anyone = {"uri": "", "match": "prefix", "allow": {"call": False, "register": False, "publish": True,
                                                     "subscribe": True},
              "disclose": {"caller": False, "publisher": False}, "cache": True}
    return {"version": 2, "controller": {}, "workers": [{
        "type": "router",
        "realms": [{"name": REALM, "roles": [{"name": "anonymous", "permissions": [anyone]}]}],
        "transports": [{"type": "websocket", "serializers": ["json"],
                        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": port, "backlog": 1024},
                        "options": {"auto_ping_interval": 25000, "auto_ping_timeout": 10000}}]}]}


class Crossbar:
    """A ``crossbar start`` process group with its own config directory."""

    def __init__(self, exe: Path, directory: Path) -> None:
        self.port = common.free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        cbdir = directory / ".crossbar"
        cbdir.mkdir()
        (cbdir / "config.json").write_text(json.dumps(router_config(self.port), indent=1))
        self.log_path = directory / "crossbar.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(exe), "start", "--cbdir", str(cbdir), "--loglevel", "warn"],
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def pids(self) -> list[int]:
        """The controller and its workers (the router worker does the routing)."""
        found = [self.proc.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    found.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                continue
        return found

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-1500:]

    def publisher(self, timeout: float = 60) -> LineProcess:
        """A Node WAMP publisher session, retried until the router accepts it."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"crossbar exited with {self.proc.returncode}: {self.log()}")
            try:
                return common.NodePeers("publish", self.url, fanout.TOPIC, realm=REALM, ready_timeout=10).peers[0]
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"crossbar accepted no session within {timeout:.0f}s: {self.log()}") from None
                time.sleep(1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group we started: any worker left behind
        except ProcessLookupError:
            pass
        self.proc.wait()
        self._log.close()


def telegraphy_reference(options: Options) -> list[dict]:
    """This run's (or the last) Telegraphy fan-out rows from the same results folder, for comparison."""
    path = options.out / f"{fanout.NAME}.json"
    if not path.exists():
        return []
    result = json.loads(path.read_text())
    return result["rows"] if result.get("quick") == options.quick else []


def run(options: Options) -> dict:
    steps, seconds = fanout.plan(options.quick)
    rows, skipped, notes = [], [], []
    try:
        exe, version = ensure_crossbar()
        notes.append(f"Crossbar {version} from PyPI in {VENV.relative_to(common.ROOT)}, one router worker, "
                     f"JSON serializer; publisher: a Node WAMP session (wamp_peer.js publish), same steps and "
                     f"{fanout.PAD}-byte filler as the fan-out scenario")
        with tempfile.TemporaryDirectory(prefix="bench-crossbar-") as tmp:
            router = Crossbar(exe, Path(tmp))
            publisher = None
            try:
                publisher = router.publisher()
                rows = fanout.run_steps("crossbar", router.url, REALM, publisher, steps, seconds, router.pids)
            finally:
                if publisher is not None:
                    publisher.close()
                router.stop()
    except RuntimeError as exc:
        skipped.append({"what": "crossbar", "why": str(exc)})
        print(f"  crossbar skipped: {exc}", flush=True)
    reference = telegraphy_reference(options)
    if reference:
        notes.append("telegraphy rows: from fanout.json of the same results folder (same steps)")
    common.save(NAME, options, rows, skipped=skipped, notes=notes, config={"steps": steps, "seconds_per_step": seconds},
                plot=lambda fig, result: fanout.plot(fig, result, extra_rows=reference))
    common.print_table(TITLE, rows + reference, COLUMNS, skipped)
    return {"rows": rows, "skipped": skipped}
