"""Bearer JWTs: issued by `crm token`, verified by every service.

The algorithm is pinned by settings (never taken from the token), ``exp`` is required,
and ``iss`` and ``aud`` are checked with a small leeway for clock skew.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from typing import Any

import jwt

from crm_shared.auth.principal import Principal, Role
from crm_shared.settings import Settings


class InvalidToken(Exception):
    """The token is missing, malformed, forged or expired (details stay in the server)."""


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
    subject: str,
    role: Role,
    departments: list[str],
    ttl_seconds: int | None = None,
    permissions: list[str] | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role.value,
        "department": departments[0] if len(departments) == 1 else departments,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + (ttl_seconds or settings.token_ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    if permissions:
        claims["permissions"] = permissions
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
        claims = jwt.decode(
            token,
            _verification_key(settings),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
        role = Role(claims["role"])
    except (jwt.PyJWTError, KeyError, ValueError) as error:
        raise InvalidToken(str(error)) from error
    department = claims.get("department") or []
    departments = tuple([department] if isinstance(department, str) else department)
    permissions = claims.get("permissions") or []
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise InvalidToken("permissions must be a list of strings")
    principal = Principal(
        subject=str(claims["sub"]),
        role=role,
        departments=departments,
        permissions=frozenset(permissions),
    )
    return principal, float(claims["exp"])
