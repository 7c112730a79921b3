"""Throwaway virtual environments for the benchmark peers and tools, one per peer, under benchmarks/.peers/
(gitignored): none of their code is committed, the runner installs them from PyPI on first use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from .common import HERE

PEERS = HERE / ".peers"
INSTALL_SECONDS = 900


def ensure_venv(name: str, requirements: list[str]) -> Path:
    """The venv ``PEERS/name`` with ``requirements`` installed (once; again when they change); RuntimeError
    with the end of the install log when pip fails."""
    venv = PEERS / name
    marker = venv / "bench-installed.json"
    wanted = sorted(requirements)
    if marker.exists() and json.loads(marker.read_text()).get("requirements") == wanted:
        return venv
    log = PEERS / f"{name}-install.log"
    PEERS.mkdir(parents=True, exist_ok=True)
    print(f"  installing {' '.join(wanted)} into {venv.relative_to(HERE.parent)} (log: {log.name}) ...", flush=True)
    with open(log, "w") as out:
        for step in ([sys.executable, "-m", "venv", "--clear", str(venv)],
                     [str(venv / "bin" / "pip"), "install", "-q", *wanted]):
            try:
                code = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, timeout=INSTALL_SECONDS).returncode
            except subprocess.TimeoutExpired:
                code = f"timeout after {INSTALL_SECONDS} s"
            if code != 0:
                tail = [line for line in log.read_text().splitlines() if not line.startswith("WARNING")][-5:]
                raise RuntimeError(f"cannot install {' '.join(wanted)} into {venv} ({' '.join(step[:3])}... "
                                   f"exited {code}): " + " / ".join(tail))
    frozen = subprocess.run([str(venv / "bin" / "pip"), "freeze"], capture_output=True, text=True).stdout
    versions = dict(line.split("==", 1) for line in frozen.splitlines() if "==" in line)
    marker.write_text(json.dumps({"requirements": wanted, "versions": versions}, indent=1))
    return venv


def version(venv: Path, dist: str) -> str:
    """The installed version of ``dist`` in a venv made by ensure_venv."""
    versions = json.loads((venv / "bench-installed.json").read_text())["versions"]
    wanted = dist.lower().replace("_", "-")
    return next((v for k, v in versions.items() if k.lower().replace("_", "-") == wanted), "unknown")


def same_as_ours(*dists: str) -> list[str]:
    """Requirements pinning ``dists`` to the versions in the project's own environment."""
    return [f"{dist}=={metadata.version(dist)}" for dist in dists]


def installed(name: str) -> bool:
    """Whether ensure_venv already made the venv ``name`` (the smoke tests use a peer only then)."""
    return (PEERS / name / "bench-installed.json").exists()
