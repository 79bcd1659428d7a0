"""The access policy, decision by decision."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from crm_shared.auth.policy import (
    Action,
    ArchivedReference,
    Forbidden,
    Reference,
    Referenced,
    Scope,
    UnknownReference,
    allows,
    authorize,
    may_create,
    may_move,
    may_reference,
    may_use_service,
    readable_departments,
    reference_refusal,
    vet_references,
)
from crm_shared.auth.principal import Principal, Role
from crm_shared.domain import Invalid, NotFound

SALES_OWNED_BY_ANN = Scope(owner="ann", department="sales")
SALES_UNOWNED = Scope(owner=None, department="sales")
SUPPORT = Scope(owner="ann", department="support")


def who(role: Role, sub: str = "ann", *departments: str) -> Principal:
    return Principal(id=sub, role=role, departments=departments or ("sales",))


@pytest.mark.parametrize(
    ("principal", "action", "record", "allowed"),
    [
        (who(Role.ADMIN, "root", "hq"), Action.CHANGE, SUPPORT, True),
        (who(Role.MANAGER, "max"), Action.CHANGE, SALES_OWNED_BY_ANN, True),
        (who(Role.MANAGER, "max"), Action.READ, SUPPORT, False),
        (who(Role.MANAGER, "max", "sales", "support"), Action.REASSIGN, SUPPORT, True),
        (who(Role.SALES_REP, "ann"), Action.CHANGE, SALES_OWNED_BY_ANN, True),
        (who(Role.SALES_REP, "bob"), Action.READ, SALES_OWNED_BY_ANN, True),
        (who(Role.SALES_REP, "bob"), Action.CHANGE, SALES_OWNED_BY_ANN, False),
        (who(Role.SALES_REP, "bob"), Action.CHANGE, SALES_UNOWNED, True),
        (who(Role.SALES_REP, "ann"), Action.REASSIGN, SALES_OWNED_BY_ANN, False),
        (who(Role.MARKETER, "ann"), Action.READ, SUPPORT, False),
        (who(Role.SERVICE_AGENT, "ann", "support"), Action.CHANGE, SUPPORT, True),
    ],
)
def test_the_policy_decides_by_role_department_and_owner(
    principal: Principal, action: Action, record: Scope, allowed: bool
) -> None:
    assert allows(principal, action, record) is allowed


def test_out_of_sight_is_not_found_and_in_sight_but_not_yours_is_forbidden() -> None:
    with pytest.raises(NotFound):
        authorize(who(Role.SALES_REP, "bob"), Action.CHANGE, SUPPORT, "contact")
    with pytest.raises(Forbidden):
        authorize(who(Role.SALES_REP, "bob"), Action.CHANGE, SALES_OWNED_BY_ANN, "contact")
    authorize(who(Role.SALES_REP, "bob"), Action.READ, SALES_OWNED_BY_ANN, "contact")


def test_moving_a_record_needs_both_departments_managed() -> None:
    manager = who(Role.MANAGER, "max")
    assert may_move(manager, SALES_OWNED_BY_ANN, SALES_UNOWNED)
    assert not may_move(manager, SALES_OWNED_BY_ANN, SUPPORT)
    assert may_move(who(Role.ADMIN, "root", "hq"), SALES_OWNED_BY_ANN, SUPPORT)


def test_roles_limit_the_services_they_may_call() -> None:
    sales = frozenset({Role.ADMIN, Role.MANAGER, Role.SALES_REP})
    assert may_use_service(who(Role.SALES_REP), sales)
    assert not may_use_service(who(Role.SERVICE_AGENT), sales)
    assert not may_use_service(who(Role.MARKETER), sales)


def test_every_role_may_call_the_installed_services_that_declare_every_role() -> None:
    from crm_shared.service import installed_services

    for name in ("contacts", "projections"):
        roles = installed_services()[name].roles
        assert all(may_use_service(who(role), roles) for role in Role), name


def test_lists_are_limited_to_the_callers_departments_except_for_admins() -> None:
    assert readable_departments(who(Role.ADMIN, "root", "hq")) is None
    assert readable_departments(who(Role.SALES_REP, "ann", "sales", "emea")) == ("sales", "emea")


# --- references -------------------------------------------------------------------------


def account_reference(target: UUID | None = None) -> Reference:
    return Reference(field="account_id", kind="account", target=target or uuid4())


class Accounts:
    """A resolver over a dict: the policy only asks where a record belongs."""

    def __init__(self, known: dict[UUID, Referenced]) -> None:
        self.known = known

    async def locate(self, reference: Reference) -> Referenced | None:
        return self.known.get(reference.target)


@pytest.mark.parametrize(
    ("principal", "target", "allowed"),
    [
        (who(Role.SALES_REP, "bob"), Referenced(SALES_OWNED_BY_ANN), True),
        (who(Role.MARKETER, "bob"), Referenced(SALES_UNOWNED), True),
        (who(Role.SALES_REP, "ann"), Referenced(SUPPORT), False),
        (who(Role.MANAGER, "max"), Referenced(SUPPORT), False),
        (who(Role.MANAGER, "max", "sales", "support"), Referenced(SUPPORT), True),
        (who(Role.ADMIN, "root", "hq"), Referenced(SUPPORT), True),
        (who(Role.ADMIN, "root", "hq"), None, False),
    ],
)
def test_a_record_may_reference_only_an_existing_record_the_caller_may_read(
    principal: Principal, target: Referenced | None, allowed: bool
) -> None:
    assert may_reference(principal, target) is allowed


def test_referencing_an_unseen_record_is_answered_as_if_it_did_not_exist() -> None:
    rep, reference = who(Role.SALES_REP, "ann"), account_reference()
    unseen = reference_refusal(rep, reference, Referenced(SUPPORT))
    missing = reference_refusal(rep, reference, None)
    assert isinstance(unseen, UnknownReference) and isinstance(missing, UnknownReference)
    assert (unseen.code, unseen.field, str(unseen)) == (missing.code, missing.field, str(missing))


def test_a_refused_reference_is_an_invalid_command_naming_the_field_that_holds_it() -> None:
    refusal = reference_refusal(who(Role.SALES_REP), account_reference(), None)
    assert isinstance(refusal, Invalid)
    assert (refusal.field, refusal.code) == ("account_id", "unknown_reference")


def test_nothing_new_may_reference_an_archived_record() -> None:
    refusal = reference_refusal(
        who(Role.SALES_REP), account_reference(), Referenced(SALES_UNOWNED, archived=True)
    )
    assert isinstance(refusal, ArchivedReference)


def test_whether_an_unseen_record_is_archived_does_not_show() -> None:
    refusal = reference_refusal(
        who(Role.SALES_REP), account_reference(), Referenced(SUPPORT, archived=True)
    )
    assert isinstance(refusal, UnknownReference)


def test_a_reference_to_a_record_in_sight_is_allowed() -> None:
    assert (
        reference_refusal(who(Role.SALES_REP), account_reference(), Referenced(SALES_UNOWNED))
        is None
    )


async def test_vetting_answers_each_refused_reference_and_only_those() -> None:
    ours, theirs, gone = uuid4(), uuid4(), uuid4()
    resolver = Accounts({ours: Referenced(SALES_UNOWNED), theirs: Referenced(SUPPORT)})
    made = [account_reference(ours), account_reference(theirs), account_reference(gone)]
    refusals = await vet_references(who(Role.SALES_REP), made, resolver)
    assert set(refusals) == {made[1], made[2]}
    assert all(isinstance(r, UnknownReference) for r in refusals.values())
    assert await vet_references(who(Role.ADMIN, "root", "hq"), made[:2], resolver) == {}


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        (who(Role.ADMIN, "root", "hq"), True),
        (who(Role.MANAGER, "max"), True),
        (who(Role.SALES_REP, "ann"), False),
        (who(Role.SERVICE_AGENT, "ann"), False),
        (who(Role.MARKETER, "ann"), False),
    ],
)
def test_only_managers_and_admins_create_unowned_records(
    principal: Principal, allowed: bool
) -> None:
    assert may_create(principal, SALES_UNOWNED) is allowed
    assert may_create(principal, Scope(owner=principal.id, department="sales"))
