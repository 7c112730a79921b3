"""The gateway's own WAMP procedures (``telegraphy.*``)."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import TokenError
from ..tokens import mint
from .session import CallError, GatewaySession

NOT_AUTHORIZED = "wamp.error.not_authorized"


def table(gateway) -> dict[str, Callable]:
    """Name -> procedure(session, *args, **kwargs)."""

    def subscriptions(session: GatewaySession) -> list[dict]:
        """The caller's own subscriptions."""
        return [sub.describe() for sub in session.subscriptions.values()]

    def subscribers(session: GatewaySession, topic: str) -> int:
        """How many sessions receive ``topic``: only for topics the caller may see."""
        if not isinstance(topic, str):
            raise TypeError("subscribers(topic) takes a topic name")
        if not session.identity.may_see(gateway.config.policy(topic), session.identity.user, topic):
            gateway.metrics.refused["call"] += 1
            raise CallError(NOT_AUTHORIZED, f"this session may not see {topic!r}")
        return gateway.broker.subscribers(topic)

    def history(session: GatewaySession, topic: str, since: int = 0) -> dict:
        """Recent events of ``topic`` numbered after ``since`` that the caller may see."""
        if not isinstance(topic, str) or not isinstance(since, int):
            raise TypeError("history(topic, since=0) takes a topic name and a sequence number")
        hist = gateway.broker.history
        policy = gateway.config.policy(topic)
        entries = hist.since(topic, since)
        return {"epoch": hist.epoch, "last": hist.last_seq(topic),
                "events": [{"seq": e.seq, "event": e.event.envelope()} for e in entries
                           if session.identity.may_receive(e.event, policy)]}

    def get_token(session: GatewaySession, secret: str = "", user=None, events=None, ttl=None) -> str:
        """Mint a token: for the web app only (it must present the shared secret), never a browser."""
        if not gateway.authenticator.is_web_app(secret):
            gateway.metrics.refused["get_token"] += 1
            raise CallError(NOT_AUTHORIZED, "telegraphy.get_token needs the shared secret: browsers get tokens "
                                            "from the web app")
        return mint(gateway.config.auth, user=user, events=events, ttl=ttl)

    def refresh(session: GatewaySession, token: str) -> dict:
        """Extend the session's authorization with a fresh token, without reconnecting."""
        try:
            identity = gateway.authenticator.identity_from_token(token)
        except TokenError as exc:
            gateway.metrics.refused["token"] += 1
            raise CallError(NOT_AUTHORIZED, f"invalid token: {exc}") from None
        if identity.user != session.identity.user or not session.identity.authenticated:
            gateway.metrics.refused["token"] += 1
            raise CallError(NOT_AUTHORIZED, "the token is for another user")
        session.identity = identity
        session.schedule_expiry()
        return {"expires": identity.expires}

    return {"telegraphy.subscriptions": subscriptions, "telegraphy.subscribers": subscribers,
            "telegraphy.history": history, "telegraphy.get_token": get_token, "telegraphy.refresh": refresh}
