"""Quotas: one per owner or team and period, replaced when set again (the same quota
again records nothing). Managers set them in the departments they manage, admins
anywhere; reps read them. The period, the currency and the amount are checked, naming
the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from crm_sales.domain.money import NotAnAmount, UnknownCurrency
from crm_sales.domain.periods import InvalidPeriod
from crm_sales.domain.quota import QuotaHolder, quota_id
from crm_sales.planning.application import Planning
from crm_sales.planning.commands import SetQuota
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.sales.planning import QuotaSet
from crm_shared.domain import Forbidden, NotFound
from crm_shared.eventstore.group_commit import VersionMismatch
from crm_shared.specs import Specification

spec = Specification(lambda store: Planning(store, store, "USD"))

ADMIN = Principal("boss", Role.ADMIN, ("hq",))
MANAGER = Principal("mia", Role.MANAGER, ("sales",))
SUPPORT_MANAGER = Principal("sam", Role.MANAGER, ("support",))
REP = Principal("alice", Role.SALES_REP, ("sales",))

ALICE_Q4 = quota_id(QuotaHolder.OWNER, "alice", "2026-Q4")


def quota_set(**fields: Any) -> QuotaSet:
    values: dict[str, Any] = {
        "owner": "alice",
        "period": "2026-Q4",
        "amount": Decimal("150000.00"),
        "currency": "USD",
        "department": "sales",
    }
    return QuotaSet(**{**values, **fields})


def set_quota(**fields: Any) -> SetQuota:
    values: dict[str, Any] = {
        "holder": QuotaHolder.OWNER,
        "who": "alice",
        "period": "2026-Q4",
        "amount": Decimal("150000.00"),
        "currency": "USD",
    }
    return SetQuota(**{**values, **fields})


async def test_a_manager_sets_an_owners_quota_in_their_department() -> None:
    await spec.given().when(set_quota(), by=MANAGER).then(quota_set())


async def test_a_teams_quota_names_the_team() -> None:
    await (
        spec.given()
        .when(set_quota(holder=QuotaHolder.TEAM, who="enterprise", period="2026"), by=MANAGER)
        .then(quota_set(owner=None, team="enterprise", period="2026"))
    )


async def test_setting_a_quota_again_replaces_it() -> None:
    await (
        spec.given({ALICE_Q4: [quota_set()]})
        .when(set_quota(amount=Decimal("175000")), by=MANAGER)
        .then(quota_set(amount=Decimal("175000")))
    )


async def test_the_same_quota_again_records_nothing() -> None:
    await spec.given({ALICE_Q4: [quota_set()]}).when(set_quota(), by=MANAGER).then()


async def test_a_rep_may_not_set_a_quota() -> None:
    await spec.given().when(set_quota(), by=REP).then_refused(Forbidden)


async def test_a_manager_may_not_set_a_quota_in_another_department() -> None:
    await (
        spec.given().when(set_quota(department="sales"), by=SUPPORT_MANAGER).then_refused(Forbidden)
    )


async def test_another_departments_quota_is_out_of_a_managers_sight() -> None:
    await (
        spec.given({ALICE_Q4: [quota_set()]})
        .when(set_quota(department="support"), by=SUPPORT_MANAGER)
        .then_refused(NotFound)
    )


async def test_a_stale_version_is_refused() -> None:
    await (
        spec.given({ALICE_Q4: [quota_set()]})
        .when(set_quota(amount=Decimal(1)), by=MANAGER, if_match=0)
        .then_refused(VersionMismatch)
    )


@pytest.mark.parametrize("text", ["2026-Q5", "Q4", "2026-13"])
async def test_the_period_is_a_year_a_quarter_or_a_month(text: str) -> None:
    await (
        spec.given()
        .when(set_quota(period=text), by=ADMIN)
        .then_refused(InvalidPeriod, field="period")
    )


async def test_the_currency_is_iso_4217() -> None:
    await (
        spec.given()
        .when(set_quota(currency="ABC"), by=ADMIN)
        .then_refused(UnknownCurrency, field="currency")
    )


@pytest.mark.parametrize("amount", ["-1", "100.005", "1e15", "1e40"])
async def test_the_amount_is_money_in_the_currency(amount: str) -> None:
    await (
        spec.given()
        .when(set_quota(amount=Decimal(amount)), by=ADMIN)
        .then_refused(NotAnAmount, field="amount")
    )


def test_a_rep_reads_their_departments_quotas() -> None:
    planning = spec.given({ALICE_Q4: [quota_set()]}).application
    assert planning.quota(QuotaHolder.OWNER, "alice", "2026-Q4", REP).amount == Decimal("150000")


def test_a_quota_in_another_department_is_not_found() -> None:
    planning = spec.given({ALICE_Q4: [quota_set()]}).application
    with pytest.raises(NotFound):
        planning.quota(QuotaHolder.OWNER, "alice", "2026-Q4", SUPPORT_MANAGER)
