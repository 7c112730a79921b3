"""Django projects run the way their users run them: ``manage.py`` subprocesses (migrate, run_telegraph,
runserver, shell), each with its own settings, watched until ready and stopped after the test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from support import ROOT, GatewayProcess, free_port, wait_for

DEMO = ROOT / "demo_project"


def manage(project: Path, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python manage.py ARGS`` in ``project``; the result (check returncode yourself)."""
    return subprocess.run([sys.executable, str(Path(project) / "manage.py"), *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=timeout)


def subscriptions(gateway: GatewayProcess) -> int:
    """The gateway's count of distinct subscriptions, from /metrics."""
    match = re.search(r"^telegraphy_subscriptions (\d+)$", gateway.metrics(), re.M)
    return int(match.group(1)) if match else 0


class RunTelegraph(GatewayProcess):
    """``manage.py run_telegraph [ARGS]`` of a project, watched like a telegraphy-gateway process."""

    def __init__(self, project: Path, config_path: Path, env: dict, *args: str, port: int | None = None) -> None:
        super().__init__(config_path, env)
        self.command = [sys.executable, str(Path(project) / "manage.py"), "run_telegraph", *args]
        self.cwd = project
        if port is not None:
            self.port, self.url, self.http = port, f"ws://{self.host}:{port}/ws", f"http://{self.host}:{port}"

    def start(self, wait: bool = True) -> RunTelegraph:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command, cwd=self.cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env)
        if wait:
            wait_for(self.healthy, timeout=30, message=f"run_telegraph on port {self.port}\n{self.log()}")
        return self


class Runserver:
    """``manage.py runserver 127.0.0.1:PORT --noreload`` (or another serving command taking the address)
    of a project, started and waited for."""

    def __init__(self, project: Path, env: dict, log_path: Path, port: int | None = None,
                 command: tuple[str, ...] = ("runserver", "--noreload")) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, str(Path(project) / "manage.py"), command[0],
                                      f"127.0.0.1:{self.port}", *command[1:]], cwd=project, env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    def wait(self, path: str = "/") -> Runserver:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"runserver exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False
        wait_for(up, timeout=60, interval=0.2, message=f"runserver on {self.url}\n{self.log()}")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def project_env(**extra: str) -> dict:
    """The environment of a project subprocess: this one, minus what would leak into its settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "TELEGRAPHY_CONFIG")}
    return {**env, **extra}
