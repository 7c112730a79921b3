"""The shared config: schema, ${ENV} expansion, and errors that name the file, line and key."""

import importlib.util
import textwrap
from pathlib import Path

import pytest
from telegraphy.transports.xmlrpc import XmlRpcOptions

import telegraphy
from telegraphy import config
from telegraphy.config import Config
from telegraphy.errors import ConfigError
from telegraphy.plugins import load_transport
from telegraphy.schema import reference

SECRET = "0123456789abcdef-secret"


def write(tmp_path, text):
    path = tmp_path / "telegraphy.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_design_example_loads_with_defaults_and_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TELEGRAPHY_SECRET", SECRET)
    path = write(tmp_path, """\
        transport:
          name: xmlrpc
          options: {host: 127.0.0.1, port: 4000}
        gateway:
          listen: {host: 127.0.0.1, port: 8080}
          url: ws://localhost:8080/ws
          realm: telegraphy
          allowed_origins: ["http://localhost:8000"]
        auth:
          secret: ${TELEGRAPHY_SECRET}
          token_ttl: 30
        events:
          - match: "chat.*"
            access: authenticated
            history: 100
          - match: "*"
            access: public
        limits: {max_message_bytes: 65536, client_queue_bytes: 1048576, max_connections: 20000}
        """)
    cfg = config.load(path)
    assert cfg.auth.secret == SECRET
    assert cfg.transport.options == XmlRpcOptions(host="127.0.0.1", port=4000, timeout=2.0)
    assert cfg.gateway.path == "/ws"
    assert cfg.policy("chat.Message").access == "authenticated"
    assert cfg.policy("chat.Message").history == 100
    assert cfg.policy("shop.Order").access == "public"
    assert cfg.limits.max_connections == 20000


