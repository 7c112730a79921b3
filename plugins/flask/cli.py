"""``flask telegraphy gateway`` and ``flask telegraphy check``: the gateway and the config check, with the app's config.

Flask imports this module for every ``flask`` command (entry point ``flask.commands``), so it imports
Flask, click and the gateway's option list only; everything else is imported when a command runs.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from flask import current_app
from flask.cli import AppGroup, ScriptInfo

from telegraphy.gateway.cli import OPTIONS, run_options

telegraphy_group = AppGroup("telegraphy", help="Telegraphy: run the gateway or check the config of this app.")


def _extension(app):
    extension = app.extensions.get("telegraphy")
    if extension is None:
        raise click.ClickException(f"the app {app.name!r} does not use Telegraphy: add Telegraphy(app) or "
                                   "Telegraphy().init_app(app)")
    return extension


def gateway_options(command: Callable) -> Callable:
    """The gateway's command-line options (telegraphy.gateway.cli.OPTIONS) as click options."""
    for option in reversed(OPTIONS):
        kind = click.Choice(option.choices) if option.choices else option.type
        command = click.option(option.flag, option.dest, type=kind, default=option.default,
                               show_default=option.default is not None, help=option.help)(command)
    return command


@telegraphy_group.command("gateway")
@gateway_options
def gateway(**options) -> None:
    """Run the gateway in this process with the app's Telegraphy config, until SIGTERM or Ctrl-C."""
    from telegraphy.gateway.cli import run

    config = _extension(current_app).config
    raise SystemExit(run(config, **run_options(options)))


@telegraphy_group.command("check", with_appcontext=False)
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the app's Telegraphy config and print it (secrets masked) with its model events."""
    from telegraphy.config import dump
    from telegraphy.errors import TelegraphyError
    from telegraphy.integration import access_problems

    try:
        app = ctx.ensure_object(ScriptInfo).load_app()
    except TelegraphyError as exc:  # raised while the app was created: report it, not a traceback
        raise click.ClickException(str(exc)) from None
    with app.app_context():
        extension = _extension(app)
        click.echo(dump(extension.config), nl=False)
        problems = access_problems(extension.config, extension.event_models)
        for problem in problems:
            click.echo(f"# {problem.level} {problem.code}: {problem.message} (fix: {problem.hint})")
        for model in extension.event_models:
            operations = ", ".join(sorted(model.operations)) or "none"
            click.echo(f"# model events: {model.name} from {model.model.__name__} ({operations})")
    if any(problem.level == "error" for problem in problems):
        raise SystemExit(1)
