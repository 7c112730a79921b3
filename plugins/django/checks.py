"""``manage.py check`` (tag ``telegraphy``): a broken config, an event whose access the config contradicts,
a missing request context processor or client script, all reported before the first page is served."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core import checks

from telegraphy.errors import TelegraphyError
from telegraphy.integration import access_problems

from . import conf, events

REQUEST_PROCESSOR = "django.template.context_processors.request"


@checks.register("telegraphy")
def check_config(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        config = conf.load()
    except TelegraphyError as exc:
        return [checks.Error(str(exc), hint="fix the Telegraphy config: the gateway and the web app both read it",
                             id="telegraphy.E001")]
    kinds = {"error": checks.Error, "warning": checks.Warning}
    return [kinds[p.level](p.message, hint=p.hint, obj=type(p.declaration), id=f"telegraphy.{p.code}")
            for p in access_problems(config, events.registered())]


@checks.register("telegraphy", checks.Tags.templates)
def check_templates(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    engines = [t for t in settings.TEMPLATES if t.get("BACKEND", "").endswith("DjangoTemplates")]
    if engines and not any(REQUEST_PROCESSOR in t.get("OPTIONS", {}).get("context_processors", ())
                           for t in engines):
        return [checks.Warning("{% telegraphy_scripts %} needs the request in the template context",
                               hint=f"add {REQUEST_PROCESSOR!r} to TEMPLATES[...]['OPTIONS']['context_processors']",
                               id="telegraphy.W002")]
    return []


@checks.register("telegraphy", checks.Tags.staticfiles)
def check_client_script(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if not apps.is_installed("django.contrib.staticfiles"):
        return []
    from django.contrib.staticfiles import finders

    from .templatetags.telegraphy_tags import CLIENT_SCRIPT

    if finders.find(CLIENT_SCRIPT) is None:
        return [checks.Warning(f"the static files finders cannot find {CLIENT_SCRIPT}",
                               hint="keep 'django.contrib.staticfiles.finders.AppDirectoriesFinder' in "
                                    "STATICFILES_FINDERS (the app ships the client script in its static/ folder)",
                               id="telegraphy.W003")]
    return []
