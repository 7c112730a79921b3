"""The request signature both sides of the XML-RPC transport (and its JSON API) agree on.

    X-Telegraphy-Signature: t=1796170000,n=4f1c...e2,s=<hex HMAC-SHA256 of "t.n." + body>

The signature covers the time and a random nonce as well as the body, so a captured request cannot be
replayed: the gateway refuses one whose time is more than WINDOW seconds from its own clock, and one
whose nonce it has seen within that window (it remembers nonces for the window, bounded).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections import OrderedDict
from collections.abc import Iterable

WINDOW = 30  # seconds a signed request stays valid, either side of the gateway's clock
MAX_NONCES = 1_000_000  # nonces remembered at most (about 100 MB would be needed to exceed it in WINDOW)


class SignatureError(Exception):
    """Why a request's signature was refused (said to the caller with HTTP 403)."""


def _mac(secret: str, timestamp: int, nonce: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.{nonce}.".encode("ascii") + body,
                    hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, now: float | None = None, nonce: str | None = None) -> str:
    """The signature header's value for ``body``, made now with a fresh nonce."""
    timestamp = int(time.time() if now is None else now)
    nonce = nonce or os.urandom(16).hex()
    return f"t={timestamp},n={nonce},s={_mac(secret, timestamp, nonce, body)}"


class Verifier:
    """Checks signatures against every accepted secret (rotation) and refuses replays."""

    def __init__(self, window: int = WINDOW, max_nonces: int = MAX_NONCES) -> None:
        self.window, self.max_nonces = window, max_nonces
        self._seen: OrderedDict[str, int] = OrderedDict()  # nonce -> its timestamp, oldest first

    def verify(self, secrets: Iterable[str], body: bytes, header: str | None, now: float | None = None) -> None:
        """Return if ``header`` signs ``body`` with one of ``secrets``, now, for the first time."""
        if not header:
            raise SignatureError("missing signature")
        try:
            fields = dict(part.split("=", 1) for part in header.split(","))
            timestamp, nonce, mac = int(fields["t"]), fields["n"], fields["s"]
        except (KeyError, ValueError):
            raise SignatureError("malformed signature (expected t=...,n=...,s=...)") from None
        if not 16 <= len(nonce) <= 64:
            raise SignatureError("malformed signature nonce")
        if not any(hmac.compare_digest(_mac(secret, timestamp, nonce, body), mac) for secret in secrets):
            raise SignatureError("wrong shared secret")
        now = time.time() if now is None else now
        if abs(now - timestamp) > self.window:
            raise SignatureError(f"signed {int(now - timestamp)} s from the gateway's clock (at most {self.window} s "
                                 "either way: check the clocks)")
        self._forget(now)
        if nonce in self._seen:
            raise SignatureError("replayed request (this nonce was used already)")
        if len(self._seen) >= self.max_nonces:
            raise SignatureError("too many signed requests in the replay window; retry shortly")
        self._seen[nonce] = timestamp

    def _forget(self, now: float) -> None:
        """Nonces signed before the window can be forgotten: their requests are refused by time anyway."""
        seen, oldest = self._seen, now - self.window
        while seen:
            nonce, timestamp = next(iter(seen.items()))
            if timestamp >= oldest:
                break
            seen.popitem(last=False)
