"""The access policy, decision by decision."""

from __future__ import annotations

import pytest

from crm_shared.auth.policy import (
    Action,
    Forbidden,
    Scope,
    allows,
    authorize,
    may_move,
    may_use_service,
    readable_departments,
)
from crm_shared.auth.principal import Principal, Role
from crm_shared.domain import NotFound

SALES_OWNED_BY_ANN = Scope(owner="ann", department="sales")
SALES_UNOWNED = Scope(owner=None, department="sales")
SUPPORT = Scope(owner="ann", department="support")


def who(role: Role, sub: str = "ann", *departments: str) -> Principal:
    return Principal(subject=sub, role=role, departments=departments or ("sales",))


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
    assert may_use_service(who(Role.MARKETER), "marketing")
    assert not may_use_service(who(Role.MARKETER), "service_desk")
    assert not may_use_service(who(Role.SERVICE_AGENT), "sales")
    assert all(may_use_service(who(role), "contacts") for role in Role)


def test_lists_are_limited_to_the_callers_departments_except_for_admins() -> None:
    assert readable_departments(who(Role.ADMIN, "root", "hq")) is None
    assert readable_departments(who(Role.SALES_REP, "ann", "sales", "emea")) == ("sales", "emea")
