"""The deal list's row: given a deal's events, what the list keeps of it (no database)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from uuid import uuid4

from crm_sales.deal_list.rows import DealRow, fold_all
from crm_sales.domain.opportunity_states import DealStatus
from crm_shared.catalog.sales.opportunities import (
    ContactRole,
    OpportunityChanged,
    OpportunityForecastSet,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReassigned,
    OpportunityStageChanged,
    OpportunityWon,
)
from crm_shared.events import EventData
from crm_shared.projections.specs import WHEN, history, received

PIPELINE_ID = uuid4()
ACCOUNT_ID, PRIMARY_ID, CHAMPION_ID = uuid4(), uuid4(), uuid4()

ACME = OpportunityOpened(
    name="Acme: 50 seats",
    account_id=ACCOUNT_ID,
    primary_contact_id=PRIMARY_ID,
    contact_roles=[ContactRole(contact_id=CHAMPION_ID, role="champion")],
    pipeline_id=PIPELINE_ID,
    pipeline="new_business",
    stage="prospecting",
    amount=Decimal("21600.00"),
    currency="EUR",
    close_date=date(2026, 12, 15),
    probability=10,
    forecast_category="pipeline",
    owner="alice",
    team="enterprise",
    department="sales",
)


def row_of(*events: EventData) -> DealRow:
    rows: dict = {}
    fold_all(rows, history(*events))
    (row,) = rows.values()
    return row


def test_an_opened_deal_is_listed_open_at_its_stage_with_its_forecast_fields() -> None:
    row = row_of(ACME)
    assert (row.name, row.status, row.pipeline_id, row.pipeline, row.stage) == (
        "Acme: 50 seats",
        DealStatus.OPEN,
        PIPELINE_ID,
        "new_business",
        "prospecting",
    )
    assert (row.amount, row.currency, row.probability, row.forecast_category) == (
        Decimal("21600.00"),
        "EUR",
        10,
        "pipeline",
    )
    assert (row.owner, row.team, row.department) == ("alice", "enterprise", "sales")
    assert (row.close_date, row.created_at, row.updated_at, row.version) == (
        date(2026, 12, 15),
        WHEN,
        WHEN,
        1,
    )


def test_its_contacts_are_the_primary_contact_and_every_contact_with_a_role() -> None:
    assert row_of(ACME).contact_ids == (PRIMARY_ID, CHAMPION_ID)


def test_a_contact_who_is_primary_and_has_a_role_is_one_of_its_contacts_once() -> None:
    roles = [ContactRole(contact_id=PRIMARY_ID, role="decision maker")]
    opened = ACME.model_copy(update={"contact_roles": roles})
    assert row_of(opened).contact_ids == (PRIMARY_ID,)


def test_a_change_keeps_the_fields_it_names_and_leaves_the_others() -> None:
    row = row_of(ACME, OpportunityChanged(amount=Decimal("24000.00"), close_date=date(2027, 1, 20)))
    assert (row.amount, row.close_date, row.name, row.currency) == (
        Decimal("24000.00"),
        date(2027, 1, 20),
        "Acme: 50 seats",
        "EUR",
    )
    assert row.version == 2


def test_a_change_of_contact_roles_replaces_them() -> None:
    other = uuid4()
    roles = [ContactRole(contact_id=other, role="economic buyer")]
    assert row_of(ACME, OpportunityChanged(contact_roles=roles)).contact_ids == (PRIMARY_ID, other)


def test_clearing_the_primary_contact_leaves_the_contacts_with_roles() -> None:
    row = row_of(ACME, OpportunityChanged(primary_contact_id=None))
    assert (row.primary_contact_id, row.contact_ids) == (None, (CHAMPION_ID,))


def test_a_stage_change_moves_the_deal_with_the_forecast_fields_it_left() -> None:
    moved = OpportunityStageChanged(
        from_stage="prospecting", stage="proposal", probability=50, forecast_category="best_case"
    )
    row = row_of(ACME, moved)
    assert (row.stage, row.probability, row.forecast_category, row.status) == (
        "proposal",
        50,
        "best_case",
        DealStatus.OPEN,
    )


def test_a_forecast_set_by_hand_is_listed() -> None:
    set_by_hand = OpportunityForecastSet(
        probability=65,
        forecast_category="commit",
        probability_by_hand=True,
        forecast_category_by_hand=True,
    )
    row = row_of(ACME, set_by_hand)
    assert (row.probability, row.forecast_category) == (65, "commit")


def test_a_won_deal_is_won_at_100_percent_closed_with_its_final_amount_and_close_day() -> None:
    won = OpportunityWon(
        from_stage="prospecting",
        stage="closed_won",
        amount=Decimal("20000.00"),
        currency="EUR",
        closed_on=date(2026, 12, 11),
    )
    row = row_of(ACME, won)
    assert (row.status, row.stage, row.probability, row.forecast_category) == (
        DealStatus.WON,
        "closed_won",
        100,
        "closed",
    )
    assert (row.amount, row.close_date) == (Decimal("20000.00"), date(2026, 12, 11))


def test_a_lost_deal_is_lost_at_0_percent_omitted_on_the_day_it_closed() -> None:
    lost = OpportunityLost(
        from_stage="prospecting",
        stage="closed_lost",
        reason="chose a competitor",
        closed_on=date(2026, 12, 2),
    )
    row = row_of(ACME, lost)
    assert (row.status, row.stage, row.probability, row.forecast_category) == (
        DealStatus.LOST,
        "closed_lost",
        0,
        "omitted",
    )
    assert (row.amount, row.close_date) == (Decimal("21600.00"), date(2026, 12, 2))


def test_reassigning_moves_the_deal_to_its_new_owner_and_department() -> None:
    row = row_of(ACME, OpportunityReassigned(owner="bob", department="emea"))
    assert (row.owner, row.department) == ("bob", "emea")


def test_the_row_is_as_recent_as_its_last_event() -> None:
    deal = uuid4()
    later = WHEN + timedelta(hours=3)
    rows: dict = {}
    fold_all(
        rows,
        [
            received(ACME, aggregate_id=deal, version=1),
            received(
                OpportunityChanged(team="mid-market"), aggregate_id=deal, version=2, time=later
            ),
        ],
    )
    assert (rows[deal].updated_at, rows[deal].created_at, rows[deal].team) == (
        later,
        WHEN,
        "mid-market",
    )


def test_events_of_a_deal_whose_opening_never_reached_the_list_change_nothing() -> None:
    rows: dict = {}
    touched = fold_all(rows, [received(OpportunityChanged(name="x"), version=2)])
    assert (rows, touched) == ({}, set())


def test_a_batch_of_two_deals_folds_each_into_its_own_row() -> None:
    first, second = uuid4(), uuid4()
    rows: dict = {}
    touched = fold_all(
        rows,
        [
            received(ACME, aggregate_id=first),
            received(ACME.model_copy(update={"name": "Globex"}), aggregate_id=second),
            received(OpportunityChanged(name="Acme: 60 seats"), aggregate_id=first, version=2),
        ],
    )
    assert touched == {first, second}
    assert (rows[first].name, rows[second].name) == ("Acme: 60 seats", "Globex")
