"""The authenticated caller, as every route and every event's metadata sees it."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_shared.roles import Role

__all__ = ["Principal", "Role"]


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role
    departments: tuple[str, ...] = ()
    kind: str = "user"  # "user" (JWT) or "api_key"
    name: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)

    @property
    def actor(self) -> str:
        """How the principal is named in event metadata (the audit log)."""
        if self.kind == "api_key":
            return f"api_key:{self.name or self.subject}"
        return f"user:{self.subject}"

    @property
    def primary_department(self) -> str | None:
        return self.departments[0] if self.departments else None
