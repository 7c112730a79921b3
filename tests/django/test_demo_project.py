"""demo_project from the command line: run_telegraph and its options, manage.py check on a broken config,
and `manage.py demo` starting and stopping the gateway with the site."""

from __future__ import annotations

import pytest
from django_projects import DEMO, Runserver, RunTelegraph, manage, project_env
from support import GatewayProcess, free_port, run_python, write_config

pytestmark = pytest.mark.integration


def test_run_telegraph_runs_the_gateway_with_the_project_config_and_its_host_and_port_options(tmp_path, wamp):
    config = write_config(tmp_path)
    env = project_env(TELEGRAPHY_CONFIG=str(config), DEMO_DATABASE=str(tmp_path / "demo.sqlite3"))
    port = free_port()
    gateway = RunTelegraph(DEMO, config, env, "--host", "127.0.0.1", "--port", str(port), port=port).start()
    try:
        assert gateway.get("/health")[0] == 200
        client = wamp(gateway.url)
        client.subscribe("telegraphy_demo.MyModel")
        published = run_python("import telegraphy; telegraphy.publish('telegraphy_demo.MyModel', {'id': 1})",
                               env=env)
        assert published.returncode == 0, published.stderr
        assert client.wait_events(1)[0]["envelope"]["data"] == {"id": 1}
    finally:
        assert gateway.stop() == 0, gateway.log()


def test_manage_py_check_reports_a_broken_config(tmp_path):
    good = manage(DEMO, "check", env=project_env(DEMO_DATABASE=str(tmp_path / "demo.sqlite3")))
    assert good.returncode == 0, good.stderr
    broken = tmp_path / "telegraphy.yaml"
    broken.write_text("transport:\n  name: xmlrpc\nauth:\n  secret: ${TELEGRAPHY_SECRET:-0123456789abcdef}\n"
                      "gateway:\n  listen: {port: eighty}\n")
    result = manage(DEMO, "check", env=project_env(TELEGRAPHY_CONFIG=str(broken)))
    assert result.returncode != 0
    assert "telegraphy.E001" in result.stderr
    assert f"{broken}, line 6, key 'gateway.listen.port': expected a whole number" in result.stderr
    refused = manage(DEMO, "run_telegraph", env=project_env(TELEGRAPHY_CONFIG=str(broken)))
    assert refused.returncode != 0 and "gateway.listen.port" in refused.stderr


def test_manage_py_demo_starts_the_gateway_and_the_site_and_stops_both(tmp_path):
    web_port = free_port()
    config = write_config(tmp_path, gateway={"allowed_origins": [f"http://127.0.0.1:{web_port}"]})
    env = project_env(TELEGRAPHY_CONFIG=str(config), DEMO_DATABASE=str(tmp_path / "demo.sqlite3"))
    demo = Runserver(DEMO, env, tmp_path / "demo.log", web_port, command=("demo",))
    try:
        demo.wait("/tracker/")
        gateway = GatewayProcess(config)
        assert gateway.healthy()
    finally:
        code = demo.stop()
    assert code == 0, demo.log()
    assert not gateway.healthy()  # SIGTERM stopped run_telegraph too
