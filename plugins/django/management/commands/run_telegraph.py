"""``python manage.py run_telegraph``: the gateway, in this process, with the project's Telegraphy config."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from telegraphy.errors import TelegraphyError
from telegraphy.gateway import cli

from ... import conf


class Command(BaseCommand):
    help = "Run the Telegraphy gateway with this project's config (TELEGRAPHY_CONFIG or TELEGRAPHY)."

    def add_arguments(self, parser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        try:
            config = conf.load()
        except TelegraphyError as exc:
            raise CommandError(str(exc)) from None
        code = cli.run(config, **cli.run_options(options))
        if code:
            raise CommandError("the gateway stopped because of the error above", returncode=code)
