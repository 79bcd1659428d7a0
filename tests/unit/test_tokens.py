"""Bearer tokens: pinned algorithm, required expiry, issuer and audience."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import InvalidToken, issue_token, verify_token
from crm_shared.settings import Settings

SETTINGS = Settings(jwt_secret="s" * 40)


def test_a_token_we_issue_verifies_with_role_and_departments() -> None:
    token = issue_token(SETTINGS, subject="u1", role=Role.SALES_REP, departments=["sales", "emea"])
    principal = verify_token(SETTINGS, token)
    assert (principal.subject, principal.role, principal.departments) == (
        "u1",
        Role.SALES_REP,
        ("sales", "emea"),
    )
    assert principal.actor == "user:u1"


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "u", "role": "admin", "iss": "crm", "aud": "crm"},  # no exp
        {"sub": "u", "role": "admin", "iss": "other", "aud": "crm", "exp": time.time() + 60},
        {"sub": "u", "role": "admin", "iss": "crm", "aud": "other", "exp": time.time() + 60},
        {"sub": "u", "role": "admin", "iss": "crm", "aud": "crm", "exp": time.time() - 3600},
        {"sub": "u", "role": "emperor", "iss": "crm", "aud": "crm", "exp": time.time() + 60},
    ],
)
def test_tokens_missing_expiry_or_with_wrong_issuer_audience_or_role_are_refused(
    claims: dict[str, object],
) -> None:
    token = jwt.encode(claims, SETTINGS.jwt_secret, algorithm="HS256")
    with pytest.raises(InvalidToken):
        verify_token(SETTINGS, token)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = issue_token(Settings(jwt_secret="x" * 40), subject="u", role=Role.ADMIN, departments=[])
    with pytest.raises(InvalidToken):
        verify_token(SETTINGS, token)


def test_an_unsigned_token_is_refused() -> None:
    token = jwt.encode(
        {"sub": "u", "role": "admin", "iss": "crm", "aud": "crm", "exp": time.time() + 60},
        None,
        algorithm="none",
    )
    with pytest.raises(InvalidToken):
        verify_token(SETTINGS, token)


def test_rs256_tokens_verify_with_the_public_key_and_hs256_confusion_is_refused() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    rs = Settings(jwt_algorithm="RS256", jwt_private_key=private, jwt_public_key=public)
    token = issue_token(rs, subject="u", role=Role.ADMIN, departments=["sales"])
    assert verify_token(rs, token).subject == "u"
    # An attacker signs an HS256 token using the public key as the secret:
    forged = jwt.encode(
        {"sub": "u", "role": "admin", "iss": "crm", "aud": "crm", "exp": time.time() + 60},
        "public-key-as-secret-" + "x" * 20,
        algorithm="HS256",
    )
    with pytest.raises(InvalidToken):
        verify_token(rs, forged)


def test_a_small_clock_skew_is_tolerated() -> None:
    claims = {"sub": "u", "role": "admin", "iss": "crm", "aud": "crm", "exp": time.time() - 5}
    token = jwt.encode(claims, SETTINGS.jwt_secret, algorithm="HS256")
    assert verify_token(SETTINGS, token).subject == "u"


def test_a_remembered_token_stops_working_when_it_expires() -> None:
    from crm_shared.auth.tokens import VerifiedTokens

    settings = Settings(jwt_secret="s" * 40, jwt_leeway_seconds=0)
    tokens = VerifiedTokens(settings)
    token = issue_token(settings, subject="u", role=Role.ADMIN, departments=[], ttl_seconds=1)
    assert tokens.verify(token).subject == "u"
    assert tokens.verify(token).subject == "u"
    time.sleep(1.1)
    with pytest.raises(InvalidToken):
        tokens.verify(token)
