"""An opportunity: a deal moving through its pipeline's stages until it is won or lost.

It opens at an open stage of its pipeline (the first, unless another is named) with that
stage's win probability and forecast category. A rep may set either by hand: it then
sticks through later stage changes until the rep clears it (``null``), which brings back
the current stage's default (``domain.probability``). When line items are given, the
amount is their total (``domain.line_items``); otherwise the rep states it. Winning and
losing go through their own commands, never a stage change, and are final: a closed deal
takes no further change.

The pipeline's stages are not the deal's: each command that needs them is handed the
pipeline as it is defined now (the use case loads it), and the deal keeps its stage's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from crm_sales.domain import line_items
from crm_sales.domain.money import Money, NotAnAmount, minor_units
from crm_sales.domain.opportunity_states import DealStatus
from crm_sales.domain.pipeline import ForecastCategory, Outcome, Pipeline, Stage
from crm_sales.domain.probability import (
    DealForecast,
    category_set,
    closed_as,
    moved_to,
    opened_at,
    probability_set,
)
from crm_shared.auth.policy import Reference
from crm_shared.catalog.sales.opportunities import (
    ContactRole,
    LineItem,
    OpportunityChanged,
    OpportunityForecastSet,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReassigned,
    OpportunityStageChanged,
    OpportunityWon,
)
from crm_shared.domain import Conflict, Invalid, applies
from crm_shared.records.record import CrmRecord, RecordEvents

FORECAST_FIELDS = ("probability", "forecast_category")
# Fields a deal always has: a change may set them, never clear them.
REQUIRED = ("name", "amount", "currency", "close_date")


class OpportunityClosed(Conflict):
    """A won or lost deal is settled: it takes no further change."""

    code = "opportunity_closed"


class ClosedStageRefused(Invalid):
    """A deal reaches its won or lost stage by being won or lost (``/win``, ``/lose``)."""

    code = "closed_stage"


class AmountFromLineItems(Invalid):
    """With line items, the amount is their total: it is changed by changing them."""

    code = "amount_from_line_items"


class ReasonRequired(Invalid):
    code = "reason_required"


class Opportunity(CrmRecord):
    creation_events = (OpportunityOpened,)
    events = RecordEvents(updated=OpportunityChanged, reassigned=OpportunityReassigned)
    # The account and contacts are the contacts service's records: the sales service finds
    # them in its read model of them (``crm_sales.contact_records``).
    reference_fields = {
        "pipeline_id": "pipeline",
        "lead_id": "lead",
        "account_id": "account",
        "primary_contact_id": "contact",
    }

    name: str
    account_id: UUID | None
    primary_contact_id: UUID | None
    contact_roles: list[ContactRole]
    lead_id: UUID | None
    pipeline_id: UUID
    pipeline: str
    stage: str
    stage_entered_at: datetime
    amount: Decimal
    currency: str
    close_date: date
    probability: int
    forecast_category: str
    probability_by_hand: bool
    forecast_category_by_hand: bool
    line_items: list[LineItem]
    next_step: str | None
    team: str | None
    status: DealStatus
    closed_on: date | None
    lost_reason: str | None

    @classmethod
    def references_in(cls, values: Mapping[str, Any]) -> dict[str, Reference]:
        """Beside its fields', each contact role's contact (``contact_roles.0.contact_id``)."""
        made = super().references_in(values)
        for position, role in enumerate(values.get("contact_roles") or ()):
            field = f"contact_roles.{position}.contact_id"
            made[field] = Reference(field=field, kind="contact", target=role.contact_id)
        return made

    # --- opening -------------------------------------------------------------------

    @staticmethod
    def opening(pipeline_id: UUID, pipeline: Pipeline, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values of the event that opens a deal in ``pipeline`` with the rep's
        ``values``: its stage, forecast fields and amount as the rules make them."""
        given = dict(values)
        stage_name = given.pop("stage", None)
        stage = pipeline.stage(stage_name) if stage_name else pipeline.open_stages[0]
        _check_open(stage)
        forecast = opened_at(stage)
        if given.get("probability") is not None:
            forecast = probability_set(forecast, given["probability"], stage)
        if given.get("forecast_category") is not None:
            forecast = category_set(forecast, ForecastCategory(given["forecast_category"]), stage)
        for name in (*FORECAST_FIELDS, "pipeline_id"):
            given.pop(name, None)
        currency = given["currency"]
        items = line_items.checked(given.get("line_items") or [])
        given["line_items"] = items
        given["contact_roles"] = given.get("contact_roles") or []
        given["amount"] = _amount(given.get("amount"), items, currency, current=None)
        return given | {
            "pipeline_id": pipeline_id,
            "pipeline": pipeline.name,
            "stage": stage.name,
            **_forecast_values(forecast),
        }

    @applies(OpportunityOpened)
    def _opened(self, e: OpportunityOpened) -> None:
        self._start_record(e)
        self.stage_entered_at = self.last_modified
        self.status = DealStatus.OPEN
        self.closed_on = self.lost_reason = None

    @property
    def forecast(self) -> DealForecast:
        return DealForecast(
            self.probability,
            ForecastCategory(self.forecast_category),
            self.probability_by_hand,
            self.forecast_category_by_hand,
        )

    def check_changeable(self) -> None:
        if self.status is not DealStatus.OPEN:
            raise OpportunityClosed(f"opportunity {self.id} is {self.status}: it is settled")

    # --- its fields, and the forecast fields set by hand ---------------------------

    def change(self, changes: Mapping[str, Any], pipeline: Pipeline) -> None:
        """Some fields (null clears one); a probability or category given is set by hand,
        and null gives it back to the stage. Refused as a whole, or done as a whole."""
        self.check_changeable()
        fields = {k: v for k, v in changes.items() if k not in FORECAST_FIELDS}
        for name in REQUIRED:
            if name in fields and fields[name] is None:
                raise Invalid(f"an opportunity keeps its {name}", field=name)
        for name in ("contact_roles", "line_items"):
            if name in fields and fields[name] is None:
                fields[name] = []  # null clears the list
        forecast = self._forecast_after(changes, pipeline)
        currency = fields.get("currency", self.currency)
        items = line_items.checked(fields.get("line_items", self.line_items))
        amount = _amount(fields.get("amount"), items, currency, current=self.amount)
        fields["amount"] = amount  # unchanged, it records nothing
        self.update(fields)
        if forecast != self.forecast:
            self._trigger(OpportunityForecastSet(**_forecast_values(forecast)))

    def _forecast_after(self, changes: Mapping[str, Any], pipeline: Pipeline) -> DealForecast:
        forecast = self.forecast
        if "probability" in changes or "forecast_category" in changes:
            stage = pipeline.stage(self.stage)
            if "probability" in changes:
                forecast = probability_set(forecast, changes["probability"], stage)
            if "forecast_category" in changes:
                category = changes["forecast_category"]
                forecast = category_set(
                    forecast, None if category is None else ForecastCategory(category), stage
                )
        return forecast

    @applies(OpportunityForecastSet)
    def _forecast_set(self, e: OpportunityForecastSet) -> None:
        self.probability, self.forecast_category = e.probability, e.forecast_category
        self.probability_by_hand = e.probability_by_hand
        self.forecast_category_by_hand = e.forecast_category_by_hand

    # --- moving through the pipeline -----------------------------------------------

    def move_to(self, stage_name: str, pipeline: Pipeline) -> None:
        self.check_changeable()
        stage = pipeline.stage(stage_name)
        _check_open(stage)
        if stage.name == self.stage:
            return
        forecast = moved_to(self.forecast, stage)
        self._trigger(
            OpportunityStageChanged(
                from_stage=self.stage,
                stage=stage.name,
                probability=forecast.probability,
                forecast_category=forecast.category.value,
            )
        )

    @applies(OpportunityStageChanged)
    def _stage_changed(self, e: OpportunityStageChanged) -> None:
        self.stage, self.stage_entered_at = e.stage, self.last_modified
        self.probability, self.forecast_category = e.probability, e.forecast_category

    def win(self, pipeline: Pipeline, closed_on: date) -> None:
        self.check_changeable()
        self._trigger(
            OpportunityWon(
                from_stage=self.stage,
                stage=pipeline.won_stage.name,
                amount=self.amount,
                currency=self.currency,
                closed_on=closed_on,
            )
        )

    @applies(OpportunityWon)
    def _won(self, e: OpportunityWon) -> None:
        self._closed(e.stage, DealStatus.WON, e.closed_on)
        self.amount, self.currency = e.amount, e.currency

    def lose(self, pipeline: Pipeline, reason: str, closed_on: date) -> None:
        self.check_changeable()
        if not reason.strip():
            raise ReasonRequired("say why the deal was lost", field="reason")
        self._trigger(
            OpportunityLost(
                from_stage=self.stage,
                stage=pipeline.lost_stage.name,
                reason=reason,
                closed_on=closed_on,
            )
        )

    @applies(OpportunityLost)
    def _lost(self, e: OpportunityLost) -> None:
        self._closed(e.stage, DealStatus.LOST, e.closed_on)
        self.lost_reason = e.reason

    def _closed(self, stage: str, status: DealStatus, closed_on: date) -> None:
        self.stage, self.stage_entered_at, self.status = stage, self.last_modified, status
        # The close date becomes the day it closed: revenue counts in that period.
        self.close_date = self.closed_on = closed_on
        settled = closed_as(Outcome.WON if status is DealStatus.WON else Outcome.LOST)
        self.probability, self.forecast_category = settled.probability, settled.category.value
        self.probability_by_hand = self.forecast_category_by_hand = False


