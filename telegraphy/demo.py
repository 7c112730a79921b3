"""``telegraphy demo``: a gateway, a page that shows events, and a script publishing one per second."""

from __future__ import annotations

import functools
import http.server
import itertools
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from importlib.resources import files
from pathlib import Path

import yaml

import telegraphy

from .errors import GatewayUnavailable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_demo_config(directory: Path, page_port: int, gateway_port: int) -> Path:
    config = {
        "transport": {"name": "xmlrpc", "options": {"host": "127.0.0.1", "port": _free_port()}},
        "gateway": {"listen": {"host": "127.0.0.1", "port": gateway_port},
                    "url": f"ws://localhost:{gateway_port}/ws", "realm": "telegraphy",
                    "allowed_origins": [f"http://localhost:{page_port}", f"http://127.0.0.1:{page_port}"]},
        "auth": {"secret": secrets.token_urlsafe(32), "token_ttl": 30},
        "events": [{"match": "demo.*", "access": "public", "history": 50}],
    }
    path = directory / "telegraphy.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class _Page(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, page: bytes, **kwargs) -> None:
        self.page = page
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path not in ("/", "/index.html"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args) -> None:
        pass


def run_demo(page_port: int, gateway_port: int, duration: float | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="telegraphy-demo-") as tmp:
        config_path = write_demo_config(Path(tmp), page_port, gateway_port)
        gateway = subprocess.Popen([sys.executable, "-m", "telegraphy.gateway.cli", "--config", str(config_path)],
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
        template = files("telegraphy").joinpath("static/telegraphy/demo.html").read_text()
        page = template.replace("{{GATEWAY}}", f"http://localhost:{gateway_port}") \
                       .replace("{{URL}}", f"ws://localhost:{gateway_port}/ws").encode()
        server = http.server.ThreadingHTTPServer(("127.0.0.1", page_port), functools.partial(_Page, page=page))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        telegraphy.configure(config_path)
        # SIGTERM ends the demo like Ctrl-C, so the gateway it started is stopped too
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        print(f"Telegraphy demo: open http://localhost:{page_port}/ (gateway ws://localhost:{gateway_port}/ws); "
              "Ctrl-C stops it", flush=True)
        deadline = time.monotonic() + duration if duration else None
        try:
            for n in itertools.count(1):
                if deadline and time.monotonic() > deadline:
                    break
                try:
                    telegraphy.publish("demo.Tick", {"n": n, "message": f"tick {n} from the demo publisher"})
                except GatewayUnavailable:
                    if gateway.poll() is not None:
                        print("telegraphy demo: the gateway exited", file=sys.stderr)
                        return 1
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
            gateway.terminate()
            gateway.wait(10)
    return 0
