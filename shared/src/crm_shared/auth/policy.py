"""Who may see and change what: the one place that decides, for every service.

- ``admin`` reads and changes everything.
- ``manager`` reads and changes everything in their own department(s), moves records
  between owners and departments, and erases people (right to erasure).
- ``sales_rep``, ``service_agent`` and ``marketer`` read the records of their departments,
  and change the ones they own plus the unowned ones of their departments.
- A system's API key acts with the role and departments it was issued with.

A record outside the caller's reach reads as if it did not exist (404, and never in a
list or a count); a record the caller may read but not change answers 403 to a change.
The role also limits which services' routes it may call at all (``SERVICE_ROLES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crm_shared.auth.principal import Principal, Role
from crm_shared.domain import DomainError, NotFound


class Action(StrEnum):
    READ = "read"
    CHANGE = "change"
    REASSIGN = "reassign"
    ERASE = "erase"


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a record belongs: every record of every service carries both."""

    owner: str | None
    department: str


ALL = frozenset(Role)

# Which roles may call a service's routes at all (reads and writes alike).
SERVICE_ROLES: dict[str, frozenset[Role]] = {
    "contacts": ALL,
    "projections": ALL,
    "sales": frozenset({Role.ADMIN, Role.MANAGER, Role.SALES_REP}),
    "service_desk": frozenset({Role.ADMIN, Role.MANAGER, Role.SERVICE_AGENT}),
    "marketing": frozenset({Role.ADMIN, Role.MANAGER, Role.MARKETER}),
}


def may_use_service(principal: Principal, service: str) -> bool:
    return principal.role in SERVICE_ROLES.get(service, frozenset())


def in_department(principal: Principal, department: str) -> bool:
    return department in principal.departments


def allows(principal: Principal, action: Action, record: Scope) -> bool:
    if principal.role == Role.ADMIN:
        return True
    if not in_department(principal, record.department):
        return False
    if principal.role == Role.MANAGER:
        return True
    if action == Action.READ:
        return True
    if action == Action.CHANGE:
        return record.owner is None or record.owner == principal.subject
    return False  # only managers and admins reassign and erase


PII_READ = "pii:read"


def may_read_data_keys(principal: Principal) -> bool:
    """Handing out people's data keys: only to systems granted ``pii:read``."""
    return PII_READ in principal.permissions


def may_create(principal: Principal, record: Scope) -> bool:
    """Creating is changing a record that does not exist yet, in the scope it will have."""
    return allows(principal, Action.CHANGE, record)


def may_move(principal: Principal, source: Scope, target: Scope) -> bool:
    """Reassigning: allowed where the caller manages both the source and the target."""
    return allows(principal, Action.REASSIGN, source) and allows(principal, Action.REASSIGN, target)


class Forbidden(DomainError):
    """The caller may see the record but not do this to it."""

    code = "forbidden"
    status = 403


def authorize(principal: Principal, action: Action, record: Scope, noun: str) -> None:
    """Raises NotFound where the record is out of sight, Forbidden where only the action is."""
    if not allows(principal, Action.READ, record):
        raise NotFound(f"{noun} not found")
    if not allows(principal, action, record):
        raise Forbidden(f"role {principal.role} may not {action} this {noun}")


def readable_departments(principal: Principal) -> tuple[str, ...] | None:
    """For list queries: the departments whose records the caller may see (None: all)."""
    if principal.role == Role.ADMIN:
        return None
    return principal.departments
