"""The 360's sales links, folded from sales events: a contact's deals (as primary
contact), its activities, and the leads it came from. Given events, then rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

from crm_projections.customer360.sales_links import (
    ActivityRow,
    DealRow,
    fold_activity,
    fold_deal,
    lead_link,
)
from crm_shared.catalog.sales.activities import (
    ActivityCompleted,
    ActivityKind,
    ActivityScheduled,
    RelatedKind,
    RelatedTo,
)
from crm_shared.catalog.sales.leads import LeadConverted
from crm_shared.catalog.sales.opportunities import (
    OpportunityChanged,
    OpportunityOpened,
    OpportunityStageChanged,
    OpportunityWon,
)
from crm_shared.events import EventData
from crm_shared.projections.specs import WHEN, history, received

ADA, GRACE, DEAL, TASK, LEAD = uuid4(), uuid4(), uuid4(), uuid4(), uuid4()
CLOSING = date(2026, 12, 15)

OPENED = OpportunityOpened(
    name="Acme: 50 seats",
    primary_contact_id=ADA,
    pipeline_id=uuid4(),
    pipeline="new_business",
    stage="prospecting",
    amount=Decimal("20000"),
    currency="USD",
    close_date=CLOSING,
    probability=10,
    forecast_category="pipeline",
    department="sales",
)


def deal(*events: EventData) -> DealRow | None:
    row = None
    for event in history(*events, aggregate_id=DEAL):
        row = fold_deal(row, event)
    return row


def activity(*events: EventData) -> ActivityRow | None:
    row = None
    for event in history(*events, aggregate_id=TASK):
        row = fold_activity(row, event)
    return row


def test_an_opened_deal_is_the_primary_contacts_open_deal() -> None:
    row = deal(OPENED)
    assert row is not None
    assert (row.contact_id, row.status, row.stage, row.amount, row.currency) == (
        ADA,
        "open",
        "prospecting",
        Decimal("20000"),
        "USD",
    )


def test_a_won_deal_keeps_the_amount_it_was_won_for_and_its_close_date() -> None:
    won = OpportunityWon(
        from_stage="negotiation",
        stage="closed_won",
        amount=Decimal("18000"),
        currency="USD",
        closed_on=date(2026, 11, 20),
    )
    moved = OpportunityStageChanged(
        from_stage="prospecting", stage="negotiation", probability=80, forecast_category="commit"
    )
    row = deal(OPENED, moved, won)
    assert row is not None
    assert (row.status, row.stage, row.amount, row.close_date) == (
        "won",
        "closed_won",
        Decimal("18000"),
        date(2026, 11, 20),
    )


def test_a_deal_given_another_primary_contact_moves_to_them() -> None:
    row = deal(OPENED, OpportunityChanged(primary_contact_id=GRACE))
    assert row is not None and row.contact_id == GRACE


def test_deal_events_delivered_again_change_nothing() -> None:
    opened, moved = history(
        OPENED,
        OpportunityStageChanged(
            from_stage="prospecting",
            stage="proposal",
            probability=50,
            forecast_category="best_case",
        ),
        aggregate_id=DEAL,
    )
    row = fold_deal(fold_deal(None, opened), moved)
    assert row is not None and row.stage == "proposal"
    assert fold_deal(row, moved) == row
    assert fold_deal(row, opened) == row


def test_a_change_to_a_deal_the_360_never_saw_opened_is_nothing() -> None:
    assert fold_deal(None, received(OpportunityChanged(name="x"), aggregate_id=DEAL)) is None


def test_an_activity_about_a_contact_is_theirs_until_done() -> None:
    due = datetime(2026, 12, 1, 9, tzinfo=UTC)
    scheduled = ActivityScheduled(
        kind=ActivityKind.TASK,
        subject="Call Ada",
        due_at=due,
        assignee="rita",
        related_to=RelatedTo(kind=RelatedKind.CONTACT, id=ADA),
        department="sales",
    )
    row = activity(scheduled)
    assert row is not None and (row.contact_id, row.due_at, row.done) == (ADA, due, False)
    done = activity(scheduled, ActivityCompleted())
    assert done is not None and done.done is True


def test_a_converted_lead_links_its_contact_account_and_deal() -> None:
    account = uuid4()
    event = received(
        LeadConverted(contact_id=ADA, account_id=account, opportunity_id=DEAL), aggregate_id=LEAD
    )
    link = lead_link(event)  # type: ignore[arg-type]
    assert (link.lead_id, link.contact_id, link.account_id, link.opportunity_id) == (
        LEAD,
        ADA,
        account,
        DEAL,
    )
    assert link.converted_at == WHEN
