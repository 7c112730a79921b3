"""The request signature both sides of the XML-RPC transport agree on."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secrets: Iterable[str], body: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    return any(hmac.compare_digest(sign(secret, body), signature) for secret in secrets)
