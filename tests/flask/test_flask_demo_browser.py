"""End to end in headless Chromium: the Flask demo page shows the writes another process commits.

Every part is real and separate: the gateway (``flask telegraphy gateway``), the demo app served by
``flask run``, the writer (``flask demo create|update|delete``) and Debian's Chromium.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from types import SimpleNamespace

import pytest
import yaml
from support import ROOT, free_port, wait_for, write_config

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")

FLASK = [sys.executable, "-m", "flask", "--app", "demo_flask"]


def answers(url: str, process: subprocess.Popen, log_path) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"{' '.join(process.args[3:])} exited with {process.returncode}:\n"
                             f"{log_path.read_text(errors='replace')}")
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def demo(tmp_path):
    """The demo's gateway and web server as subprocesses, on free loopback ports and a fresh SQLite file."""
    origin = f"http://127.0.0.1:{free_port()}"
    config = write_config(tmp_path, gateway={"allowed_origins": [origin]},
                          events=[{"match": "demo_flask.*", "access": "public", "history": 100}])
    env = {**os.environ, "FLASK_TELEGRAPHY_CONFIG": str(config),
           "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    started = []

    def start(name: str, *args: str, url: str) -> None:
        log_path = tmp_path / f"{name}.log"
        log = open(log_path, "wb")
        process = subprocess.Popen([*FLASK, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append((process, log, log_path))
        wait_for(lambda: answers(url, process, log_path), timeout=30, message=f"the demo's {name} at {url}")

    gateway_port = yaml.safe_load(config.read_text())["gateway"]["listen"]["port"]
    try:
        start("gateway", "telegraphy", "gateway", url=f"http://127.0.0.1:{gateway_port}/health")
        start("web server", "run", "--host", "127.0.0.1", "--port", origin.rsplit(":", 1)[1], url=origin + "/")
        yield SimpleNamespace(origin=origin, gateway_url=f"ws://127.0.0.1:{gateway_port}/ws", env=env)
    finally:
        for process, log, log_path in started:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
            print(f"--- {' '.join(process.args[3:])} (pytest shows this if the test failed)\n"
                  f"{log_path.read_text(errors='replace')}")


def write(demo, *args: str) -> None:
    """A write from another process: the demo's own CLI command, committing through SQLAlchemy."""
    result = subprocess.run([*FLASK, "demo", *args], cwd=ROOT, env=demo.env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_demo_page_shows_each_event_of_another_process(demo, wamp, artifacts, browser):
    expect = sync_api.expect
    page = browser.new_page()
    try:
        page.on("console", lambda message: print(f"console.{message.type}: {message.text}"))
        page.goto(demo.origin + "/")
        expect(page.locator("h1")).to_have_text("Catching model events!")
        watcher = wamp(demo.gateway_url)  # asks the gateway when the page has subscribed
        wait_for(lambda: watcher.call("telegraphy.subscribers", "demo_flask.MyModel") >= 1, timeout=30,
                 message="the page to subscribe to demo_flask.MyModel")
        write(demo, "create", "sent from another process", "--price", "9.99")
        write(demo, "update", "1", "renamed")
        write(demo, "delete", "1")
        expect(page.locator("#event_catcher li")).to_have_text(
            ["New instance #1: sent from another process (9.99)", "Changed instance #1: renamed (9.99)",
             "Deleted instance #1: renamed (9.99)"], timeout=30_000)
        page.screenshot(path=str(artifacts / "flask-demo.png"), full_page=True)
    finally:
        page.close()
