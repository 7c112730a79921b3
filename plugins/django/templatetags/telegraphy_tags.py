"""``{% load telegraphy_tags %}{% telegraphy_scripts %}``: the client script, configured for this page's user."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString, mark_safe

from telegraphy.errors import ConfigError
from telegraphy.integration import page

from .. import conf
from ..tokens import token_for

register = template.Library()

CLIENT_SCRIPT = "telegraphy/telegraphy.js"  # the package's telegraphy.js, through the app's static folder
NO_REQUEST = (
    "{% telegraphy_scripts %} needs the request in the template context, to make a token for request.user: "
    "add 'django.template.context_processors.request' to TEMPLATES[...]['OPTIONS']['context_processors'] and "
    "render with render(request, ...) or a class-based view")


def token_url() -> str | None:
    """Where the client gets fresh tokens, if the project includes telegraphy's urls."""
    try:
        return reverse("telegraphy:token")
    except NoReverseMatch:
        return None


@register.simple_tag(takes_context=True)
def telegraphy_scripts(context: template.Context) -> SafeString:
    """``<script src=".../telegraphy.js">`` and ``Telegraphy.configure({url, realm, token, tokenUrl})``."""
    request = context.get("request")
    if request is None:
        raise ConfigError(NO_REQUEST, source="settings.TEMPLATES")
    publisher = conf.publisher()
    token = token_for(getattr(request, "user", None))
    # An anonymous visitor connects anonymously (public events): no token, so no URL to refresh one from.
    options = page.client_options(publisher, token, token_url() if token else None)
    return mark_safe(page.script_tags(static(CLIENT_SCRIPT), options))  # noqa: S308 - every value is escaped
