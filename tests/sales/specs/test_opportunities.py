"""Opportunities: a deal opens at an open stage of its pipeline with that stage's forecast
defaults; a probability or category set by hand sticks through stage changes until it is
cleared; with line items, the amount is their total; winning and losing are final.

The callers belong to department "sales" unless their name says otherwise. The deals sit
in the new business pipeline (prospecting 10 % pipeline, qualification 20 % pipeline,
proposal 50 % best_case, negotiation 80 % commit, closed_won, closed_lost)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import orjson

from crm_sales.application import SalesApplication
from crm_sales.deal_commands import (
    ChangeOpportunity,
    LoseOpportunity,
    MoveOpportunity,
    OpenOpportunity,
    WinOpportunity,
)
from crm_sales.domain.line_items import InvalidLineItem
from crm_sales.domain.money import NotAnAmount, UnknownCurrency
from crm_sales.domain.opportunity import (
    AmountFromLineItems,
    ClosedStageRefused,
    Opportunity,
    OpportunityClosed,
    ReasonRequired,
)
from crm_sales.domain.pipeline import NEW_BUSINESS, UnknownStage
from crm_sales.domain.pipeline_record import stage_data
from crm_sales.domain.probability import InvalidForecastField
from crm_shared.auth.policy import ArchivedReference, UnknownReference
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.sales.opportunities import (
    LineItem,
    OpportunityChanged,
    OpportunityForecastSet,
    OpportunityLost,
    OpportunityOpened,
    OpportunityStageChanged,
    OpportunityWon,
    PipelineArchived,
    PipelineDefined,
)
from crm_shared.domain import Invalid, NotFound
from crm_shared.events import EventData
from crm_shared.eventstore.group_commit import VersionMismatch
from crm_shared.specs import Specification
from tests.sales.specs.contact_records import NONE_KNOWN

spec = Specification(lambda store: SalesApplication(store, store, contacts=NONE_KNOWN))

OWNER = Principal("rita", Role.SALES_REP, ("sales",))
SUPPORT_MANAGER = Principal("sam", Role.MANAGER, ("support",))

PIPELINE, DEAL = uuid4(), uuid4()
CLOSING = date(2026, 12, 15)
SEATS, TRAINING = uuid4(), uuid4()

new_business = PipelineDefined(
    name="new_business",
    stages=[stage_data(stage) for stage in NEW_BUSINESS.stages],
    department="sales",
)


def opened(**fields: Any) -> OpportunityOpened:
    """Acme's deal, owned by rita, in prospecting with its defaults, unless ``fields`` say
    otherwise."""
    values: dict[str, Any] = {
        "name": "Acme: 50 seats",
        "pipeline_id": PIPELINE,
        "pipeline": "new_business",
        "stage": "prospecting",
        "amount": Decimal("20000.00"),
        "currency": "EUR",
        "close_date": CLOSING,
        "probability": 10,
        "forecast_category": "pipeline",
        "owner": "rita",
        "department": "sales",
    }
    return OpportunityOpened(**(values | fields))


def a_deal(*events: EventData) -> dict[UUID, list[EventData]]:
    return {PIPELINE: [new_business], DEAL: [opened(), *events]}


def opening(**values: Any) -> OpenOpportunity:
    given: dict[str, Any] = {
        "name": "Acme: 50 seats",
        "pipeline_id": PIPELINE,
        "amount": Decimal("20000"),
        "currency": "EUR",
        "close_date": CLOSING,
    }
    return OpenOpportunity(record_id=DEAL, values=given | values, owner="rita")


def line(name: str, quantity: str, unit_price: str, discount: str = "0", **ids: Any) -> LineItem:
    return LineItem(
        line_id=ids.get("line_id", SEATS),
        name=name,
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        discount_percent=Decimal(discount),
    )


def read(given: Any) -> dict[str, Any]:
    application: SalesApplication = given.application
    view: dict[str, Any] = orjson.loads(application.read(Opportunity, DEAL, OWNER).body)
    return view


# --- opening ---------------------------------------------------------------------------


async def test_a_deal_opens_at_the_first_stage_with_its_defaults() -> None:
    await spec.given({PIPELINE: [new_business]}).when(opening(), by=OWNER).then(opened())


async def test_a_deal_may_open_at_another_open_stage_with_that_stages_defaults() -> None:
    await (
        spec.given({PIPELINE: [new_business]})
        .when(opening(stage="negotiation"), by=OWNER)
        .then(opened(stage="negotiation", probability=80, forecast_category="commit"))
    )


async def test_a_deal_does_not_open_won_or_lost() -> None:
    await (
        spec.given({PIPELINE: [new_business]})
        .when(opening(stage="closed_won"), by=OWNER)
        .then_refused(ClosedStageRefused, field="stage")
    )


async def test_a_deal_does_not_open_at_a_stage_its_pipeline_lacks() -> None:
    await (
        spec.given({PIPELINE: [new_business]})
        .when(opening(stage="discovery"), by=OWNER)
        .then_refused(UnknownStage, field="stage")
    )


async def test_a_probability_and_category_given_at_opening_are_set_by_hand() -> None:
    await (
        spec.given({PIPELINE: [new_business]})
        .when(opening(probability=35, forecast_category="best_case"), by=OWNER)
        .then(
            opened(
                probability=35,
                forecast_category="best_case",
                probability_by_hand=True,
                forecast_category_by_hand=True,
            )
        )
    )


async def test_with_line_items_the_amount_is_their_total_less_discounts_rounded_once() -> None:
    # 3 x 33.335 = 100.005 and 1 x 10 less 10 % = 9: 109.005, rounded half to even.
    items = [line("Seats", "3", "33.335"), line("Training", "1", "10", "10", line_id=TRAINING)]
    await (
        spec.given({PIPELINE: [new_business]})
        .when(opening(amount=None, currency="USD", line_items=items), by=OWNER)
        .then(opened(amount=Decimal("109.00"), currency="USD", line_items=items))
    )


async def test_an_amount_that_is_not_the_line_items_total_is_refused() -> None:
    items = [line("Seats", "50", "480")]
    await (
        spec.given({PIPELINE: [new_business]})
        .when(opening(amount=Decimal("20000"), line_items=items), by=OWNER)
        .then_refused(AmountFromLineItems, field="amount")
    )


async def test_a_line_item_with_no_quantity_is_refused_naming_it() -> None:
    await (
        spec.given({PIPELINE: [new_business]})
        .when(opening(amount=None, line_items=[line("Seats", "0", "480")]), by=OWNER)
        .then_refused(InvalidLineItem, field="line_items[0].quantity")
    )


async def test_an_amount_finer_than_the_currencys_minor_unit_is_refused() -> None:
    await (
        spec.given({PIPELINE: [new_business]})
        .when(opening(amount=Decimal("100.5"), currency="JPY"), by=OWNER)
        .then_refused(NotAnAmount, field="amount")
    )


async def test_a_currency_iso_4217_does_not_know_is_refused() -> None:
    await (
        spec.given({PIPELINE: [new_business]})
        .when(opening(currency="EUX"), by=OWNER)
        .then_refused(UnknownCurrency, field="currency")
    )


async def test_a_deal_does_not_open_in_an_archived_pipeline() -> None:
    await (
        spec.given({PIPELINE: [new_business, PipelineArchived()]})
        .when(opening(), by=OWNER)
        .then_refused(ArchivedReference, field="pipeline_id")
    )


async def test_a_deal_does_not_open_in_another_departments_pipeline() -> None:
    support_pipeline = new_business.model_copy(update={"department": "support"})
    await (
        spec.given({PIPELINE: [support_pipeline]})
        .when(opening(), by=OWNER)
        .then_refused(UnknownReference, field="pipeline_id")
    )


async def test_a_deal_names_only_a_lead_its_rep_may_see() -> None:
    await (
        spec.given({PIPELINE: [new_business]})
        .when(opening(lead_id=uuid4()), by=OWNER)
        .then_refused(UnknownReference, field="lead_id")
    )


# --- stages and the forecast fields ----------------------------------------------------


async def test_a_stage_change_takes_the_new_stages_defaults() -> None:
    await (
        spec.given(a_deal())
        .when(MoveOpportunity(record_id=DEAL, stage="proposal"), by=OWNER)
        .then(
            OpportunityStageChanged(
                from_stage="prospecting",
                stage="proposal",
                probability=50,
                forecast_category="best_case",
            )
        )
    )


async def test_a_probability_set_by_hand_sticks_through_a_stage_change() -> None:
    by_hand = OpportunityForecastSet(
        probability=35,
        forecast_category="pipeline",
        probability_by_hand=True,
        forecast_category_by_hand=False,
    )
    await (
        spec.given(a_deal(by_hand))
        .when(MoveOpportunity(record_id=DEAL, stage="negotiation"), by=OWNER)
        .then(
            OpportunityStageChanged(
                from_stage="prospecting",
                stage="negotiation",
                probability=35,
                forecast_category="commit",
            )
        )
    )


async def test_setting_the_category_by_hand_records_the_forecast_fields() -> None:
    await (
        spec.given(a_deal())
        .when(
            ChangeOpportunity(record_id=DEAL, changes={"forecast_category": "commit"}),
            by=OWNER,
        )
        .then(
            OpportunityForecastSet(
                probability=10,
                forecast_category="commit",
                probability_by_hand=False,
                forecast_category_by_hand=True,
            )
        )
    )


async def test_clearing_a_probability_brings_back_the_current_stages_default() -> None:
    history = a_deal(
        OpportunityForecastSet(
            probability=35,
            forecast_category="pipeline",
            probability_by_hand=True,
            forecast_category_by_hand=False,
        ),
        OpportunityStageChanged(
            from_stage="prospecting",
            stage="proposal",
            probability=35,
            forecast_category="best_case",
        ),
    )
    await (
        spec.given(history)
        .when(ChangeOpportunity(record_id=DEAL, changes={"probability": None}), by=OWNER)
        .then(
            OpportunityForecastSet(
                probability=50,
                forecast_category="best_case",
                probability_by_hand=False,
                forecast_category_by_hand=False,
            )
        )
    )


async def test_a_probability_above_100_is_refused_naming_it() -> None:
    await (
        spec.given(a_deal())
        .when(ChangeOpportunity(record_id=DEAL, changes={"probability": 120}), by=OWNER)
        .then_refused(InvalidForecastField, field="probability")
    )


async def test_moving_to_the_won_stage_is_refused_win_the_deal_instead() -> None:
    await (
        spec.given(a_deal())
        .when(MoveOpportunity(record_id=DEAL, stage="closed_won"), by=OWNER)
        .then_refused(ClosedStageRefused, field="stage")
    )


async def test_moving_to_the_stage_it_is_in_records_nothing() -> None:
    await (
        spec.given(a_deal())
        .when(MoveOpportunity(record_id=DEAL, stage="prospecting"), by=OWNER)
        .then()
    )


async def test_a_move_with_a_stale_version_is_refused() -> None:
    await (
        spec.given(a_deal())
        .when(MoveOpportunity(record_id=DEAL, stage="proposal"), by=OWNER, if_match=7)
        .then_refused(VersionMismatch)
    )


async def test_another_departments_deal_is_not_found() -> None:
    await (
        spec.given(a_deal())
        .when(MoveOpportunity(record_id=DEAL, stage="proposal"), by=SUPPORT_MANAGER)
        .then_refused(NotFound)
    )


def test_a_deal_shows_when_it_reached_its_stage() -> None:
    given = spec.given(
        a_deal(
            OpportunityStageChanged(
                from_stage="prospecting",
                stage="proposal",
                probability=50,
                forecast_category="best_case",
            )
        )
    )
    view = read(given)
    assert (view["stage"], view["probability"], view["version"]) == ("proposal", 50, 2)
    assert view["stage_entered_at"] == view["updated_at"] != view["created_at"]


# --- its fields --------------------------------------------------------------------------


async def test_changing_the_line_items_records_their_total_as_the_amount() -> None:
    items = [line("Seats", "50", "480", "10")]
    await (
        spec.given(a_deal())
        .when(ChangeOpportunity(record_id=DEAL, changes={"line_items": items}), by=OWNER)
        .then(OpportunityChanged(line_items=items, amount=Decimal("21600.00")))
    )


async def test_the_amount_of_a_deal_with_line_items_is_changed_through_them() -> None:
    history = {
        PIPELINE: [new_business],
        DEAL: [opened(amount=Decimal("24000.00"), line_items=[line("Seats", "50", "480")])],
    }
    await (
        spec.given(history)
        .when(ChangeOpportunity(record_id=DEAL, changes={"amount": Decimal("1")}), by=OWNER)
        .then_refused(AmountFromLineItems, field="amount")
    )


async def test_a_deal_keeps_its_close_date() -> None:
    await (
        spec.given(a_deal())
        .when(ChangeOpportunity(record_id=DEAL, changes={"close_date": None}), by=OWNER)
        .then_refused(Invalid, field="close_date")
    )


async def test_a_change_and_a_forecast_field_are_recorded_together() -> None:
    await (
        spec.given(a_deal())
        .when(
            ChangeOpportunity(
                record_id=DEAL, changes={"next_step": "demo on Thursday", "probability": 25}
            ),
            by=OWNER,
        )
        .then(
            OpportunityChanged(next_step="demo on Thursday"),
            OpportunityForecastSet(
                probability=25,
                forecast_category="pipeline",
                probability_by_hand=True,
                forecast_category_by_hand=False,
            ),
        )
    )


# --- winning and losing ------------------------------------------------------------------


async def test_winning_records_the_won_stage_and_the_final_amount() -> None:
    await (
        spec.given(a_deal())
        .when(WinOpportunity(record_id=DEAL, closed_on=date(2026, 12, 11)), by=OWNER)
        .then(
            OpportunityWon(
                from_stage="prospecting",
                stage="closed_won",
                amount=Decimal("20000.00"),
                currency="EUR",
                closed_on=date(2026, 12, 11),
            )
        )
    )


def test_a_won_deal_is_100_percent_closed_and_forgets_what_was_set_by_hand() -> None:
    given = spec.given(
        a_deal(
            OpportunityForecastSet(
                probability=35,
                forecast_category="commit",
                probability_by_hand=True,
                forecast_category_by_hand=True,
            ),
            OpportunityWon(
                from_stage="prospecting",
                stage="closed_won",
                amount=Decimal("20000.00"),
                currency="EUR",
                closed_on=date(2026, 12, 11),
            ),
        )
    )
    view = read(given)
    assert (view["status"], view["stage"], view["probability"]) == ("won", "closed_won", 100)
    assert (view["forecast_category"], view["probability_by_hand"]) == ("closed", False)
    assert (view["close_date"], view["closed_on"]) == ("2026-12-11", "2026-12-11")


async def test_losing_records_the_lost_stage_and_the_reason() -> None:
    await (
        spec.given(a_deal())
        .when(
            LoseOpportunity(
                record_id=DEAL, reason="chose a competitor", closed_on=date(2026, 12, 2)
            ),
            by=OWNER,
        )
        .then(
            OpportunityLost(
                from_stage="prospecting",
                stage="closed_lost",
                reason="chose a competitor",
                closed_on=date(2026, 12, 2),
            )
        )
    )


async def test_losing_without_a_reason_is_refused() -> None:
    await (
        spec.given(a_deal())
        .when(LoseOpportunity(record_id=DEAL, reason="  ", closed_on=CLOSING), by=OWNER)
        .then_refused(ReasonRequired, field="reason")
    )


WON = OpportunityWon(
    from_stage="prospecting",
    stage="closed_won",
    amount=Decimal("20000.00"),
    currency="EUR",
    closed_on=CLOSING,
)
LOST = OpportunityLost(
    from_stage="prospecting", stage="closed_lost", reason="no budget", closed_on=CLOSING
)


async def test_a_won_deal_takes_no_stage_change() -> None:
    await (
        spec.given(a_deal(WON))
        .when(MoveOpportunity(record_id=DEAL, stage="proposal"), by=OWNER)
        .then_refused(OpportunityClosed)
    )


async def test_a_won_deal_takes_no_change_to_its_fields() -> None:
    await (
        spec.given(a_deal(WON))
        .when(ChangeOpportunity(record_id=DEAL, changes={"next_step": "upsell"}), by=OWNER)
        .then_refused(OpportunityClosed)
    )


async def test_a_lost_deal_is_not_won_afterwards() -> None:
    await (
        spec.given(a_deal(LOST))
        .when(WinOpportunity(record_id=DEAL, closed_on=CLOSING), by=OWNER)
        .then_refused(OpportunityClosed)
    )


async def test_a_won_deal_is_not_won_twice() -> None:
    await (
        spec.given(a_deal(WON))
        .when(WinOpportunity(record_id=DEAL, closed_on=CLOSING), by=OWNER)
        .then_refused(OpportunityClosed)
    )
