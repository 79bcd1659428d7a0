"""Who may see and change what: the one place that decides, for every service.

- ``admin`` reads and changes everything.
- ``manager`` reads and changes everything in their own department(s), moves records
  between owners and departments, and erases people (right to erasure).
- ``sales_rep``, ``service_agent`` and ``marketer`` read the records of their departments,
  and change the ones they own plus the unowned ones of their departments; they create
  records they own (only managers and admins create unowned ones).
- A system's API key acts with the role and departments it was issued with.
- A service acting for a user (the sales service converting a lead) signs a short-lived
  token with the user's id and role, narrowed to one department and marked
  ``records:create-only``: it creates records as the user may, and reads (to vet a
  reference), but changes, reassigns and erases nothing.

A record outside the caller's reach reads as if it did not exist (404, and never in a
list or a count); a record the caller may read but not change answers 403 to a change.
A record may point only at records that exist and that the caller may read, and not at an
archived one (``vet_references``). The role also limits which services' routes it may call
at all (``ServiceDefinition.roles``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from crm_shared.auth.principal import Principal, Role
from crm_shared.domain import Forbidden, Invalid, NotFound


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


def may_use_service(principal: Principal, roles: frozenset[Role]) -> bool:
    """Whether the caller's role may call a service's routes at all (each service declares
    its roles: ``ServiceDefinition.roles``)."""
    return principal.role in roles


def in_department(principal: Principal, department: str) -> bool:
    return department in principal.departments


CREATE_ONLY = "records:create-only"


def allows(principal: Principal, action: Action, record: Scope) -> bool:
    if action is not Action.READ and CREATE_ONLY in principal.permissions:
        return False
    return _within_reach(principal, action, record)


def _within_reach(principal: Principal, action: Action, record: Scope) -> bool:
    if principal.role == Role.ADMIN:
        return True
    if not in_department(principal, record.department):
        return False
    if principal.role == Role.MANAGER:
        return True
    if action == Action.READ:
        return True
    if action == Action.CHANGE:
        return record.owner is None or record.owner == principal.id
    return False  # only managers and admins reassign and erase


PII_READ = "pii:read"


def may_read_data_keys(principal: Principal) -> bool:
    """Handing out people's data keys: only to systems granted ``pii:read``."""
    return PII_READ in principal.permissions


def may_leave_unowned(principal: Principal) -> bool:
    """An unowned record is open to every rep of its department: putting one there (a pool
    of leads, say) is a manager's decision, like moving records between owners."""
    return principal.role in (Role.ADMIN, Role.MANAGER)


def may_create(principal: Principal, record: Scope) -> bool:
    """Creating is changing a record that does not exist yet, in the scope it will have."""
    if record.owner is None and not may_leave_unowned(principal):
        return False
    return _within_reach(principal, Action.CHANGE, record)


def may_move(principal: Principal, source: Scope, target: Scope) -> bool:
    """Reassigning: allowed where the caller manages both the source and the target."""
    return allows(principal, Action.REASSIGN, source) and allows(principal, Action.REASSIGN, target)


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


# --- references: one record pointing at another ------------------------------------------


@dataclass(frozen=True, slots=True)
class Reference:
    """A pointer a command would store: the command's field holding it (as errors name
    it, ``account_id``), the kind of record it must name, and the id it names."""

    field: str
    kind: str
    target: UUID


@dataclass(frozen=True, slots=True)
class Referenced:
    """What the policy needs to know of the record a reference names."""

    scope: Scope
    archived: bool = False


class ReferenceResolver(Protocol):
    """How a service finds a referenced record (in its own store, or in a read model of
    another service's records); the policy decides what the caller may do with it."""

    async def locate(self, reference: Reference) -> Referenced | None:
        """Where the named record belongs, or None where no record of that kind has that id."""
        ...


class ReferenceRefused(Invalid):
    """A command would point at a record it may not point at; names the command's field."""

    def __init__(self, reference: Reference, message: str) -> None:
        super().__init__(f"{reference.field}: {message}", field=reference.field)


class UnknownReference(ReferenceRefused):
    """No such record, or one out of the caller's sight: the same answer, so that a
    reference cannot be used to probe another department's records."""

    code = "unknown_reference"


class ArchivedReference(ReferenceRefused):
    """The caller sees the record, but it is archived: nothing new may be linked to it."""

    code = "archived_reference"


def may_reference(principal: Principal, target: Referenced | None) -> bool:
    """A reference may name only a record that exists and that the caller may read."""
    return target is not None and allows(principal, Action.READ, target.scope)


def reference_refusal(
    principal: Principal, reference: Reference, target: Referenced | None
) -> ReferenceRefused | None:
    """Why the caller may not make this reference, or None if they may. Sight comes
    first, so that whether an unseen record is archived does not leak either."""
    if target is None or not may_reference(principal, target):
        return UnknownReference(reference, f"no {reference.kind} {reference.target} you may see")
    if target.archived:
        return ArchivedReference(
            reference, f"{reference.kind} {reference.target} is archived; restore it first"
        )
    return None


async def vet_references(
    principal: Principal, references: Iterable[Reference], resolver: ReferenceResolver
) -> dict[Reference, ReferenceRefused]:
    """The references the caller may not make, each with its refusal (empty: all allowed).

    Resolving is I/O, so it happens before a command runs; the command then raises the
    refusal of each reference it really makes or changes. One that stays as it was is not
    judged again (its record may have moved out of the caller's sight since: the read side
    hides what the caller may not see).
    """
    refusals: dict[Reference, ReferenceRefused] = {}
    for reference in references:
        refusal = reference_refusal(principal, reference, await resolver.locate(reference))
        if refusal is not None:
            refusals[reference] = refusal
    return refusals
