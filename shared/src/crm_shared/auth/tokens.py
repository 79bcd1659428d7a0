"""Bearer JWTs: issued by `crm token`, verified by every service.

The algorithm is pinned by settings (never taken from the token); ``exp`` and ``iat`` are
required and their distance is bounded (``CRM_MAX_TOKEN_LIFETIME_SECONDS``), so a token
made to last forever is refused; ``iss`` and ``aud`` are checked with a small leeway for
clock skew; every claim we read must have the type we expect (``Claims``).
"""

from __future__ import annotations

import math
import time
import uuid
from collections import OrderedDict
from typing import Annotated, Any

import jwt
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StringConstraints

from crm_shared.auth.principal import Principal, Role
from crm_shared.settings import Settings


class InvalidToken(Exception):
    """The token is missing, malformed, forged or expired (details stay in the server)."""


class TokenLifetimeTooLong(ValueError):
    """`crm token --ttl` asked for more than the services accept."""


# What a claim may hold: text the CRM stores and compares (no control characters, which
# PostgreSQL text cannot always hold), of a bounded size.
Subject = Annotated[str, StringConstraints(strict=True, pattern=r"^[^\x00-\x1f\x7f]{1,128}$")]
Department = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Permission = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Timestamp = Annotated[StrictInt | StrictFloat, Field(allow_inf_nan=False)]


class Actor(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    sub: Subject


class Claims(BaseModel):
    """The claims a token must carry to name a principal; others are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sub: Subject
    role: Role
    department: Department | Annotated[list[Department], Field(max_length=100)] = []
    permissions: Annotated[list[Permission], Field(max_length=100)] = []
    exp: Timestamp
    iat: Timestamp
    act: Actor | None = None

    def principal(self) -> Principal:
        departments = [self.department] if isinstance(self.department, str) else self.department
        return Principal(
            id=self.sub,
            role=self.role,
            departments=tuple(departments),
            permissions=frozenset(self.permissions),
            acting_service=self.act.sub if self.act else None,
        )


def _signing_key(settings: Settings) -> str:
    if settings.jwt_algorithm == "RS256":
        if not settings.jwt_private_key:
            raise InvalidToken("RS256 signing needs CRM_JWT_PRIVATE_KEY")
        return settings.jwt_private_key
    return settings.jwt_secret


def _verification_key(settings: Settings) -> str:
    if settings.jwt_algorithm == "RS256":
        if not settings.jwt_public_key:
            raise InvalidToken("RS256 verification needs CRM_JWT_PUBLIC_KEY")
        return settings.jwt_public_key
    return settings.jwt_secret


def issue_token(
    settings: Settings,
    *,
    principal_id: str,
    role: Role,
    departments: list[str],
    ttl_seconds: int | None = None,
    permissions: list[str] | None = None,
    actor: str | None = None,
) -> str:
    """A signed token for ``principal_id``; ``actor`` names a service acting for them (the
    RFC 8693 ``act`` claim: not read by the policy, which decides as for the user; it scopes
    the request's Idempotency-Key to the service, ``Principal.idempotency_scope``)."""
    lifetime = ttl_seconds or settings.token_ttl_seconds
    if lifetime > settings.max_token_lifetime_seconds:
        raise TokenLifetimeTooLong(
            f"a token may live at most {settings.max_token_lifetime_seconds} s "
            f"(CRM_MAX_TOKEN_LIFETIME_SECONDS); the services would refuse one of {lifetime} s"
        )
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": principal_id,
        "role": role.value,
        "department": departments[0] if len(departments) == 1 else departments,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    if permissions:
        claims["permissions"] = permissions
    if actor is not None:
        claims["act"] = {"sub": actor}
    return jwt.encode(claims, _signing_key(settings), algorithm=settings.jwt_algorithm)


class VerifiedTokens:
    """Remembers tokens already verified, until they expire: a client sends the same token
    with every request, and verifying a signature costs more than the rest of a read."""

    def __init__(self, settings: Settings, max_entries: int = 10_000) -> None:
        self.settings = settings
        self.max_entries = max_entries
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        if cached is not None:
            principal, expires = cached
            if time.time() < expires + self.settings.jwt_leeway_seconds:
                self._cache.move_to_end(token)
                return principal
            del self._cache[token]
        principal, expires = _verify(self.settings, token)
        self._cache[token] = (principal, expires)
        if len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return principal


def verify_token(settings: Settings, token: str) -> Principal:
    return _verify(settings, token)[0]


def _verify(settings: Settings, token: str) -> tuple[Principal, float]:
    try:
        decoded = jwt.decode(
            token,
            _verification_key(settings),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        claims = Claims.model_validate(decoded)
    # Whatever a signed payload holds (a number too large for a date, nesting deeper than
    # the parser goes, a claim of the wrong type), it is an invalid token, never a 500.
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, RecursionError) as error:
        raise InvalidToken(type(error).__name__) from error
    lifetime = claims.exp - claims.iat
    if not math.isfinite(lifetime) or lifetime > settings.max_token_lifetime_seconds:
        raise InvalidToken("the token lives longer than CRM_MAX_TOKEN_LIFETIME_SECONDS")
    return claims.principal(), float(claims.exp)
