"""The Django app: on startup it registers the system checks and autodiscovers each app's events.py."""

from django.apps import AppConfig


class TelegraphyConfig(AppConfig):
    name = "telegraphy.contrib.django_telegraphy"
    label = "django_telegraphy"
    verbose_name = "Telegraphy"

    def ready(self) -> None:
        from . import checks, events  # noqa: F401 - importing checks registers them

        events.autodiscover()