def _check_open(stage: Stage) -> None:
    if stage.is_closed:
        raise ClosedStageRefused(
            f"{stage.name!r} is the {stage.outcome} stage: win or lose the deal instead",
            field="stage",
        )


def _forecast_values(forecast: DealForecast) -> dict[str, Any]:
    return {
        "probability": forecast.probability,
        "forecast_category": forecast.category.value,
        "probability_by_hand": forecast.probability_by_hand,
        "forecast_category_by_hand": forecast.category_by_hand,
    }


def _amount(
    given: Decimal | None, items: list[LineItem], currency: str, *, current: Decimal | None
) -> Decimal:
    """The deal's amount: its lines' total if it has lines, else the one given (or kept)."""
    if items:
        total = line_items.total(items, currency).amount
        if given is not None and given != total:
            raise AmountFromLineItems(
                f"the amount is the line items' total, {total} {currency}", field="amount"
            )
        return total
    amount = given if given is not None else (current if current is not None else Decimal(0))
    money = Money(amount, currency)
    if amount < 0:
        raise NotAnAmount("an amount is zero or more", field="amount")
    rounded = money.rounded().amount
    if rounded != amount:
        raise NotAnAmount(
            f"{currency} amounts have {minor_units(currency)} decimals at most", field="amount"
        )
    return rounded  # written in the currency's minor units: 100 USD is 100.00
