"""Who a session is: a ticket (a token minted by the web app) or anonymous.

What an identity may do is decided in access.py; this module only establishes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config import Config
from ..errors import TokenError
from ..tokens import verify


@dataclass(frozen=True)
class Identity:
    """The authenticated identity of a session, from its token's claims."""

    authid: str
    authmethod: str  # "ticket" or "anonymous"
    user: str | None = None
    grants: tuple[str, ...] = ()  # patterns of private events the token names
    expires: float | None = None  # when the session's authorization ends (refresh before)

    @property
    def authenticated(self) -> bool:
        return self.authmethod == "ticket"

    @property
    def authrole(self) -> str:
        return "user" if self.authenticated else "anonymous"


class Authenticator:
    """Verifies tokens: each opens one session, until it expires.

    Used token ids are remembered until they expire. A token issued before this gateway started is
    refused (the process that saw it used is gone): the browser asks its page for a fresh one.
    """

    def __init__(self, config: Callable[[], Config], clock: Callable[[], float]) -> None:
        self._config = config
        self.clock = clock
        self.started = clock()
        self._used: dict[str, int] = {}  # token id -> expiry

    def identity_from_token(self, token: object) -> Identity:
        now = self.clock()
        claims = verify(self._config().auth, token, now)
        if claims.get("iat", 0) < int(self.started):
            raise TokenError("token issued before this gateway started: get a fresh one")
        self._forget_expired(now)
        if claims["jti"] in self._used:
            raise TokenError("token already used")
        self._used[claims["jti"]] = claims["exp"]
        user = claims.get("sub")
        return Identity(authid=user if user is not None else f"guest-{claims['jti'][:8]}", authmethod="ticket",
                        user=user, grants=tuple(claims.get("ev") or ()), expires=claims.get("sexp"))

    @staticmethod
    def anonymous(session_id: int) -> Identity:
        return Identity(authid=f"anonymous-{session_id}", authmethod="anonymous")

    def _forget_expired(self, now: float) -> None:
        if len(self._used) > 1024:
            self._used = {jti: exp for jti, exp in self._used.items() if exp >= now}
