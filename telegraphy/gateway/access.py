"""Every "who may" decision of the gateway, in one place: receive, publish, inspect, resume, connect.

The fan-out, the procedures, the history and resume all ask here, so a policy is enforced the same
way whichever path an event or a fact about a topic takes to a client.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from ..config import Config, EventPolicy
from ..events import Event
from .auth import Identity

PUBLIC, AUTHENTICATED, PRIVATE = "public", "authenticated", "private"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class Access:
    """Decides, from the current config's event policies, what a session's identity may do."""

    def __init__(self, config: Callable[[], Config]) -> None:
        self._config = config  # read on every decision, so a reloaded config applies at once

    def policy(self, name: str) -> EventPolicy:
        return self._config().policy(name)

    def can_receive(self, identity: Identity, event: Event, policy: EventPolicy) -> bool:
        """Whether ``identity`` may receive ``event`` (of ``policy``)."""
        access = policy.access
        if access == PUBLIC:
            return True
        if not identity.authenticated:
            return False
        if access == AUTHENTICATED:
            return True
        user = event.user
        return (user is not None and user == identity.user) or self._granted(identity, event.name)

    def can_publish(self, identity: Identity, name: str) -> str | None:
        """None if ``identity`` may publish ``name`` from its session, else why not."""
        policy = self.policy(name)
        if not policy.publish:
            return f"browsers may not publish {name!r}"
        if policy.access != PUBLIC and not identity.authenticated:
            return f"this session may not publish {name!r}"
        if policy.access == PRIVATE and not self._granted(identity, name) and identity.user is None:
            return f"this session may not publish {name!r}"
        return None

    def can_inspect(self, identity: Identity, topic: str) -> bool:
        """Whether ``identity`` may learn facts about the whole topic: how many subscribe, its last position.

        A private topic carries events of many users: only a token that names it may see its totals.
        """
        access = self.policy(topic).access
        if access == PUBLIC:
            return True
        if not identity.authenticated:
            return False
        return access == AUTHENTICATED or self._granted(identity, topic)

    def may_subscribe(self, identity: Identity, topic: str) -> bool:
        """Whether a subscription to exactly ``topic`` can ever deliver to ``identity``: false when the
        topic is authenticated or private and the session is anonymous."""
        return self.policy(topic).access == PUBLIC or identity.authenticated

    def can_resume(self, identity: Identity, previous: Identity) -> bool:
        """A session may take over only a session of the same user, authenticated the same way."""
        return identity.user == previous.user and identity.authmethod == previous.authmethod

    @staticmethod
    def _granted(identity: Identity, name: str) -> bool:
        return any(fnmatchcase(name, pattern) for pattern in identity.grants)

    def origin_allowed(self, origin: str) -> bool:
        """An Origin is allowed if it matches ``gateway.allowed_origins`` (shell patterns) or, when that
        list is empty, if it is the gateway's own origin: the scheme, host and port of ``gateway.url``
        (never the request's Host header, which the page's author controls)."""
        gateway = self._config().gateway
        if gateway.allowed_origins:
            return any(fnmatchcase(origin, pattern) for pattern in gateway.allowed_origins)
        return _origin_of(origin) == _origin_of(gateway.url, web=True)


def _origin_of(url: str, web: bool = False) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL; a ws/wss URL maps to the http/https origin of its pages."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if web:
        scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]
