"""The zeromq transport's options: defaults, CURVE keys inline or from files, and errors that name
the file, the line and the key."""

import textwrap

import pytest
import zmq
import zmq.auth
from telegraphy.transports.zeromq.options import CurveOptions, ZeroMQOptions

from telegraphy import config
from telegraphy.errors import ConfigError

SECRET = "0123456789abcdef-secret"
SERVER_PUBLIC, SERVER_SECRET = (k.decode() for k in zmq.curve_keypair())
CLIENT_PUBLIC, CLIENT_SECRET = (k.decode() for k in zmq.curve_keypair())


def load(tmp_path, options: str):
    path = tmp_path / "telegraphy.yaml"
    path.write_text("transport:\n  name: zeromq\n  options:\n" + textwrap.indent(textwrap.dedent(options), "    ")
                    + f"auth:\n  secret: {SECRET}\n")
    return config.load(path)


def error(tmp_path, options: str) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, options)
    return err.value


def test_defaults_bind_the_first_endpoint(tmp_path):
    options = load(tmp_path, """\
        endpoints: [tcp://10.0.0.5:4001, "ipc:///run/telegraphy/gw2.ipc"]
        """).transport.options
    assert options == ZeroMQOptions(endpoints=("tcp://10.0.0.5:4001", "ipc:///run/telegraphy/gw2.ipc"),
                                    bind="tcp://10.0.0.5:4001", sndhwm=10000, rcvhwm=10000, linger=2.0,
                                    send_timeout=2.0, curve=None)
    assert load(tmp_path, "{}\n").transport.options.endpoints == ("tcp://127.0.0.1:4001",)


@pytest.mark.parametrize("options, key, line, words", [
    ("endpoints: [inproc://x]\n", "endpoints", 4, "tcp://HOST:PORT or ipc://PATH"),
    ("endpoints: [tcp://127.0.0.1]\n", "endpoints", 4, "tcp://HOST:PORT"),
    ("endpoints: ['tcp://*:4001']\n", "endpoints", 4, "tcp://HOST:PORT"),
    ("endpoints: [tcp://a:4001, tcp://a:4001]\n", "endpoints", 4, "twice"),
    ("endpoints: []\n", "endpoints", 4, "at least one"),
    ("endpoints: [tcp://a:4001]\nbind: tcp://0.0.0.0:99999\n", "bind", 5, "from 1 to 65535"),
    ("endpoints: [ipc:///" + "x" * 120 + "]\n", "endpoints", 4, "shorter path"),
    ("send_timeout: soon\n", "send_timeout", 4, "expected a number"),
    ("sndhwm: 0\n", "sndhwm", 4, ">= 1"),
    ("sendtimeout: 1\n", "sendtimeout", 4, "unknown key"),
])
def test_bad_options_name_the_line_and_key(tmp_path, options, key, line, words):
    err = error(tmp_path, options)
    assert err.key == f"transport.options.{key}" and err.line == line and words in err.reason, str(err)
    assert str(tmp_path / "telegraphy.yaml") in str(err)


def test_a_gateway_may_bind_any_interface(tmp_path):
    options = load(tmp_path, "endpoints: [tcp://gw1.internal:4001]\nbind: 'tcp://*:4001'\n").transport.options
    assert options.bind == "tcp://*:4001"


def test_only_a_gateway_may_leave_its_port_to_the_os(tmp_path):
    assert load(tmp_path, "bind: tcp://127.0.0.1:0\n").transport.options.bind == "tcp://127.0.0.1:0"
    assert load(tmp_path, "bind: 'tcp://127.0.0.1:*'\n").transport.options.bind == "tcp://127.0.0.1:*"
    err = error(tmp_path, "endpoints: [tcp://127.0.0.1:0]\n")  # a web app must know where to connect
    assert err.key == "transport.options.endpoints" and "from 1 to 65535" in err.reason


def test_curve_keys_inline_with_env_and_masked_in_the_effective_config(tmp_path, monkeypatch):
    monkeypatch.setenv("ZMQ_SERVER_SECRET", SERVER_SECRET)
    cfg = load(tmp_path, f"""\
        curve:
          server_public_key: "{SERVER_PUBLIC}"
          server_secret_key: ${{ZMQ_SERVER_SECRET}}
          client_public_key: "{CLIENT_PUBLIC}"
          client_secret_key: ${{ZMQ_CLIENT_SECRET:-}}
        """)
    assert cfg.transport.options.curve == CurveOptions(server_public_key=SERVER_PUBLIC, server_secret_key=SERVER_SECRET,
                                                       client_public_key=CLIENT_PUBLIC, client_secret_key=None)
    dumped = config.dump(cfg)
    assert SERVER_SECRET not in dumped and "server_secret_key: '****'" in dumped


def test_curve_keys_from_certificate_files(tmp_path):
    server_public_file, server_secret_file = zmq.auth.create_certificates(tmp_path, "server")
    client_public_file, client_secret_file = zmq.auth.create_certificates(tmp_path, "client")
    server = zmq.auth.load_certificate(server_secret_file)
    client = zmq.auth.load_certificate(client_public_file)
    cfg = load(tmp_path, """\
        curve:
          server_key_file: server.key_secret
          client_key_file: client.key
        """)  # relative to the config file's folder
    assert cfg.transport.options.curve == CurveOptions(
        server_public_key=server[0].decode(), server_secret_key=server[1].decode(),
        client_public_key=client[0].decode(), client_secret_key=None,
        server_key_file="server.key_secret", client_key_file="client.key")


@pytest.mark.parametrize("curve, key, words", [
    ("server_public_key: tooshort\n", "server_public_key", "40 characters"),
    (f"server_public_key: '{SERVER_PUBLIC}'\n", "client_public_key", "is required"),
    ("server_key_file: missing.key\n", "server_key_file", "cannot read the key file"),
    (f"server_key_file: telegraphy.yaml\nclient_public_key: '{CLIENT_PUBLIC}'\n", "server_key_file",
     "not a ZeroMQ certificate"),
    (f"server_public_key: '{SERVER_PUBLIC}'\nclient_public_key: '{CLIENT_PUBLIC}'\nserver_secret: x\n",
     "server_secret", "unknown key"),
])
def test_bad_curve_options_name_the_key(tmp_path, curve, key, words):
    err = error(tmp_path, "curve:\n" + textwrap.indent(curve, "  "))
    assert err.key == f"transport.options.curve.{key}" and err.line is not None and words in err.reason, str(err)


def test_each_side_needs_its_own_secret_key_matching_its_public_key(tmp_path):
    from telegraphy.plugins import load_transport

    transport = load_transport("zeromq")
    web_app = load(tmp_path, f"""\
        curve: {{server_public_key: "{SERVER_PUBLIC}", client_public_key: "{CLIENT_PUBLIC}",
                client_secret_key: "{CLIENT_SECRET}"}}
        """)
    transport.proxy(web_app).close()
    with pytest.raises(ConfigError, match="the gateway needs server_secret_key"):
        transport.representative(web_app)
    mismatched = load(tmp_path, f"""\
        curve: {{server_public_key: "{SERVER_PUBLIC}", client_public_key: "{CLIENT_PUBLIC}",
                client_secret_key: "{SERVER_SECRET}"}}
        """)
    with pytest.raises(ConfigError, match="does not belong to client_public_key") as err:
        transport.proxy(mismatched)
    assert err.value.key == "transport.options.curve.client_secret_key"
