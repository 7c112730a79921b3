"""Short-lived browser tokens, signed with the shared secret (HMAC-SHA256, stdlib only).

The web app mints them locally; the gateway verifies them and remembers used ids until they
expire, so each token opens exactly one session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from typing import Any

from .config import AuthConfig
from .errors import TokenError

VERSION = "t1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode("utf-8"), f"{VERSION}.{body}".encode("ascii"), hashlib.sha256).digest())


def mint(auth: AuthConfig, user: Any = None, events: Sequence[str] | None = None, ttl: int | None = None,
         session_ttl: int | None = None, now: float | None = None, **extra: Any) -> str:
    """A token for ``user`` (None: an authenticated guest) valid for ``ttl`` seconds.

    ``events`` lists patterns of private events the holder may receive besides its own;
    ``session_ttl`` bounds the session it opens (refresh it with a new token before then).
    """
    now = time.time() if now is None else now
    if events is not None and (isinstance(events, (str, bytes)) or not isinstance(events, Sequence)
                               or not all(isinstance(e, str) and e for e in events)):
        raise TokenError(f"events must be a list of event name patterns such as ['inbox.42.*'], got {events!r}")
    for name, value in (("ttl", ttl), ("session_ttl", session_ttl)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise TokenError(f"{name} must be a positive number of seconds, got {value!r}")
    reserved = set(extra) & {"sub", "exp", "iat", "jti", "ev", "sexp"}
    if reserved:
        raise TokenError(f"claims {', '.join(sorted(reserved))} are set by Telegraphy")
    claims: dict[str, Any] = {"sub": None if user is None else str(user), "iat": int(now),
                              "exp": int(now + (ttl or auth.token_ttl)), "jti": secrets.token_urlsafe(12)}
    if events:
        claims["ev"] = list(events)
    if session_ttl:
        claims["sexp"] = int(now + session_ttl)
    claims.update(extra)
    body = _b64(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    return f"{VERSION}.{body}.{_sign(auth.secret, body)}"


def verify(auth: AuthConfig, token: Any, now: float | None = None) -> dict[str, Any]:
    """The claims of a valid token; TokenError says why a token is not valid."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise TokenError("malformed token")
    version, body, signature = token.split(".")
    if version != VERSION:
        raise TokenError("unknown token version")
    # constant-time comparison against every accepted secret (rotation: newest first)
    if not any(hmac.compare_digest(_sign(secret, body), signature) for secret in auth.secrets):
        raise TokenError("invalid token signature")
    try:
        claims = json.loads(_unb64(body))
    except ValueError:
        raise TokenError("malformed token") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int) or not isinstance(claims.get("jti"), str):
        raise TokenError("malformed token")
    events = claims.get("ev", [])
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise TokenError("malformed token: events must be a list of patterns")
    if not isinstance(claims.get("iat", 0), int) or not isinstance(claims.get("sexp", 0), int):
        raise TokenError("malformed token")
    if claims["exp"] < (time.time() if now is None else now):
        raise TokenError("token expired")
    return claims
