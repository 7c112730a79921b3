"""Tokens for the logged-in user, so the browser's session sees that user's private events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import telegraphy

from . import conf


def token_for(user: Any, events: Sequence[str] | None = None) -> str | None:
    """A short-lived token for ``user`` (``request.user``); None for an anonymous visitor (public events only).

    ``events`` lists patterns of private events the holder may receive besides its own.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    conf.get_config()
    return telegraphy.get_token(user=user.pk, events=events)
