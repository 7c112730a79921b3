"""The gateway's own WAMP procedures (``telegraphy.*``), callable by any session.

None of them takes the shared secret: the web app mints tokens itself, never over a browser-facing
socket. Each answers only what the caller may see (access.py decides) and is bounded in size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from ..config import Config
from ..errors import TokenError
from .access import PUBLIC, Access
from .auth import Authenticator
from .history import History, HistoryGap, Page
from .hub import Hub

NOT_AUTHORIZED = "wamp.error.not_authorized"
INVALID_ARGUMENT = "wamp.error.invalid_argument"
HISTORY_PAGE = 100  # events per page of telegraphy.history by default
HISTORY_MAX_PAGE = 1000


class CallError(Exception):
    """Raised by a procedure: becomes a WAMP ERROR with ``uri`` and a message."""

    def __init__(self, uri: str, text: str) -> None:
        super().__init__(text)
        self.uri = uri


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CallError(INVALID_ARGUMENT, f"{name} must be a whole number from {low} to {high}")
    return value


def _topic(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        raise CallError(INVALID_ARGUMENT, "topic must be an event name")
    return value


def table(hub: Hub, history: History, access: Access, authenticator: Authenticator,
          config: Callable[[], Config], metrics) -> dict[str, Callable]:
    """Name -> procedure(session, *args, **kwargs)."""

    def refuse(text: str) -> CallError:
        metrics.refused["call"] += 1
        return CallError(NOT_AUTHORIZED, text)

    def subscriptions(session) -> list[dict]:
        """The caller's own subscriptions."""
        return [sub.describe() for sub in session.subscriptions.values()]

    def subscribers(session, topic: str) -> int:
        """How many sessions receive ``topic``: only for topics whose totals the caller may see."""
        topic = _topic(topic)
        if not access.can_inspect(session.identity, topic):
            raise refuse(f"this session may not see {topic!r}")
        return hub.subscribers(topic)

    def history_(session, topic: str, since: int = 0, limit: int = HISTORY_PAGE) -> defer.Deferred:
        """Events of ``topic`` after position ``since`` that the caller may see, a page at a time.

        A page holds at most ``limit`` events and fits in one message of ``limits.max_message_bytes``
        (one event at least); ``more`` says whether to ask again with ``since`` = ``next``.
        """
        topic = _topic(topic)
        since = _int(since, "since", 0, 2**63)
        limit = _int(limit, "limit", 1, HISTORY_MAX_PAGE)
        identity = session.identity
        if access.policy(topic).access != PUBLIC and not identity.authenticated:
            raise refuse(f"this session may not see {topic!r}")
        whole = access.can_inspect(identity, topic)

        def answer(page: Page) -> dict:
            budget = config().limits.max_message_bytes - 512  # room for the RESULT around the events
            events, walked, visible, more = [], since, since, page.more
            for entry in page.entries:
                size = len(entry.event.encode()) + 32
                if events and size > budget:
                    more = True
                    break
                budget -= size
                walked = entry.seq
                policy = access.policy(entry.event.name)
                if policy.access == PUBLIC or access.can_receive(identity, entry.event, policy):
                    events.append({"seq": entry.seq, "event": entry.event.envelope()})
                    visible = entry.seq
            # a caller who may not see the whole topic learns nothing of events it may not see
            return {"epoch": history.epoch, "events": events, "more": more, "next": walked,
                    "last": history.last(topic) if whole else visible}

        def gap(failure):
            failure.trap(HistoryGap)
            raise CallError("telegraphy.error.history_gap", str(failure.value))

        return defer.maybeDeferred(history.page, topic, since, limit).addCallbacks(answer, gap)

    def refresh(session, token: str) -> dict:
        """Extend the session's authorization with a fresh token, without reconnecting."""
        try:
            identity = authenticator.identity_from_token(token)
        except TokenError as exc:
            metrics.refused["token"] += 1
            raise CallError(NOT_AUTHORIZED, f"invalid token: {exc}") from None
        if identity.user != session.identity.user or not session.identity.authenticated:
            metrics.refused["token"] += 1
            raise CallError(NOT_AUTHORIZED, "the token is for another user")
        session.reauthorize(identity)
        return {"expires": identity.expires}

    return {"telegraphy.subscriptions": subscriptions, "telegraphy.subscribers": subscribers,
            "telegraphy.history": history_, "telegraphy.refresh": refresh}
