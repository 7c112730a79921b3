"""The command-line tools, and the README's first command (`telegraphy demo`) really showing events."""

import os
import shutil
import subprocess
import sys
import urllib.request

from support import SECRET, WampClient, free_port, wait_for, write_config

BIN = os.path.dirname(sys.executable)


def run(*args, **kwargs):
    return subprocess.run([shutil.which(args[0], path=BIN), *args[1:]], capture_output=True, text=True, timeout=60,
                          **kwargs)


def test_check_prints_the_effective_config_with_the_secret_masked(tmp_path):
    result = run("telegraphy", "check", "--config", str(write_config(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert "transport:" in result.stdout and "secret: '****'" in result.stdout and SECRET not in result.stdout


def test_check_and_gateway_report_a_broken_config_by_file_line_and_key(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(f"auth:\n  secret: {SECRET}\ntransport:\n  name: pigeon\n")
    for tool in ("telegraphy", "telegraphy-gateway"):
        args = ["check", "--config", str(path)] if tool == "telegraphy" else ["--config", str(path)]
        result = run(tool, *args)
        assert result.returncode == 2
        assert f"{path}, line 4, key 'transport.name': unknown transport 'pigeon'; installed: " in result.stderr
        assert "xmlrpc" in result.stderr


def test_plugins_lists_transports_and_integrations():
    result = run("telegraphy", "plugins")
    assert result.returncode == 0, result.stderr
    rows = {tuple(line.split()[:3]) for line in result.stdout.splitlines()}
    assert ("transport", "xmlrpc", "ok") in rows


def test_gateway_announces_where_it_listens_and_its_transport(gateway):
    wait_for(lambda: "listening on ws://127.0.0.1" in gateway.log())
    assert "transport xmlrpc" in gateway.log()


def test_publish_and_token_commands(gateway, wamp):
    token = run("telegraphy", "token", "--config", str(gateway.config_path), "--user", "alice").stdout.strip()
    client = wamp(gateway.url, ticket=token)
    assert client.join_details.authid == "alice"
    client.subscribe("shop.Order")
    result = run("telegraphy", "publish", "--config", str(gateway.config_path), "shop.Order", '{"id": 5}',
                 "--event-type", "create")
    assert result.returncode == 0, result.stderr
    (event,) = client.wait_events(1)
    assert event["envelope"]["data"] == {"id": 5}


def test_demo_serves_a_page_and_publishes_an_event_every_second():
    page_port, gateway_port = free_port(), free_port()
    demo = subprocess.Popen([shutil.which("telegraphy", path=BIN), "demo", "--port", str(page_port),
                             "--gateway-port", str(gateway_port), "--duration", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    client = WampClient(f"ws://127.0.0.1:{gateway_port}/ws")
    try:
        def up():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{page_port}/", timeout=1) as resp:
                    return resp.read().decode()
            except OSError:
                return None
        page = wait_for(up, timeout=30, message="the demo page")
        assert "Telegraphy.register('demo.Tick'" in page and f"ws://localhost:{gateway_port}/ws" in page
        wait_for(lambda: _healthy(gateway_port), timeout=30, message="the demo gateway")
        client.connect()
        client.subscribe("demo.Tick")
        events = client.wait_events(2, timeout=15)
        assert events[1]["envelope"]["data"]["n"] == events[0]["envelope"]["data"]["n"] + 1
    finally:
        client.close()
        demo.terminate()
        demo.wait(20)
    assert demo.returncode == 0
    wait_for(lambda: not _healthy(gateway_port), message="the demo's gateway to stop with it")


def _healthy(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False
