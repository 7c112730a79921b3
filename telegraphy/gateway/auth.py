"""Who a session is: ticket (token) or anonymous authentication, and what it may see."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from ..config import Config, EventPolicy
from ..errors import TokenError
from ..events import Event
from ..tokens import verify


@dataclass
class Identity:
    """The authenticated identity of a session, from its token's claims."""

    authid: str
    authmethod: str  # "ticket" or "anonymous"
    user: str | None = None
    private_patterns: tuple[str, ...] = ()
    expires: float | None = None  # when the session's authorization ends (refresh before)
    claims: dict = field(default_factory=dict)

    @property
    def authenticated(self) -> bool:
        return self.authmethod == "ticket"

    @property
    def authrole(self) -> str:
        return "user" if self.authenticated else "anonymous"

    def may_see(self, policy: EventPolicy, user: str | None, name: str) -> bool:
        """Whether this identity may receive an event ``name`` of ``policy`` addressed to ``user``."""
        if policy.access == "public":
            return True
        if not self.authenticated:
            return False
        if policy.access == "authenticated":
            return True
        # private: the event's own user, or a holder whose token names the event
        if user is not None and user == self.user:
            return True
        return any(fnmatchcase(name, p) for p in self.private_patterns)

    def may_receive(self, event: Event, policy: EventPolicy) -> bool:
        return self.may_see(policy, event.user, event.name)


class Authenticator:
    """Verifies tokens (each usable once until it expires) and the web app's shared secret."""

    def __init__(self, config: Config, clock=time.time) -> None:
        self.config = config
        self.clock = clock
        self._used: dict[str, int] = {}  # token id -> expiry

    def identity_from_token(self, token: object) -> Identity:
        now = self.clock()
        claims = verify(self.config.auth, token, now)
        self._forget_expired(now)
        if claims["jti"] in self._used:
            raise TokenError("token already used")
        self._used[claims["jti"]] = claims["exp"]
        user = claims.get("sub")
        return Identity(authid=user if user is not None else f"guest-{claims['jti'][:8]}", authmethod="ticket",
                        user=user, private_patterns=tuple(claims.get("ev") or ()),
                        expires=claims.get("sexp"), claims=claims)

    def anonymous(self, session_id: int) -> Identity:
        return Identity(authid=f"anonymous-{session_id}", authmethod="anonymous")

    def is_web_app(self, secret: object) -> bool:
        """Constant-time check of the shared secret, for web-app-only procedures."""
        if not isinstance(secret, str):
            return False
        return any(hmac.compare_digest(secret.encode(), s.encode()) for s in self.config.auth.secrets)

    def _forget_expired(self, now: float) -> None:
        if len(self._used) > 1024:
            self._used = {jti: exp for jti, exp in self._used.items() if exp >= now}
