"""The gateway's command-line options are declared once (telegraphy.gateway.cli.OPTIONS) and offered alike by
``telegraphy-gateway``, ``manage.py run_telegraph`` and ``flask telegraphy gateway``."""

from __future__ import annotations

import argparse

import click
import pytest

from telegraphy.gateway import cli


def argparse_options(parser: argparse.ArgumentParser) -> dict[str, tuple]:
    return {action.option_strings[0]: (action.dest, action.type, action.default, tuple(action.choices or ()) or None)
            for action in parser._actions if action.option_strings and action.dest in {o.dest for o in cli.OPTIONS}}


DECLARED = {o.flag: (o.dest, None if o.type is str else o.type, o.default, o.choices) for o in cli.OPTIONS}


def normalized(found: dict[str, tuple]) -> dict[str, tuple]:
    return {flag: (dest, None if kind is str else kind, default, choices)
            for flag, (dest, kind, default, choices) in found.items()}


def test_the_options_are_host_port_and_log_level():
    assert [o.flag for o in cli.OPTIONS] == ["--host", "--port", "--log-level"]
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = vars(parser.parse_args(["--port", "9000", "--log-level", "debug"]))
    assert cli.run_options({**args, "verbosity": 1}) == {"host": None, "port": 9000, "log_level": "debug"}
    assert cli.run_options({}) == {"host": None, "port": None, "log_level": "info"}
    with pytest.raises(SystemExit):
        parser.parse_args(["--log-level", "loud"])


def test_telegraphy_gateway_offers_them_with_its_config_option():
    parser = cli.build_parser()
    assert normalized(argparse_options(parser)) == DECLARED
    args = parser.parse_args(["-c", "t.yaml", "--host", "0.0.0.0"])
    assert args.config == "t.yaml" and cli.run_options(vars(args))["host"] == "0.0.0.0"


def test_manage_py_run_telegraph_offers_the_same():
    pytest.importorskip("django")
    from telegraphy.contrib.django_telegraphy.management.commands.run_telegraph import Command

    parser = Command().create_parser("manage.py", "run_telegraph")
    assert normalized(argparse_options(parser)) == DECLARED


def test_flask_telegraphy_gateway_offers_the_same():
    pytest.importorskip("flask")
    from telegraphy.contrib.flask_telegraphy.cli import gateway

    found = {}
    for param in gateway.params:
        if isinstance(param, click.Option):
            choices = tuple(param.type.choices) if isinstance(param.type, click.Choice) else None
            kind = {click.INT: int}.get(param.type)
            found[param.opts[0]] = (param.name, kind, param.default, choices)
    assert found == DECLARED
    assert "--log-level [debug|info|warn|error]" in gateway.get_help(click.Context(gateway))
