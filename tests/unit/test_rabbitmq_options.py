"""The RabbitMQ transport's options: defaults, URL parsing, ${ENV}, and errors naming file, line and key."""

import textwrap

import pytest
from telegraphy.transports.rabbitmq import TlsOptions
from telegraphy.transports.rabbitmq.representative import backoff

from telegraphy import config
from telegraphy.errors import ConfigError

SECRET = "0123456789abcdef-secret"


def load(tmp_path, options: str):
    path = tmp_path / "telegraphy.yaml"
    path.write_text("transport:\n  name: rabbitmq\n  options:\n" + textwrap.indent(textwrap.dedent(options), "    ")
                    + f"auth:\n  secret: {SECRET}\n")
    return path, config.load(path)


def test_defaults_and_a_full_url(tmp_path, monkeypatch):
    _, cfg = load(tmp_path, "{}\n")
    options = cfg.transport.options
    broker = options.broker
    assert (broker.host, broker.port, broker.vhost) == ("127.0.0.1", 5672, "/")
    assert (broker.username, broker.password) == ("guest", "guest")
    assert options.exchange == "telegraphy" and options.exchange_type == "fanout" and options.queue == ""
    assert options.confirm is True and options.prefetch == 256 and options.tls is None

    monkeypatch.setenv("RABBIT_PASSWORD", "p%40ss")
    _, cfg = load(tmp_path, """\
        url: amqps://app:${RABBIT_PASSWORD}@rabbit.example.com/shop%2Fprod
        exchange_type: topic
        bindings: ["shop.#", "chat.*"]
        queue: gateway-1
        confirm: false
        """)
    options = cfg.transport.options
    broker = options.broker
    assert (broker.scheme, broker.host, broker.port) == ("amqps", "rabbit.example.com", 5671)
    assert (broker.vhost, broker.username, broker.password) == ("shop/prod", "app", "p@ss")
    assert options.bindings == ("shop.#", "chat.*") and options.queue == "gateway-1"
    assert options.tls == TlsOptions(ca_file=None, cert_file=None, key_file=None, verify=True)
    dumped = config.dump(cfg)
    assert "p%40ss" not in dumped and "p@ss" not in dumped  # `telegraphy check` masks the password


@pytest.mark.parametrize("line, key, message", [
    ("url: http://127.0.0.1:5672/", "url", "the scheme must be amqp or amqps"),
    ("url: amqp://guest:hunter2@127.0.0.1:99999/", "url", "port"),
    ("url: amqp://127.0.0.1/a/b", "url", "%2F"),
    ("url: amqp://127.0.0.1/?heartbeat=5", "url", "not in the url"),
    ("exchange: amq.direct", "exchange", "reserved"),
    ("exchange: 'has space'", "exchange", "letters, digits"),
    ("exchange_type: direct", "exchange_type", "fanout, topic"),
    ("queue: 'a/b'", "queue", "letters, digits"),
    ("bindings: ['shop.#']", "bindings", "exchange_type: topic"),
    ("confirm: sometimes", "confirm", "true or false"),
    ("prefetch: 0", "prefetch", ">= 1"),
    ("heartbeat: -1", "heartbeat", ">= 0"),
    ("timeout: soon", "timeout", "number"),
    ("reconnect_max_delay: 0.1", "reconnect_max_delay", "reconnect_delay"),
    ("tls: {verify: false}", "tls", "amqps://"),
    ("colour: blue", "colour", "unknown key"),
])
def test_each_bad_value_names_file_line_and_key(tmp_path, line, key, message):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, f"exchange_type: fanout\n{line}\n" if not line.startswith("exchange_type") else line + "\n")
    path = tmp_path / "telegraphy.yaml"
    assert err.value.source == str(path)
    assert err.value.key == f"transport.options.{key}"
    expected_line = 5 if not line.startswith("exchange_type") else 4
    assert err.value.line == expected_line
    assert message in str(err.value)
    assert "hunter2" not in str(err.value)


def test_tls_files_must_be_readable_and_a_key_needs_a_certificate(tmp_path):
    cert = tmp_path / "client.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ConfigError) as err:
        load(tmp_path, f"url: amqps://rabbit\ntls:\n  ca_file: {tmp_path / 'missing.pem'}\n")
    assert err.value.key == "transport.options.tls.ca_file" and err.value.line == 6
    with pytest.raises(ConfigError) as err:
        load(tmp_path, f"url: amqps://rabbit\ntls:\n  key_file: {cert}\n")
    assert err.value.key == "transport.options.tls.key_file" and "needs a cert_file" in str(err.value)
    _, cfg = load(tmp_path, f"url: amqps://rabbit\ntls: {{cert_file: {cert}, verify: false}}\n")
    assert cfg.transport.options.tls == TlsOptions(ca_file=None, cert_file=str(cert), key_file=None, verify=False)


def test_reconnect_backoff_doubles_up_to_the_cap_with_jitter():
    assert [backoff(n, 0.5, 4, rand=lambda: 1.0) for n in range(6)] == [0.5, 1, 2, 4, 4, 4]
    assert [backoff(n, 0.5, 4, rand=lambda: 0.0) for n in range(6)] == [0.25, 0.5, 1, 2, 2, 2]
    assert backoff(10_000, 0.5, 30) <= 30
