"""What a page needs from the web app: a token for its user, the token endpoint's answer, the script tags.

telegraphy.js connects anonymously (public events only) when ``token`` is null, and asks ``tokenUrl`` for a
fresh token when it reconnects; the endpoint answers ``{"token": "..."}``, or ``{"token": null}`` once
nobody is logged in.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from importlib.resources import files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from ..publisher import Publisher

# the one copy of the browser client: the gateway's /telegraphy.js, Flask's blueprint and Django's static files
CLIENT_SCRIPT: Traversable = files("telegraphy").joinpath("static/telegraphy/telegraphy.js")

# Headers for the token endpoint's answer: a token is single-use, so no cache may keep one.
TOKEN_HEADERS = {"Cache-Control": "no-store"}

# json.dumps output is safe inside <script> once these cannot close the tag or open a comment.
_SCRIPT_ESCAPES = str.maketrans({"<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "'": "\\u0027",
                                 "\u2028": "\\u2028", "\u2029": "\\u2029"})


def token_for(publisher: Publisher, user_id: Any, events: Sequence[str] | None = None) -> str | None:
    """A token for the logged-in user ``user_id``; None when nobody is logged in (``user_id`` None)."""
    if user_id is None:
        return None
    return publisher.get_token(user=str(user_id), events=events)


def token_response(publisher: Publisher, user_id: Any) -> dict[str, str | None]:
    """The token endpoint's JSON body for the user of the request (send it with :data:`TOKEN_HEADERS`)."""
    return {"token": token_for(publisher, user_id)}


def client_options(publisher: Publisher, token: str | None, token_url: str | None) -> dict[str, Any]:
    """The page's ``Telegraphy.configure({...})``: the gateway's URL and realm, the token, and where to get
    fresh ones (nowhere without a token: the page connects anonymously)."""
    gateway = publisher.config.gateway
    return {"url": gateway.url, "realm": gateway.realm, "token": token, "tokenUrl": token_url if token else None}


def script_tags(script_url: str, options: dict[str, Any]) -> str:
    """``<script src=...>`` for the client and ``<script>Telegraphy.configure(...)</script>`` as HTML, with
    every value escaped; the framework marks the result safe."""
    configure = json.dumps(options).translate(_SCRIPT_ESCAPES)
    return (f'<script src="{html.escape(script_url, quote=True)}"></script>\n'
            f"<script>Telegraphy.configure({configure});</script>")
