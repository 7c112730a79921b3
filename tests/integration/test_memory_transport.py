"""The memory transport end to end: a process that runs a gateway and publishes from another thread
delivers its events to a real WAMP client, with no socket between publisher and gateway."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest
from support import wait_for

# A web app and its gateway in one process: the gateway in the main thread (telegraphy-gateway's own
# main), the app publishing from another thread each "NAME N" line it reads.
IN_ONE_PROCESS = r"""
import sys, threading, telegraphy
from telegraphy import testing
from telegraphy.gateway.cli import main

config, ready = sys.argv[1:]
telegraphy.configure(config)

def app():
    for line in sys.stdin:
        name, n = line.split()
        telegraphy.publish(name, {"n": int(n)})
        print("outbox", len(testing.outbox), flush=True)

threading.Thread(target=app, daemon=True).start()
sys.exit(main(["--config", config, "--ready-file", ready]))
"""


@pytest.fixture
def in_one_process(config_file, tmp_path):
    path = config_file(transport="memory", options={"channel": "e2e"})
    ready = tmp_path / "ready.json"
    log = open(tmp_path / "process.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-c", IN_ONE_PROCESS, str(path), str(ready)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None, timeout=20, message="the gateway to start")
        assert proc.poll() is None, (tmp_path / "process.log").read_text()
        proc.ready = json.loads(ready.read_text())
        yield proc
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def test_events_published_in_the_process_reach_its_gateways_clients(in_one_process, wamp):
    port = in_one_process.ready["gateway"]["port"]
    client = wamp(f"ws://127.0.0.1:{port}/ws")
    client.subscribe("shop.", match="prefix")
    for n in range(5):
        in_one_process.stdin.write(f"shop.Order {n}\n")
    in_one_process.stdin.flush()
    events = client.wait_events(5)
    assert [e["envelope"]["data"]["n"] for e in events] == [0, 1, 2, 3, 4]
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    outbox = []
    while len(outbox) < 5:  # the gateway logs on stdout too
        line = in_one_process.stdout.readline()
        assert line, "the process ended"
        if line.startswith("outbox "):
            outbox.append(int(line.split()[1]))
    assert outbox == [1, 2, 3, 4, 5]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
        transport = json.load(response)["transport"]
    assert transport["state"] == "running" and transport["received"] == 5 and transport["channel"] == "e2e"
