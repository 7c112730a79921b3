"""The Django app: on startup it registers the system checks, offers the project's publisher as the
default one, and autodiscovers each app's events.py."""

from django.apps import AppConfig


class TelegraphyConfig(AppConfig):
    name = "telegraphy.contrib.django_telegraphy"
    label = "django_telegraphy"
    verbose_name = "Telegraphy"

    def ready(self) -> None:
        from telegraphy.publisher import add_default_provider

        from . import checks, conf, events  # noqa: F401 - importing checks registers them

        add_default_provider(conf.publisher)
        events.autodiscover()
