"""The command-line tools, and the README's first command (`telegraphy demo`) really showing events."""

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

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


SUBCOMMANDS = ("check", "plugins", "token", "publish", "tail", "demo")


def test_every_subcommand_has_help_with_an_example():
    for command in SUBCOMMANDS:
        result = run("telegraphy", command, "--help")
        assert result.returncode == 0, result.stderr
        assert "example" in result.stdout and f"\n  telegraphy {command}" in result.stdout, (command, result.stdout)
        if command not in ("plugins", "demo"):
            text = " ".join(result.stdout.split())  # argparse wraps the help
            assert "--config FILE" in text and "(default: $TELEGRAPHY_CONFIG, else ./telegraphy.yaml)" in text


def test_publish_with_malformed_json_is_one_line_and_a_hint(tmp_path):
    result = run("telegraphy", "publish", "--config", str(write_config(tmp_path)), "shop.Order", "{bad json")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "telegraphy publish: argument data: the data is not valid JSON (Expecting property name enclosed in double "
        """quotes: line 1 column 2 (char 1)); quote it for the shell, as in '{"id": 7}'""",
        "  hint: see 'telegraphy publish --help' for usage and examples"]


def test_publish_to_a_gateway_that_is_down_is_one_line_and_a_hint(tmp_path):
    path = write_config(tmp_path)  # nothing listens on its transport port
    result = run("telegraphy", "publish", "--config", str(path), "shop.Order", '{"id": 1}')
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"telegraphy publish: using config {path}"
    assert lines[1].startswith("telegraphy publish: the gateway at http://127.0.0.1:") and "refused" in lines[1]
    assert lines[2] == f"  hint: is the gateway running with this config (telegraphy-gateway --config {path}), " \
                       "and the broker too if the transport uses one?"
    assert len(lines) == 3 and result.stdout == ""


def test_publish_with_an_invalid_event_name_is_a_usage_error(tmp_path):
    result = run("telegraphy", "publish", "--config", str(write_config(tmp_path)), "bad name!", "{}")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.splitlines()[-1].startswith("  hint: event names")


def test_token_refuses_a_ttl_that_is_not_positive(tmp_path):
    path = write_config(tmp_path)
    for ttl in ("-5", "0", "soon"):
        result = run("telegraphy", "token", "--config", str(path), "--ttl", ttl)
        assert result.returncode == 2, ttl
        assert result.stdout == ""
        first, hint = result.stderr.splitlines()
        assert first.startswith("telegraphy token: argument --ttl: expected a ")
        assert hint == "  hint: see 'telegraphy token --help' for usage and examples"
    assert "positive number of seconds, got -5" in run("telegraphy", "token", "--ttl", "-5").stderr


def test_commands_say_which_config_they_use_from_the_environment(tmp_path):
    path = write_config(tmp_path)
    env = {**os.environ, "TELEGRAPHY_CONFIG": str(path)}
    result = run("telegraphy", "token", "--user", "alice", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"telegraphy token: using config {path}\n"
    assert result.stdout.count(".") == 2  # only the token on stdout, for $(telegraphy token)


def test_a_missing_config_is_one_line_and_a_hint(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAPHY_CONFIG"}
    result = run("telegraphy", "token", cwd=tmp_path, env=env)  # no ./telegraphy.yaml either
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 2 and result.stderr.splitlines()[1].startswith("  hint: ")
    assert "Traceback" not in result.stderr


def test_commands_default_to_telegraphy_yaml_in_the_current_folder(tmp_path):
    path = write_config(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAPHY_CONFIG"}
    result = run("telegraphy", "token", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() in (f"telegraphy token: using config {path}",
                                     "telegraphy token: using config telegraphy.yaml")


def test_the_readme_python_snippet_runs_as_written(gateway, wamp):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (snippet,) = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "publish(" in block]
    assert gateway.config_path.name == "telegraphy.yaml"  # the snippet reads ./telegraphy.yaml
    client = wamp(gateway.url)
    client.subscribe("shop.Order")
    result = subprocess.run([sys.executable, "-c", snippet], cwd=gateway.config_path.parent, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (event,) = client.wait_events(1)
    assert event["envelope"]["data"] == {"id": 7, "total": "9.99"}
