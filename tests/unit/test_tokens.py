"""Tokens: signed, short-lived, rotation-friendly; forged or expired ones are refused."""

import pytest

from telegraphy.config import AuthConfig
from telegraphy.errors import TokenError
from telegraphy.tokens import mint, verify

AUTH = AuthConfig(("new-secret-0123456789", "old-secret-0123456789"), token_ttl=30, resume_ttl=300)


def test_round_trip_carries_claims():
    claims = verify(AUTH, mint(AUTH, user=7, events=["chat.*"], session_ttl=600, now=1000), now=1010)
    assert claims["sub"] == "7" and claims["ev"] == ["chat.*"] and claims["exp"] == 1030
    assert claims["sexp"] == 1600 and claims["jti"]


def test_old_secret_still_verifies_and_unknown_does_not():
    old = AuthConfig(("old-secret-0123456789",), 30, 300)
    assert verify(AUTH, mint(old, user="a"))["sub"] == "a"
    other = AuthConfig(("someone-elses-secret-99",), 30, 300)
    with pytest.raises(TokenError, match="signature"):
        verify(AUTH, mint(other, user="a"))


def test_expired_forged_and_malformed_tokens_are_refused():
    token = mint(AUTH, user="a", now=1000)
    with pytest.raises(TokenError, match="expired"):
        verify(AUTH, token, now=1031)
    version, body, signature = token.split(".")
    forged_body = mint(AUTH, user="admin", now=1000).split(".")[1]
    with pytest.raises(TokenError, match="signature"):
        verify(AUTH, f"{version}.{forged_body}.{signature}", now=1000)
    for bad in ["", "a.b", "x.y.z", None, 12, f"t9.{body}.{signature}"]:
        with pytest.raises(TokenError):
            verify(AUTH, bad, now=1000)
