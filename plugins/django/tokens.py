"""Tokens for the logged-in user, so the browser's session sees that user's private events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegraphy.integration import page

from . import conf


def user_id(user: Any) -> Any:
    """``user.pk`` for an authenticated user, None for an anonymous visitor or no user."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


def token_for(user: Any, events: Sequence[str] | None = None) -> str | None:
    """A short-lived token for ``user`` (``request.user``); None for an anonymous visitor (public events only).

    ``events`` lists patterns of private events the holder may receive besides its own.
    """
    uid = user_id(user)
    return None if uid is None else page.token_for(conf.publisher(), uid, events)
