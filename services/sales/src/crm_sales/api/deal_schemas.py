"""Request bodies of the pipelines and opportunities routes: strict (unknown fields are
errors), validated, normalised, as every CRM request is (``crm_shared.values``).

Amounts, quantities and prices are decimals sent as JSON strings or whole numbers: a JSON
number with a fraction is refused, since it may reach us as a binary float."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import BeforeValidator, Field, StringConstraints

from crm_sales.api.schemas import Reason, Team
from crm_sales.domain.pipeline import ForecastCategory, Outcome
from crm_shared.catalog.sales.opportunities import ContactRole, LineItem, StageData
from crm_shared.records.schemas import Department, NewRecord
from crm_shared.values import ShortText, Strict, Text


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError('send a decimal as a string ("12.50") or a whole number, not a float')
    return value


NoFloat = BeforeValidator(_no_float)
MAX_MONEY = Decimal("1e15")
Amount = Annotated[
    Decimal,
    NoFloat,
    Field(ge=0, le=MAX_MONEY, allow_inf_nan=False, description='In the currency, e.g. "21600.00"'),
]
Quantity = Annotated[
    Decimal, NoFloat, Field(gt=0, le=Decimal("1e9"), allow_inf_nan=False, description="Above 0")
]
UnitPrice = Annotated[
    Decimal, NoFloat, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False, description="In the currency")
]
Discount = Annotated[
    Decimal, NoFloat, Field(ge=0, le=100, allow_inf_nan=False, description="Percent, 0-100")
]
Currency = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{3}$"), Field(description="ISO 4217, e.g. EUR")
]
StageName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_ .-]{1,64}$")]
PipelineName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_ .-]{1,64}$")]
Probability = Annotated[int, Field(ge=0, le=100, strict=True, description="Percent, 0-100")]


# --- pipelines -------------------------------------------------------------------------


class StageIn(Strict):
    """One stage, in order: its default win probability and forecast category; the won and
    lost stages (``outcome``) come last."""

    name: StageName
    probability: Probability
    forecast_category: ForecastCategory
    outcome: Outcome | None = None


Stages = Annotated[list[StageIn], Field(min_length=3, max_length=50)]


class DefinePipeline(Strict):
    """A pipeline belongs to a department, and to no one in it."""

    department: Department | None = Field(None, description="Defaults to the caller's department")
    name: PipelineName
    stages: Stages


class ChangePipeline(Strict):
    """Only the fields present change."""

    name: PipelineName | None = None
    stages: Stages | None = None


# --- opportunities -----------------------------------------------------------------------


class LineItemIn(Strict):
    line_id: UUID = Field(default_factory=uuid4, description="Left out: a new line")
    product_id: UUID | None = Field(None, description="The catalog product, if any")
    name: ShortText
    quantity: Quantity
    unit_price: UnitPrice
    discount_percent: Discount = Decimal(0)


# Checked against the sales service's copy of the contacts service's records, which a
# record created a moment ago may not have reached yet (docs/architecture.md).
REFERENCED = (
    " (contacts service): one the caller may see, not archived (422 unknown_reference,"
    " archived_reference). Created a moment ago, it may not be known yet: retry."
)


class ContactRoleIn(Strict):
    contact_id: UUID = Field(description=f"The contact{REFERENCED}")
    role: ShortText


class OpportunityFields(Strict):
    name: ShortText | None = None
    account_id: UUID | None = Field(None, description=f"The account{REFERENCED}")
    primary_contact_id: UUID | None = Field(None, description=f"The contact{REFERENCED}")
    contact_roles: Annotated[list[ContactRoleIn], Field(max_length=50)] | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    close_date: date | None = Field(None, description="When the deal is expected to close")
    probability: Probability | None = Field(None, description="Set by hand: it sticks")
    forecast_category: ForecastCategory | None = Field(
        None, description="Set by hand: it sticks (closed only by winning)"
    )
    line_items: Annotated[list[LineItemIn], Field(max_length=500)] | None = Field(
        None, description="When given, the amount is their total"
    )
    next_step: Annotated[str, Text(2000)] | None = None
    team: Team | None = None


class OpenOpportunity(NewRecord, OpportunityFields):
    name: ShortText
    pipeline_id: UUID
    stage: StageName | None = Field(None, description="An open stage; left out: the first")
    currency: Currency
    close_date: date = Field(description="When the deal is expected to close")
    lead_id: UUID | None = Field(None, description="The lead it was converted from")


class ChangeOpportunity(OpportunityFields):
    """Only the fields present change; null clears one (a probability or category cleared
    goes back to the stage's default)."""


class MoveOpportunity(Strict):
    stage: StageName = Field(description="An open stage of the deal's pipeline")


class WinOpportunity(Strict):
    closed_on: date | None = Field(None, description="Defaults to today (UTC)")


class LoseOpportunity(Strict):
    reason: Reason = Field(description="Why the deal was lost (required)")
    closed_on: date | None = Field(None, description="Defaults to today (UTC)")


def recorded(values: Mapping[str, Any]) -> dict[str, Any]:
    """A request's values in the shapes the events record (the contract's models)."""
    shaped = dict(values)
    if shaped.get("stages") is not None:
        shaped["stages"] = [
            StageData(
                name=stage.name,
                probability=stage.probability,
                forecast_category=stage.forecast_category.value,
                outcome=stage.outcome.value if stage.outcome is not None else None,
            )
            for stage in shaped["stages"]
        ]
    if shaped.get("line_items") is not None:
        shaped["line_items"] = [LineItem(**item.model_dump()) for item in shaped["line_items"]]
    if shaped.get("contact_roles") is not None:
        shaped["contact_roles"] = [
            ContactRole(**role.model_dump()) for role in shaped["contact_roles"]
        ]
    return shaped
