"""``{% load telegraphy_tags %}{% telegraphy_scripts %}``: the client script, configured for this page's user."""

from __future__ import annotations

import json

from django import template
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from telegraphy.errors import ConfigError

from .. import conf
from ..tokens import token_for

register = template.Library()

CLIENT_SCRIPT = "telegraphy/telegraphy.js"
NO_REQUEST = (
    "{% telegraphy_scripts %} needs the request in the template context, to make a token for request.user: "
    "add 'django.template.context_processors.request' to TEMPLATES[...]['OPTIONS']['context_processors'] and "
    "render with render(request, ...) or a class-based view")

# json.dumps output is safe inside <script> once these cannot close the tag or open a comment.
_SCRIPT_ESCAPES = str.maketrans({"<": "\\u003C", ">": "\\u003E", "&": "\\u0026",
                                 "\u2028": "\\u2028", "\u2029": "\\u2029"})


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
    gateway = conf.get_config().gateway
    token = token_for(getattr(request, "user", None))
    # An anonymous visitor connects anonymously (public events): no token, so no URL to refresh one from.
    options = {"url": gateway.url, "realm": gateway.realm, "token": token, "tokenUrl": token_url() if token else None}
    configure = json.dumps(options).translate(_SCRIPT_ESCAPES)
    return format_html('<script src="{}"></script>\n<script>Telegraphy.configure({});</script>',
                       static(CLIENT_SCRIPT), SafeString(configure))
