"""``flask telegraphy gateway`` and ``flask telegraphy check``: the gateway and the config check, with the app's config.

Flask imports this module for every ``flask`` command (entry point ``flask.commands``), so it imports
Flask and click only; everything else is imported when a command runs.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, ScriptInfo

telegraphy_group = AppGroup("telegraphy", help="Telegraphy: run the gateway or check the config of this app.")


def _extension(app):
    extension = app.extensions.get("telegraphy")
    if extension is None:
        raise click.ClickException(f"the app {app.name!r} does not use Telegraphy: add Telegraphy(app) or "
                                   "Telegraphy().init_app(app)")
    return extension


@telegraphy_group.command("gateway")
@click.option("--host", help="Listen on this address instead of gateway.listen.host.")
@click.option("--port", type=int, help="Listen on this port instead of gateway.listen.port.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warn", "error"]))
def gateway(host: str | None, port: int | None, log_level: str) -> None:
    """Run the gateway in this process with the app's Telegraphy config, until SIGTERM or Ctrl-C."""
    from telegraphy.gateway.cli import run

    config = _extension(current_app).config
    raise SystemExit(run(config, host, port, log_level))


@telegraphy_group.command("check", with_appcontext=False)
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the app's Telegraphy config and print it (secrets masked) with its model events."""
    from telegraphy.config import dump
    from telegraphy.errors import TelegraphyError

    try:
        app = ctx.ensure_object(ScriptInfo).load_app()
    except TelegraphyError as exc:  # raised while the app was created: report it, not a traceback
        raise click.ClickException(str(exc)) from None
    with app.app_context():
        extension = _extension(app)
        click.echo(dump(extension.config), nl=False)
        for model in extension.event_models:
            operations = ", ".join(sorted(model.operations)) or "none"
            click.echo(f"# model events: {model.name} from {model.model.__name__} ({operations})")
