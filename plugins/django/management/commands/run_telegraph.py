"""``python manage.py run_telegraph``: the gateway, in this process, with the project's Telegraphy config."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from telegraphy.errors import TelegraphyError
from telegraphy.gateway.cli import run

from ... import conf


class Command(BaseCommand):
    help = "Run the Telegraphy gateway with this project's config (TELEGRAPHY_CONFIG or TELEGRAPHY)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", help="listen on this address instead of gateway.listen.host")
        parser.add_argument("--port", type=int, help="listen on this port instead of gateway.listen.port")
        parser.add_argument("--log-level", default="info", choices=["debug", "info", "warn", "error"])

    def handle(self, *args, host=None, port=None, log_level="info", **options) -> None:
        try:
            config = conf.load()
        except TelegraphyError as exc:
            raise CommandError(str(exc)) from None
        code = run(config, host, port, log_level)
        if code:
            raise CommandError("the gateway stopped because of the error above", returncode=code)
