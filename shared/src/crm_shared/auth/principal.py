"""The authenticated caller, as every route and every event's metadata sees it."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_shared.roles import Role

__all__ = ["Principal", "Role"]


@dataclass(frozen=True, slots=True)
class Principal:
    id: str  # a user id (a token's sub) or an API key's id
    role: Role
    departments: tuple[str, ...] = ()
    kind: str = "user"  # "user" (JWT) or "api_key"
    name: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    # A service acting for the user (a token's RFC 8693 ``act`` claim), e.g. "service:sales".
    acting_service: str | None = None

    @property
    def actor(self) -> str:
        """How the principal is named in event metadata (the audit log)."""
        if self.kind == "api_key":
            return f"api_key:{self.name or self.id}"
        return f"user:{self.id}"

    @property
    def idempotency_scope(self) -> str:
        """Whose Idempotency-Keys a request's key is one of. A service acting for users
        names its keys itself (derived from its own records), so that a retry of the same
        work for another user gets the first outcome rather than doing it twice. The unit
        separator cannot occur in a token's subject, so no user's scope is a service's."""
        return f"act\x1f{self.acting_service}" if self.acting_service else self.id

    @property
    def primary_department(self) -> str | None:
        return self.departments[0] if self.departments else None