def test_env_default_and_missing_env_var(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE", raising=False)
    path = write(tmp_path, f"auth:\n  secret: ${{NOPE:-{SECRET}}}\n")
    assert config.load(path).auth.secret == SECRET
    path = write(tmp_path, "auth:\n  secret: ${NOPE}\n")
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert err.value.line == 2 and err.value.key == "auth.secret"
    assert "NOPE is not set" in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize("text, line, key, words", [
    (f"auth: {{secret: {SECRET}}}\ngateway:\n  listen:\n    port: eighty\n", 4, "gateway.listen.port", "whole number"),
    (f"auth: {{secret: {SECRET}}}\ngateway:\n  listen:\n    port: 70000\n", 4, "gateway.listen.port", "<= 65535"),
    (f"auth: {{secret: {SECRET}}}\nevents:\n  - match: '*'\n    access: everyone\n", 4, "events[0].access",
     "public, authenticated, private"),
    (f"auth: {{secret: {SECRET}}}\ngatway: {{}}\n", 2, "gatway", "unknown key"),
    ("auth: {secret: short}\n", 1, "auth.secret", "at least 16"),
    ("gateway: {}\n", 1, "auth", "required"),
    (f"auth: {{secret: {SECRET}}}\ntransport:\n  name: carrier-pigeon\n", 3, "transport.name", "installed: "),
    (f"auth: {{secret: {SECRET}}}\ntransport:\n  options:\n    port: 1\n    hots: x\n", 5,
     "transport.options.hots", "unknown key"),
    (f"auth: {{secret: {SECRET}}}\ngateway:\n  url: http://x/ws\n", 3, "gateway.url", "ws://"),
])
def test_errors_name_file_line_and_key(tmp_path, text, line, key, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    message = str(err.value)
    assert err.value.line == line, message
    assert err.value.key == key, message
    assert message.startswith(f"{path}, line {line}, key '{key}'"), message
    assert words in message


def test_unknown_transport_lists_installed_ones(tmp_path):
    path = write(tmp_path, f"auth: {{secret: {SECRET}}}\ntransport: {{name: nope}}\n")
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert "unknown transport 'nope'; installed: " in str(err.value)
    assert "xmlrpc" in str(err.value)


def test_invalid_yaml_and_missing_file(tmp_path):
    path = write(tmp_path, "auth:\n  secret: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert "invalid YAML" in str(err.value) and err.value.line is not None
    with pytest.raises(ConfigError, match="cannot read"):
        config.load(tmp_path / "missing.yaml")


def test_no_config_at_all_says_how_to_give_one(tmp_path, monkeypatch):
    monkeypatch.delenv("TELEGRAPHY_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="TELEGRAPHY_CONFIG") as err:
        config.load(None)
    assert "--config" in str(err.value) and "./telegraphy.yaml" in str(err.value)


def test_without_a_path_the_env_var_then_the_current_directory_and_it_says_which(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAPHY_CONFIG", raising=False)
    write(tmp_path, f"auth: {{secret: {SECRET}}}\n")
    found = config.load(None)
    here = str(tmp_path / "telegraphy.yaml")
    assert (found.source, found.found_by) == (here, "found in the current directory")
    assert found.using == f"using {here} (found in the current directory)"

    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(f"auth: {{secret: {SECRET}}}\ngateway: {{realm: other}}\n")
    monkeypatch.setenv("TELEGRAPHY_CONFIG", str(elsewhere))
    found = config.load(None)  # the variable wins over the file in the current directory
    assert (found.source, found.found_by, found.gateway.realm) == (str(elsewhere), "from $TELEGRAPHY_CONFIG", "other")
    given = config.load(tmp_path / "telegraphy.yaml")
    assert given.found_by == "given" and given.gateway.realm == "telegraphy"
    assert config.locate(None) == (str(elsewhere), "from $TELEGRAPHY_CONFIG")


def test_every_problem_of_a_file_is_reported_at_once_each_with_its_line_and_key(tmp_path):
    path = write(tmp_path, """\
        transport:
          name: xmlrpc
          options: {port: 99999, timeout: soon}
        gateway:
          listen: {port: eighty}
          colour: blue
        auth:
          secret: short
        events:
          - match: "*"
            access: everyone
          - access: public
        limits: {max_connections: 0}
        """)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    found = [(p.line, p.key) for p in err.value.problems]
    assert found == [(3, "transport.options.port"), (3, "transport.options.timeout"), (5, "gateway.listen.port"),
                     (6, "gateway.colour"), (8, "auth.secret"), (11, "events[0].access"), (12, "events[1].match"),
                     (13, "limits.max_connections")]
    message = str(err.value)
    assert message.splitlines()[0].startswith(f"{path}, line 3, key 'transport.options.port': ")
    assert len(message.splitlines()) == 8 and all(line.startswith(f"{path}, line ") for line in message.splitlines())
    assert (err.value.line, err.value.key) == (3, "transport.options.port")  # the first one, for callers of one


def test_an_env_reference_inside_a_flow_mapping(tmp_path, monkeypatch):
    monkeypatch.delenv("GATEWAY_PORT", raising=False)
    monkeypatch.setenv("TRANSPORT_HOST", "127.0.0.2")
    path = write(tmp_path, f"""\
        auth: {{secret: "${{TELEGRAPHY_TEST_SECRET:-{SECRET}}}"}}
        gateway:
          listen: {{host: 127.0.0.1, port: ${{GATEWAY_PORT:-8081}}}}
          allowed_origins: [${{ORIGIN:-http://localhost:8000}}, "https://${{HOST:-example.com}}"]
        transport: {{name: xmlrpc, options: {{host: ${{TRANSPORT_HOST}}, port: ${{TRANSPORT_PORT:-4001}}}}}}
        """)
    cfg = config.load(path)
    assert cfg.gateway.port == 8081 and cfg.transport.options.host == "127.0.0.2"
    assert cfg.transport.options.port == 4001 and cfg.auth.secret == SECRET
    assert cfg.gateway.allowed_origins == ("http://localhost:8000", "https://example.com")
    monkeypatch.delenv("TRANSPORT_HOST")
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert (err.value.line, err.value.key) == (5, "transport.options.host") and "TRANSPORT_HOST is not set" in str(
        err.value)


def test_an_unknown_transport_says_which_installed_ones_are_usable_here(tmp_path):
    path = write(tmp_path, f"auth: {{secret: {SECRET}}}\ntransport: {{name: nope}}\n")
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert "usable here: " in str(err.value)
    usable = str(err.value).split("usable here: ", 1)[1].split(";")[0].rstrip(")")
    assert {"xmlrpc", "memory"} <= set(usable.split(", "))


def test_the_effective_config_is_what_the_transport_redacts(tmp_path):
    path = write(tmp_path, f"""\
        auth: {{secret: {SECRET}}}
        transport:
          name: rabbitmq
          options: {{url: "amqp://app:hunter2-pw@rabbit:5672/%2F", exchange: shop}}
        """)
    cfg = config.load(path)
    effective = cfg.to_dict()
    assert effective["transport"]["options"]["url"] == "amqp://app:****@rabbit:5672/%2F"
    assert effective["transport"]["options"]["exchange"] == "shop"
    assert effective["auth"]["secret"] == "****"
    assert cfg.to_dict(mask_secrets=False)["transport"]["options"]["url"] == "amqp://app:hunter2-pw@rabbit:5672/%2F"
    assert "hunter2" not in repr(cfg)


def test_dump_masks_secrets_and_rotation_keeps_order(tmp_path):
    other = "another-secret-0123456789"
    path = write(tmp_path, f"auth:\n  secret: [{SECRET}, {other}]\n")
    cfg = config.load(path)
    assert cfg.auth.secrets == (SECRET, other) and cfg.auth.secret == SECRET
    dumped = config.dump(cfg)
    assert SECRET not in dumped and other not in dumped and "****" in dumped


def test_configure_accepts_a_mapping():
    cfg = telegraphy.configure({"auth": {"secret": SECRET}, "transport": {"options": {"port": 4999}}})
    assert cfg.transport.options.port == 4999 and cfg.source == "<dict>"


CORE_KEYS = ["transport", "transport.name", "transport.options", "gateway.listen.host", "gateway.listen.port",
             "gateway.url", "gateway.realm", "gateway.allowed_origins", "auth.secret", "auth.token_ttl",
             "auth.resume_ttl", "events", "events[].match", "events[].access", "events[].history", "events[].publish",
             "events[].persistent_limit", "limits", "limits.max_message_bytes", "limits.client_queue_bytes",
             "limits.max_connections", "limits.socket_send_buffer"]


def leaves(data, prefix=""):
    """The keys of the effective config, as the reference writes them."""
    if isinstance(data, dict) and not prefix.endswith("transport.options."):
        return set().union(*(leaves(v, f"{prefix}{k}.") for k, v in data.items())) if data else {prefix[:-1]}
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return set().union(*(leaves(item, prefix[:-1] + "[].") for item in data))
    return {prefix[:-1]}


def test_the_reference_documents_every_key_the_loader_reads():
    rows = {row.key: row for row in reference(Config)}
    assert set(CORE_KEYS) <= set(rows)
    assert all(row.doc and row.type for row in rows.values()), [r.key for r in rows.values() if not r.doc]
    assert rows["gateway.listen.port"].default == "``8080``" and rows["auth.secret"].default == "required"
    assert rows["events[].access"].type == "one of ``public``, ``authenticated``, ``private``"
    assert rows["limits.max_message_bytes"].type == "whole number, at least 512"
    # what the loader gives back (telegraphy check) has exactly the documented keys: they are one declaration
    cfg = config.from_mapping({"auth": {"secret": SECRET}, "events": [{"match": "*"}]})
    documented = {key for key, row in rows.items() if row.type not in ("mapping", "list of mappings")}
    assert leaves(cfg.to_dict()) == documented | {"transport.options"}


@pytest.mark.parametrize("name", ["xmlrpc", "rabbitmq", "zeromq", "memory"])
def test_each_transport_documents_its_options(name):
    transport = load_transport(name)
    rows = {row.key: row for row in reference(transport.options)}
    assert rows and all(row.doc and row.type for row in rows.values())
    effective = config.from_mapping({"auth": {"secret": SECRET}, "transport": {"name": name}}).to_dict()
    assert set(effective["transport"]["options"]) <= set(rows)


def test_the_sphinx_extension_renders_the_reference():
    pytest.importorskip("sphinx", reason="the docs extra: pip install -e '.[docs]'")
    path = Path(__file__).resolve().parents[2] / "docs" / "_ext" / "telegraphy_settings.py"
    spec = importlib.util.spec_from_file_location("telegraphy_settings", path)
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)
    core = "\n".join(extension.table(extension.rows_for("core")))
    assert "   * - ``gateway.listen.port``\n     - whole number, 0 to 65535\n     - ``8080``\n" in core
    assert "``url``" in "\n".join(extension.table(extension.rows_for("rabbitmq")))
