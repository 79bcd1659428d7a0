"""Bearer tokens: pinned algorithm, required expiry, issuer and audience."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crm_shared.auth.principal import Principal, Role
from crm_shared.auth.tokens import InvalidToken, TokenLifetimeTooLong, issue_token, verify_token
from crm_shared.settings import Settings

SETTINGS = Settings(jwt_secret="s" * 40)


def test_a_token_we_issue_verifies_with_role_and_departments() -> None:
    token = issue_token(
        SETTINGS, principal_id="u1", role=Role.SALES_REP, departments=["sales", "emea"]
    )
    principal = verify_token(SETTINGS, token)
    assert (principal.id, principal.role, principal.departments) == (
        "u1",
        Role.SALES_REP,
        ("sales", "emea"),
    )
    assert principal.actor == "user:u1"


def test_a_service_acting_for_a_user_scopes_idempotency_keys_to_the_service() -> None:
    def principal(user: str, actor: str | None) -> Principal:
        token = issue_token(
            SETTINGS, principal_id=user, role=Role.SALES_REP, departments=["sales"], actor=actor
        )
        return verify_token(SETTINGS, token)

    rita, raj = principal("rita", "service:sales"), principal("raj", "service:sales")
    assert rita.acting_service == "service:sales" and rita.actor == "user:rita"
    assert rita.idempotency_scope == raj.idempotency_scope
    # No user's own scope is the service's, whatever the user is called.
    assert principal("service:sales", None).idempotency_scope != rita.idempotency_scope
    assert principal("rita", None).idempotency_scope == "rita"


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
    token = issue_token(
        Settings(jwt_secret="x" * 40), principal_id="u", role=Role.ADMIN, departments=[]
    )
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
    token = issue_token(rs, principal_id="u", role=Role.ADMIN, departments=["sales"])
    assert verify_token(rs, token).id == "u"
    # An attacker signs an HS256 token using the public key as the secret:
    forged = jwt.encode(
        {"sub": "u", "role": "admin", "iss": "crm", "aud": "crm", "exp": time.time() + 60},
        "public-key-as-secret-" + "x" * 20,
        algorithm="HS256",
    )
    with pytest.raises(InvalidToken):
        verify_token(rs, forged)


def test_a_small_clock_skew_is_tolerated() -> None:
    now = int(time.time())
    claims = {
        "sub": "u",
        "role": "admin",
        "iss": "crm",
        "aud": "crm",
        "iat": now - 60,
        "exp": now - 5,
    }
    token = jwt.encode(claims, SETTINGS.jwt_secret, algorithm="HS256")
    assert verify_token(SETTINGS, token).id == "u"


def test_a_remembered_token_stops_working_when_it_expires() -> None:
    from crm_shared.auth.tokens import VerifiedTokens

    settings = Settings(jwt_secret="s" * 40, jwt_leeway_seconds=0)
    tokens = VerifiedTokens(settings)
    token = issue_token(settings, principal_id="u", role=Role.ADMIN, departments=[], ttl_seconds=1)
    assert tokens.verify(token).id == "u"
    assert tokens.verify(token).id == "u"
    time.sleep(1.1)
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def signed(**claims: object) -> str:
    """A token signed with the right secret, holding exactly these claims."""
    return jwt.encode(claims, SETTINGS.jwt_secret, algorithm="HS256")


def valid_claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "u",
        "role": "sales_rep",
        "department": "sales",
        "iss": "crm",
        "aud": "crm",
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(changes)
    return claims


def test_a_signed_token_with_well_typed_claims_verifies() -> None:
    principal = verify_token(SETTINGS, signed(**valid_claims(department=["sales", "emea"])))
    assert principal.departments == ("sales", "emea")


@pytest.mark.parametrize(
    "changes",
    [
        {"department": 7},
        {"department": {"name": "sales"}},
        {"department": [7]},
        {"department": [None]},
        {"department": ["sales", ["emea"]]},
        {"department": True},
        {"department": ""},
        {"department": "sa\x00les"},
        {"department": "x" * 65},
        {"role": ["admin"]},
        {"role": 1},
        {"role": None},
        {"sub": 42},
        {"sub": ""},
        {"sub": ["u"]},
        {"sub": "u\x00"},
        {"permissions": "pii:read"},
        {"permissions": [1]},
        {"permissions": {"pii:read": True}},
        {"exp": "99999999999"},
        {"exp": True},
        {"exp": [1]},
        {"exp": float("inf")},
        {"iat": "0"},
        {"iat": None},
    ],
    ids=repr,
)
def test_a_signed_token_with_a_claim_of_the_wrong_type_is_invalid(
    changes: dict[str, object],
) -> None:
    with pytest.raises(InvalidToken):
        verify_token(SETTINGS, signed(**valid_claims(**changes)))


def test_a_token_without_issued_at_is_refused() -> None:
    claims = valid_claims()
    del claims["iat"]
    with pytest.raises(InvalidToken):
        verify_token(SETTINGS, signed(**claims))


def test_a_token_made_to_last_until_the_year_9999_is_refused() -> None:
    with pytest.raises(InvalidToken):
        verify_token(SETTINGS, signed(**valid_claims(exp=253402300799)))


def test_a_token_may_live_exactly_the_maximum_lifetime_and_not_a_second_longer() -> None:
    now, longest = int(time.time()), SETTINGS.max_token_lifetime_seconds
    assert verify_token(SETTINGS, signed(**valid_claims(iat=now, exp=now + longest))).id
    with pytest.raises(InvalidToken):
        verify_token(SETTINGS, signed(**valid_claims(iat=now, exp=now + longest + 1)))


def test_the_maximum_lifetime_is_a_setting() -> None:
    settings = Settings(jwt_secret="s" * 40, max_token_lifetime_seconds=600, token_ttl_seconds=60)
    now = int(time.time())
    token = signed(**valid_claims(iat=now, exp=now + 601))
    assert verify_token(SETTINGS, token).id == "u"
    with pytest.raises(InvalidToken):
        verify_token(settings, token)


def test_issuing_a_token_longer_than_the_maximum_lifetime_fails_clearly() -> None:
    with pytest.raises(TokenLifetimeTooLong, match="CRM_MAX_TOKEN_LIFETIME_SECONDS"):
        issue_token(
            SETTINGS,
            principal_id="u",
            role=Role.ADMIN,
            departments=[],
            ttl_seconds=SETTINGS.max_token_lifetime_seconds + 1,
        )
